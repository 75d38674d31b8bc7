// The EndpointSlice controller loop (pkg/controller/endpointslice/endpointslice_controller.go):
// informers on Services, Pods, Nodes and EndpointSlices queue Service keys; a worker reads the
// caches, runs the pure reconciler and writes its plan through the Client.
//
// svcnet's API server has no garbage collector, so slices of a deleted Service are deleted here
// (upstream leaves that to ownerReference GC). Against a real kube-apiserver both happen; the
// loser gets NotFound, which is ignored.
import { isAlreadyExists, isConflict, isNotFound } from '../../api/status.ts';
import type { EndpointSlice, Node, Pod, Service } from '../../api/types.ts';
import { labelKeys } from '../../api/well-known.ts';
import type { Client } from '../../client/client.ts';
import type { InformerLike } from '../../client/informer-api.ts';
import { type Obj, ownInformers } from '../runtime/informers.ts';
import { combine, noRetry, ok, retry, type SyncResult } from '../runtime/result.ts';
import { type ControllerHandle, startController, type WorkerOptions } from '../runtime/runner.ts';
import { TriggerTimeTracker } from '../runtime/trigger-time.ts';
import { WorkQueue } from '../runtime/workqueue.ts';
import { GroupIndex, PodIndex, ServiceIndex } from './indexes.ts';
import { controllerName } from './labels.ts';
import { isPodReady, podIPs, serviceKey, splitKey } from './pod.ts';
import { reconcileEndpointSlices } from './reconcile.ts';
import { SliceTracker } from './tracker.ts';

type Objects = {
  services: Obj<Service>;
  pods: Obj<Pod>;
  nodes: Obj<Node>;
  endpointslices: Obj<EndpointSlice>;
};

export type EndpointSliceInformers = { [K in keyof Objects]: InformerLike<Objects[K]> };

export interface EndpointSliceControllerOptions {
  maxEndpointsPerSlice?: number;
  /** Concurrent Service syncs (--concurrent-service-endpoint-syncs, default 5). */
  workers?: number;
  /** Shared informers; the ones not given are created, started and stopped by the controller. */
  informers?: Partial<EndpointSliceInformers>;
  onError?: WorkerOptions<string>['onError'];
  /** First retry delay of a failing Service (doubles per failure). */
  retryBaseDelayMs?: number;
}

export type { ControllerHandle };

/** A stale cache catches up within one watch event; poll it rather than backing off. */
const staleRetryMs = 10;

export function startEndpointSliceController(
  client: Client,
  opts: EndpointSliceControllerOptions = {},
): ControllerHandle {
  const bundle = ownInformers<Objects>(
    client,
    { services: 'services', pods: 'pods', nodes: 'nodes', endpointslices: 'endpointslices' },
    opts.informers,
  );
  const { services, pods, nodes, endpointslices } = bundle.informers;
  const queue = new WorkQueue<string>({
    name: 'endpoint_slice',
    baseDelayMs: opts.retryBaseDelayMs ?? 50,
    maxDelayMs: 30_000,
  });
  const podIndex = new PodIndex<Obj<Pod>>();
  const serviceIndex = new ServiceIndex<Obj<Service>>();
  const sliceIndex = new GroupIndex<Obj<EndpointSlice>>(managedSliceOwner);
  const tracker = new SliceTracker();
  const triggers = new TriggerTimeTracker();
  let stopped = false;

  services.on((old, cur) => {
    if (stopped) return;
    serviceIndex.apply(old, cur);
    const o = cur ?? old;
    if (o) queue.add(keyOf(o));
  });
  pods.on((old, cur) => {
    if (stopped) return;
    podIndex.apply(old, cur);
    for (const k of servicesForPodChange(serviceIndex, old, cur)) queue.add(k);
  });
  nodes.on((old, cur) => {
    if (stopped) return;
    // Pods on a node that appears (or changes zone) were skipped or carry a stale zone.
    const zoneOf = (n: Node | undefined) => n?.metadata?.labels?.[labelKeys.topologyZone];
    if (old && cur && zoneOf(old) === zoneOf(cur)) return;
    const name = (cur ?? old)?.metadata?.name ?? '';
    for (const p of podIndex.onNode(name)) for (const k of serviceIndex.forPod(p)) queue.add(k);
  });
  endpointslices.on((old, cur) => {
    if (stopped) return;
    sliceIndex.apply(old, cur);
    if (cur) {
      const owner = managedSliceOwner(cur);
      if (owner && tracker.shouldSync(owner, cur)) queue.add(owner);
      // A slice that stopped being ours (relabelled) leaves a gap to refill.
      const was = old && managedSliceOwner(old);
      if (was && was !== owner) queue.add(was);
    } else if (old) {
      const owner = managedSliceOwner(old);
      if (owner && tracker.handleDeletion(owner, old)) queue.add(owner);
    }
  });

  const maxEndpointsPerSlice = opts.maxEndpointsPerSlice;

  async function sync(key: string): Promise<SyncResult> {
    const { namespace, name } = splitKey(key);
    const svc = services.get(namespace, name);
    const existing = sliceIndex.get(key);
    if (!svc) {
      triggers.delete(namespace, name);
      const r = await apply(key, namespace, { create: [], update: [], delete: existing, skippedPods: [] });
      if (r.kind === 'ok') tracker.deleteService(key);
      return r;
    }
    if (tracker.stale(key, existing))
      return retry('EndpointSlice informer cache is out of date', { afterMs: staleRetryMs });
    const selected = podIndex.select(svc);
    const triggerTime = triggers.compute(svc, selected);
    const plan = reconcileEndpointSlices(svc, selected, nodes, existing, { maxEndpointsPerSlice, triggerTime });
    const r = await apply(key, namespace, plan);
    if (r.kind !== 'ok') return r;
    if (plan.skippedPods.length > 0) return retry(`pods on unknown nodes skipped: ${plan.skippedPods.join(', ')}`);
    return ok;
  }

  async function apply(key: string, namespace: string, plan: ReturnType<typeof reconcileEndpointSlices>) {
    const results: SyncResult[] = [];
    const write = async (what: string, fn: () => Promise<void>) => {
      try {
        await fn();
      } catch (err) {
        results.push(writeFailure(what, err));
      }
    };
    // Creates and updates first: a replacement never leaves a window with fewer endpoints.
    for (const s of plan.create) {
      await write(`create EndpointSlice for ${key}`, async () => {
        const body = { ...s, metadata: { ...s.metadata, namespace } } as Obj<EndpointSlice>;
        tracker.update(key, await client.create('endpointslices', body));
      });
    }
    for (const s of plan.update) {
      await write(`update EndpointSlice ${namespace}/${s.metadata?.name}`, async () => {
        tracker.update(key, await client.update('endpointslices', s as Obj<EndpointSlice>));
      });
    }
    for (const s of plan.delete) {
      await write(`delete EndpointSlice ${namespace}/${s.metadata?.name}`, async () => {
        tracker.expectDeletion(key, s);
        try {
          await client.delete('endpointslices', namespace, s.metadata?.name ?? '');
        } catch (err) {
          if (!isNotFound(err)) {
            // It is still there: do not wait for a deletion event that will not come.
            tracker.handleDeletion(key, s);
            throw err;
          }
        }
      });
    }
    return combine(results);
  }

  return startController(bundle, queue, sync, {
    workers: opts.workers,
    onError: opts.onError,
    onStop: () => {
      stopped = true;
    },
  });
}

