// Deployment and ReplicaSet conditions (deployment util and replicaset_utils): the reason
// constants kubectl and users read, and the list operations whose exact behaviour shows in
// `kubectl describe` — an unchanged (status, reason) keeps the old condition, a new reason with
// the same status keeps lastTransitionTime, and a replaced condition moves to the end of the list.
import type { Deployment, ReplicaSet } from '../../api/types.ts';
import { canonicalJSON } from './hash.ts';

export type DeploymentStatus = NonNullable<Deployment['status']>;
export type DeploymentCondition = NonNullable<DeploymentStatus['conditions']>[number];
export type ReplicaSetStatus = NonNullable<ReplicaSet['status']>;
export type ReplicaSetCondition = NonNullable<ReplicaSetStatus['conditions']>[number];
export type ConditionStatus = 'True' | 'False' | 'Unknown';

export const reasons = {
  // Progressing
  replicaSetUpdated: 'ReplicaSetUpdated',
  failedRSCreate: 'ReplicaSetCreateError',
  newReplicaSet: 'NewReplicaSetCreated',
  foundNewRS: 'FoundNewReplicaSet',
  newRSAvailable: 'NewReplicaSetAvailable',
  timedOut: 'ProgressDeadlineExceeded',
  paused: 'DeploymentPaused',
  resumed: 'DeploymentResumed',
  // Available
  minimumReplicasAvailable: 'MinimumReplicasAvailable',
  minimumReplicasUnavailable: 'MinimumReplicasUnavailable',
  // ReplicaFailure (ReplicaSets)
  failedCreate: 'FailedCreate',
  failedDelete: 'FailedDelete',
} as const;

/** metav1.Time as the API writes it: RFC 3339, whole seconds. */
export const rfc3339 = (ms: number): string => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

export function newDeploymentCondition(
  type: string,
  status: ConditionStatus,
  reason: string,
  message: string,
  now: number,
): DeploymentCondition {
  const t = rfc3339(now);
  return { type, status, lastUpdateTime: t, lastTransitionTime: t, reason, message };
}

export function newReplicaSetCondition(
  type: string,
  status: ConditionStatus,
  reason: string,
  message: string,
  now: number,
): ReplicaSetCondition {
  return { type, status, lastTransitionTime: rfc3339(now), reason, message };
}

interface Cond {
  type: string;
  status: string;
  reason?: string;
  lastTransitionTime?: string;
}

export function getCondition<C extends Cond>(conds: readonly C[] | undefined, type: string): C | undefined {
  return conds?.find((c) => c.type === type);
}

/** SetDeploymentCondition / SetCondition, on a status object in place. */
export function setCondition<C extends Cond>(status: { conditions?: C[] }, c: C): void {
  const cur = getCondition(status.conditions, c.type);
  if (cur && cur.status === c.status && cur.reason === c.reason) return;
  const next = cur && cur.status === c.status ? { ...c, lastTransitionTime: cur.lastTransitionTime } : c;
  status.conditions = [...(status.conditions ?? []).filter((x) => x.type !== c.type), next];
}

export function removeCondition<C extends Cond>(status: { conditions?: C[] }, type: string): void {
  const kept = (status.conditions ?? []).filter((x) => x.type !== type);
  if (kept.length) status.conditions = kept;
  else delete status.conditions;
}

/**
 * Drops zero counters, as Go's encoding/json does for these omitempty fields, so the status
 * reads as a cluster's: a Deployment with no pods has no `replicas`.
 */
export function omitZero<T extends object>(status: T, keys: readonly (keyof T)[]): T {
  for (const k of keys) if (status[k] === 0) delete status[k];
  return status;
}

/** Zero values the API omits (omitempty) and absent ones are the same to Go's DeepEqual of structs. */
function withoutZeros(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutZeros);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if (x === 0 || x === '' || x === null || x === false || x === undefined) continue;
      if (Array.isArray(x) && x.length === 0) continue;
      out[k] = withoutZeros(x);
    }
    return out;
  }
  return v;
}

/** Whether writing `b` over `a` would change nothing (reflect.DeepEqual of the typed status). */
export function sameStatus(a: object | undefined, b: object | undefined): boolean {
  return canonicalJSON(withoutZeros(a ?? {})) === canonicalJSON(withoutZeros(b ?? {}));
}
