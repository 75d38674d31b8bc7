// The EndpointSlice reconciler, pure (k8s.io/endpointslice reconciler.go: Reconcile,
// reconcileByAddressType, reconcileByPortMapping, finalize; utils.go: podToEndpoint,
// getEndpointPorts, newEndpointSlice, setEndpointSliceLabels). Given a Service, its candidate
// pods, the nodes and the slices this controller already manages for it, it returns the
// writes that bring the slices to the desired state with minimal churn (§4.13): it never
// rebalances, it fills slices it is writing anyway before touching unchanged ones, and it turns
// a delete plus a create into an update of the same name.
import { canonicalIP, ipFamilyOf } from '../../api/ip.ts';
import type { Endpoint, EndpointPort, EndpointSlice, Node, Pod, Service } from '../../api/types.ts';
import { isDNS1123Subdomain } from '../../api/validation/names.ts';
import { annotationKeys, labelKeys } from '../../api/well-known.ts';
import { formatRFC3339Nano } from '../runtime/trigger-time.ts';
import { autoHintsAllowed, hintsMode, trafficDistributionHints } from './hints.ts';
import { controllerName as defaultControllerName, isReservedLabel } from './labels.ts';
import {
  type AddressType,
  addressTypesForService,
  findPort,
  isPodReady,
  isPodTerminating,
  podIPs,
  serviceIPSet,
  serviceIsManaged,
  serviceSelectsPod,
  shouldPodBeInEndpoints,
  shouldSetHostname,
} from './pod.ts';
import { stableStringify } from './stable.ts';

export const defaultMaxEndpointsPerSlice = 100;
/** --max-endpoints-per-slice is capped at 1000 upstream (the API's own limit per slice). */
export const maxMaxEndpointsPerSlice = 1000;

/** Read access to nodes; an Informer<Node> fits as is. */
export interface NodeSource {
  get(namespace: string, name: string): Node | undefined;
  list(): Node[];
}

export function nodeSource(nodes: readonly Node[]): NodeSource {
  const byName = new Map(nodes.map((n) => [n.metadata?.name ?? '', n]));
  return { get: (_ns, name) => byName.get(name), list: () => [...nodes] };
}

export interface ReconcileSlicesOptions {
  maxEndpointsPerSlice?: number;
  /** endpoints.kubernetes.io/last-change-trigger-time for the slices written; absent clears it. */
  triggerTime?: Date;
  controllerName?: string;
}

export interface SlicePlan {
  /** New slices: generateName set, no name. */
  create: EndpointSlice[];
  /** Full replacements of existing slices (name and resourceVersion of the slice they replace). */
  update: EndpointSlice[];
  delete: EndpointSlice[];
  /**
   * Pods skipped because their node is unknown (§4.15): the slices are still written without
   * them, and the caller should retry so they join once the node cache catches up.
   */
  skippedPods: string[];
}

/**
 * §4. `pods` may be a superset: pods outside the Service's namespace or selector are ignored.
 * `existing` are the slices labelled with this Service's name and this controller's managed-by.
 */
export function reconcileEndpointSlices(
  service: Service,
  pods: readonly Pod[],
  nodes: NodeSource | readonly Node[],
  existing: readonly EndpointSlice[],
  opts: ReconcileSlicesOptions = {},
): SlicePlan {
  const plan: SlicePlan = { create: [], update: [], delete: [], skippedPods: [] };
  // §4.2/§4.3: not ours to manage. Slices this controller wrote earlier (the Service lost its
  // selector or became ExternalName) go, so no data plane keeps routing to the old pods;
  // slices written by users or other controllers carry another managed-by and are never passed in.
  if (!serviceIsManaged(service)) {
    plan.delete.push(...existing);
    return plan;
  }
  const ctx: Ctx = {
    service,
    nodes: Array.isArray(nodes) ? nodeSource(nodes) : (nodes as NodeSource),
    max: Math.min(maxMaxEndpointsPerSlice, Math.max(1, opts.maxEndpointsPerSlice ?? defaultMaxEndpointsPerSlice)),
    controllerName: opts.controllerName ?? defaultControllerName,
  };
  const selected = pods
    .filter((p) => serviceSelectsPod(service, p))
    .sort((a, b) => cmp(a.metadata?.name ?? '', b.metadata?.name ?? ''));

  const types = addressTypesForService(service);
  const byType = new Map<string, EndpointSlice[]>();
  const wrongType: EndpointSlice[] = [];
  for (const s of existing) {
    if (!types.includes(s.addressType as AddressType)) wrongType.push(s);
    else byType.set(s.addressType, [...(byType.get(s.addressType) ?? []), s]);
  }
  for (const t of types) {
    const r = reconcileByAddressType(ctx, selected, byType.get(t) ?? [], t, plan.skippedPods);
    plan.create.push(...r.create);
    plan.update.push(...r.update);
    plan.delete.push(...r.delete);
  }
  // §4.7: families the Service no longer has.
  plan.delete.push(...wrongType);
  finalize(ctx, plan, opts.triggerTime);
  plan.skippedPods = [...new Set(plan.skippedPods)];
  return plan;
}

