// Refusing pool changes that would strand a live allocation: an address a Service shows in
// status.loadBalancer.ingress must stay inside some pool that admits the Service, or the
// Service's external IP would silently change under its users. MetalLB (before webhooks)
// refused such a config as a whole: "new config not compatible with assigned IPs: service %q
// cannot own %q under new config". Pure, so the apiserver can run it as an admission check
// on IPAddressPool update/delete and the controller as its own guard.
import { type ErrorList, forbidden, Path } from '../../api/field.ts';
import type { IPAddressPool, Namespace } from '../../api/types.ts';
import { type Addr, parseAddr } from './addresses.ts';
import { compilePool, isCompileError, type Pool, poolAdmits, poolContains } from './pools.ts';

/** One Service's live addresses (from its status), as the apiserver or controller sees them. */
export interface LiveAllocation {
  /** "namespace/name" */
  service: string;
  ips: readonly string[];
  /** The Service's labels, for serviceSelectors; omitted = only addresses are checked. */
  labels?: Readonly<Record<string, string>>;
}

export interface PoolChangeContext {
  /** The other pools that exist (unchanged by this write): an allocation they can hold is not stranded. */
  otherPools?: readonly IPAddressPool[];
  /** Namespaces, for resolving serviceAllocation.namespaceSelectors. */
  namespaces?: readonly Namespace[];
}

const strandedMessage = (service: string, ip: string): string =>
  `new config not compatible with assigned IPs: service ${JSON.stringify(service)} cannot own ${JSON.stringify(ip)} under new config`;

function compile(p: IPAddressPool, namespaces: readonly Namespace[]): Pool | undefined {
  const c = compilePool(p, namespaces);
  return isCompileError(c) ? undefined : c;
}

function holds(pool: Pool, ips: readonly Addr[], svc: LiveAllocation): boolean {
  const [ns = ''] = svc.service.split('/');
  return ips.every((ip) => poolContains(pool, ip)) && (!svc.labels || poolAdmits(pool, ns, svc.labels));
}

/**
 * `updated` undefined means the pool is being deleted. Returns one error per stranded
 * allocation (empty = the change is safe); `live` may list every LoadBalancer Service — those
 * the old pool did not hold are ignored.
 */
export function validatePoolChange(
  old: IPAddressPool,
  updated: IPAddressPool | undefined,
  live: readonly LiveAllocation[],
  ctx: PoolChangeContext = {},
): ErrorList {
  const namespaces = ctx.namespaces ?? [];
  const before = compile(old, namespaces);
  if (!before) return [];
  const after = updated ? compile(updated, namespaces) : undefined;
  const others = (ctx.otherPools ?? [])
    .filter((p) => p.metadata?.name !== old.metadata?.name || p.metadata?.namespace !== old.metadata?.namespace)
    .map((p) => compile(p, namespaces))
    .filter((p): p is Pool => p !== undefined);
  const errs: ErrorList = [];
  const path = updated ? Path.of('spec', 'addresses') : Path.root('metadata').child('name');
  for (const svc of live) {
    const ips = svc.ips.map((s) => parseAddr(s)).filter((a): a is Addr => a !== undefined);
    if (ips.length === 0 || !ips.every((ip) => poolContains(before, ip))) continue;
    if (after && holds(after, ips, svc)) continue;
    if (others.some((p) => holds(p, ips, svc))) continue;
    errs.push(forbidden(path, strandedMessage(svc.service, svc.ips.join(','))));
  }
  return errs;
}

/** The allocations no pool of `pools` can hold any more (the controller's own guard). */
export function strandedAllocations(pools: readonly Pool[], live: readonly LiveAllocation[]): LiveAllocation[] {
  return live.filter((svc) => {
    const ips = svc.ips.map((s) => parseAddr(s)).filter((a): a is Addr => a !== undefined);
    return !pools.some((p) => holds(p, ips, svc));
  });
}

export { strandedMessage };
