// The Progressing condition during a rollout (pkg/controller/deployment/progress.go): complete
// (NewReplicaSetAvailable), moving (ReplicaSetUpdated, lastUpdateTime refreshed on each sign of
// progress), or stuck past progressDeadlineSeconds (ProgressDeadlineExceeded, which `kubectl
// rollout status` reports as "exceeded its progress deadline"); ReplicaFailure lifted from the
// ReplicaSets; and when to look again if nothing changes.
import {
  type DeploymentCondition,
  type DeploymentStatus,
  getCondition,
  newDeploymentCondition,
  reasons,
  removeCondition,
  sameStatus,
  setCondition,
} from './conditions.ts';
import { desiredOf, type RS } from './replicasets.ts';
import type { D, SyncState } from './state.ts';
import { calculateStatus, hasProgressDeadline, statusOf } from './sync.ts';

/** DeploymentComplete: every desired replica updated and available, no old one left, observed. */
export function deploymentComplete(d: D, s: DeploymentStatus): boolean {
  const want = desiredOf(d);
  return (
    (s.updatedReplicas ?? 0) === want &&
    (s.replicas ?? 0) === want &&
    (s.availableReplicas ?? 0) === want &&
    (s.observedGeneration ?? 0) >= (d.metadata.generation ?? 0)
  );
}

/** DeploymentProgressing: more updated, ready or available pods, or fewer old ones. */
function deploymentProgressing(old: DeploymentStatus, s: DeploymentStatus): boolean {
  const n = (v: number | undefined) => v ?? 0;
  const oldOld = n(old.replicas) - n(old.updatedReplicas);
  const newOld = n(s.replicas) - n(s.updatedReplicas);
  return (
    n(s.updatedReplicas) > n(old.updatedReplicas) ||
    newOld < oldOld ||
    n(s.readyReplicas) > n(old.readyReplicas) ||
    n(s.availableReplicas) > n(old.availableReplicas)
  );
}

const timeOf = (t: string | undefined) => Date.parse(t ?? '') || 0;

/** DeploymentTimedOut: no progress reported for progressDeadlineSeconds. */
function deploymentTimedOut(d: D, s: DeploymentStatus, now: number): boolean {
  if (!hasProgressDeadline(d)) return false;
  const c = getCondition(s.conditions, 'Progressing');
  if (!c || c.reason === reasons.newRSAvailable) return false;
  if (c.reason === reasons.timedOut) return true;
  return timeOf(c.lastUpdateTime) + (d.spec?.progressDeadlineSeconds ?? 0) * 1000 < now;
}

/** ReplicaSetToDeploymentCondition for ReplicaFailure, the new ReplicaSet's first. */
function replicaFailures(all: readonly (RS | undefined)[], newRS: RS | undefined): DeploymentCondition[] {
  const lift = (rs: RS | undefined): DeploymentCondition[] =>
    (rs?.status?.conditions ?? [])
      .filter((c) => c.type === 'ReplicaFailure')
      .map((c) => ({
        type: c.type,
        status: c.status,
        lastTransitionTime: c.lastTransitionTime,
        lastUpdateTime: c.lastTransitionTime,
        reason: c.reason,
        message: c.message,
      }));
  const fromNew = lift(newRS);
  return fromNew.length ? fromNew : all.flatMap(lift);
}

/** syncRolloutStatus. */
export function syncRolloutStatus(st: SyncState, all: readonly (RS | undefined)[], newRS: RS | undefined): void {
  const d = st.d;
  const s = calculateStatus(st, all, newRS);
  const current = getCondition(statusOf(d).conditions, 'Progressing');
  if (!hasProgressDeadline(d)) removeCondition(s, 'Progressing');
  const completed = s.replicas === s.updatedReplicas && current?.reason === reasons.newRSAvailable;
  const rsName = newRS?.metadata.name;
  const about = rsName ? `ReplicaSet "${rsName}"` : `Deployment "${d.metadata.name ?? ''}"`;
  if (hasProgressDeadline(d) && !completed) {
    if (deploymentComplete(d, s)) {
      const c = newDeploymentCondition(
        'Progressing',
        'True',
        reasons.newRSAvailable,
        `${about} has successfully progressed.`,
        st.now,
      );
      setCondition(s, c);
    } else if (deploymentProgressing(statusOf(d), s)) {
      const c = newDeploymentCondition(
        'Progressing',
        'True',
        reasons.replicaSetUpdated,
        `${about} is progressing.`,
        st.now,
      );
      // Unlike other conditions, this one is rewritten (lastUpdateTime) on every sign of progress.
      if (current) {
        if (current.status === 'True') c.lastTransitionTime = current.lastTransitionTime;
        removeCondition(s, 'Progressing');
      }
      setCondition(s, c);
    } else if (deploymentTimedOut(d, s, st.now)) {
      const c = newDeploymentCondition(
        'Progressing',
        'False',
        reasons.timedOut,
        `${about} has timed out progressing.`,
        st.now,
      );
      setCondition(s, c);
    }
  }
  const failures = replicaFailures(all, newRS);
  const first = failures[0];
  if (first) setCondition(s, first);
  else removeCondition(s, 'ReplicaFailure');
  if (sameStatus(statusOf(d), s)) requeueStuck(st, s);
  d.status = s;
}

/**
 * requeueStuckDeployment: with nothing new to write, look again when the deadline would pass
 * (lastUpdateTime + progressDeadlineSeconds, plus a second for clock skew). Upstream retries a
 * deadline less than a second away rate-limited; a timer just past it does the same without
 * spinning, since the next sync only resets the back-off.
 */
function requeueStuck(st: SyncState, s: DeploymentStatus): void {
  const d = st.d;
  const current = getCondition(statusOf(d).conditions, 'Progressing');
  if (!hasProgressDeadline(d) || !current) return;
  if (deploymentComplete(d, s) || current.reason === reasons.timedOut) return;
  const after = timeOf(current.lastUpdateTime) + (d.spec?.progressDeadlineSeconds ?? 0) * 1000 - st.now;
  st.requeueAfterMs = after < 1000 ? Math.max(after, 0) + 1 : after + 1000;
}
