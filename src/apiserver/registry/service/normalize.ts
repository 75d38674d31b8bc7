// The update-time rewrites of pkg/registry/core/service/strategy.go. They guess what a client
// meant when it sent inter-related fields (clusterIP vs clusterIPs, type-dependent fields) and
// never touch a field the user changed in the same request: validation then judges that change.
import { isExternallyAccessible } from '../../../api/service/util.ts';
import type { Service } from '../../../api/types.ts';
import {
  clear,
  clusterIPOf,
  clusterIPsOf,
  familiesOf,
  needsClusterIP,
  needsHCNodePort,
  needsNodePort,
  policyOf,
  sameStrings,
  specOf,
  typeOf,
} from './helpers.ts';

/** NormalizeClusterIPs (§1.40): reconcile the singular and plural fields; old is undefined on create. */
export function normalizeClusterIPs(old: Service | undefined, svc: Service): void {
  const spec = specOf(svc);
  const ip = clusterIPOf(svc);
  if (!old) {
    // An old client sent only the singular field.
    if (ip !== '' && clusterIPsOf(svc).length === 0) spec.clusterIPs = [ip];
    return;
  }
  const oldIP = clusterIPOf(old);
  // An old client patched something else and did not send clusterIPs.
  if (clusterIPsOf(old).length > 0 && clusterIPsOf(svc).length === 0 && oldIP === ip) {
    spec.clusterIPs = [...clusterIPsOf(old)];
  }
  if (oldIP !== ip) {
    if (oldIP !== '' && ip === '') {
      // Clearing the singular with the plural untouched: clear the plural for them.
      if (sameStrings(clusterIPsOf(old), clusterIPsOf(svc))) clear(spec, 'clusterIPs');
    } else if (sameStrings(clusterIPsOf(old), clusterIPsOf(svc))) {
      // Changed singular, untouched plural: follow the singular (immutability then rejects it).
      spec.clusterIPs = [ip];
    }
  }
}

/** patchAllocatedValues (§1.41): a re-submitted manifest keeps what the server allocated. */
export function patchAllocatedValues(svc: Service, old: Service): void {
  const spec = specOf(svc);
  if (needsClusterIP(old) && needsClusterIP(svc)) {
    if (clusterIPOf(svc) === '' && clusterIPOf(old) !== '') spec.clusterIP = clusterIPOf(old);
    if (clusterIPsOf(svc).length === 0 && clusterIPsOf(old).length > 0) spec.clusterIPs = [...clusterIPsOf(old)];
  }
  if (needsNodePort(old) && needsNodePort(svc)) {
    // Matched by port name: the user may have changed anything else about the port.
    const byName = new Map<string, number>();
    for (const p of old.spec?.ports ?? []) byName.set(p.name ?? '', p.nodePort ?? 0);
    for (const p of spec.ports ?? []) {
      if ((p.nodePort ?? 0) === 0) {
        const np = byName.get(p.name ?? '') ?? 0;
        if (np !== 0) p.nodePort = np;
      }
    }
  }
  if (needsHCNodePort(old) && needsHCNodePort(svc)) {
    if ((spec.healthCheckNodePort ?? 0) === 0 && (old.spec?.healthCheckNodePort ?? 0) !== 0) {
      spec.healthCheckNodePort = old.spec?.healthCheckNodePort ?? 0;
    }
  }
}

/** trimFieldsForDualStackDowngrade (§1.44): Require/PreferDualStack → SingleStack keeps only the primary. */
export function trimFieldsForDualStackDowngrade(svc: Service, old: Service): void {
  const wasDual = policyOf(old) === 'RequireDualStack' || policyOf(old) === 'PreferDualStack';
  if (!wasDual || policyOf(svc) !== 'SingleStack') return;
  const spec = specOf(svc);
  if (spec.clusterIPs && spec.clusterIPs.length > 1) spec.clusterIPs = spec.clusterIPs.slice(0, 1);
  if (spec.ipFamilies && spec.ipFamilies.length > 1) spec.ipFamilies = spec.ipFamilies.slice(0, 1);
}

function nodePortSet(svc: Service): Set<number> {
  const s = new Set<number>();
  for (const p of svc.spec?.ports ?? []) if ((p.nodePort ?? 0) !== 0) s.add(p.nodePort ?? 0);
  return s;
}

/**
 * dropTypeDependentFields (§1.45): on a type change, wipe fields the new type cannot hold, but
 * only those the user left as they were; those are released by the allocation step afterwards.
 */
export function dropTypeDependentFields(svc: Service, old: Service): void {
  const spec = specOf(svc);
  if (needsClusterIP(old) && !needsClusterIP(svc)) {
    if (clusterIPOf(old) === clusterIPOf(svc) && sameStrings(clusterIPsOf(old), clusterIPsOf(svc))) {
      clear(spec, 'clusterIP');
      clear(spec, 'clusterIPs');
    }
    if (
      sameStrings(familiesOf(old), familiesOf(svc)) &&
      (old.spec?.ipFamilies === undefined) === (spec.ipFamilies === undefined)
    ) {
      clear(spec, 'ipFamilies');
    }
    if (policyOf(old) === policyOf(svc)) clear(spec, 'ipFamilyPolicy');
  }
  // Wipe node ports only if no net-new value was sent (new set ⊆ old set).
  if (needsNodePort(old) && !needsNodePort(svc)) {
    const oldPorts = nodePortSet(old);
    if ([...nodePortSet(svc)].every((p) => oldPorts.has(p))) {
      for (const p of spec.ports ?? []) p.nodePort = 0;
    }
  }
  if (needsHCNodePort(old) && !needsHCNodePort(svc)) {
    if ((old.spec?.healthCheckNodePort ?? 0) === (spec.healthCheckNodePort ?? 0)) clear(spec, 'healthCheckNodePort');
  }
  if (typeOf(old) === 'LoadBalancer' && typeOf(svc) !== 'LoadBalancer') {
    const a = old.spec?.allocateLoadBalancerNodePorts;
    const b = spec.allocateLoadBalancerNodePorts;
    if (a !== undefined && b !== undefined && a === b) clear(spec, 'allocateLoadBalancerNodePorts');
    if ((old.spec?.loadBalancerClass ?? null) === (spec.loadBalancerClass ?? null)) clear(spec, 'loadBalancerClass');
  }
  if (isExternallyAccessible(old) && !isExternallyAccessible(svc)) {
    if ((old.spec?.externalTrafficPolicy ?? '') === (spec.externalTrafficPolicy ?? ''))
      clear(spec, 'externalTrafficPolicy');
  }
  // LB de-provisioning is asynchronous, but users need not see that.
  if (typeOf(svc) !== 'LoadBalancer' && svc.status?.loadBalancer) svc.status.loadBalancer = {};
}
