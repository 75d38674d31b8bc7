// BGP announcer: one session per BGPPeer that selects this node, each told the routes of the
// addresses this node may announce (every eligible node announces, so the router sees one path
// per node and spreads traffic over them). A plan change is a diff: sessions whose peer changed
// are reopened, routes added or withdrawn per peer as BGPAdvertisement.peers says.
import { parseCommunity } from '../../api/validation/metallb.ts';
import { type Dial, dialTCP } from '../../kernel/tcp-dial.ts';
import type { Gauge } from '../../proxy/metrics.ts';
import type { Announcer, AnnouncerFactory, PeerSpec, Plan } from '../contract.ts';
import type { StateName } from './fsm.ts';
import { planBGP } from './plan.ts';
import { type Route, Session } from './session.ts';

export interface BGPMetrics {
  sessionUp: Gauge;
  announcedPrefixes: Gauge;
}

export interface BGPOptions {
  /** Router ID when the BGPPeer names none: the node's IPv4 address. */
  routerID: string;
  /** Opens the TCP connection; the TCP-MD5 dial when the peer has a password. */
  dial?: (peer: PeerSpec) => Dial;
  metrics?: BGPMetrics;
  /** Seconds between connection attempts (MetalLB's connectTime). */
  connectRetry?: number;
  /** RFC 8326: how long routes carry GRACEFUL_SHUTDOWN before an orderly stop closes the sessions. */
  gracefulShutdownMs?: number;
  log?: (m: string) => void;
  onError?: (e: unknown, peer: string) => void;
}

interface Peer {
  spec: PeerSpec;
  key: string;
  session: Session;
}

/** Routes for one peer: every announcement's prefixes meant for it, one route per prefix. */
export function routesFor(plan: Plan, peer: PeerSpec): Route[] {
  const out = new Map<string, Route>();
  for (const a of plan.announce)
    for (const b of a.bgp ?? []) {
      if (b.peers.length > 0 && !b.peers.includes(peer.name)) continue;
      const prev = out.get(b.prefix);
      const communities = new Set(prev?.communities ?? []);
      const large = new Map((prev?.largeCommunities ?? []).map((l) => [l.join(':'), l]));
      for (const c of b.communities) {
        const v = parseCommunity(c);
        if (typeof v === 'string') continue;
        if (v.kind === 'standard') communities.add(v.value);
        else large.set(`${v.global}:${v.local1}:${v.local2}`, [v.global, v.local1, v.local2]);
      }
      // Two advertisements for one prefix: the higher LOCAL_PREF wins, communities add up.
      const localPref =
        prev?.localPref === undefined ? b.localPref : Math.max(prev.localPref, b.localPref ?? prev.localPref);
      out.set(b.prefix, {
        prefix: b.prefix,
        ...(localPref !== undefined ? { localPref } : {}),
        communities: [...communities].sort((x, y) => x - y),
        largeCommunities: [...large.values()],
      });
    }
  return [...out.values()].sort((a, b) => a.prefix.localeCompare(b.prefix));
}

class BGP implements Announcer {
  readonly protocol = 'bgp' as const;
  private readonly peers = new Map<string, Peer>();
  private closed = false;

  constructor(
    private readonly node: string,
    private readonly o: BGPOptions,
  ) {}

  plan = planBGP;

  /** Peer name → session state (for tests and status output). */
  states(): Map<string, StateName> {
    return new Map([...this.peers].map(([n, p]) => [n, p.session.state]));
  }

  async apply(plan: Plan): Promise<void> {
    if (this.closed) return;
    const want = new Map((plan.peers ?? []).map((p) => [p.name, p]));
    for (const [name, p] of this.peers) {
      const spec = want.get(name);
      if (spec && JSON.stringify(spec) === p.key) continue;
      this.peers.delete(name);
      this.o.metrics?.sessionUp.set(0, { peer: this.label(p.spec) });
      await p.session.stop();
    }
    for (const [name, spec] of want) {
      if (this.peers.has(name)) continue;
      if (spec.passwordError) {
        this.o.onError?.(new Error(spec.passwordError), name);
        continue;
      }
      // A session without the key the peer expects would be dropped by it silently: refuse loudly.
      if (spec.password && !this.o.dial) {
        this.o.onError?.(new Error('password set but TCP-MD5 is not available: session not opened'), name);
        continue;
      }
      const session = this.open(spec);
      this.peers.set(name, { spec, key: JSON.stringify(spec), session });
      session.start();
    }
    for (const p of this.peers.values()) {
      const routes = routesFor(plan, p.spec);
      p.session.setRoutes(routes);
      this.o.metrics?.announcedPrefixes.set(routes.length, { peer: this.label(p.spec) });
    }
  }

  private label(p: PeerSpec): string {
    return `${p.peerAddress}:${p.peerPort}`;
  }

  private open(spec: PeerSpec): Session {
    const label = this.label(spec);
    return new Session({
      config: {
        myAS: spec.myASN,
        peerAS: spec.peerASN,
        routerID: spec.routerID ?? this.o.routerID,
        holdTime: spec.holdTime,
        ...(spec.keepaliveTime !== undefined ? { keepaliveTime: spec.keepaliveTime } : {}),
        connectRetry: this.o.connectRetry ?? 5,
      },
      peerAddress: spec.peerAddress,
      peerPort: spec.peerPort,
      ...(spec.sourceAddress ? { sourceAddress: spec.sourceAddress } : {}),
      dial: this.o.dial?.(spec) ?? dialTCP,
      onState: (state, reason) => {
        this.o.metrics?.sessionUp.set(state === 'Established' ? 1 : 0, { peer: label });
        if (state === 'Established' || reason)
          this.o.log?.(`bgp peer ${spec.name} (${label}) from ${this.node}: ${state}${reason ? ` (${reason})` : ''}`);
      },
      onError: (e) => this.o.onError?.(e, spec.name),
    });
  }

  async close(how: 'shutdown' | 'crash'): Promise<void> {
    this.closed = true;
    const all = [...this.peers.values()];
    this.peers.clear();
    if (how === 'crash') for (const p of all) p.session.crash();
    else await Promise.all(all.map((p) => p.session.stop(this.o.gracefulShutdownMs ?? 0)));
    for (const p of all) this.o.metrics?.sessionUp.set(0, { peer: this.label(p.spec) });
  }
}

export const bgp = {
  protocol: 'bgp',
  create: (node: string, options: BGPOptions) => new BGP(node, options),
} as const satisfies AnnouncerFactory<BGPOptions>;

export type BGPAnnouncer = BGP;

/** MetalLB's BGP metric names (metallb_bgp_*). */
export function bgpMetrics(reg: { gauge(name: string, help: string): Gauge }): BGPMetrics {
  return {
    sessionUp: reg.gauge('metallb_bgp_session_up', 'BGP session state (1 is up, 0 is down)'),
    announcedPrefixes: reg.gauge(
      'metallb_bgp_announced_prefixes_total',
      'Number of prefixes currently being advertised on the BGP session',
    ),
  };
}
