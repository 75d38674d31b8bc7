// The LoadBalancer IP allocator (MetalLB's internal/allocator, rewritten): pure in-memory state,
// no I/O. It owns the pools and every service's addresses, and enforces the sharing rules:
// an address may carry several services only when they all have the same non-empty sharing key
// and backend key and no two of them use the same (protocol, port).
//
// The controller rebuilds this state from Service status after a restart (assign() of what
// each Service already shows), so nothing here is persisted.
import type { AddressRange } from '../../api/validation/metallb.ts';
import { type Addr, familyOfValue, formatAddr, type IPFamily, quoteIPs } from './addresses.ts';
import { type Port, portKey, type ServiceClaim, type ServiceFamily } from './claim.ts';
import { AllocError } from './errors.ts';
import { comparePools, type Pool, poolAdmits, poolCapacity, poolContains } from './pools.ts';

interface Alloc {
  pool: string;
  ips: Addr[];
  ports: Port[];
  sharingKey: string;
  backendKey: string;
}

interface IPUse {
  sharingKey: string;
  backendKey: string;
  /** portKey → service key */
  ports: Map<string, string>;
  services: Set<string>;
}

export interface PoolCounters {
  assignedIPv4: number;
  assignedIPv6: number;
  availableIPv4: number;
  availableIPv6: number;
}

export interface Allocation {
  service: string;
  pool: string;
  ips: string[];
}

export class Allocator {
  private pools = new Map<string, Pool>();
  private readonly allocated = new Map<string, Alloc>();
  /** Keyed by address value (bigints compare by value in a Map): the free-address scan is hot. */
  private readonly ipUse = new Map<bigint, IPUse>();
  /** Per range: every address below this one is in use (see freeIPs). */
  private readonly lowWater = new WeakMap<AddressRange, bigint>();

  constructor(pools: readonly Pool[] = []) {
    this.setPools(pools);
  }

  poolList(): Pool[] {
    return [...this.pools.values()];
  }

  /**
   * Replace the pools. Allocations that still fit a pool move to it; those that fit none are
   * released and their service keys returned (the controller refuses such changes before
   * calling this, see pool-change.ts; this is the fallback that keeps the state coherent).
   */
  setPools(pools: readonly Pool[]): string[] {
    this.pools = new Map(pools.map((p) => [p.name, p]));
    const stranded: string[] = [];
    for (const [svc, a] of this.allocated) {
      const pool = this.poolFor(a.ips);
      if (!pool) {
        this.unassign(svc);
        stranded.push(svc);
      } else a.pool = pool.name;
    }
    return stranded;
  }

  /** The pool holding every one of these addresses, if any (MetalLB's poolFor). */
  poolFor(ips: readonly Addr[]): Pool | undefined {
    for (const p of [...this.pools.values()].sort(comparePools)) {
      if (ips.every((ip) => poolContains(p, ip))) return p;
    }
    return undefined;
  }

  ipsOf(svc: string): Addr[] | undefined {
    return this.allocated.get(svc)?.ips;
  }

  poolOf(svc: string): string | undefined {
    return this.allocated.get(svc)?.pool;
  }

  allocations(): Allocation[] {
    return [...this.allocated].map(([service, a]) => ({ service, pool: a.pool, ips: a.ips.map((i) => formatAddr(i)) }));
  }

  /** Give exactly these addresses to the service, if config and sharing allow it. Idempotent. */
  assign(claim: ServiceClaim, ips: readonly Addr[]): void {
    const pool = this.poolFor(ips);
    if (!pool) throw new AllocError('NotInPool', `${quoteIPs(ips)} is not allowed in config`);
    if (!poolAdmits(pool, claim.namespace, claim.labels))
      throw new AllocError('PoolIncompatible', `pool ${pool.name} not compatible for ip assignment`);
    if (ips.length > 2) throw new AllocError('InvalidRequest', `more than two addresses ${quoteIPs(ips)}`);
    if (ips.length === 2 && ips[0]?.family === ips[1]?.family)
      throw new AllocError('InvalidRequest', `${quoteIPs(ips)} has the same family`);
    for (const ip of ips) {
      const err = this.sharingError(claim, ip);
      if (err) throw err;
    }
    this.unassign(claim.key);
    const a: Alloc = {
      pool: pool.name,
      ips: [...ips],
      ports: [...claim.ports],
      sharingKey: claim.sharingKey,
      backendKey: claim.backendKey,
    };
    this.allocated.set(claim.key, a);
    for (const ip of a.ips) {
      let use = this.ipUse.get(ip.value);
      if (!use) {
        use = { sharingKey: a.sharingKey, backendKey: a.backendKey, ports: new Map(), services: new Set() };
        this.ipUse.set(ip.value, use);
      }
      // The last assigner's keys stand for the address; all users have equal keys, except a
      // sole user that just changed its own (allowed by checkSharing).
      use.sharingKey = a.sharingKey;
      use.backendKey = a.backendKey;
      for (const p of a.ports) use.ports.set(portKey(p), claim.key);
      use.services.add(claim.key);
    }
  }

