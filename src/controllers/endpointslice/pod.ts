// Pod → endpoint helpers shared by the EndpointSlice and Endpoints controllers
// (k8s.io/endpointslice util/controller_utils.go and utils.go, pkg/api/v1/pod FindPort).
import type { Container, ContainerPort } from 'kubernetes-types/core/v1.js';
import { ipFamilyOf } from '../../api/ip.ts';
import { selectorFromSet } from '../../api/labels/selector.ts';
import type { Pod, Service, ServicePort } from '../../api/types.ts';

export type AddressType = 'IPv4' | 'IPv6';

/** §4.4: not terminal and has an IP; terminating pods only when asked (EndpointSlices: always). */
export function shouldPodBeInEndpoints(pod: Pod, includeTerminating: boolean): boolean {
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return false;
  if (!pod.status?.podIP && (pod.status?.podIPs?.length ?? 0) === 0) return false;
  if (!includeTerminating && pod.metadata?.deletionTimestamp) return false;
  return true;
}

export function isPodReady(pod: Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

export function isPodTerminating(pod: Pod): boolean {
  return !!pod.metadata?.deletionTimestamp;
}

/** status.podIPs, falling back to status.podIP for writers that only set the singular field. */
export function podIPs(pod: Pod): string[] {
  const ips = (pod.status?.podIPs ?? []).map((p) => p.ip).filter((ip): ip is string => !!ip);
  if (ips.length === 0 && pod.status?.podIP) ips.push(pod.status.podIP);
  return ips;
}

/** ShouldSetHostname: spec.hostname, only when spec.subdomain names this Service. */
export function shouldSetHostname(pod: Pod, svc: Service): boolean {
  return (
    !!pod.spec?.hostname &&
    pod.spec.subdomain === svc.metadata?.name &&
    (pod.metadata?.namespace ?? '') === (svc.metadata?.namespace ?? '')
  );
}

/** §4.1/§4.2: equality on every selector key, in the Service's namespace; nil selects nothing. */
export function serviceSelectsPod(svc: Service, pod: Pod): boolean {
  const sel = svc.spec?.selector;
  if (!sel) return false;
  if ((pod.metadata?.namespace ?? '') !== (svc.metadata?.namespace ?? '')) return false;
  const labels = pod.metadata?.labels ?? {};
  for (const [k, v] of Object.entries(sel)) if (labels[k] !== v) return false;
  return true;
}

/** The label Selector form, for callers that list through a label index or the API. */
export function serviceSelector(svc: Service) {
  return selectorFromSet(svc.spec?.selector);
}

/** §4.2/§4.3: only Services with a selector, and not ExternalName, are managed. */
export function serviceIsManaged(svc: Service): boolean {
  return svc.spec?.type !== 'ExternalName' && svc.spec?.selector != null;
}

const defaultProtocol = 'TCP';

/**
 * FindPort (§4.8): an int targetPort is used as is; a name is looked up, with the same protocol,
 * first in spec.containers and then in restartable init containers (sidecars,
 * restartPolicy Always). undefined when the pod does not expose it.
 */
export function findPort(pod: Pod, sp: ServicePort): number | undefined {
  const target = sp.targetPort ?? sp.port;
  if (typeof target === 'number') return target;
  const proto = sp.protocol ?? defaultProtocol;
  const match = (containers: readonly Container[] | undefined) => {
    for (const c of containers ?? []) {
      for (const p of c.ports ?? ([] as ContainerPort[])) {
        if (p.name === target && (p.protocol ?? defaultProtocol) === proto) return p.containerPort;
      }
    }
    return undefined;
  };
  return (
    match(pod.spec?.containers) ??
    match((pod.spec?.initContainers ?? []).filter((c) => (c as { restartPolicy?: string }).restartPolicy === 'Always'))
  );
}

/**
 * getAddressTypesForService (§4.7): from spec.ipFamilies; services written by an old API server
 * fall back to the family of the clusterIP, and headless ones to both families.
 */
export function addressTypesForService(svc: Service): AddressType[] {
  const out: AddressType[] = [];
  for (const f of svc.spec?.ipFamilies ?? []) if ((f === 'IPv4' || f === 'IPv6') && !out.includes(f)) out.push(f);
  if (out.length > 0) return out;
  const cip = svc.spec?.clusterIP;
  if (cip && cip !== 'None') return [ipFamilyOf(cip) === 'IPv6' ? 'IPv6' : 'IPv4'];
  return ['IPv4', 'IPv6'];
}

/** IsServiceIPSet: the Service has a virtual IP (not headless). */
export function serviceIPSet(svc: Service): boolean {
  const cip = svc.spec?.clusterIP;
  return !!cip && cip !== 'None';
}

export function serviceKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

export function splitKey(key: string): { namespace: string; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { namespace: '', name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}
