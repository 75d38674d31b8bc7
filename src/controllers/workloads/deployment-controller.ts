// The Deployment controller (pkg/controller/deployment): Deployments own ReplicaSets, one per
// pod template, and roll between them; plan.ts decides, this file applies. ReplicaSets matching
// a Deployment's selector without a controller are adopted, ones whose labels stop matching are
// released. Pods still controlled by a Deployment directly (written by svcnet before ReplicaSets
// were served) are released too, so the ReplicaSet of their pod-template-hash adopts them.
import { labelSelectorAsSelector } from '../../api/labels/selector.ts';
import { isAlreadyExists } from '../../api/status.ts';
import type { KubeObject } from '../../api/types.ts';
import type { Client } from '../../client/client.ts';
import { EventRecorder } from '../loadbalancer/recorder.ts';
import { ownInformers } from '../runtime/informers.ts';
import { ok, retry, type SyncResult } from '../runtime/result.ts';
import { startController } from '../runtime/runner.ts';
import { WorkQueue } from '../runtime/workqueue.ts';
import { adoptPatch, planClaims, releasePatch } from './claim.ts';
import { newDeploymentCondition, reasons, setCondition } from './conditions.ts';
import { type DeploymentPlan, planDeployment } from './plan.ts';
import { type Controller, isStale, type PodObj, type SharedInformers, splitKey } from './replicaset-controller.ts';
import type { RS } from './replicasets.ts';
import { type D, plannedPrefix } from './state.ts';
import { hasProgressDeadline } from './sync.ts';
import { controllerOf, controllerRef, deploymentKind, equalIgnoreHash, replicaSetKind } from './templates.ts';

export interface DeploymentControllerOptions {
  workers?: number;
  onError?: (err: unknown) => void;
  now?: () => number;
  /** Informers shared with other controllers (their owner starts and stops them). */
  informers?: Partial<SharedInformers>;
}

