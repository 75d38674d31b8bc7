// One Service against the allocator: decide its LoadBalancer addresses (MetalLB's
// convergeBalancer and allocateIPs). Pure apart from the allocator state it is given; the
// controller applies the outcome (status, annotation, Events).
import type { Service } from '../../api/types.ts';
import { annotationKeys } from '../../api/well-known.ts';
import { type Addr, formatAddr, parseAddr, quoteIPs } from './addresses.ts';
import { type Allocator, familyFits } from './allocator.ts';
import { annotation, claimFor, desiredIPs, type ServiceClaim } from './claim.ts';
import { AllocError, isAllocError } from './errors.ts';

export interface ServiceEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export type ConvergeOutcome =
  /** Not ours (another loadBalancerClass): leave its status alone. */
  | { kind: 'ignore' }
  /** Not (or no longer) a LoadBalancer we serve, or allocation failed: status must show no addresses. */
  | { kind: 'clear'; retry: boolean; events: ServiceEvent[] }
  | { kind: 'set'; ips: string[]; pool: string; events: ServiceEvent[] };

export interface ConvergeOptions {
  /** The loadBalancerClass this controller serves besides the unset class. */
  loadBalancerClass?: string;
  /** Serve Services without a class (default); false when a provider serves them. */
  classless?: boolean;
}

/** Whether this controller is responsible for the Service's load-balancer addresses. */
export function handles(svc: Service, opts: ConvergeOptions): boolean {
  if (svc.spec?.type !== 'LoadBalancer') return false;
  const cls = svc.spec.loadBalancerClass;
  if (cls === undefined || cls === '') return opts.classless ?? true;
  return cls === opts.loadBalancerClass;
}

export function statusIPs(svc: Service): Addr[] | undefined {
  const out: Addr[] = [];
  for (const ing of svc.status?.loadBalancer?.ingress ?? []) {
    if (!ing.ip) continue;
    const a = parseAddr(ing.ip);
    if (!a) return undefined;
    out.push(a);
  }
  return out;
}

function sameIPs(a: readonly Addr[], b: readonly Addr[]): boolean {
  const s = (x: readonly Addr[]) =>
    x
      .map((i) => formatAddr(i))
      .sort()
      .join(',');
  return s(a) === s(b);
}

/**
 * Bring the service's allocation in line with what it asks for. `svc` undefined means deleted.
 */
export function converge(
  key: string,
  svc: Service | undefined,
  alloc: Allocator,
  opts: ConvergeOptions = {},
): ConvergeOutcome {
  if (!svc || !handles(svc, opts)) {
    alloc.unassign(key);
    if (svc && svc.spec?.type === 'LoadBalancer') return { kind: 'ignore' };
    return { kind: 'clear', retry: false, events: [] };
  }
  const events: ServiceEvent[] = [];
  const clear = (retry: boolean): ConvergeOutcome => {
    alloc.unassign(key);
    return { kind: 'clear', retry, events };
  };
  const failed = (message: string): ConvergeOutcome => {
    events.push({
      type: 'Warning',
      reason: 'AllocationFailed',
      message: `Failed to allocate IP for ${JSON.stringify(key)}: ${message}`,
    });
    return clear(true);
  };

  let claim: ServiceClaim;
  try {
    claim = claimFor(svc);
  } catch (e) {
    return failed(isAllocError(e) ? e.message : String(e));
  }
  if (alloc.poolList().length === 0) return failed('no available IPs');

  let desired: ReturnType<typeof desiredIPs>;
  try {
    desired = desiredIPs(svc);
  } catch (e) {
    events.push({
      type: 'Warning',
      reason: 'LoadBalancerFailed',
      message: `invalid requested loadbalancer IPs: ${isAllocError(e) ? e.message : String(e)}`,
    });
    return clear(true);
  }
  const desiredPool = annotation(svc, annotationKeys.metallbAddressPool) ?? '';

  // What the status shows is the end state of a previous convergence; keep it when it still
  // satisfies the config and the request, else start over.
  let ips = statusIPs(svc) ?? [];
  if (ips.length === 0) alloc.unassign(key);
  else if (!familyFits(ips, claim)) {
    alloc.unassign(key);
    ips = [];
  }
  if (ips.length > 0) {
    try {
      alloc.assign(claim, ips);
    } catch (e) {
      events.push({
        type: 'Normal',
        reason: 'ClearAssignment',
        message: `current IP for ${JSON.stringify(key)} not allowed by config, will attempt for new IP assignment: ${isAllocError(e) ? e.message : String(e)}`,
      });
      alloc.unassign(key);
      ips = [];
    }
    if (ips.length > 0 && desiredPool && alloc.poolOf(key) !== desiredPool) {
      alloc.unassign(key);
      ips = [];
    }
    if (ips.length > 0 && desired && !sameIPs(ips, desired.ips)) {
      alloc.unassign(key);
      ips = [];
    }
  }

  if (ips.length === 1 && claim.policy === 'PreferDualStack' && claim.family === 'DualStack') {
    const extra = alloc.allocateAdditionalFamily(claim);
    if (extra) {
      ips = alloc.ipsOf(key) ?? ips;
      events.push({
        type: 'Normal',
        reason: 'IPAllocated',
        message: `Assigned additional IP ${JSON.stringify(formatAddr(extra))}`,
      });
    }
  }

  if (ips.length === 0) {
    try {
      ips = allocateNew(claim, desired, desiredPool, alloc);
    } catch (e) {
      return failed(isAllocError(e) ? e.message : String(e));
    }
    events.push({ type: 'Normal', reason: 'IPAllocated', message: `Assigned IP ${quoteIPs(ips)}` });
  }
  const pool = alloc.poolOf(key) ?? '';
  return { kind: 'set', ips: ips.map((i) => formatAddr(i)), pool, events };
}

function allocateNew(
  claim: ServiceClaim,
  desired: ReturnType<typeof desiredIPs>,
  desiredPool: string,
  alloc: Allocator,
): Addr[] {
  if (desired) {
    if (desired.family !== claim.family)
      throw new AllocError(
        'InvalidRequest',
        `requested loadBalancer IP(s) ${quoteIPs(desired.ips)} does not match the ipFamily of the service`,
      );
    alloc.assign(claim, desired.ips);
    if (desiredPool && alloc.poolOf(claim.key) !== desiredPool) {
      alloc.unassign(claim.key);
      throw new AllocError(
        'InvalidRequest',
        `requested loadBalancer IP(s) ${quoteIPs(desired.ips)} is not compatible with requested address pool ${desiredPool}`,
      );
    }
    return desired.ips;
  }
  if (desiredPool) return alloc.allocateFromPool(claim, desiredPool);
  return alloc.allocate(claim);
}
