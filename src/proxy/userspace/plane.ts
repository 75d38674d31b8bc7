// The userspace data plane: kube-proxy's first mode, rebuilt. Every service address becomes a
// real socket on this node; each new connection or UDP flow is routed through the shared
// eligibility rules (eligibility.ts) and then balanced (balancer.ts). It needs no privileges:
// rootless, VIPs live on loopback aliases (vips.ts).
import { isIP } from 'node:net';
import { isLoopbackIP } from '../../api/ip.ts';
import type { ConformancePlane, Packet, TraceVerdict } from '../conformance/types.ts';
import { type DestinationKind, decideCategorized } from '../eligibility.ts';
import type { PlaneExplainer } from '../explain/types.ts';
import type { Registry } from '../metrics.ts';
import { Registry as NewRegistry } from '../metrics.ts';
import type { DataPlane, PlaneEvent } from '../plane.ts';
import type { ProxySnapshot, SyncChanges } from '../snapshot.ts';
import type { EndpointInfo, EndpointKey, ServicePortInfo, ServicePortKey } from '../types.ts';
import { Balancer, EndpointHealth } from './balancer.ts';
import type { ListenerContext, Route, UserspaceStats } from './context.ts';
import { DeadlineQueue } from './deadlines.ts';
import { LandingTable, userspaceExplainer } from './explain.ts';
import { type ListenerSpec, listenerId, type RenderedListeners, renderListeners, vipAddresses } from './render.ts';
import { expireConnect, TcpListener } from './tcp.ts';
import { NativeTcpListener } from './tcp-native.ts';
import { tcpRelayAddon } from './tcp-relay-addon.ts';
import { UdpListener } from './udp.ts';
import { LoopbackRangeVips, type VipMapper } from './vips.ts';

export interface UserspacePlaneOptions {
  /** Default: rootless loopback aliases in 127.10.0.0/16. */
  vips?: VipMapper;
  metrics?: Registry;
  connectTimeoutMs?: number;
  failuresToEject?: number;
  ejectMs?: number;
  udpIdleMs?: number;
  masqueradeAll?: boolean;
  random?: () => number;
  now?: () => number;
  onEvent?: (e: PlaneEvent) => void;
  onError?: (err: unknown, listener: string) => void;
  /**
   * 'native' (default where native/tcp-relay is built): accept, connect and relay in the C
   * engine, decisions here; 'js': net.Socket relay (always available).
   */
  tcpRelay?: 'native' | 'js';
}

type AnyTcpListener = TcpListener | NativeTcpListener;

function userspaceStats(reg: Registry): UserspaceStats {
  return {
    connections: reg.counter('svcnet_userspace_connections_total', 'TCP connections proxied to an endpoint'),
    rejected: reg.counter('svcnet_userspace_rejected_total', 'TCP connections refused, by reason'),
    connectFailures: reg.counter('svcnet_userspace_connect_failures_total', 'Failed connects to endpoints'),
    retries: reg.counter('svcnet_userspace_connect_retries_total', 'Connects retried on another endpoint'),
    ejections: reg.counter(
      'svcnet_userspace_endpoint_ejections_total',
      'Endpoints ejected after consecutive connect failures',
    ),
    ejected: reg.gauge('svcnet_userspace_ejected_endpoints', 'Endpoints currently ejected (passive health)'),
    active: reg.gauge('svcnet_userspace_active_connections', 'TCP connections currently proxied'),
    udpDropped: reg.counter('svcnet_userspace_udp_dropped_total', 'UDP datagrams dropped, by reason'),
    udpFlows: reg.gauge('svcnet_userspace_udp_flows', 'UDP flows in the flow table'),
    listenerErrors: reg.counter('svcnet_userspace_listener_errors_total', 'Listeners that failed to open'),
  };
}

const refuseInsteadOfDrop =
  'a userspace proxy cannot silently discard a SYN; it refuses at once (no listener, or accept + RST) so the client never hangs';

const emptyRender: RenderedListeners = { listeners: new Map(), categorized: new Map(), skipped: [] };

