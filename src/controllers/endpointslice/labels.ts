// Well-known labels and annotations (kubernetes/api discovery/v1/well_known_labels.go,
// core/v1/annotation_key_constants.go).

export const labelServiceName = 'kubernetes.io/service-name';
export const labelManagedBy = 'endpointslice.kubernetes.io/managed-by';
export const labelHeadless = 'service.kubernetes.io/headless';
export const controllerName = 'endpointslice-controller.k8s.io';
export const annotationTriggerTime = 'endpoints.kubernetes.io/last-change-trigger-time';
export const annotationOverCapacity = 'endpoints.kubernetes.io/over-capacity';
export const annotationLeader = 'control-plane.alpha.kubernetes.io/leader';
export const annotationTopologyMode = 'service.kubernetes.io/topology-mode';
/** The pre-1.27 spelling of topology-mode, still honoured upstream. */
export const annotationTopologyAwareHints = 'service.kubernetes.io/topology-aware-hints';
export const labelTopologyZone = 'topology.kubernetes.io/zone';

/** Labels the controller owns on a slice; a Service's own copies of them are ignored. */
export function isReservedLabel(key: string): boolean {
  return key === labelServiceName || key === labelManagedBy || key === labelHeadless;
}
