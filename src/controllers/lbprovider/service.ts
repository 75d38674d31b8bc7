// Which Services the service controller acts on and when (cloud-provider's wantsLoadBalancer,
// needsCleanup and needsUpdate). Pure: the Events needsUpdate would record are returned.
import type { Service, ServicePort } from '../../api/types.ts';
import { finalizerKeys } from '../../api/well-known.ts';
import type { ServiceEvent } from '../loadbalancer/converge.ts';

export interface Ownership {
  /** Serve Services without spec.loadBalancerClass (the CCM does; then no other component may). */
  classless: boolean;
  /** Also serve Services of this class. */
  loadBalancerClass?: string;
}

/** A LoadBalancer Service of a class this controller owns; it alone writes their status. */
export function wantsLoadBalancer(svc: Service, own: Ownership): boolean {
  if (svc.spec?.type !== 'LoadBalancer') return false;
  const cls = svc.spec.loadBalancerClass;
  if (cls === undefined || cls === '') return own.classless;
  return cls === own.loadBalancerClass;
}

export function hasCleanupFinalizer(svc: Service): boolean {
  return (svc.metadata?.finalizers ?? []).includes(finalizerKeys.loadBalancerCleanup);
}

/**
 * Our finalizer is on it but the balancer must go: the Service is being deleted or stopped
 * being a LoadBalancer. The finalizer alone marks a balancer as ours, whatever the class says
 * now.
 */
export function needsCleanup(svc: Service, own: Ownership): boolean {
  if (!hasCleanupFinalizer(svc)) return false;
  return !!svc.metadata?.deletionTimestamp || !wantsLoadBalancer(svc, own);
}

const portKey = (p: ServicePort) => `${p.name ?? ''}/${p.protocol ?? 'TCP'}/${p.port}/${p.nodePort ?? ''}`;
const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
const sortedJSON = (o: Record<string, string> | undefined) =>
  JSON.stringify(Object.entries(o ?? {}).sort(([a], [b]) => a.localeCompare(b)));

/** Whether an update can change the balancer, with the Events the CCM records for it. */
export function needsUpdate(old: Service, cur: Service, own: Ownership): { update: boolean; events: ServiceEvent[] } {
  const ev = (reason: string, message: string) => ({
    update: true,
    events: [{ type: 'Normal' as const, reason, message }],
  });
  const yes = { update: true, events: [] };
  const wantOld = wantsLoadBalancer(old, own);
  const wantCur = wantsLoadBalancer(cur, own);
  if (!wantOld && !wantCur) return { update: false, events: [] };
  if (wantOld !== wantCur) return ev('Type', `${old.spec?.type ?? ''} -> ${cur.spec?.type ?? ''}`);
  const o = old.spec ?? {};
  const c = cur.spec ?? {};
  if (!same(o.loadBalancerSourceRanges, c.loadBalancerSourceRanges))
    return ev(
      'LoadBalancerSourceRanges',
      `[${(o.loadBalancerSourceRanges ?? []).join(' ')}] -> [${(c.loadBalancerSourceRanges ?? []).join(' ')}]`,
    );
  if (!same((o.ports ?? []).map(portKey), (c.ports ?? []).map(portKey))) return yes;
  if ((o.sessionAffinity ?? 'None') !== (c.sessionAffinity ?? 'None')) return yes;
  if (!same(o.sessionAffinityConfig, c.sessionAffinityConfig)) return yes;
  if ((o.loadBalancerIP ?? '') !== (c.loadBalancerIP ?? ''))
    return ev('LoadbalancerIP', `${o.loadBalancerIP ?? ''} -> ${c.loadBalancerIP ?? ''}`);
  const oe = o.externalIPs ?? [];
  const ce = c.externalIPs ?? [];
  if (oe.length !== ce.length) return ev('ExternalIP', `Count: ${oe.length} -> ${ce.length}`);
  for (let i = 0; i < ce.length; i++) if (oe[i] !== ce[i]) return ev('ExternalIP', `Added: ${ce[i]}`);
  if (sortedJSON(old.metadata?.annotations) !== sortedJSON(cur.metadata?.annotations)) return yes;
  if ((old.metadata?.uid ?? '') !== (cur.metadata?.uid ?? ''))
    return ev('UID', `${old.metadata?.uid ?? ''} -> ${cur.metadata?.uid ?? ''}`);
  if ((o.externalTrafficPolicy ?? '') !== (c.externalTrafficPolicy ?? '')) return yes;
  if ((o.healthCheckNodePort ?? 0) !== (c.healthCheckNodePort ?? 0)) return yes;
  if (!same(o.ipFamilies, c.ipFamilies)) return yes;
  return { update: false, events: [] };
}

/** servicehelper.LoadBalancerStatusEqual: same ingress entries, in order. */
export function statusEqual(a: Service['status'], b: { ingress?: unknown[] } | undefined): boolean {
  const norm = (x: unknown[] | undefined) => JSON.stringify(x ?? []);
  return norm(a?.loadBalancer?.ingress) === norm(b?.ingress);
}