export class UserspacePlane implements DataPlane, ConformancePlane {
  readonly name = 'userspace';
  readonly ignoreMasq =
    'the userspace proxy opens a new connection from the node to the endpoint: the client address is never preserved';
  readonly skips: Readonly<Record<string, string>> = {
    'no endpoints: clusterIP UDP is rejected':
      'a UDP socket stays bound for every service port and drops (and counts) datagrams without an endpoint; a bound socket cannot answer ICMP port unreachable',
    'internalTrafficPolicy Local without a local endpoint drops': refuseInsteadOfDrop,
    'ETP Local without a local endpoint drops external traffic': refuseInsteadOfDrop,
    'loadBalancerSourceRanges drop a source outside': refuseInsteadOfDrop,
  };
  readonly metrics: Registry;
  readonly vips: VipMapper;
  readonly explainer: PlaneExplainer;
  private readonly landings = new LandingTable();
  private readonly stats: UserspaceStats;
  private readonly health: EndpointHealth;
  private readonly balancers = new Map<ServicePortKey, Balancer>();
  private readonly tcp = new Map<string, AnyTcpListener>();
  private readonly udp = new Map<string, UdpListener>();
  /** Listeners closed by a sync whose connections are still finishing. */
  private readonly retiring = new Set<AnyTcpListener>();
  private snapshot: ProxySnapshot | undefined;
  private rendered: RenderedListeners = emptyRender;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly ctx: ListenerContext;

  constructor(private readonly opts: UserspacePlaneOptions = {}) {
    this.vips = opts.vips ?? new LoopbackRangeVips();
    this.metrics = opts.metrics ?? new NewRegistry();
    this.stats = userspaceStats(this.metrics);
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
    this.health = new EndpointHealth({
      failuresToEject: opts.failuresToEject ?? 3,
      ejectMs: opts.ejectMs ?? 10_000,
      now: this.now,
    });
    const connectTimeoutMs = opts.connectTimeoutMs ?? 2000;
    this.ctx = {
      route: (spec, src) => this.route(spec, src),
      health: this.health,
      stats: this.stats,
      connectTimeoutMs,
      connectDeadlines: new DeadlineQueue({ timeoutMs: connectTimeoutMs }, expireConnect),
      endpointEjected: (svc, ep) => this.ejected(svc, ep),
      landed: (spec, src, ep) => this.landings.record(spec, src, ep),
    };
    this.explainer = userspaceExplainer(this, this.landings);
  }

  /**
   * Maps VIPs and computes routing state without opening sockets: the conformance suite stops
   * here, sync() goes on to converge the sockets.
   */
  async load(snapshot: ProxySnapshot): Promise<void> {
    await this.vips.sync(vipAddresses(snapshot));
    this.compute(snapshot);
  }

  private compute(snapshot: ProxySnapshot): void {
    this.snapshot = snapshot;
    this.rendered = renderListeners(snapshot, (vip) => this.vips.addressFor(vip));
    for (const [key, svc] of snapshot.services) {
      const b = this.balancers.get(key);
      if (b) {
        b.algorithm = svc.lbAlgorithm;
        b.affinitySeconds = svc.affinityTimeoutSeconds;
      } else {
        this.balancers.set(key, new Balancer(svc.lbAlgorithm, svc.affinityTimeoutSeconds, this.random, this.now));
      }
    }
    for (const key of this.balancers.keys()) if (!snapshot.services.has(key)) this.balancers.delete(key);
  }

  async sync(snapshot: ProxySnapshot, _changes: SyncChanges): Promise<void> {
    await this.load(snapshot);
    const live = new Set<EndpointKey>();
    for (const eps of snapshot.endpoints.values()) for (const ep of eps) live.add(ep.key);
    this.health.retain(live);
    this.updateEjectedGauge();

    const want = this.rendered.listeners;
    for (const [id, l] of this.tcp) {
      if (want.get(id)?.servicePort === l.spec.servicePort) continue;
      // Existing connections finish on their endpoint; only new ones are refused or rerouted.
      this.tcp.delete(id);
      l.stopAccepting();
      if (l.connectionCount() > 0) this.retiring.add(l);
    }
    for (const [id, l] of this.udp) {
      if (want.get(id)?.servicePort === l.spec.servicePort) continue;
      this.udp.delete(id);
      l.close();
    }
    for (const l of this.retiring) if (l.connectionCount() === 0) this.retiring.delete(l);
    // Connects in progress follow the new endpoints too (also on listeners just retired: their
    // Service may have lost every endpoint, and a client must not wait on a pod that is gone).
    for (const l of [...this.tcp.values(), ...this.retiring]) l.resteer();
    for (const [id, spec] of want) {
      if (this.tcp.has(id) || this.udp.has(id)) continue;
      const l =
        spec.proto === 'TCP'
          ? this.newTcpListener(spec)
          : new UdpListener(spec, this.ctx, this.opts.udpIdleMs ?? 30_000);
      try {
        await l.listen();
        if (l instanceof UdpListener) this.udp.set(id, l);
        else this.tcp.set(id, l);
      } catch (err) {
        // A listener that cannot open (port taken, address not local) must not block the rest;
        // it is tried again on the next sync.
        if (l instanceof UdpListener) l.close();
        this.stats.listenerErrors.inc({ proto: spec.proto });
        this.opts.onError?.(err, id);
      }
    }
    for (const l of this.udp.values()) l.resteer();
  }

