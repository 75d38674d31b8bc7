// The legacy Endpoints controller loop (pkg/controller/endpoint/endpoints_controller.go): the
// seed's `kubectl get endpoints NAME -o yaml` reads what this writes.
import { isNotFound } from '../../api/status.ts';
import type { Endpoints, Pod, Service } from '../../api/types.ts';
import { annotationKeys } from '../../api/well-known.ts';
import type { Client } from '../../client/client.ts';
import type { InformerLike } from '../../client/informer-api.ts';
import { type ControllerHandle, servicesForPodChange, writeFailure } from '../endpointslice/controller.ts';
import { PodIndex, ServiceIndex } from '../endpointslice/indexes.ts';
import { serviceKey, splitKey } from '../endpointslice/pod.ts';
import { staleTimeoutMs } from '../endpointslice/tracker.ts';
import { type Obj, ownInformers } from '../runtime/informers.ts';
import { ok, retry, type SyncResult } from '../runtime/result.ts';
import { startController, type WorkerOptions } from '../runtime/runner.ts';
import { TriggerTimeTracker } from '../runtime/trigger-time.ts';
import { WorkQueue } from '../runtime/workqueue.ts';
import { reconcileEndpoints } from './reconcile.ts';

type Objects = {
  services: Obj<Service>;
  pods: Obj<Pod>;
  endpoints: Obj<Endpoints>;
};

export type EndpointsInformers = { [K in keyof Objects]: InformerLike<Objects[K]> };

export interface EndpointsControllerOptions {
  workers?: number;
  informers?: Partial<EndpointsInformers>;
  onError?: WorkerOptions<string>['onError'];
  retryBaseDelayMs?: number;
}

const staleRetryMs = 10;

export function startEndpointsController(client: Client, opts: EndpointsControllerOptions = {}): ControllerHandle {
  const bundle = ownInformers<Objects>(
    client,
    { services: 'services', pods: 'pods', endpoints: 'endpoints' },
    opts.informers,
  );
  const { services, pods, endpoints } = bundle.informers;
  const queue = new WorkQueue<string>({
    name: 'endpoint',
    baseDelayMs: opts.retryBaseDelayMs ?? 50,
    maxDelayMs: 30_000,
  });
  const podIndex = new PodIndex<Obj<Pod>>();
  const serviceIndex = new ServiceIndex<Obj<Service>>();
  const triggers = new TriggerTimeTracker();
  // staleEndpointsTracker: the resourceVersion each of our writes replaced ("" = created). While
  // the cache still shows that version it has not seen our write, and a sync would conflict or
  // try to create twice.
  const replaced = new Map<string, { rv: string; at: number }>();
  let stopped = false;

  services.on((old, cur) => {
    if (stopped) return;
    serviceIndex.apply(old, cur);
    const o = cur ?? old;
    if (o) queue.add(serviceKey(o.metadata.namespace ?? '', o.metadata.name ?? ''));
  });
  pods.on((old, cur) => {
    if (stopped) return;
    podIndex.apply(old, cur);
    for (const k of servicesForPodChange(serviceIndex, old, cur)) queue.add(k);
  });
  // §4.22: every Endpoints object present at start-up is checked (so those of Services deleted
  // while the controller was down go), and a deleted one is recreated if its Service wants it.
  let replaying = true;
  endpoints.on((old, cur) => {
    if (stopped) return;
    const o = cur ?? old;
    if (!o) return;
    const key = serviceKey(o.metadata.namespace ?? '', o.metadata.name ?? '');
    const r = replaced.get(key);
    if (r && (!cur || cur.metadata.resourceVersion !== r.rv)) replaced.delete(key);
    const initial = !old && cur && (replaying || !endpoints.hasSynced());
    if (initial && cur.metadata.annotations?.[annotationKeys.endpointsLeader] === undefined) queue.add(key);
    if (old && !cur) queue.add(key);
  });
  replaying = false;

  async function sync(key: string): Promise<SyncResult> {
    const { namespace, name } = splitKey(key);
    const svc = services.get(namespace, name);
    const existing = endpoints.get(namespace, name);
    const prev = replaced.get(key);
    if (prev && Date.now() - prev.at > staleTimeoutMs) replaced.delete(key);
    else if (prev && (existing?.metadata.resourceVersion ?? '') === prev.rv) {
      return retry('Endpoints informer cache is out of date', { afterMs: staleRetryMs });
    }
    if (!svc) triggers.delete(namespace, name);
    const selected = svc ? podIndex.select(svc) : [];
    const triggerTime = svc ? triggers.compute(svc, selected) : undefined;
    const plan = reconcileEndpoints(svc, selected, existing, { triggerTime });
    try {
      switch (plan.kind) {
        case 'none':
          return ok;
        case 'delete':
          try {
            await client.delete('endpoints', plan.namespace, plan.name);
          } catch (err) {
            if (!isNotFound(err)) throw err;
          }
          replaced.delete(key);
          return ok;
        case 'create':
          await client.create('endpoints', plan.endpoints as Obj<Endpoints>);
          replaced.set(key, { rv: '', at: Date.now() });
          return ok;
        case 'update':
          await client.update('endpoints', plan.endpoints as Obj<Endpoints>);
          replaced.set(key, { rv: existing?.metadata.resourceVersion ?? '', at: Date.now() });
          return ok;
      }
    } catch (err) {
      return writeFailure(`${plan.kind} Endpoints ${key}`, err);
    }
  }

  return startController(bundle, queue, sync, {
    workers: opts.workers,
    onError: opts.onError,
    onStop: () => {
      stopped = true;
    },
  });
}
