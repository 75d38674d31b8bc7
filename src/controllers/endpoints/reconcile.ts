// The legacy Endpoints reconciler, pure (pkg/controller/endpoint/endpoints_controller.go:
// syncService, addEndpointSubset, truncateEndpoints, capacityAnnotationSetCorrectly), §4.17–4.22.
import type { EndpointAddress, EndpointPort, EndpointSubset } from 'kubernetes-types/core/v1.js';
import { ipFamilyOf } from '../../api/ip.ts';
import type { Endpoints, Pod, Service } from '../../api/types.ts';
import { annotationKeys, labelKeys } from '../../api/well-known.ts';
import {
  findPort,
  isPodReady,
  podIPs,
  serviceIPSet,
  serviceIsManaged,
  serviceSelectsPod,
  shouldPodBeInEndpoints,
  shouldSetHostname,
} from '../endpointslice/pod.ts';
import { stableStringify } from '../endpointslice/stable.ts';
import { formatRFC3339Nano } from '../runtime/trigger-time.ts';
import { repackSubsets } from './repack.ts';

/** maxCapacity: addresses (ready + not ready) an Endpoints object may hold. */
export const maxEndpointsCapacity = 1000;
export const overCapacityTruncated = 'truncated';

export type EndpointsPlan =
  | { kind: 'none' }
  | { kind: 'create'; endpoints: Endpoints }
  | { kind: 'update'; endpoints: Endpoints }
  | { kind: 'delete'; namespace: string; name: string };

export interface ReconcileEndpointsOptions {
  triggerTime?: Date;
  /** Needed when `service` is undefined and there is no existing object to name the key. */
  key?: { namespace: string; name: string };
}

/**
 * `service` undefined means it was deleted: its Endpoints go (§4.17, §4.22), except
 * leader-election objects, which are not derived from any Service. `pods` may be a superset.
 */
export function reconcileEndpoints(
  service: Service | undefined,
  pods: readonly Pod[],
  existing: Endpoints | undefined,
  opts: ReconcileEndpointsOptions = {},
): EndpointsPlan {
  if (!service) {
    if (!existing || existing.metadata?.annotations?.[annotationKeys.endpointsLeader] !== undefined)
      return { kind: 'none' };
    return { kind: 'delete', namespace: existing.metadata?.namespace ?? '', name: existing.metadata?.name ?? '' };
  }
  // §4.2/§4.3: user-written Endpoints of selector-less and ExternalName Services stay untouched.
  if (!serviceIsManaged(service)) return { kind: 'none' };

  const subsets = desiredSubsets(service, pods);
  const labels: Record<string, string> = { ...(service.metadata?.labels ?? {}) };
  if (!serviceIPSet(service)) labels[labelKeys.headless] = '';
  else delete labels[labelKeys.headless];

  const truncated = truncateSubsets(subsets);
  if (
    existing &&
    stableStringify(existing.subsets ?? []) === stableStringify(truncated.subsets) &&
    stableStringify(existing.metadata?.labels ?? {}) === stableStringify(labels) &&
    (existing.metadata?.annotations?.[annotationKeys.endpointsOverCapacity] !== undefined) === truncated.truncated
  ) {
    return { kind: 'none' };
  }

  const annotations = { ...(existing?.metadata?.annotations ?? {}) };
  if (opts.triggerTime)
    annotations[annotationKeys.endpointsLastChangeTriggerTime] = formatRFC3339Nano(opts.triggerTime);
  else delete annotations[annotationKeys.endpointsLastChangeTriggerTime];
  if (truncated.truncated) annotations[annotationKeys.endpointsOverCapacity] = overCapacityTruncated;
  else delete annotations[annotationKeys.endpointsOverCapacity];

  const endpoints: Endpoints = {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: {
      ...(existing?.metadata ?? {}),
      name: service.metadata?.name,
      namespace: service.metadata?.namespace,
      labels,
      annotations,
    },
    subsets: truncated.subsets,
  };
  return existing ? { kind: 'update', endpoints } : { kind: 'create', endpoints };
}

