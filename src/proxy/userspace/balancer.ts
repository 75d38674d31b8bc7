// Endpoint choice inside the eligible set: the per-Service algorithm (`svcnet.io/lb-algorithm`),
// ClientIP session affinity, and passive health (ejection after consecutive connect failures).
import type { EndpointInfo, EndpointKey, LbAlgorithm } from '../types.ts';

export interface EndpointHealthOptions {
  /** Consecutive connect failures that eject an endpoint. */
  failuresToEject: number;
  /** How long an ejected endpoint is skipped. */
  ejectMs: number;
  now: () => number;
}

/**
 * Passive health, shared by all service ports: a dead pod is dead for every Service that
 * selects it. Ejection is advisory: when every candidate is ejected the balancer still tries
 * them (refusing everything on stale evidence would turn a blip into an outage).
 */
export class EndpointHealth {
  private readonly state = new Map<EndpointKey, { failures: number; ejectedUntil: number }>();

  constructor(private readonly opts: EndpointHealthOptions) {}

  success(key: EndpointKey): void {
    this.state.delete(key);
  }

  /** Records a failed connect; returns true when this failure ejected the endpoint. */
  failure(key: EndpointKey): boolean {
    const s = this.state.get(key) ?? { failures: 0, ejectedUntil: 0 };
    s.failures++;
    this.state.set(key, s);
    if (s.failures >= this.opts.failuresToEject && s.ejectedUntil <= this.opts.now()) {
      s.ejectedUntil = this.opts.now() + this.opts.ejectMs;
      // After the back-off the endpoint gets one try: a failure then ejects it again at once.
      s.failures = this.opts.failuresToEject - 1;
      return true;
    }
    return false;
  }

  isEjected(key: EndpointKey): boolean {
    const s = this.state.get(key);
    return s !== undefined && s.ejectedUntil > this.opts.now();
  }

  ejected(): EndpointKey[] {
    const now = this.opts.now();
    return [...this.state].filter(([, s]) => s.ejectedUntil > now).map(([k]) => k);
  }

  /** Forgets endpoints that no longer exist. */
  retain(live: ReadonlySet<EndpointKey>): void {
    for (const k of this.state.keys()) if (!live.has(k)) this.state.delete(k);
  }
}

interface Affinity {
  endpoint: EndpointKey;
  expiresAt: number;
}

const sweepEvery = 1024;

/** Per service port: balancing state and the ClientIP affinity table. */
export class Balancer {
  private rr = 0;
  private readonly active = new Map<EndpointKey, number>();
  private readonly affinity = new Map<string, Affinity>();
  private picks = 0;

  constructor(
    public algorithm: LbAlgorithm,
    /** ClientIP affinity timeout in seconds; undefined disables affinity. */
    public affinitySeconds: number | undefined,
    private readonly random: () => number,
    private readonly now: () => number,
  ) {}

  /**
   * Picks an endpoint for a new connection (or UDP flow) from `client`, skipping `exclude`d
   * ones (already failed in this connection) and, while others remain, ejected ones.
   */
  pick(
    candidates: readonly EndpointInfo[],
    client: string,
    health: EndpointHealth | undefined,
    exclude?: ReadonlySet<EndpointKey>,
  ): EndpointInfo | undefined {
    let pool = exclude ? candidates.filter((e) => !exclude.has(e.key)) : candidates;
    if (health && pool.length > 1) {
      const healthy = pool.filter((e) => !health.isEjected(e.key));
      if (healthy.length > 0) pool = healthy;
    }
    if (pool.length === 0) return undefined;
    const now = this.now();
    if (++this.picks % sweepEvery === 0) this.sweep(now);
    if (this.affinitySeconds !== undefined) {
      const a = this.affinity.get(client);
      if (a && a.expiresAt > now) {
        const pinned = pool.find((e) => e.key === a.endpoint);
        if (pinned) {
          a.expiresAt = now + this.affinitySeconds * 1000;
          return pinned;
        }
      }
    }
    const ep = this.choose(pool);
    if (this.affinitySeconds !== undefined && ep) {
      this.affinity.set(client, { endpoint: ep.key, expiresAt: now + this.affinitySeconds * 1000 });
    }
    return ep;
  }

  /** The endpoint a client is pinned to, if any (for explain and tests). */
  pinned(client: string): EndpointKey | undefined {
    const a = this.affinity.get(client);
    return a && a.expiresAt > this.now() ? a.endpoint : undefined;
  }

  acquire(key: EndpointKey): void {
    this.active.set(key, (this.active.get(key) ?? 0) + 1);
  }

  release(key: EndpointKey): void {
    const n = (this.active.get(key) ?? 0) - 1;
    if (n <= 0) this.active.delete(key);
    else this.active.set(key, n);
  }

  activeCount(key: EndpointKey): number {
    return this.active.get(key) ?? 0;
  }

  private choose(pool: readonly EndpointInfo[]): EndpointInfo | undefined {
    switch (this.algorithm) {
      case 'round-robin':
        return pool[this.rr++ % pool.length];
      case 'least-connections': {
        // Ties rotate, so equal endpoints share new connections instead of the first taking all.
        const offset = this.rr++;
        let best: EndpointInfo | undefined;
        let bestN = Number.POSITIVE_INFINITY;
        for (let i = 0; i < pool.length; i++) {
          const ep = pool[(offset + i) % pool.length];
          if (!ep) continue;
          const n = this.active.get(ep.key) ?? 0;
          if (n < bestN) {
            best = ep;
            bestN = n;
          }
        }
        return best;
      }
      default:
        return pool[Math.floor(this.random() * pool.length)];
    }
  }

  private sweep(now: number): void {
    for (const [k, a] of this.affinity) if (a.expiresAt <= now) this.affinity.delete(k);
  }
}
