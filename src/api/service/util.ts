// Mirrors k8s.io/kubernetes pkg/api/service/util.go (ExternallyAccessible, ExternalPolicyLocal,
// NeedsHealthCheck) and isHeadlessService from pkg/apis/core/validation/validation.go. Defaulting,
// validation, the registry and kube-proxy all decide on these predicates, so they live in one
// place; they read the object as stored (after defaulting), treating absent fields as Go's zero
// values (§1.4, §1.32, §1.33).
import type { Service } from '../types.ts';

export const clusterIPNone = 'None';

/** NodePort, LoadBalancer, or ClusterIP with at least one externalIP. */
export function isExternallyAccessible(svc: Service): boolean {
  const type = svc.spec?.type;
  return (
    type === 'LoadBalancer' || type === 'NodePort' || (type === 'ClusterIP' && (svc.spec?.externalIPs?.length ?? 0) > 0)
  );
}

/** Headless means clusterIPs is exactly ["None"]; clusterIP alone does not count. */
export function isHeadless(svc: Service | undefined): boolean {
  const ips = svc?.spec?.clusterIPs;
  return ips !== undefined && ips.length === 1 && ips[0] === clusterIPNone;
}

/** An externally accessible service with externalTrafficPolicy Local. */
export function externalPolicyLocal(svc: Service): boolean {
  return isExternallyAccessible(svc) && svc.spec?.externalTrafficPolicy === 'Local';
}

/** Only LoadBalancer + externalTrafficPolicy Local gets a healthCheckNodePort. */
export function needsHealthCheck(svc: Service): boolean {
  return svc.spec?.type === 'LoadBalancer' && externalPolicyLocal(svc);
}