  private newTcpListener(spec: ListenerSpec): AnyTcpListener {
    const addon = this.opts.tcpRelay === 'js' ? null : tcpRelayAddon();
    return addon ? new NativeTcpListener(spec, this.ctx, addon) : new TcpListener(spec, this.ctx);
  }

  /** Which TCP relay new listeners use. */
  get tcpRelay(): 'native' | 'js' {
    return this.opts.tcpRelay !== 'js' && tcpRelayAddon() ? 'native' : 'js';
  }

  async stop(opts: { drainMs?: number } = {}): Promise<void> {
    const drainMs = opts.drainMs ?? 5000;
    const tcp = [...this.tcp.values(), ...this.retiring];
    this.tcp.clear();
    this.retiring.clear();
    for (const l of this.udp.values()) l.close();
    this.udp.clear();
    await Promise.all(tcp.map((l) => l.drain(drainMs)));
    this.ctx.connectDeadlines.close();
    await this.vips.close();
  }

  attach(sink: { event(e: PlaneEvent): void }): void {
    const own = this.opts.onEvent;
    this.opts.onEvent = (e) => {
      own?.(e);
      sink.event(e);
    };
  }

  /** Where each listener really is (after VIP mapping). */
  listening(): ListenerSpec[] {
    return [...this.tcp.values(), ...this.udp.values()].map((l) => l.spec);
  }

  /** The listener rendered for `id` (bound or not). */
  listenerSpec(id: string): ListenerSpec | undefined {
    return this.rendered.listeners.get(id);
  }

  udpListener(id: string): UdpListener | undefined {
    return this.udp.get(id);
  }

  balancer(key: ServicePortKey): Balancer | undefined {
    return this.balancers.get(key);
  }

  endpointHealth(): EndpointHealth {
    return this.health;
  }

  /** The verdict for a new connection from `src` on a listener: the plane's real routing code. */
  route(spec: ListenerSpec, src: string): Route | undefined {
    const snap = this.snapshot;
    const svc = snap?.services.get(spec.servicePort);
    const cat = this.rendered.categorized.get(spec.servicePort);
    const balancer = this.balancers.get(spec.servicePort);
    if (!snap || !svc || !cat || !balancer) return undefined;
    // On the VIP's loopback alias every client is local; for the verdict the packet is from `src`
    // to the VIP, which is what kube-proxy would see.
    const verdict = decideCategorized(svc, cat, spec.dest, src, snap.node, {
      masqueradeAll: this.opts.masqueradeAll === true,
    });
    return { svc, verdict, balancer };
  }

  /**
   * Conformance tracer: maps the packet's destination the way a client reaches it on this plane
   * (VIP → its local address), finds the listener the plane rendered, and asks route().
   */
  trace(p: Packet): TraceVerdict {
    const snap = this.snapshot;
    if (!snap || !isIP(p.dst)) return { kind: 'UNHANDLED' };
    const host = this.vips.addressFor(p.dst) ?? p.dst;
    const isVip = this.vips.addressFor(p.dst) !== undefined;
    const local = isVip || snap.node.ips.includes(p.dst) || isLoopbackIP(p.dst);
    if (!local) return { kind: 'UNHANDLED' };
    const spec = this.rendered.listeners.get(listenerId(p.proto, host, p.dport));
    // No socket: the kernel answers RST (TCP) or ICMP port unreachable (UDP).
    if (!spec) return { kind: 'REJECT' };
    const route = this.route(spec, p.src);
    if (!route) return { kind: 'REJECT' };
    if (route.verdict.kind === 'endpoints') {
      return { kind: 'endpoints', endpoints: route.verdict.endpoints.map((e) => e.key), masq: true };
    }
    // A listener that has no endpoint for this client refuses TCP at once (accept + RST) and
    // drops UDP (counted).
    return { kind: p.proto === 'TCP' ? 'REJECT' : 'DROP' };
  }

  private ejected(svc: ServicePortInfo, ep: EndpointInfo): void {
    this.stats.ejections.inc({ endpoint: ep.key });
    this.updateEjectedGauge();
    this.opts.onEvent?.({
      type: 'Warning',
      reason: 'EndpointEjected',
      message: `endpoint ${ep.key} failed ${this.opts.failuresToEject ?? 3} connects in a row; skipped for ${Math.round((this.opts.ejectMs ?? 10_000) / 1000)}s`,
      service: { namespace: svc.namespace, name: svc.name },
    });
  }

  private updateEjectedGauge(): void {
    this.stats.ejected.set(this.health.ejected().length);
  }
}

export type { DestinationKind };