/** The Service key a slice managed by this controller belongs to. */
function managedSliceOwner(s: EndpointSlice): string | undefined {
  const labels = s.metadata?.labels ?? {};
  const svc = labels[labelKeys.serviceName];
  if (!svc || labels[labelKeys.managedBy] !== controllerName) return undefined;
  return serviceKey(s.metadata?.namespace ?? '', svc);
}

function keyOf(o: { metadata?: { namespace?: string; name?: string } }): string {
  return serviceKey(o.metadata?.namespace ?? '', o.metadata?.name ?? '');
}

/**
 * podEndpointsChanged + GetPodServiceMemberships: a label (or hostname/subdomain) change may move
 * the pod between Services, so both old and new memberships sync; other changes matter only if
 * they change what an endpoint shows.
 */
export function servicesForPodChange(index: ServiceIndex, old: Pod | undefined, cur: Pod | undefined): Set<string> {
  const keys = new Set<string>();
  if (!old || !cur) {
    for (const k of index.forPod((cur ?? old) as Pod)) keys.add(k);
    return keys;
  }
  const labelsChanged =
    JSON.stringify(old.metadata?.labels ?? {}) !== JSON.stringify(cur.metadata?.labels ?? {}) ||
    old.spec?.hostname !== cur.spec?.hostname ||
    old.spec?.subdomain !== cur.spec?.subdomain;
  if (labelsChanged) {
    for (const k of index.forPod(old)) keys.add(k);
    for (const k of index.forPod(cur)) keys.add(k);
    return keys;
  }
  if (endpointChanged(old, cur)) for (const k of index.forPod(cur)) keys.add(k);
  return keys;
}

function endpointChanged(old: Pod, cur: Pod): boolean {
  return (
    old.metadata?.deletionTimestamp !== cur.metadata?.deletionTimestamp ||
    isPodReady(old) !== isPodReady(cur) ||
    old.status?.phase !== cur.status?.phase ||
    old.spec?.nodeName !== cur.spec?.nodeName ||
    podIPs(old).join(',') !== podIPs(cur).join(',')
  );
}

export function writeFailure(what: string, err: unknown): SyncResult {
  const msg = `${what}: ${err instanceof Error ? err.message : String(err)}`;
  // Conflicts and "already exists" mean our cache is behind: retry once it catches up.
  if (isConflict(err) || isAlreadyExists(err)) return retry(msg, { cause: err });
  // A terminating namespace refuses creates for good (NamespaceTerminatingCause).
  if (err instanceof Error && /because it is being terminated/.test(err.message)) return noRetry(msg, err);
  return retry(msg, { cause: err });
}