  unassign(svc: string): boolean {
    const a = this.allocated.get(svc);
    if (!a) return false;
    this.allocated.delete(svc);
    for (const ip of a.ips) {
      const use = this.ipUse.get(ip.value);
      if (!use) continue;
      for (const p of a.ports) if (use.ports.get(portKey(p)) === svc) use.ports.delete(portKey(p));
      use.services.delete(svc);
      if (use.services.size === 0) {
        this.ipUse.delete(ip.value);
        this.lowerWater(ip.value);
      }
    }
    return true;
  }

  /** Why the service may not use this address, or undefined if it may (MetalLB's checkSharing). */
  private sharingError(claim: ServiceClaim, ip: Addr): AllocError | undefined {
    const use = this.ipUse.get(ip.value);
    if (!use) return undefined;
    let others = false;
    for (const s of use.services) if (s !== claim.key) others = true;
    if (!others) return undefined;
    const why = sharingProblem(use, claim);
    if (why) {
      const names = [...use.services].filter((s) => s !== claim.key).join(',');
      return new AllocError(
        'SharingConflict',
        `can't change sharing key for ${JSON.stringify(claim.key)}, address also in use by ${names}: ${why}`,
      );
    }
    for (const p of claim.ports) {
      const owner = use.ports.get(portKey(p));
      if (owner !== undefined && owner !== claim.key)
        return new AllocError(
          'PortConflict',
          `port ${portKey(p)} is already in use on ${JSON.stringify(formatAddr(ip))}`,
        );
    }
    return undefined;
  }

  private lowerWater(v: bigint): void {
    for (const p of this.pools.values())
      for (const r of p.ranges) {
        const mark = this.lowWater.get(r);
        if (mark !== undefined && r.first <= v && v < mark) this.lowWater.set(r, v);
      }
  }

  /** sharingError without building errors: the free-address scan calls this for every used address. */
  private canUse(claim: ServiceClaim, ip: bigint): boolean {
    const use = this.ipUse.get(ip);
    if (!use) return true;
    if (use.services.size === 1 && use.services.has(claim.key)) return true;
    if (use.sharingKey === '' || use.sharingKey !== claim.sharingKey || use.backendKey !== claim.backendKey)
      return false;
    for (const p of claim.ports) {
      const owner = use.ports.get(portKey(p));
      if (owner !== undefined && owner !== claim.key) return false;
    }
    return true;
  }

  /** The first usable address of each family in the pool (MetalLB's getFreeIPsFromPool). */
  private freeIPs(pool: Pool, claim: ServiceClaim): Partial<Record<IPFamily, Addr>> {
    const out: Partial<Record<IPFamily, Addr>> = {};
    for (const r of pool.ranges) {
      if (out[r.family]) continue;
      // A service that does not share can only take an unused address, and every address
      // below the range's low-water mark is in use: start there (keeps allocation O(1)
      // amortized instead of a scan over every used address).
      const start = claim.sharingKey === '' ? (this.lowWater.get(r) ?? r.first) : r.first;
      for (let v = start; v <= r.last; v++) {
        const ip: Addr = { family: familyOfValue(v), value: v };
        if (!poolContains(pool, ip)) continue; // buggy .0/.255
        if (this.canUse(claim, v)) {
          out[r.family] = ip;
          if (claim.sharingKey === '') this.lowWater.set(r, v);
          break;
        }
      }
    }
    return out;
  }

  private pick(free: Partial<Record<IPFamily, Addr>>, claim: ServiceClaim): Addr[] | undefined {
    if (claim.family !== 'DualStack') {
      const ip = free[claim.family];
      return ip ? [ip] : undefined;
    }
    const v4 = free.IPv4;
    const v6 = free.IPv6;
    if (v4 && v6) return [v4, v6];
    if (claim.policy === 'PreferDualStack') {
      const primary = claim.primary === 'IPv6' ? v6 : v4;
      const secondary = claim.primary === 'IPv6' ? v4 : v6;
      if (primary) return [primary];
      if (secondary) return [secondary];
    }
    return undefined;
  }

  /**
   * Best pool among `pools` (in order): the first with every needed family; for
   * PreferDualStack, else the first with the primary family, else the secondary
   * (MetalLB's findBestPoolForService).
   */
  private allocateFromPools(pools: readonly Pool[], claim: ServiceClaim): Addr[] | undefined {
    let primaryOnly: Addr[] | undefined;
    let secondaryOnly: Addr[] | undefined;
    for (const pool of pools) {
      const free = this.freeIPs(pool, claim);
      if (claim.family !== 'DualStack') {
        const ip = free[claim.family];
        if (ip) return this.tryAssign(claim, [ip]);
        continue;
      }
      if (free.IPv4 && free.IPv6) return this.tryAssign(claim, [free.IPv4, free.IPv6]);
      if (claim.policy !== 'PreferDualStack') continue;
      const primary = claim.primary === 'IPv6' ? free.IPv6 : free.IPv4;
      const secondary = claim.primary === 'IPv6' ? free.IPv4 : free.IPv6;
      if (primary && !primaryOnly) primaryOnly = [primary];
      if (secondary && !secondaryOnly) secondaryOnly = [secondary];
    }
    const ips = primaryOnly ?? secondaryOnly;
    return ips ? this.tryAssign(claim, ips) : undefined;
  }