interface Ctx {
  service: Service;
  nodes: NodeSource;
  max: number;
  controllerName: string;
}

interface Group {
  ports: EndpointPort[];
  /** Desired endpoints by identity, in placement order. */
  desired: Map<string, Endpoint>;
}

function reconcileByAddressType(
  ctx: Ctx,
  pods: readonly Pod[],
  existing: readonly EndpointSlice[],
  addressType: AddressType,
  skipped: string[],
): { create: EndpointSlice[]; update: EndpointSlice[]; delete: EndpointSlice[] } {
  const { service } = ctx;
  const create: EndpointSlice[] = [];
  const update: EndpointSlice[] = [];
  const del: EndpointSlice[] = [];

  // Existing state by port set; slices owned by another UID (an earlier Service of the same
  // name) are deleted (§4.14).
  const existingByPorts = new Map<string, EndpointSlice[]>();
  for (const s of existing) {
    if (!ownedBy(s, service)) {
      del.push(s);
      continue;
    }
    const k = portSetKey(s.ports ?? []);
    existingByPorts.set(k, [...(existingByPorts.get(k) ?? []), s]);
  }

  // Desired state: endpoints grouped by their resolved port set (§4.9).
  const groups = new Map<string, Group>();
  const publishNotReady = service.spec?.publishNotReadyAddresses === true;
  for (const pod of pods) {
    if (!shouldPodBeInEndpoints(pod, true)) continue;
    const ports = endpointPorts(service, pod);
    const k = portSetKey(ports);
    let g = groups.get(k);
    if (!g) {
      g = { ports, desired: new Map() };
      groups.set(k, g);
    }
    const nodeName = pod.spec?.nodeName ?? '';
    const node = ctx.nodes.get('', nodeName);
    // §4.15: a pod whose node is unknown is left out (and the Service retried) unless the user
    // asked for not-ready addresses to be published anyway.
    if (!node && !publishNotReady) {
      skipped.push(pod.metadata?.name ?? '');
      continue;
    }
    const ep = podToEndpoint(pod, node, service, addressType);
    if (ep.addresses.length > 0) g.desired.set(endpointKey(ep), ep);
  }
  applyHints(ctx, groups);

  for (const [k, g] of groups) {
    const r = reconcileByPortMapping(ctx, existingByPorts.get(k) ?? [], g, addressType);
    create.push(...r.create);
    update.push(...r.update);
    del.push(...r.delete);
  }
  for (const [k, slices] of existingByPorts) if (!groups.has(k)) del.push(...slices);

  // §4.11: a Service with a selector always has a slice per address type; with no endpoints it
  // is an empty placeholder, kept as is rather than deleted and recreated.
  if (existing.length === del.length && create.length === 0) {
    const placeholder = newEndpointSlice(ctx, [], addressType);
    const only = del[0];
    if (del.length === 1 && only && isPlaceholderOf(only, placeholder)) del.length = 0;
    else create.push(placeholder);
  }
  return { create, update, delete: del };
}