const keyOf = (o: { metadata?: { namespace?: string; name?: string } }) =>
  `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;

const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

const isKind = (ref: { apiVersion: string; kind: string } | undefined, k: { kind: string }) =>
  ref?.kind === k.kind && ref.apiVersion.startsWith('apps/');

export function startDeploymentSyncController(client: Client, opts: DeploymentControllerOptions = {}): Controller {
  const report = (err: unknown) => opts.onError?.(err);
  const now = opts.now ?? (() => Date.now());
  const bundle = ownInformers<{ deployments: D; replicaSets: RS; pods: PodObj }>(
    client,
    { deployments: 'deployments', replicaSets: 'replicasets', pods: 'pods' },
    opts.informers,
  );
  const { deployments, replicaSets, pods } = bundle.informers;
  const recorder = new EventRecorder(client, { component: 'deployment-controller', onError: report });
  const queue = new WorkQueue<string>({ name: 'deployment' });

  const selects = (d: D, labels: Record<string, string> | undefined): boolean => {
    try {
      return labelSelectorAsSelector(d.spec?.selector).matches(labels);
    } catch {
      return false;
    }
  };
  /** The cached Deployment a ReplicaSet's controller reference names, if it is that one. */
  const ownerOf = (rs: RS): D | undefined => {
    const ref = controllerOf(rs);
    if (!isKind(ref, deploymentKind) || !ref) return undefined;
    const d = deployments.get(rs.metadata.namespace ?? '', ref.name);
    return d?.metadata.uid === ref.uid ? d : undefined;
  };

  deployments.on((old, cur) => {
    const d = cur ?? old;
    if (d) queue.add(keyOf(d));
  });
  replicaSets.on((old, cur) => {
    for (const rs of [old, cur]) {
      if (!rs) continue;
      const owner = ownerOf(rs);
      if (owner) queue.add(keyOf(owner));
      else if (rs === cur && !controllerOf(rs)) {
        // getDeploymentsForReplicaSet: an orphan wakes the Deployments that would adopt it.
        for (const d of deployments.list())
          if (d.metadata.namespace === rs.metadata.namespace && selects(d, rs.metadata.labels)) queue.add(keyOf(d));
      }
    }
  });
  pods.on((old, cur) => {
    const p = cur ?? old;
    if (!p) return;
    const ref = controllerOf(p);
    const ns = p.metadata.namespace ?? '';
    if (isKind(ref, deploymentKind) && ref) {
      queue.add(`${ns}/${ref.name}`);
      return;
    }
    // Recreate waits for old pods to be gone; their changes are what it waits on.
    if (!isKind(ref, replicaSetKind) || !ref || (cur && !cur.metadata.deletionTimestamp && old)) return;
    const rs = replicaSets.get(ns, ref.name);
    const d = rs && ownerOf(rs);
    if (d?.spec?.strategy?.type === 'Recreate') queue.add(keyOf(d));
  });

  /** getReplicaSetsForDeployment: claim, adopting only after a live read shows d is not being deleted. */
  const claimReplicaSets = async (d: D): Promise<RS[]> => {
    const ns = d.metadata.namespace ?? '';
    const plan = planClaims(
      { uid: d.metadata.uid ?? '', deleting: !!d.metadata.deletionTimestamp },
      (rs: RS) => selects(d, rs.metadata.labels),
      replicaSets.list().filter((rs) => rs.metadata.namespace === ns),
    );
    const owned = [...plan.owned];
    if (plan.adopt.length) {
      const fresh = await client.get<D>('deployments', ns, d.metadata.name ?? '');
      if (fresh.metadata.uid !== d.metadata.uid) throw new Error(`original Deployment ${keyOf(d)} is gone`);
      if (fresh.metadata.deletionTimestamp)
        throw new Error(`${keyOf(d)} has just been deleted at ${fresh.metadata.deletionTimestamp}`);
      const ref = controllerRef(d, deploymentKind);
      for (const rs of plan.adopt) {
        try {
          const patch = adoptPatch(rs.metadata.uid ?? '', ref);
          owned.push(await client.patch<RS>('replicasets', ns, rs.metadata.name ?? '', 'strategic', patch));
        } catch (err) {
          if (!isStale(err)) throw err;
        }
      }
    }
    for (const rs of plan.release) await release('replicasets', rs, d);
    return owned;
  };

  const release = async (resource: string, obj: KubeObject, owner: D) => {
    try {
      const patch = releasePatch(obj.metadata.uid ?? '', owner.metadata.uid ?? '');
      await client.patch(resource, obj.metadata.namespace ?? '', obj.metadata.name ?? '', 'strategic', patch);
    } catch (err) {
      if (!isStale(err)) throw err;
    }
  };

  /** A failed create: collision (collisionCount + 1), our own ReplicaSet not cached yet, or an error to show. */
  const createFailed = async (d: D, rs: RS, err: unknown): Promise<SyncResult> => {
    const ns = d.metadata.namespace ?? '';
    const name = rs.metadata.name ?? '';
    if (isAlreadyExists(err)) {
      const existing = await client.get<RS>('replicasets', ns, name);
      if (controllerOf(existing)?.uid === d.metadata.uid && equalIgnoreHash(d.spec?.template, existing.spec?.template))
        return retry('new ReplicaSet not in the cache yet', { afterMs: 10, cause: err });
      const status = { ...(d.status ?? {}), collisionCount: (d.status?.collisionCount ?? 0) + 1 };
      await client.updateStatus<D>('deployments', { ...d, status });
      return retry(`hash collision on ReplicaSet ${name}`, { afterMs: 0, cause: err });
    }
    const msg = `Failed to create new replica set "${name}": ${errorText(err)}`;
    if (hasProgressDeadline(d)) {
      const status = structuredClone(d.status ?? {});
      setCondition(status, newDeploymentCondition('Progressing', 'False', reasons.failedRSCreate, msg, now()));
      await client.updateStatus<D>('deployments', { ...d, status }).catch(() => {});
    }
    await recorder.record(d, 'Warning', reasons.failedRSCreate, msg);
    return retry(msg, { cause: err });
  };

  const apply = async (d: D, plan: DeploymentPlan): Promise<SyncResult> => {
    const ns = d.metadata.namespace ?? '';
    const written = new Map<string, string>();
    const resolved = (rs: RS): RS => {
      const rv = rs.metadata.resourceVersion ?? '';
      return rv.startsWith(plannedPrefix)
        ? { ...rs, metadata: { ...rs.metadata, resourceVersion: written.get(rv) } }
        : rs;
    };
    for (const a of plan.actions) {
      switch (a.kind) {
        case 'createReplicaSet': {
          let created: RS;
          try {
            created = await client.create<RS>('replicasets', a.rs);
          } catch (err) {
            return createFailed(d, a.rs, err);
          }
          written.set(a.token, created.metadata.resourceVersion ?? '');
          break;
        }
        case 'updateReplicaSet': {
          const updated = await client.update<RS>('replicasets', resolved(a.rs));
          written.set(a.token, updated.metadata.resourceVersion ?? '');
          break;
        }
        case 'deleteReplicaSet':
          try {
            await client.delete('replicasets', ns, a.name, { preconditions: { uid: a.uid } });
          } catch (err) {
            if (!isStale(err)) throw err;
          }
          continue;
      }
      if (a.event) await recorder.record(d, 'Normal', 'ScalingReplicaSet', a.event);
    }
    if (plan.changed) await client.updateStatus<D>('deployments', plan.deployment);
    if (plan.requeueAfterMs !== undefined) queue.addAfter(keyOf(d), plan.requeueAfterMs);
    return ok;
  };

  const sync = async (key: string): Promise<SyncResult> => {
    const [ns, name] = splitKey(key);
    const d = deployments.get(ns, name);
    if (!d) return ok;
    const owned = await claimReplicaSets(d);
    const uids = new Set(owned.map((rs) => rs.metadata.uid ?? ''));
    const podMap = new Map<string, PodObj[]>();
    for (const p of pods.list()) {
      if (p.metadata.namespace !== ns) continue;
      const ref = controllerOf(p);
      if (ref?.uid === d.metadata.uid && !d.metadata.deletionTimestamp) await release('pods', p, d);
      else if (ref && uids.has(ref.uid) && selects(d, p.metadata.labels))
        podMap.set(ref.uid, [...(podMap.get(ref.uid) ?? []), p]);
    }
    return apply(d, planDeployment({ deployment: d, replicaSets: owned, podMap, now: now() }));
  };

  const handle = startController(bundle, queue, sync, {
    workers: opts.workers ?? 2,
    onError: (k, r) => {
      if (!isStale(r.cause) && !isAlreadyExists(r.cause)) report(new Error(`sync deployment ${k}: ${r.reason}`));
    },
  });
  return { stop: () => handle.stop(), synced: () => handle.idle() };
}
