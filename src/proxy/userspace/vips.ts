// Where the userspace plane listens for a virtual IP (ClusterIP, external IP, LB ingress IP).
// - As root (in the node namespace): the VIP itself is added to `lo` by a VipBinder, so clients
//   use the real address (BoundVips).
// - Rootless: no address can be added, but Linux routes all of 127.0.0.0/8 to lo, so each VIP
//   gets a stable alias in a loopback service range (LoopbackRangeVips, default
//   127.10.0.0/16) and the mapping is exposed for DNS, `svcnet explain` and users.
import { bigIntToIP, bytesToBigInt, cidrContains, ipToBigInt, parseCIDRSloppy } from '../../api/ip.ts';

/** Adds and removes addresses on the loopback device of the node namespace (a kernel seam). */
export interface VipBinder {
  /** Idempotent. */
  add(ip: string): Promise<void>;
  /** Idempotent. */
  remove(ip: string): Promise<void>;
  list(): Promise<string[]>;
}

/** Behaves like `ip addr` on lo: a set, idempotent add/remove. */
export class FakeVipBinder implements VipBinder {
  readonly addrs = new Set<string>();
  async add(ip: string): Promise<void> {
    this.addrs.add(ip);
  }
  async remove(ip: string): Promise<void> {
    this.addrs.delete(ip);
  }
  async list(): Promise<string[]> {
    return [...this.addrs].sort();
  }
}

export interface VipMapper {
  readonly mode: 'bound' | 'loopback-range';
  /** The local address a VIP is served on, or undefined if it is not (yet) mapped. */
  addressFor(vip: string): string | undefined;
  /** Converge to exactly these VIPs. */
  sync(vips: ReadonlySet<string>): Promise<void>;
  /** VIP → local address. */
  mapping(): ReadonlyMap<string, string>;
  close(): Promise<void>;
}

/** Root mode: VIPs are bound on lo as they are. */
export class BoundVips implements VipMapper {
  readonly mode = 'bound';
  private readonly bound = new Set<string>();

  constructor(private readonly binder: VipBinder) {}

  addressFor(vip: string): string | undefined {
    return this.bound.has(vip) ? vip : undefined;
  }

  async sync(vips: ReadonlySet<string>): Promise<void> {
    for (const ip of [...this.bound]) {
      if (!vips.has(ip)) {
        await this.binder.remove(ip);
        this.bound.delete(ip);
      }
    }
    for (const ip of vips) {
      if (this.bound.has(ip)) continue;
      await this.binder.add(ip);
      this.bound.add(ip);
    }
  }

  mapping(): ReadonlyMap<string, string> {
    return new Map([...this.bound].map((ip) => [ip, ip]));
  }

  async close(): Promise<void> {
    await this.sync(new Set());
  }
}

export class VipRangeExhaustedError extends Error {
  readonly code = 'VIP_RANGE_EXHAUSTED';
}

/**
 * Rootless mode. A VIP's preferred alias keeps its low bits (10.96.0.10 → 127.10.0.10 in a
 * /16), so the mapping is predictable; a collision probes upwards. An alias never moves while
 * its VIP exists, so open connections and cached lookups stay valid.
 */
export class LoopbackRangeVips implements VipMapper {
  readonly mode = 'loopback-range';
  private readonly byVip = new Map<string, string>();
  private readonly used = new Set<number>();
  private readonly base: number;
  private readonly size: number;

  constructor(readonly range = '127.10.0.0/16') {
    const c = parseCIDRSloppy(range);
    if (c?.bits !== 32 || !cidrContains('127.0.0.0/8', range.split('/')[0] ?? '')) {
      throw new Error(`loopback service range must be an IPv4 CIDR inside 127.0.0.0/8: ${range}`);
    }
    this.base = Number(bytesToBigInt(c.network) & 0xffffffffn);
    this.size = 2 ** (32 - c.prefix);
  }

  addressFor(vip: string): string | undefined {
    return this.byVip.get(vip);
  }

  async sync(vips: ReadonlySet<string>): Promise<void> {
    for (const [vip, alias] of [...this.byVip]) {
      if (!vips.has(vip)) {
        this.byVip.delete(vip);
        this.used.delete(this.offsetOf(alias));
      }
    }
    // Sorted so that a set of new VIPs maps the same way whatever order they arrived in.
    for (const vip of [...vips].sort()) {
      if (this.byVip.has(vip)) continue;
      this.byVip.set(vip, this.allocate(vip));
    }
  }

  mapping(): ReadonlyMap<string, string> {
    return new Map(this.byVip);
  }

  async close(): Promise<void> {
    this.byVip.clear();
    this.used.clear();
  }

  private offsetOf(alias: string): number {
    return Number(ipToBigInt(alias)?.value ?? 0n) - this.base;
  }

  private allocate(vip: string): string {
    // The VIP's low 32 bits (IPv6 included) pick the preferred offset.
    const low = Number((ipToBigInt(vip)?.value ?? 0n) & 0xffffffffn);
    // Offsets 0 and size-1 are skipped: they read like network and broadcast addresses.
    if (this.size <= 2) throw new VipRangeExhaustedError(`range ${this.range} too small`);
    const start = low % this.size;
    for (let i = 0; i < this.size; i++) {
      const off = (start + i) % this.size;
      if (off === 0 || off === this.size - 1 || this.used.has(off)) continue;
      this.used.add(off);
      return bigIntToIP('IPv4', BigInt(this.base + off));
    }
    throw new VipRangeExhaustedError(`no free address in ${this.range} for ${vip}`);
  }
}
