// `--lb-provider haproxy`: the user's own balancer in front of the nodes' NodePorts. External
// IPs come from MetalLB IPAddressPools with the IPAM's own selection rules (converge.ts: requested
// IPs, pool annotation, sharing keys, pinned pools first), held by the edge namespace HAProxy runs
// in rather than announced by the nodes, so the status says ipMode Proxy: nodes must not
// short-circuit the IP, traffic has to pass the balancer.
//
// The provider keeps its balancers in memory and rebuilds them as the controller ensures each
// Service after a restart; the address a Service shows is kept (converge honours the status).
import type { IPAddressPool, KubeObject, Namespace, Node, Service } from '../../../api/types.ts';
import { labelKeys } from '../../../api/well-known.ts';
import type { Client } from '../../../client/client.ts';
import { Allocator } from '../../loadbalancer/allocator.ts';
import { converge } from '../../loadbalancer/converge.ts';
import { compilePool, isCompileError, type Pool } from '../../loadbalancer/pools.ts';
import { internalIP } from '../nodes.ts';
import {
  defaultLoadBalancerName,
  type LoadBalancerProvider,
  type LoadBalancerStatus,
  type LoadBalancerView,
} from '../provider.ts';
import { HAProxyApplier } from './applier.ts';
import { frontendName, type RenderedFrontend, renderConfig } from './render.ts';

export interface HAProxyProviderOptions {
  client: Client;
  /** Where the configuration and runtime sockets live. */
  dir: string;
  /** The edge network namespace HAProxy runs in and holds the external IPs (must exist). */
  netns?: string;
  checkIntervalMs?: number;
  /** Default haproxy. */
  name?: string;
  /**
   * More HAProxies with the same configuration (a pair behind a floating address): each in its own
   * namespace and directory. The external IPs are then held by whoever floats them
   * (holdAddresses false), and every HAProxy binds them whether it holds them or not.
   */
  peers?: { dir: string; netns?: string }[];
  /** Put the external IPs on the namespace's loopback (default true). */
  holdAddresses?: boolean;
  onError?: (err: unknown) => void;
}

interface Balancer {
  service: string;
  ips: string[];
  frontends: RenderedFrontend[];
}

const keyOf = (s: Service) => `${s.metadata?.namespace ?? ''}/${s.metadata?.name ?? ''}`;

export class HAProxyProvider implements LoadBalancerProvider {
  /** The provider's name: its class (svcnet.io/NAME) and the pools it may use (svcnet.io/lb-provider=NAME). */
  readonly name: string;
  private readonly balancers = new Map<string, Balancer>();
  private readonly alloc = new Allocator();
  readonly applier: HAProxyApplier;
  /** This HAProxy and its peers, all with the same configuration. */
  readonly appliers: HAProxyApplier[];

  constructor(private readonly opts: HAProxyProviderOptions) {
    this.name = opts.name ?? 'haproxy';
    this.applier = new HAProxyApplier({
      dir: opts.dir,
      ...(opts.netns ? { netns: opts.netns } : {}),
      ...(opts.onError ? { onError: opts.onError } : {}),
    });
    this.appliers = [
      this.applier,
      ...(opts.peers ?? []).map(
        (p) =>
          new HAProxyApplier({
            dir: p.dir,
            ...(p.netns ? { netns: p.netns } : {}),
            ...(opts.onError ? { onError: opts.onError } : {}),
          }),
      ),
    ];
  }

  /** Every external IP a balancer has (what a floating-address holder must carry). */
  addresses(): string[] {
    return [...new Set([...this.balancers.values()].flatMap((b) => b.ips))].sort();
  }

  private async hold(ip: string, present: boolean): Promise<void> {
    if (this.opts.holdAddresses === false) return;
    await this.applier.address(ip, present);
  }

  getLoadBalancerName(_cluster: string, svc: Service): string {
    return defaultLoadBalancerName(svc);
  }

  async getLoadBalancer(cluster: string, svc: Service) {
    const lb = this.balancers.get(this.getLoadBalancerName(cluster, svc));
    return lb ? { exists: true, status: this.status(lb) } : { exists: false };
  }

  async ensureLoadBalancer(cluster: string, svc: Service, nodes: readonly Node[]): Promise<LoadBalancerStatus> {
    const name = this.getLoadBalancerName(cluster, svc);
    for (const p of svc.spec?.ports ?? [])
      if ((p.protocol ?? 'TCP') !== 'TCP')
        throw new Error(`haproxy balances TCP only, not ${p.protocol} port ${p.port}`);
    await this.refreshPools();
    const out = converge(keyOf(svc), svc, this.alloc, {
      classless: true,
      ...(svc.spec?.loadBalancerClass ? { loadBalancerClass: svc.spec.loadBalancerClass } : {}),
    });
    if (out.kind !== 'set') {
      const why = out.kind === 'clear' ? out.events.map((e) => e.message).join('; ') : '';
      throw new Error(why || 'no available IPs');
    }
    const lb: Balancer = { service: keyOf(svc), ips: out.ips, frontends: this.frontends(name, svc, out.ips, nodes) };
    const old = this.balancers.get(name);
    this.balancers.set(name, lb);
    for (const ip of lb.ips) await this.hold(ip, true);
    await this.apply();
    for (const ip of old?.ips ?? []) if (!lb.ips.includes(ip) && !this.ipInUse(ip)) await this.hold(ip, false);
    return this.status(lb);
  }