  private tryAssign(claim: ServiceClaim, ips: Addr[]): Addr[] | undefined {
    try {
      this.assign(claim, ips);
      return ips;
    } catch {
      return undefined;
    }
  }

  /**
   * Any suitable address: first the pools pinned to this service by serviceAllocation (by
   * priority), then every auto-assign pool without serviceAllocation (by name).
   */
  allocate(claim: ServiceClaim): Addr[] {
    const current = this.allocated.get(claim.key);
    if (current) {
      this.assign(claim, current.ips);
      return current.ips;
    }
    const all = [...this.pools.values()].filter((p) => p.autoAssign);
    const pinned = all.filter((p) => p.allocation && poolAdmits(p, claim.namespace, claim.labels)).sort(comparePools);
    const open = all.filter((p) => !p.allocation).sort(comparePools);
    const ips = this.allocateFromPools(pinned, claim) ?? this.allocateFromPools(open, claim);
    if (!ips) throw new AllocError('Exhausted', 'no available IPs');
    return ips;
  }

  /** An address from the named pool (the metallb.io/address-pool annotation); autoAssign does not matter. */
  allocateFromPool(claim: ServiceClaim, poolName: string): Addr[] {
    const current = this.allocated.get(claim.key);
    if (current) {
      if (!familyFits(current.ips, claim))
        throw new AllocError('FamilyMismatch', `IP for wrong family assigned ${quoteIPs(current.ips)}`);
      this.assign(claim, current.ips);
      return current.ips;
    }
    const pool = this.pools.get(poolName);
    if (!pool) throw new AllocError('UnknownPool', `unknown pool ${JSON.stringify(poolName)}`);
    const ips = this.pick(this.freeIPs(pool, claim), claim);
    if (!ips)
      throw new AllocError(
        'Exhausted',
        `no available IPs in pool ${JSON.stringify(poolName)} for ${claim.family} IPFamily`,
      );
    this.assign(claim, ips);
    return ips;
  }

  /** PreferDualStack with one address: add the other family from the same pool, if it has one. */
  allocateAdditionalFamily(claim: ServiceClaim): Addr | undefined {
    const current = this.allocated.get(claim.key);
    const existing = current?.ips[0];
    if (current?.ips.length !== 1 || !existing) return undefined;
    const pool = this.pools.get(current.pool);
    if (!pool) return undefined;
    const want: IPFamily = existing.family === 'IPv4' ? 'IPv6' : 'IPv4';
    const extra = this.freeIPs(pool, claim)[want];
    if (!extra) return undefined;
    const ips = existing.family === 'IPv4' ? [existing, extra] : [extra, existing];
    return this.tryAssign(claim, ips) ? extra : undefined;
  }

  counters(poolName: string): PoolCounters | undefined {
    const pool = this.pools.get(poolName);
    if (!pool) return undefined;
    const used = { IPv4: new Set<string>(), IPv6: new Set<string>() };
    for (const a of this.allocated.values()) {
      if (a.pool !== poolName) continue;
      for (const ip of a.ips) used[ip.family].add(formatAddr(ip));
    }
    const cap = poolCapacity(pool);
    const clamp = (n: bigint): number => (n > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(n));
    return {
      assignedIPv4: used.IPv4.size,
      assignedIPv6: used.IPv6.size,
      availableIPv4: clamp(cap.ipv4 - BigInt(used.IPv4.size)),
      availableIPv6: clamp(cap.ipv6 - BigInt(used.IPv6.size)),
    };
  }
}

function sharingProblem(use: IPUse, claim: ServiceClaim): string | undefined {
  if (use.sharingKey === '') return 'existing service does not allow sharing';
  if (claim.sharingKey === '') return 'new service does not allow sharing';
  if (use.sharingKey !== claim.sharingKey)
    return `sharing key ${JSON.stringify(claim.sharingKey)} does not match existing sharing key ${JSON.stringify(use.sharingKey)}`;
  if (use.backendKey !== claim.backendKey)
    return `backend key ${JSON.stringify(claim.backendKey)} does not match existing backend key ${JSON.stringify(use.backendKey)}`;
  return undefined;
}

/** The addresses match the service's family (PreferDualStack may hold fewer families). */
export function familyFits(ips: readonly Addr[], claim: ServiceClaim): boolean {
  const fam: ServiceFamily | undefined =
    ips.length === 1 ? ips[0]?.family : ips.length === 2 && ips[0]?.family !== ips[1]?.family ? 'DualStack' : undefined;
  if (!fam) return false;
  if (fam === claim.family) return true;
  return claim.family === 'DualStack' && claim.policy === 'PreferDualStack';
}
