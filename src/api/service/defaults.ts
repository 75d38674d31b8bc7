// Mirrors k8s.io/kubernetes pkg/apis/core/v1/defaults.go SetDefaults_Service (§2.1–2.8), with the
// LoadBalancerIPMode gate on (GA). ipFamilyPolicy, ipFamilies, cluster IPs and node ports are not
// defaulted here: the registry decides them at allocation time (§2.9–2.12). Defaulting runs on
// every decoded body, create and update alike, before normalization and validation (§0.8), and
// mutates the object in place as the Go defaulter does.
import type { Service } from '../types.ts';
import { isExternallyAccessible } from './util.ts';

/** 3 hours, v1.DefaultClientIPServiceAffinitySeconds. */
export const defaultClientIPServiceAffinitySeconds = 10800;

export function setDefaultsService(svc: Service): void {
  svc.spec ??= {};
  const spec = svc.spec;
  if (!spec.sessionAffinity) spec.sessionAffinity = 'None';
  if (spec.sessionAffinity === 'None') {
    delete spec.sessionAffinityConfig;
  } else if (spec.sessionAffinity === 'ClientIP') {
    const timeout = spec.sessionAffinityConfig?.clientIP?.timeoutSeconds;
    if (timeout === undefined || timeout === null) {
      spec.sessionAffinityConfig = { clientIP: { timeoutSeconds: defaultClientIPServiceAffinitySeconds } };
    }
  }
  if (!spec.type) spec.type = 'ClusterIP';
  for (const port of spec.ports ?? []) {
    if (!port.protocol) port.protocol = 'TCP';
    // Go's IntOrString zero values are int 0 and string ""; both mean "same as port".
    if (port.targetPort === undefined || port.targetPort === null || port.targetPort === 0 || port.targetPort === '') {
      port.targetPort = port.port;
    }
  }
  if (isExternallyAccessible(svc) && !spec.externalTrafficPolicy) spec.externalTrafficPolicy = 'Cluster';
  if (
    (spec.internalTrafficPolicy === undefined || spec.internalTrafficPolicy === null) &&
    (spec.type === 'NodePort' || spec.type === 'LoadBalancer' || spec.type === 'ClusterIP')
  ) {
    spec.internalTrafficPolicy = 'Cluster';
  }
  if (spec.type === 'LoadBalancer') {
    if (spec.allocateLoadBalancerNodePorts === undefined || spec.allocateLoadBalancerNodePorts === null) {
      spec.allocateLoadBalancerNodePorts = true;
    }
    for (const ing of svc.status?.loadBalancer?.ingress ?? []) {
      if (ing.ip && (ing.ipMode === undefined || ing.ipMode === null)) ing.ipMode = 'VIP';
    }
  }
}