/** §4.18, §4.19, §4.21: one subset per address × port, then repacked and sorted. */
export function desiredSubsets(service: Service, pods: readonly Pod[]): EndpointSubset[] {
  const publishNotReady = service.spec?.publishNotReadyAddresses === true;
  const family = primaryFamily(service);
  const ports = service.spec?.ports ?? [];
  const raw: EndpointSubset[] = [];
  const sorted = pods
    .filter((p) => serviceSelectsPod(service, p))
    .sort((a, b) => ((a.metadata?.name ?? '') < (b.metadata?.name ?? '') ? -1 : 1));
  for (const pod of sorted) {
    // §4.4: terminating pods only when not-ready addresses are published.
    if (!shouldPodBeInEndpoints(pod, publishNotReady)) continue;
    const addr = podAddress(service, pod, family);
    if (!addr) continue;
    const ready = publishNotReady || isPodReady(pod);
    const put = (p: EndpointPort | undefined) =>
      raw.push({
        ...(ready ? { addresses: [addr] } : { notReadyAddresses: [addr] }),
        ...(p ? { ports: [p] } : {}),
      });
    if (ports.length === 0) {
      // Headless services may have no ports; others without ports get nothing.
      if (service.spec?.clusterIP === 'None') put(undefined);
      continue;
    }
    for (const sp of ports) {
      const port = findPort(pod, sp);
      if (port === undefined) continue;
      const ep: EndpointPort = { name: sp.name ?? '', port, protocol: sp.protocol ?? 'TCP' };
      if (sp.appProtocol !== undefined) ep.appProtocol = sp.appProtocol;
      if (!ep.name) delete ep.name;
      put(ep);
    }
  }
  return repackSubsets(raw);
}

/** podToEndpointAddressForService: only the Service's primary family (§4.19). */
function podAddress(service: Service, pod: Pod, family: 'IPv4' | 'IPv6' | undefined): EndpointAddress | undefined {
  const ips = podIPs(pod);
  // A headless Service without ipFamilies (written by an old API server) follows the pod's IP.
  const want = family ?? (ipFamilyOf(pod.status?.podIP ?? ips[0] ?? '') === 'IPv6' ? 'IPv6' : 'IPv4');
  const ip = ips.find((i) => ipFamilyOf(i) === want);
  if (!ip) return undefined;
  const a: EndpointAddress = {
    ip,
    targetRef: {
      kind: 'Pod',
      namespace: pod.metadata?.namespace ?? '',
      name: pod.metadata?.name ?? '',
      uid: pod.metadata?.uid ?? '',
    },
  };
  // Upstream writes nodeName even when empty; the API rejects "", so it is left out then.
  if (pod.spec?.nodeName) a.nodeName = pod.spec.nodeName;
  if (shouldSetHostname(pod, service)) a.hostname = pod.spec?.hostname;
  return a;
}

function primaryFamily(service: Service): 'IPv4' | 'IPv6' | undefined {
  const f = service.spec?.ipFamilies?.[0];
  if (f === 'IPv4' || f === 'IPv6') return f;
  const cip = service.spec?.clusterIP;
  if (cip && cip !== 'None') return ipFamilyOf(cip) === 'IPv6' ? 'IPv6' : 'IPv4';
  return undefined;
}

/**
 * truncateEndpoints (§4.20): over 1000 addresses, not-ready ones are cut first; cuts are
 * proportional per subset, rounding up, so the last subsets absorb the remainder.
 */
export function truncateSubsets(input: readonly EndpointSubset[]): { subsets: EndpointSubset[]; truncated: boolean } {
  const subsets = input.map((s) => ({ ...s }));
  let totalReady = 0;
  let totalNotReady = 0;
  for (const s of subsets) {
    totalReady += s.addresses?.length ?? 0;
    totalNotReady += s.notReadyAddresses?.length ?? 0;
  }
  if (totalReady + totalNotReady <= maxEndpointsCapacity) return { subsets, truncated: false };
  const truncateReady = totalReady > maxEndpointsCapacity;
  const max = truncateReady ? maxEndpointsCapacity : maxEndpointsCapacity - totalReady;
  const numTotal = truncateReady ? totalReady : totalNotReady;
  let canBeAdded = max;
  for (const s of subsets) {
    const inSubset = (truncateReady ? s.addresses?.length : s.notReadyAddresses?.length) ?? 0;
    const toBeAdded = Math.min(canBeAdded, Math.ceil((inSubset / numTotal) * max));
    if (truncateReady) {
      s.addresses = (s.addresses ?? []).slice(0, toBeAdded);
      delete s.notReadyAddresses;
      canBeAdded -= s.addresses.length;
      if (s.addresses.length === 0) delete s.addresses;
    } else {
      const kept = (s.notReadyAddresses ?? []).slice(0, toBeAdded);
      canBeAdded -= kept.length;
      if (kept.length > 0) s.notReadyAddresses = kept;
      else delete s.notReadyAddresses;
    }
  }
  return { subsets, truncated: true };
}
