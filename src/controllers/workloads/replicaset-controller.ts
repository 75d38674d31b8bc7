// The ReplicaSet controller (pkg/controller/replicaset): keeps spec.replicas active pods per
// ReplicaSet and reports their counts in its status; replicaset-plan.ts decides, this file
// applies. Pods it controls carry its controller reference; orphans matching its selector are
// adopted, its pods whose labels stop matching are released. Without a scheduler beside the API
// server (`svcnet apiserver`), pods are bound at creation (bindNodes, nodes.ts).
import { labelSelectorAsSelector } from '../../api/labels/selector.ts';
import { isAlreadyExists, isConflict, isNotFound } from '../../api/status.ts';
import type { KubeObject, Node, Pod } from '../../api/types.ts';
import type { Client } from '../../client/client.ts';
import type { InformerLike } from '../../client/informer-api.ts';
import { EventRecorder } from '../loadbalancer/recorder.ts';
import { ownInformers } from '../runtime/informers.ts';
import { ok, retry, type SyncResult } from '../runtime/result.ts';
import { startController } from '../runtime/runner.ts';
import { WorkQueue } from '../runtime/workqueue.ts';
import { adoptPatch, planClaims, releasePatch } from './claim.ts';
import { Expectations } from './expectations.ts';
import { isSchedulable, RoundRobin } from './nodes.ts';
import { msUntilAvailable } from './pods.ts';
import {
  activePods,
  manageReplicas,
  replicaSetStatus,
  selects,
  slowStartBatches,
  statusNeedsWrite,
} from './replicaset-plan.ts';
import type { RS } from './replicasets.ts';
import { controllerOf, controllerRef, podFromTemplate, replicaSetKind } from './templates.ts';

export type PodObj = Pod & KubeObject;
type NodeObj = Node & KubeObject;

export interface ReplicaSetControllerOptions {
  /**
   * Set spec.nodeName at creation, round-robin over schedulable Ready nodes (default true): for
   * API servers with no scheduler. false leaves pods unbound for a scheduler, as upstream does.
   */
  bindNodes?: boolean;
  workers?: number;
  onError?: (err: unknown) => void;
  now?: () => number;
  /** Informers shared with other controllers (their owner starts and stops them). */
  informers?: Partial<SharedInformers>;
}

export interface SharedInformers {
  replicaSets: InformerLike<RS>;
  pods: InformerLike<PodObj>;
}

export interface Controller {
  stop(): Promise<void>;
  /** Resolves once caches synced and every object was processed once. */
  synced(): Promise<void>;
}

