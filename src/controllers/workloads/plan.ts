// The Deployment reconcile core, pure: given a Deployment and the pods it owns, decide how many
// pods of the current template to create and which pods to delete, and compute the status.
// Kubernetes does this with ReplicaSets (one per template hash); svcnet's lab serves no
// ReplicaSet resource, so the same arithmetic runs over pods grouped by pod-template-hash:
//
//   rolling update (deployment/rolling.go):
//     new pods up to   min(replicas + maxSurge − all pods, replicas − new pods)
//     old pods down by first the unavailable ones, then as many available ones as keep
//                      available ≥ replicas − maxUnavailable, never more than
//                      all − minAvailable − unavailable new pods
//   recreate: delete every old pod, create new ones once none is left.
import type { Deployment, Pod } from '../../api/types.ts';
import { computeTemplateHash } from './hash.ts';
import { resolveFenceposts } from './intstr.ts';
import { isActive, isAvailable, msUntilAvailable, podTemplateHashLabel, rankForDeletion } from './pods.ts';
import { type DeploymentStatus, nextStatus } from './status.ts';

export interface Plan {
  hash: string;
  /** "<deployment>-<hash>": the ReplicaSet name Kubernetes would use; pods are named after it. */
  replicaSetName: string;
  create: number;
  delete: Pod[];
  status: DeploymentStatus;
  /** Sync again after this long (a pod turning available after minReadySeconds, the progress deadline). */
  requeueAfterMs?: number;
}

export function templateHash(d: Deployment): string {
  return computeTemplateHash(d.spec?.template ?? {}, d.status?.collisionCount);
}

export function planDeployment(d: Deployment, owned: readonly Pod[], now: number): Plan {
  const hash = templateHash(d);
  const replicaSetName = `${d.metadata?.name ?? ''}-${hash}`;
  const replicas = d.spec?.replicas ?? 1;
  const minReady = d.spec?.minReadySeconds ?? 0;
  const avail = (p: Pod) => isAvailable(p, minReady, now);
  const active = owned.filter(isActive);
  const isNew = (p: Pod) => p.metadata?.labels?.[podTemplateHashLabel] === hash;
  const newPods = active.filter(isNew);
  const oldPods = active.filter((p) => !isNew(p));
  const toDelete: Pod[] = [];
  let create = 0;

  if (d.spec?.paused) {
    // A paused rollout changes nothing; status still reports what is running.
  } else if (d.spec?.strategy?.type === 'Recreate') {
    if (oldPods.length > 0) toDelete.push(...oldPods);
    else if (owned.some((p) => !isNew(p) && p.metadata?.deletionTimestamp)) {
      // Old pods still terminating: Recreate guarantees they are gone before new ones start.
    } else if (newPods.length < replicas) create = replicas - newPods.length;
    else toDelete.push(...rankForDeletion(newPods).slice(0, newPods.length - replicas));
  } else if (oldPods.length === 0) {
    if (newPods.length < replicas) create = replicas - newPods.length;
    else toDelete.push(...rankForDeletion(newPods).slice(0, newPods.length - replicas));
  } else {
    const ru = d.spec?.strategy?.rollingUpdate;
    const { maxSurge, maxUnavailable } = resolveFenceposts(
      ru?.maxSurge ?? '25%',
      ru?.maxUnavailable ?? '25%',
      replicas,
    );
    let keptNew = newPods;
    if (newPods.length > replicas) {
      const excess = rankForDeletion(newPods).slice(0, newPods.length - replicas);
      toDelete.push(...excess);
      keptNew = newPods.filter((p) => !excess.includes(p));
    } else if (newPods.length < replicas) {
      const room = replicas + maxSurge - active.length;
      if (room > 0) create = Math.min(room, replicas - newPods.length);
    }
    const newCount = keptNew.length + create;
    const newUnavailable = newCount - keptNew.filter(avail).length;
    const minAvailable = replicas - maxUnavailable;
    const maxScaledDown = oldPods.length + newCount - minAvailable - newUnavailable;
    if (maxScaledDown > 0) {
      const unhealthy = rankForDeletion(oldPods.filter((p) => !avail(p))).slice(0, maxScaledDown);
      toDelete.push(...unhealthy);
      const remaining = rankForDeletion(oldPods.filter((p) => !unhealthy.includes(p)));
      const availableNow = keptNew.filter(avail).length + remaining.filter(avail).length;
      const scaleDown = Math.min(availableNow - minAvailable, remaining.length, maxScaledDown - unhealthy.length);
      if (scaleDown > 0) toDelete.push(...remaining.slice(0, scaleDown));
    }
  }

  const status = nextStatus(
    d,
    { active, newPods, available: active.filter(avail), replicaSetName, acted: create > 0 || toDelete.length > 0 },
    now,
  );
  let requeueAfterMs: number | undefined;
  for (const p of active) {
    const ms = msUntilAvailable(p, minReady, now);
    if (ms !== undefined) requeueAfterMs = Math.min(requeueAfterMs ?? ms, ms);
  }
  if (status.deadlineInMs !== undefined)
    requeueAfterMs = Math.min(requeueAfterMs ?? status.deadlineInMs, status.deadlineInMs);
  return {
    hash,
    replicaSetName,
    create,
    delete: toDelete,
    status: status.status,
    ...(requeueAfterMs !== undefined ? { requeueAfterMs } : {}),
  };
}