  async updateLoadBalancer(cluster: string, svc: Service, nodes: readonly Node[]): Promise<void> {
    const name = this.getLoadBalancerName(cluster, svc);
    const lb = this.balancers.get(name);
    if (!lb) throw new Error(`load balancer ${name} not found`);
    lb.frontends = this.frontends(name, svc, lb.ips, nodes);
    await this.apply();
  }

  async ensureLoadBalancerDeleted(cluster: string, svc: Service): Promise<void> {
    const name = this.getLoadBalancerName(cluster, svc);
    const lb = this.balancers.get(name);
    this.alloc.unassign(keyOf(svc));
    if (!lb) return;
    this.balancers.delete(name);
    await this.apply();
    for (const ip of lb.ips) if (!this.ipInUse(ip)) await this.hold(ip, false);
  }

  async close(): Promise<void> {
    for (const a of this.appliers) await a.stop();
  }

  /** `which`: the index of the HAProxy to ask (0: this one, then the peers). */
  async describe(cluster: string, svc: Service, which = 0): Promise<LoadBalancerView | undefined> {
    const name = this.getLoadBalancerName(cluster, svc);
    const a = this.appliers[which] ?? this.applier;
    let rows: Record<string, string>[];
    try {
      rows = await this.stats(a);
    } catch (e) {
      throw new Error(`the ${this.name} balancer does not answer on ${a.statsSocket}: ${String(e)}`);
    }
    const mine = rows.filter((r) => (r.pxname ?? '').startsWith(`${name}-`));
    if (mine.length === 0) return undefined;
    const n = (v: string | undefined) => Number(v ?? 0) || 0;
    return {
      balancer: name,
      ...(a.netns ? { location: a.netns } : {}),
      backends: mine
        .filter((r) => r.svname !== 'FRONTEND' && r.svname !== 'BACKEND')
        .map((r) => ({
          listener: r.pxname ?? '',
          node: r.svname ?? '',
          address: r.addr ?? '',
          health: r.status ?? '',
          check: r.check_status ?? '',
          active: n(r.scur),
          total: n(r.stot),
          bytesIn: n(r.bin),
          bytesOut: n(r.bout),
          connectErrors: n(r.econ),
        })),
    };
  }

  /** The runtime API's `show stat` as rows (pxname, svname, status, scur, stot, …). */
  async stats(a: HAProxyApplier = this.applier): Promise<Record<string, string>[]> {
    const text = await a.command('show stat');
    const [header = '', ...rows] = text.split('\n').filter((l) => l.trim() !== '');
    const cols = header.replace(/^# /, '').split(',');
    return rows.map((r) => Object.fromEntries(r.split(',').map((v, i) => [cols[i] ?? `${i}`, v])));
  }

  private ipInUse(ip: string): boolean {
    return [...this.balancers.values()].some((b) => b.ips.includes(ip));
  }

  private frontends(name: string, svc: Service, ips: readonly string[], nodes: readonly Node[]): RenderedFrontend[] {
    const local = svc.spec?.externalTrafficPolicy === 'Local' && svc.spec.healthCheckNodePort;
    const out: RenderedFrontend[] = [];
    for (const ip of ips)
      for (const p of svc.spec?.ports ?? []) {
        if (!p.nodePort) continue;
        const nodePort = p.nodePort;
        out.push({
          name: `${frontendName(name, 'tcp', p.port)}${ips.length > 1 ? `-${ip.includes(':') ? 'v6' : 'v4'}` : ''}`,
          ip,
          port: p.port,
          servers: nodes.flatMap((n) => {
            const addr = internalIP(n);
            return addr ? [{ node: n.metadata?.name ?? addr, ip: addr, port: nodePort }] : [];
          }),
          ...(local ? { httpCheckPort: local } : {}),
        });
      }
    return out;
  }

  private async apply(): Promise<void> {
    const frontends = [...this.balancers.values()].flatMap((b) => b.frontends);
    for (const a of this.appliers)
      await a.apply(
        renderConfig({
          statsSocket: a.statsSocket,
          frontends,
          ...(this.opts.checkIntervalMs ? { checkIntervalMs: this.opts.checkIntervalMs } : {}),
        }),
      );
  }

  private async refreshPools(): Promise<void> {
    const [pools, namespaces] = await Promise.all([
      this.opts.client.list<IPAddressPool & KubeObject>('ipaddresspools'),
      this.opts.client.list<Namespace & KubeObject>('namespaces'),
    ]);
    const compiled: Pool[] = [];
    // Only pools reserved for this provider: the IPAM, side by side, never allocates from them.
    for (const p of pools.items) {
      if (p.metadata.labels?.[labelKeys.lbProvider] !== this.name) continue;
      const c = compilePool(p, namespaces.items);
      if (isCompileError(c)) this.opts.onError?.(new Error(c.message));
      else compiled.push(c);
    }
    this.alloc.setPools(compiled);
  }

  private status(lb: Balancer): LoadBalancerStatus {
    return { ingress: lb.ips.map((ip) => ({ ip, ipMode: 'Proxy' as const })) };
  }
}