const keyOf = (o: { metadata?: { namespace?: string; name?: string } }) =>
  `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;

export const splitKey = (key: string): [string, string] => {
  const i = key.indexOf('/');
  return [key.slice(0, i), key.slice(i + 1)];
};

/** Not a reason to report: a newer object is on its way, or the object is already gone. */
export const isStale = (err: unknown): boolean => isConflict(err) || isNotFound(err);

/** The error text of an API or other failure, for events and conditions. */
const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

class NoNodeError extends Error {
  constructor() {
    super('no schedulable Ready node to run pods on');
  }
}

export function startReplicaSetController(client: Client, opts: ReplicaSetControllerOptions = {}): Controller {
  const report = (err: unknown) => opts.onError?.(err);
  const now = opts.now ?? (() => Date.now());
  const bindNodes = opts.bindNodes ?? true;
  const bundle = ownInformers<{ replicaSets: RS; pods: PodObj; nodes: NodeObj }>(
    client,
    { replicaSets: 'replicasets', pods: 'pods', nodes: 'nodes' },
    opts.informers,
  );
  const { replicaSets, pods, nodes } = bundle.informers;
  const recorder = new EventRecorder(client, { component: 'replicaset-controller', onError: report });
  const queue = new WorkQueue<string>({ name: 'replicaset' });
  const expectations = new Expectations(now);
  const rr = new RoundRobin();

  /** resolveControllerRef: the cached ReplicaSet a pod's controller reference names, if it is that one. */
  const ownerKey = (p: PodObj): string | undefined => {
    const ref = controllerOf(p);
    if (ref?.kind !== replicaSetKind.kind || !ref.apiVersion.startsWith('apps/')) return undefined;
    const rs = replicaSets.get(p.metadata.namespace ?? '', ref.name);
    return rs && rs.metadata.uid === ref.uid ? keyOf(rs) : undefined;
  };
  /** getPodReplicaSets: ReplicaSets that would adopt an orphan. */
  const wouldAdopt = (p: PodObj): string[] =>
    replicaSets
      .list()
      .filter((rs) => rs.metadata.namespace === p.metadata.namespace && selects(rs, p.metadata.labels))
      .map(keyOf);

  pods.on((old, cur) => {
    const keys = new Set<string>();
    for (const p of [old, cur]) {
      if (!p) continue;
      const owner = ownerKey(p);
      if (owner) keys.add(owner);
      else if (p === cur && !controllerOf(p)) for (const k of wouldAdopt(p)) keys.add(k);
    }
    const podKey = keyOf((cur ?? old) as PodObj);
    if (cur && !old) {
      const owner = ownerKey(cur);
      if (owner) expectations.creationObserved(owner);
    }
    if (!cur || (cur.metadata.deletionTimestamp && !old?.metadata.deletionTimestamp)) {
      const owner = ownerKey((cur ?? old) as PodObj);
      if (owner) expectations.deletionObserved(owner, podKey);
    }
    for (const k of keys) queue.add(k);
  });
  replicaSets.on((old, cur) => {
    const rs = cur ?? old;
    if (!rs) return;
    if (!cur) expectations.delete(keyOf(rs));
    queue.add(keyOf(rs));
  });
  nodes.on((old, cur) => {
    if (!bindNodes || (old ? isSchedulable(old) : false) === (cur ? isSchedulable(cur) : false)) return;
    for (const rs of replicaSets.list()) queue.add(keyOf(rs));
  });

  const inNamespace = (ns: string) => pods.list().filter((p) => p.metadata.namespace === ns);

  /** getIndirectlyRelatedPods: active pods of every ReplicaSet with the same controller. */
  const relatedPods = (rs: RS): PodObj[] => {
    const owner = controllerOf(rs);
    if (!owner) return [];
    const siblings = new Set(
      replicaSets
        .list()
        .filter((x) => x.metadata.namespace === rs.metadata.namespace && controllerOf(x)?.uid === owner.uid)
        .map((x) => x.metadata.uid ?? ''),
    );
    return activePods(inNamespace(rs.metadata.namespace ?? '')).filter((p) =>
      siblings.has(controllerOf(p)?.uid ?? '\u0000'),
    ) as PodObj[];
  };

  /** claimPods: adopt and release, after a live read shows the ReplicaSet is not being deleted. */
  const claim = async (rs: RS): Promise<PodObj[]> => {
    const [ns, name] = [rs.metadata.namespace ?? '', rs.metadata.name ?? ''];
    const selector = labelSelectorAsSelector(rs.spec?.selector);
    const plan = planClaims(
      { uid: rs.metadata.uid ?? '', deleting: !!rs.metadata.deletionTimestamp },
      (p: PodObj) => selector.matches(p.metadata.labels),
      activePods(inNamespace(ns)) as PodObj[],
    );
    const owned = [...plan.owned];
    if (plan.adopt.length) {
      const fresh = await client.get<RS>('replicasets', ns, name);
      if (fresh.metadata.uid !== rs.metadata.uid) throw new Error(`original ReplicaSet ${ns}/${name} is gone`);
      if (fresh.metadata.deletionTimestamp)
        throw new Error(`${ns}/${name} has just been deleted at ${fresh.metadata.deletionTimestamp}`);
      const ref = controllerRef(rs, replicaSetKind);
      for (const p of plan.adopt) {
        try {
          owned.push(
            await client.patch<PodObj>(
              'pods',
              ns,
              p.metadata.name ?? '',
              'strategic',
              adoptPatch(p.metadata.uid ?? '', ref),
            ),
          );
        } catch (err) {
          if (!isStale(err)) throw err;
        }
      }
    }
    for (const p of plan.release) {
      try {
        await client.patch(
          'pods',
          ns,
          p.metadata.name ?? '',
          'strategic',
          releasePatch(p.metadata.uid ?? '', rs.metadata.uid ?? ''),
        );
      } catch (err) {
        if (!isStale(err)) throw err;
      }
    }
    return owned;
  };

  const createPod = async (rs: RS): Promise<void> => {
    let node: string | undefined;
    if (bindNodes) {
      node = rr.pick(nodes.list());
      if (!node) throw new NoNodeError();
    }
    // A generated name can collide with a pod of the same prefix; the next one will not.
    for (let attempt = 0; ; attempt++) {
      try {
        const created = await client.create<PodObj>('pods', podFromTemplate(rs, node));
        await recorder.record(rs, 'Normal', 'SuccessfulCreate', `Created pod: ${created.metadata.name ?? ''}`);
        return;
      } catch (err) {
        if (!isAlreadyExists(err) || attempt >= 4) throw err;
      }
    }
  };

  /** slowStartBatch: the first failure ends the run; pods never tried are expected no longer. */
  const createPods = async (key: string, rs: RS, n: number): Promise<unknown> => {
    expectations.expectCreations(key, n);
    let done = 0;
    let failure: unknown;
    for (const size of slowStartBatches(n)) {
      const results = await Promise.allSettled(Array.from({ length: size }, () => createPod(rs)));
      for (const r of results) {
        if (r.status === 'fulfilled') continue;
        failure ??= r.reason;
        expectations.creationObserved(key);
      }
      done += size;
      if (failure !== undefined) break;
    }
    for (let i = done; i < n; i++) expectations.creationObserved(key);
    if (failure !== undefined)
      await recorder.record(rs, 'Warning', 'FailedCreate', `Error creating: ${errorText(failure)}`);
    return failure;
  };

  const deletePods = async (key: string, rs: RS, victims: readonly Pod[]): Promise<unknown> => {
    expectations.expectDeletions(key, victims.map(keyOf));
    let failure: unknown;
    await Promise.all(
      victims.map(async (p) => {
        const name = p.metadata?.name ?? '';
        try {
          await client.delete('pods', p.metadata?.namespace ?? '', name, {
            preconditions: { uid: p.metadata?.uid ?? '' },
          });
          await recorder.record(rs, 'Normal', 'SuccessfulDelete', `Deleted pod: ${name}`);
        } catch (err) {
          // Gone already, or replaced under its name (the uid precondition): nothing to wait for.
          expectations.deletionObserved(key, keyOf(p));
          if (isStale(err)) return;
          failure ??= err;
          await recorder.record(rs, 'Warning', 'FailedDelete', `Error deleting: ${errorText(err)}`);
        }
      }),
    );
    return failure;
  };

  const sync = async (key: string): Promise<SyncResult> => {
    const [ns, name] = splitKey(key);
    const rs = replicaSets.get(ns, name);
    if (!rs) {
      expectations.delete(key);
      return ok;
    }
    const needsSync = expectations.satisfied(key);
    const owned = await claim(rs);
    let failure: unknown;
    if (needsSync && !rs.metadata.deletionTimestamp) {
      const m = manageReplicas(rs, owned, relatedPods(rs), now());
      if (m.create > 0) failure = await createPods(key, rs, m.create);
      else if (m.delete.length > 0) failure = await deletePods(key, rs, m.delete);
    }
    const status = replicaSetStatus(rs, owned, failure === undefined ? undefined : errorText(failure), now());
    if (statusNeedsWrite(rs, status)) {
      await client.updateStatus<RS>('replicasets', {
        ...rs,
        status: { ...status, observedGeneration: rs.metadata.generation ?? 0 },
      });
    }
    // No node to bind to: nodes turning Ready queue every ReplicaSet again.
    if (failure instanceof NoNodeError) return ok;
    if (failure !== undefined) return retry(errorText(failure), { cause: failure });
    const minReady = rs.spec?.minReadySeconds ?? 0;
    if (minReady > 0 && status.readyReplicas === rs.spec?.replicas && status.availableReplicas !== rs.spec?.replicas) {
      const waits = owned.map((p) => msUntilAvailable(p, minReady, now())).filter((x) => x !== undefined);
      queue.addAfter(key, Math.min(minReady * 1000, ...waits));
    }
    return ok;
  };

  const handle = startController(bundle, queue, sync, {
    workers: opts.workers ?? 2,
    onError: (k, r) => {
      if (!isStale(r.cause)) report(new Error(`sync replicaset ${k}: ${r.reason}`));
    },
  });
  return { stop: () => handle.stop(), synced: () => handle.idle() };
}
