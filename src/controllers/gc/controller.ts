// The garbage collector: watches the kinds that own or are owned (Deployments own ReplicaSets,
// ReplicaSets own Pods, Services own EndpointSlices, ...) and carries out plan.ts's decisions
// through the API. One pass over the informer caches per burst of changes; an owner the cache
// does not show is confirmed gone with a live read before its dependents are deleted, as the
// real collector does, because caches lag.
import { mustResource, parseApiVersion, resourceForKind } from '../../api/resources.ts';
import { isConflict, isNotFound } from '../../api/status.ts';
import type { KubeObject } from '../../api/types.ts';
import type { Client } from '../../client/client.ts';
import { Informer } from '../../client/informer.ts';
import { type GcAction, type GcObject, type OwnerRef, planCollection, type Target } from './plan.ts';

/** Kinds that carry or receive ownerReferences in svcnet. */
export const collectedResources = [
  'deployments',
  'replicasets',
  'pods',
  'services',
  'endpointslices',
  'endpoints',
] as const;

export interface GarbageCollector {
  synced(): Promise<void>;
  /** Resolves when no pass is running or pending. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

export interface GarbageCollectorOptions {
  onError?: (err: unknown) => void;
  resources?: readonly string[];
}

export function startGarbageCollector(client: Client, opts: GarbageCollectorOptions = {}): GarbageCollector {
  const informers = (opts.resources ?? collectedResources).map((r) => ({
    resource: r,
    inf: new Informer<KubeObject>(client, r),
  }));
  let stopped = false;
  let running: Promise<void> | undefined;
  let again = false;
  let timer: NodeJS.Timeout | undefined;

  const ownerGone = async (ns: string, ref: OwnerRef): Promise<boolean> => {
    const { group } = parseApiVersion(ref.apiVersion);
    const info = resourceForKind(group, ref.kind);
    // An owner of a kind svcnet does not serve cannot be checked; leave the reference alone.
    if (!info) return false;
    try {
      const owner = await client.get(info.resource, info.namespaced ? ns : '', ref.name);
      return owner.metadata.uid !== ref.uid;
    } catch (e) {
      if (isNotFound(e)) return true;
      throw e;
    }
  };

  const dropOwners = async (t: Target, owners: readonly string[]) => {
    const cur = await client.get(t.resource, t.namespace, t.name);
    if (cur.metadata.uid !== t.uid) return;
    const refs = cur.metadata.ownerReferences ?? [];
    const kept = refs.filter((r) => !owners.includes(r.uid));
    if (kept.length === refs.length) return;
    // The resourceVersion makes this a compare-and-swap: a concurrent change re-runs the pass.
    await client.patch(t.resource, t.namespace, t.name, 'merge', {
      metadata: { ownerReferences: kept, resourceVersion: cur.metadata.resourceVersion },
    });
  };

  const act = async (a: GcAction) => {
    const t = a.target;
    switch (a.kind) {
      case 'delete':
        await client.delete(t.resource, t.namespace, t.name, {
          preconditions: { uid: t.uid },
          propagationPolicy: a.policy,
        });
        return;
      case 'deleteIfOwnersGone': {
        for (const r of a.owners) if (!(await ownerGone(t.namespace, r))) return;
        await client.delete(t.resource, t.namespace, t.name, {
          preconditions: { uid: t.uid },
          propagationPolicy: 'Background',
        });
        return;
      }
      case 'dropIfOwnersGone': {
        const gone: string[] = [];
        for (const r of a.owners) if (await ownerGone(t.namespace, r)) gone.push(r.uid);
        if (gone.length) await dropOwners(t, gone);
        return;
      }
      case 'dropOwners':
        await dropOwners(t, a.owners);
        return;
      case 'removeFinalizer': {
        const cur = await client.get(t.resource, t.namespace, t.name);
        if (cur.metadata.uid !== t.uid) return;
        const fins = cur.metadata.finalizers ?? [];
        if (!fins.includes(a.finalizer)) return;
        await client.patch(t.resource, t.namespace, t.name, 'merge', {
          metadata: {
            finalizers: fins.filter((f) => f !== a.finalizer),
            resourceVersion: cur.metadata.resourceVersion,
          },
        });
        return;
      }
    }
  };

  const pass = async () => {
    const objects: GcObject[] = [];
    for (const { resource, inf } of informers) for (const obj of inf.list()) objects.push({ resource, obj });
    for (const a of planCollection(objects)) {
      if (stopped) return;
      try {
        await act(a);
      } catch (e) {
        // Gone or changed meanwhile: the watch brings the new state and another pass.
        if (!isNotFound(e) && !isConflict(e)) opts.onError?.(e);
      }
    }
  };

  const run = () => {
    timer = undefined;
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = pass().finally(() => {
      running = undefined;
      if (again) {
        again = false;
        schedule();
      }
    });
  };
  const schedule = () => {
    if (!stopped && !timer) timer = setTimeout(run, 10);
  };

  for (const { inf } of informers) {
    inf.on(() => {
      if (informers.every((i) => i.inf.hasSynced())) schedule();
    });
    inf.start();
  }
  const synced = async () => {
    await Promise.all(informers.map((i) => i.inf.waitForSync()));
  };
  void synced().then(schedule);
  for (const r of opts.resources ?? collectedResources) mustResource(r);

  return {
    synced,
    async idle() {
      while (timer || running) await (running ?? new Promise((r) => setTimeout(r, 5)));
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
      for (const { inf } of informers) inf.stop();
    },
  };
}
