// `--lb-provider keepalived`: the shape a cloud's balancer has — an address that survives the loss
// of the machine serving it. Two edge hosts each run an HAProxy with the same configuration (the
// HAProxy provider's, binding addresses they may not hold), and keepalived's VRRP floats every
// external IP, plus the gateway address clients route the external range to, to whichever edge is
// master. The master's loss moves them all to the other edge, which answers at once (its HAProxy
// already listens). Nothing here is HAProxy-specific to the controller: it sees one more
// LoadBalancerProvider, which is the point.
import { join } from 'node:path';
import type { Node, Service } from '../../../api/types.ts';
import type { Client } from '../../../client/client.ts';
import { run } from '../../../kernel/exec.ts';
import { inNetns } from '../../../kernel/netns.ts';
import { HAProxyProvider } from '../haproxy/provider.ts';
import type { LoadBalancerProvider, LoadBalancerStatus, LoadBalancerView } from '../provider.ts';
import { renderKeepalived } from './render.ts';
import { VrrpDaemon } from './vrrp.ts';

export interface KeepalivedEdge {
  netns?: string;
  /** The interface facing the clients (VRRP and the floating addresses live there). */
  dev: string;
}

export interface KeepalivedProviderOptions {
  client: Client;
  dir: string;
  /** Exactly two: the first has the higher priority (master while it lives). */
  edges: readonly KeepalivedEdge[];
  /** The floating address clients route the external range to. */
  gateway: string;
  prefix: number;
  routerId?: number;
  advertMs?: number;
  checkIntervalMs?: number;
  onError?: (err: unknown) => void;
}

export class KeepalivedProvider implements LoadBalancerProvider {
  readonly name = 'keepalived';
  readonly inner: HAProxyProvider;
  readonly vrrp: VrrpDaemon[];

  constructor(private readonly o: KeepalivedProviderOptions) {
    if (o.edges.length !== 2) throw new Error(`a VRRP pair needs 2 edge hosts, not ${o.edges.length}`);
    const [a, b] = o.edges;
    this.inner = new HAProxyProvider({
      client: o.client,
      name: this.name,
      dir: join(o.dir, 'edge0', 'haproxy'),
      ...(a?.netns ? { netns: a.netns } : {}),
      peers: [{ dir: join(o.dir, 'edge1', 'haproxy'), ...(b?.netns ? { netns: b.netns } : {}) }],
      holdAddresses: false,
      ...(o.checkIntervalMs ? { checkIntervalMs: o.checkIntervalMs } : {}),
      ...(o.onError ? { onError: o.onError } : {}),
    });
    this.vrrp = o.edges.map(
      (e, i) =>
        new VrrpDaemon({
          dir: join(o.dir, `edge${i}`),
          ...(e.netns ? { netns: e.netns } : {}),
          ...(o.onError ? { onError: o.onError } : {}),
        }),
    );
  }

  getLoadBalancerName(cluster: string, svc: Service): string {
    return this.inner.getLoadBalancerName(cluster, svc);
  }

  getLoadBalancer(cluster: string, svc: Service) {
    return this.inner.getLoadBalancer(cluster, svc);
  }

  async ensureLoadBalancer(cluster: string, svc: Service, nodes: readonly Node[]): Promise<LoadBalancerStatus> {
    const status = await this.inner.ensureLoadBalancer(cluster, svc, nodes);
    await this.float();
    return status;
  }

  updateLoadBalancer(cluster: string, svc: Service, nodes: readonly Node[]): Promise<void> {
    return this.inner.updateLoadBalancer(cluster, svc, nodes);
  }

  async ensureLoadBalancerDeleted(cluster: string, svc: Service): Promise<void> {
    await this.inner.ensureLoadBalancerDeleted(cluster, svc);
    await this.float();
  }

  async close(): Promise<void> {
    for (const v of this.vrrp) await v.stop();
    await this.inner.close();
  }

  /** Both members get the same address set; priorities differ so the first edge leads. */
  private async float(): Promise<void> {
    const vips = this.inner.addresses();
    for (const [i, v] of this.vrrp.entries())
      await v.apply(
        renderKeepalived({
          routerId: this.o.routerId ?? 51,
          priority: 150 - 50 * i,
          dev: this.o.edges[i]?.dev ?? 'eth0',
          gateway: `${this.o.gateway}/${this.o.prefix}`,
          vips,
          advertMs: this.o.advertMs ?? 200,
        }),
      );
  }

  /** Which edge holds the floating gateway now (the VRRP master); undefined while none does. */
  async master(): Promise<number | undefined> {
    for (const [i, e] of this.o.edges.entries()) {
      const r = await run(inNetns(e.netns, ['ip', '-o', 'addr', 'show', 'dev', e.dev])).catch(() => undefined);
      if (r?.stdout.includes(` ${this.o.gateway}/`)) return i;
    }
    return undefined;
  }

  async describe(cluster: string, svc: Service): Promise<LoadBalancerView | undefined> {
    const m = await this.master();
    const view = await this.inner.describe(cluster, svc, m ?? 0);
    if (!view) return undefined;
    const where = this.o.edges[m ?? 0]?.netns ?? 'here';
    return { ...view, location: m === undefined ? `${where} (no VRRP master yet)` : `${where} (VRRP master)` };
  }
}