function reconcileByPortMapping(
  ctx: Ctx,
  existing: readonly EndpointSlice[],
  group: Group,
  addressType: AddressType,
): { create: EndpointSlice[]; update: EndpointSlice[]; delete: EndpointSlice[] } {
  const desired = new Map(group.desired);
  const byName = new Map<string, EndpointSlice>();
  const unchanged = new Set<string>();
  const toUpdate = new Set<string>();
  const toDelete = new Set<string>();

  // (1) Drop endpoints no longer wanted from existing slices; refresh changed ones in place.
  for (const slice of existing) {
    const name = slice.metadata?.name ?? '';
    byName.set(name, slice);
    const kept: Endpoint[] = [];
    let changed = false;
    for (const ep of slice.endpoints ?? []) {
      const k = endpointKey(ep);
      const want = desired.get(k);
      if (!want) continue;
      kept.push(want);
      if (stableStringify(want) !== stableStringify(ep)) changed = true;
      desired.delete(k);
    }
    const labels = sliceLabels(ctx, slice);
    const labelsChanged = stableStringify(labels) !== stableStringify(slice.metadata?.labels ?? {});
    if (changed || kept.length !== (slice.endpoints ?? []).length) {
      if (kept.length === 0) toDelete.add(name);
      else {
        byName.set(name, withEndpoints(slice, kept, labels));
        toUpdate.add(name);
      }
    } else if (labelsChanged) {
      byName.set(name, withEndpoints(slice, kept, labels));
      toUpdate.add(name);
    } else unchanged.add(name);
  }

  const pending = [...desired.values()];
  // (2) Fill the slices that are being written anyway, fullest first.
  if (pending.length > 0 && toUpdate.size > 0) {
    const slices = [...toUpdate]
      .map((n) => byName.get(n))
      .filter((s): s is EndpointSlice => !!s)
      .sort((a, b) => (b.endpoints ?? []).length - (a.endpoints ?? []).length);
    for (const s of slices) {
      const eps = s.endpoints ?? [];
      while (pending.length > 0 && eps.length < ctx.max) eps.push(pending.shift() as Endpoint);
      s.endpoints = eps;
    }
  }

  // (3) What is left goes into the one unchanged slice it fits best, or into new slices.
  const create: EndpointSlice[] = [];
  while (pending.length > 0) {
    let target: EndpointSlice | undefined;
    if (pending.length < ctx.max && unchanged.size > 0) {
      const best = sliceToFill(
        [...unchanged].map((n) => byName.get(n)).filter((s): s is EndpointSlice => !!s),
        pending.length,
        ctx.max,
      );
      if (best) {
        target = withEndpoints(best, [...(best.endpoints ?? [])], sliceLabels(ctx, best));
        byName.set(best.metadata?.name ?? '', target);
      }
    }
    target ??= newEndpointSlice(ctx, group.ports, addressType);
    const eps = target.endpoints ?? [];
    while (pending.length > 0 && eps.length < ctx.max) eps.push(pending.shift() as Endpoint);
    target.endpoints = eps;
    const name = target.metadata?.name;
    if (name) {
      toUpdate.add(name);
      unchanged.delete(name);
    } else create.push(target);
  }

  const pick = (names: Set<string>) => [...names].map((n) => byName.get(n)).filter((s): s is EndpointSlice => !!s);
  return { create, update: pick(toUpdate), delete: pick(toDelete) };
}

/** getSliceToFill: the slice that ends closest to full after taking n endpoints, if any fits. */
function sliceToFill(slices: readonly EndpointSlice[], n: number, max: number): EndpointSlice | undefined {
  let closest = max;
  let best: EndpointSlice | undefined;
  for (const s of slices) {
    const diff = max - (n + (s.endpoints ?? []).length);
    if (diff >= 0 && diff < closest) {
      closest = diff;
      best = s;
      if (diff === 0) break;
    }
  }
  return best;
}

/**
 * finalize (§4.14): creates become updates of slices about to be deleted (same address type,
 * owned by this Service), no creates while the Service is being deleted, and the trigger time
 * annotation on everything written.
 */
function finalize(ctx: Ctx, plan: SlicePlan, triggerTime: Date | undefined): void {
  for (let i = 0; i < plan.delete.length && plan.create.length > 0; ) {
    const old = plan.delete[i] as EndpointSlice;
    const fresh = plan.create[plan.create.length - 1] as EndpointSlice;
    if (old.addressType === fresh.addressType && ownedBy(old, ctx.service)) {
      fresh.metadata = {
        ...fresh.metadata,
        name: old.metadata?.name,
        resourceVersion: old.metadata?.resourceVersion,
      };
      delete fresh.metadata.generateName;
      plan.create.pop();
      plan.update.push(fresh);
      plan.delete.splice(i, 1);
    } else i++;
  }
  // Creating while the Service is going away would race the garbage collector (§4.14).
  if (ctx.service.metadata?.deletionTimestamp) plan.create = [];
  for (const s of [...plan.create, ...plan.update]) {
    const ann = { ...(s.metadata?.annotations ?? {}) };
    if (triggerTime) ann[annotationKeys.endpointsLastChangeTriggerTime] = formatRFC3339Nano(triggerTime);
    else delete ann[annotationKeys.endpointsLastChangeTriggerTime];
    s.metadata = { ...s.metadata, annotations: ann };
  }
}

/** podToEndpoint (§4.5, §4.6). */
export function podToEndpoint(pod: Pod, node: Node | undefined, svc: Service, addressType: AddressType): Endpoint {
  const serving = isPodReady(pod);
  const terminating = isPodTerminating(pod);
  // "ready" is never true for a terminating pod unless the Service publishes not-ready addresses.
  const ready = svc.spec?.publishNotReadyAddresses === true || (serving && !terminating);
  const addresses: string[] = [];
  for (const ip of podIPs(pod)) {
    if (ipFamilyOf(ip) !== addressType) continue;
    addresses.push(canonicalIP(ip) ?? ip);
  }
  const ep: Endpoint = {
    addresses,
    conditions: { ready, serving, terminating },
    targetRef: {
      kind: 'Pod',
      namespace: pod.metadata?.namespace ?? '',
      name: pod.metadata?.name ?? '',
      uid: pod.metadata?.uid ?? '',
    },
  };
  if (pod.spec?.nodeName) ep.nodeName = pod.spec.nodeName;
  const zone = node?.metadata?.labels?.[labelKeys.topologyZone];
  if (zone) ep.zone = zone;
  if (shouldSetHostname(pod, svc)) ep.hostname = pod.spec?.hostname;
  return ep;
}

