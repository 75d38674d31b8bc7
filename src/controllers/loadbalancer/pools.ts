// IPAddressPool objects compiled into what the allocator needs: ordered address ranges and the
// serviceAllocation restrictions with namespace selectors already resolved against the
// Namespaces that exist (MetalLB's addressPoolFromCR / addressPoolServiceAllocationsFromCR).
import type { Labels, Selector } from '../../api/labels/selector.ts';
import { labelSelectorAsSelector } from '../../api/labels/selector.ts';
import type { IPAddressPool, Namespace } from '../../api/types.ts';
import { type AddressRange, parsePoolEntry } from '../../api/validation/metallb.ts';
import { type Addr, isBuggyIP } from './addresses.ts';

export interface PoolAllocation {
  /** Lower is preferred; 0 (unset) sorts after every positive priority (MetalLB's sortPools). */
  priority: number;
  /** undefined: no namespace restriction. Otherwise namespaces ∪ namespaces matched by namespaceSelectors. */
  namespaces?: ReadonlySet<string>;
  /** Empty: no service restriction; otherwise a service must match at least one. */
  serviceSelectors: readonly Selector[];
}

export interface Pool {
  name: string;
  /** In spec order; allocation walks them in this order, each from its first address. */
  ranges: readonly AddressRange[];
  autoAssign: boolean;
  avoidBuggyIPs: boolean;
  allocation?: PoolAllocation;
}

export interface PoolCompileError {
  pool: string;
  message: string;
}

/**
 * Compile one pool. Differences from MetalLB, on purpose:
 * - namespaceSelectors that match no Namespace restrict the pool to nothing (MetalLB then treats
 *   the pool as unrestricted for services that name it or match its serviceSelectors).
 */
export function compilePool(obj: IPAddressPool, namespaces: readonly Namespace[]): Pool | PoolCompileError {
  const name = obj.metadata?.name ?? '';
  const ranges: AddressRange[] = [];
  for (const entry of obj.spec?.addresses ?? []) {
    const r = parsePoolEntry(entry);
    if (typeof r === 'string')
      return { pool: name, message: `invalid CIDR ${JSON.stringify(entry)} in pool ${JSON.stringify(name)}: ${r}` };
    ranges.push(r);
  }
  if (ranges.length === 0) return { pool: name, message: 'pool has no prefixes defined' };
  const pool: Pool = {
    name,
    ranges,
    autoAssign: obj.spec.autoAssign ?? true,
    avoidBuggyIPs: obj.spec.avoidBuggyIPs ?? false,
  };
  const sa = obj.spec.serviceAllocation;
  if (sa) {
    let nsSet: Set<string> | undefined;
    if ((sa.namespaces?.length ?? 0) > 0 || (sa.namespaceSelectors?.length ?? 0) > 0) {
      nsSet = new Set(sa.namespaces ?? []);
      for (const ls of sa.namespaceSelectors ?? []) {
        const sel = labelSelectorAsSelector(ls);
        for (const ns of namespaces) if (sel.matches(ns.metadata?.labels ?? {})) nsSet.add(ns.metadata?.name ?? '');
      }
    }
    pool.allocation = {
      priority: sa.priority ?? 0,
      ...(nsSet ? { namespaces: nsSet } : {}),
      serviceSelectors: (sa.serviceSelectors ?? []).map((ls) => labelSelectorAsSelector(ls)),
    };
  }
  return pool;
}

export function isCompileError(p: Pool | PoolCompileError): p is PoolCompileError {
  return 'message' in p;
}

/** MetalLB's isPoolCompatibleWithService. */
export function poolAdmits(pool: Pool, namespace: string, labels: Labels): boolean {
  const a = pool.allocation;
  if (!a) return true;
  if (a.namespaces && !a.namespaces.has(namespace)) return false;
  if (a.serviceSelectors.length > 0) return a.serviceSelectors.some((s) => s.matches(labels));
  return true;
}

/** The pool holds the address (and, with avoidBuggyIPs, does not exclude it). */
export function poolContains(pool: Pool, ip: Addr): boolean {
  if (pool.avoidBuggyIPs && isBuggyIP(ip)) return false;
  return pool.ranges.some((r) => r.family === ip.family && r.first <= ip.value && ip.value <= r.last);
}

/** Sort for pinned pools: positive priorities ascending, then unset (0); ties by name for determinism. */
export function comparePools(a: Pool, b: Pool): number {
  const pa = a.allocation?.priority ?? 0;
  const pb = b.allocation?.priority ?? 0;
  if (pa !== pb) {
    if (pa === 0) return 1;
    if (pb === 0) return -1;
    return pa - pb;
  }
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** Address counts per family (MetalLB's poolCount), for IPAddressPool status. */
export function poolCapacity(pool: Pool): { ipv4: bigint; ipv6: bigint } {
  let ipv4 = 0n;
  let ipv6 = 0n;
  for (const r of pool.ranges) {
    let n = r.last - r.first + 1n;
    if (pool.avoidBuggyIPs && r.family === 'IPv4') n -= countBuggy(r.first, r.last);
    if (r.family === 'IPv4') ipv4 += n;
    else ipv6 += n;
  }
  return { ipv4, ipv6 };
}

function countBuggy(first: bigint, last: bigint): bigint {
  // Addresses x.y.z.0 and x.y.z.255 in [first, last].
  const upTo = (v: bigint): bigint => (v < 0n ? 0n : (v >> 8n) + 1n + (v >> 8n) + ((v & 0xffn) === 0xffn ? 1n : 0n));
  return upTo(last) - upTo(first - 1n);
}
