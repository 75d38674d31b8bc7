// Small Service accessors shared by the strategy, the allocation steps and repair. They read the
// v1 JSON shape (every field optional) the way Go reads its zero values: "" / 0 / nil.
import type { KubeObject, Service, ServiceSpec } from '../../../api/types.ts';

/** A Service as the registry handles it: a stored object (apiVersion, kind, metadata required). */
export type ServiceObject = Service & KubeObject;

export const ClusterIPNone = 'None';

/** The spec, created when absent so steps can write into it. */
export function specOf(svc: Service): ServiceSpec {
  if (!svc.spec) svc.spec = {};
  return svc.spec;
}

export const typeOf = (svc: Service): string => svc.spec?.type ?? '';
export const clusterIPOf = (svc: Service): string => svc.spec?.clusterIP ?? '';
export const clusterIPsOf = (svc: Service): readonly string[] => svc.spec?.clusterIPs ?? [];
export const familiesOf = (svc: Service): readonly string[] => svc.spec?.ipFamilies ?? [];
export const policyOf = (svc: Service): string => svc.spec?.ipFamilyPolicy ?? '';
export const nameOf = (svc: Service): string => svc.metadata?.name ?? '';

export function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** strategy.go needsClusterIP: every type but ExternalName holds clusterIP(s), "None" included. */
export const needsClusterIP = (svc: Service): boolean => typeOf(svc) !== 'ExternalName';

/** strategy.go needsNodePort */
export const needsNodePort = (svc: Service): boolean => typeOf(svc) === 'NodePort' || typeOf(svc) === 'LoadBalancer';

/** strategy.go needsHCNodePort / apiservice.NeedsHealthCheck: LoadBalancer with ETP Local. */
export const needsHCNodePort = (svc: Service): boolean =>
  typeOf(svc) === 'LoadBalancer' && svc.spec?.externalTrafficPolicy === 'Local';

/** alloc.go: headless when clusterIPs[0] is "None". */
export const isHeadlessIPs = (svc: Service): boolean => clusterIPsOf(svc)[0] === ClusterIPNone;

/** alloc.go shouldAllocateNodePorts: NodePort always; LoadBalancer unless allocateLoadBalancerNodePorts=false. */
export function shouldAllocateNodePorts(svc: Service): boolean {
  if (typeOf(svc) === 'NodePort') return true;
  if (typeOf(svc) === 'LoadBalancer') return svc.spec?.allocateLoadBalancerNodePorts !== false;
  return false;
}

/** Distinct non-zero node ports of a Service, in port order (alloc.go collectServiceNodePorts). */
export function collectNodePorts(svc: Service): number[] {
  const out: number[] = [];
  for (const p of svc.spec?.ports ?? []) {
    const np = p.nodePort ?? 0;
    if (np !== 0 && !out.includes(np)) out.push(np);
  }
  return out;
}

/** Deletes a key so the stored JSON omits it, as Go omits nil/empty fields with omitempty. */
export function clear<T extends object>(obj: T, key: keyof T): void {
  delete obj[key];
}