/** getEndpointPorts (§4.8, §4.10): the Service's ports as this pod resolves them. */
export function endpointPorts(svc: Service, pod: Pod): EndpointPort[] {
  const ports = svc.spec?.ports ?? [];
  const out: EndpointPort[] = [];
  if (ports.length === 0 && svc.spec?.clusterIP === 'None') return out;
  for (const sp of ports) {
    const port = findPort(pod, sp);
    if (port === undefined) continue;
    const ep: EndpointPort = { name: sp.name ?? '', port, protocol: sp.protocol ?? 'TCP' };
    if (sp.appProtocol !== undefined) ep.appProtocol = sp.appProtocol;
    out.push(ep);
  }
  return out;
}

function applyHints(ctx: Ctx, groups: Map<string, Group>): void {
  const mode = hintsMode(ctx.service);
  if (mode === 'none') return;
  const all = [...groups.values()].flatMap((g) => [...g.desired.values()]);
  if (mode === 'auto' && !autoHintsAllowed(all, ctx.nodes.list())) return;
  for (const ep of all) {
    const hints = trafficDistributionHints(ep, mode === 'node' ? 'node' : 'zone');
    if (hints) ep.hints = hints;
  }
}

/** newEndpointSlice (§4.12). */
function newEndpointSlice(ctx: Ctx, ports: EndpointPort[], addressType: AddressType): EndpointSlice {
  const { service } = ctx;
  const name = service.metadata?.name ?? '';
  // The dash makes generated names readable; drop it if the prefix would not be a valid name.
  const prefix = isDNS1123Subdomain(name).length === 0 ? `${name}-` : name;
  const slice: EndpointSlice = {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      generateName: prefix,
      namespace: service.metadata?.namespace,
      labels: {},
      ownerReferences: [
        {
          apiVersion: 'v1',
          kind: 'Service',
          name,
          uid: service.metadata?.uid ?? '',
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    addressType,
    ports: ports.map((p) => ({ ...p })),
    endpoints: [],
  };
  (slice.metadata ??= {}).labels = sliceLabels(ctx, slice);
  return slice;
}

/**
 * setEndpointSliceLabels (§4.12): the Service's labels minus the reserved ones, the headless
 * marker when there is no virtual IP, and the service-name and managed-by labels.
 */
function sliceLabels(ctx: Ctx, _slice: EndpointSlice): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(ctx.service.metadata?.labels ?? {})) if (!isReservedLabel(k)) out[k] = v;
  if (!serviceIPSet(ctx.service)) out[labelKeys.headless] = '';
  out[labelKeys.serviceName] = ctx.service.metadata?.name ?? '';
  out[labelKeys.managedBy] = ctx.controllerName;
  return out;
}

function withEndpoints(slice: EndpointSlice, endpoints: Endpoint[], labels: Record<string, string>): EndpointSlice {
  return { ...slice, metadata: { ...slice.metadata, labels }, endpoints };
}

export function ownedBy(slice: EndpointSlice, svc: Service): boolean {
  const uid = svc.metadata?.uid;
  return (slice.metadata?.ownerReferences ?? []).some((r) => r.kind === 'Service' && r.uid === uid && !!uid);
}

/** placeholderSliceCompare: same ports, address type, endpoints (none), labels and owner. */
function isPlaceholderOf(existing: EndpointSlice, placeholder: EndpointSlice): boolean {
  return (
    existing.addressType === placeholder.addressType &&
    (existing.endpoints ?? []).length === 0 &&
    (existing.ports ?? []).length === 0 &&
    stableStringify(existing.metadata?.labels ?? {}) === stableStringify(placeholder.metadata?.labels ?? {}) &&
    stableStringify(existing.metadata?.ownerReferences ?? []) ===
      stableStringify(placeholder.metadata?.ownerReferences ?? [])
  );
}

/** Endpoint identity (hashEndpoint): addresses, hostname and the pod it stands for. */
export function endpointKey(ep: Endpoint): string {
  return JSON.stringify([
    [...ep.addresses].sort(),
    ep.hostname ?? '',
    ep.targetRef?.namespace ?? '',
    ep.targetRef?.name ?? '',
  ]);
}

/** NewPortMapKey: the port set, order-independent. */
export function portSetKey(ports: readonly EndpointPort[]): string {
  return ports
    .map((p) => stableStringify({ n: p.name ?? '', p: p.port ?? null, t: p.protocol ?? 'TCP', a: p.appProtocol ?? '' }))
    .sort()
    .join('|');
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
