// The ReplicaSet reconcile core, pure (pkg/controller/replicaset): how many pods to create or
// which to delete so the active pods it controls match spec.replicas (at most 500 per sync,
// created in doubling batches so a failing create stops early), and the status it reports —
// the counters the Deployment controller builds its own status from.
import { labelSelectorAsSelector, selectorFromSet } from '../../api/labels/selector.ts';
import type { Pod } from '../../api/types.ts';
import {
  getCondition,
  newReplicaSetCondition,
  omitZero,
  type ReplicaSetStatus,
  reasons,
  removeCondition,
  sameStatus,
  setCondition,
} from './conditions.ts';
import { isActive, isAvailable, isReady, podsToDelete } from './pods.ts';
import { type RS, specReplicas } from './replicasets.ts';

/** The ReplicaSet controller's burstReplicas: the most pods one sync creates or deletes. */
export const burstReplicas = 500;

/** Pods that count for a ReplicaSet: active ones (terminating and finished pods do not). */
export const activePods = (pods: readonly Pod[]): Pod[] => pods.filter(isActive);

/** Whether the ReplicaSet's selector selects these labels (a nil or invalid selector: none). */
export function selects(rs: RS, labels: Record<string, string> | undefined): boolean {
  try {
    return labelSelectorAsSelector(rs.spec?.selector).matches(labels);
  } catch {
    return false;
  }
}

export interface Manage {
  readonly create: number;
  readonly delete: readonly Pod[];
}

/** manageReplicas' decision. `related`: active pods of every ReplicaSet of the same owner. */
export function manageReplicas(rs: RS, owned: readonly Pod[], related: readonly Pod[], now: number): Manage {
  const diff = owned.length - specReplicas(rs);
  if (diff < 0) return { create: Math.min(-diff, burstReplicas), delete: [] };
  if (diff > 0) return { create: 0, delete: podsToDelete(owned, related, Math.min(diff, burstReplicas), now) };
  return { create: 0, delete: [] };
}

/** slowStartBatch's sizes: 1, 2, 4, … summing to n. */
export function slowStartBatches(n: number): number[] {
  const out: number[] = [];
  let left = n;
  for (let size = 1; left > 0; size *= 2) {
    const b = Math.min(size, left);
    out.push(b);
    left -= b;
  }
  return out;
}

/**
 * calculateStatus: counts over the pods it controls, ReplicaFailure while creating or deleting
 * fails (`manageError`), cleared once a sync succeeds.
 */
export function replicaSetStatus(
  rs: RS,
  owned: readonly Pod[],
  manageError: string | undefined,
  now: number,
): ReplicaSetStatus {
  const status: ReplicaSetStatus = structuredClone(rs.status ?? { replicas: 0 });
  const template = selectorFromSet(rs.spec?.template?.metadata?.labels);
  const minReady = rs.spec?.minReadySeconds ?? 0;
  let fullyLabeled = 0;
  let ready = 0;
  let available = 0;
  for (const p of owned) {
    if (template.matches(p.metadata?.labels)) fullyLabeled++;
    if (isReady(p)) {
      ready++;
      if (isAvailable(p, minReady, now)) available++;
    }
  }
  const failure = getCondition(status.conditions, 'ReplicaFailure');
  if (manageError !== undefined && !failure) {
    const diff = owned.length - specReplicas(rs);
    const reason = diff < 0 ? reasons.failedCreate : diff > 0 ? reasons.failedDelete : '';
    setCondition(status, newReplicaSetCondition('ReplicaFailure', 'True', reason, manageError, now));
  } else if (manageError === undefined && failure) {
    removeCondition(status, 'ReplicaFailure');
  }
  status.replicas = owned.length;
  status.fullyLabeledReplicas = fullyLabeled;
  status.readyReplicas = ready;
  status.availableReplicas = available;
  // replicas is the one counter upstream always writes.
  return omitZero(status, ['fullyLabeledReplicas', 'readyReplicas', 'availableReplicas', 'observedGeneration']);
}

/** updateReplicaSetStatus' steady state: counters, observed generation and conditions unchanged. */
export function statusNeedsWrite(rs: RS, next: ReplicaSetStatus): boolean {
  const cur = rs.status ?? { replicas: 0 };
  return (
    (rs.metadata.generation ?? 0) !== (cur.observedGeneration ?? 0) ||
    !sameStatus({ ...cur, observedGeneration: 0 }, { ...next, observedGeneration: 0 })
  );
}
