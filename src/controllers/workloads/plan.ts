// The Deployment reconcile core, pure (pkg/controller/deployment syncDeployment): given a
// Deployment, the ReplicaSets it controls and their pods, the ReplicaSet writes to make and the
// annotations and status to leave, in upstream's order of precedence:
//   being deleted → status only; paused → scale only (and prune history);
//   a scaling event (desired-replicas ≠ replicas) → proportional scale;
//   otherwise roll out by strategy (rolling.ts, recreate.ts).
// The ReplicaSet controller (replicaset-plan.ts) turns ReplicaSet sizes into pods; this side
// only reads their status.
import type { Pod } from '../../api/types.ts';
import { sameStatus } from './conditions.ts';
import { canonicalJSON } from './hash.ts';
import { rolloutRecreate } from './recreate.ts';
import type { RS } from './replicasets.ts';
import { rolloutRolling } from './rolling.ts';
import type { D, DeploymentAction, SyncState } from './state.ts';
import { allReplicaSets, checkPausedConditions, isScalingEvent, syncDeploymentStatus, syncScaling } from './sync.ts';

export interface DeploymentInput {
  readonly deployment: D;
  /** ReplicaSets whose controller reference is this Deployment (after adoption). */
  readonly replicaSets: readonly RS[];
  /** Their pods by ReplicaSet uid, terminating ones included (Recreate waits for them). */
  readonly podMap: ReadonlyMap<string, readonly Pod[]>;
  readonly now: number;
}

export interface DeploymentPlan {
  readonly actions: readonly DeploymentAction[];
  /** The Deployment with the annotations and status this sync leaves. */
  readonly deployment: D;
  /** Those differ from the input's: write them (UpdateStatus carries both). */
  readonly changed: boolean;
  /** Sync again after this long if nothing else wakes the Deployment (progress deadline). */
  readonly requeueAfterMs?: number;
}

export function planDeployment(input: DeploymentInput): DeploymentPlan {
  const st: SyncState = {
    d: structuredClone(input.deployment),
    rsList: input.replicaSets.map((rs) => structuredClone(rs)),
    podMap: input.podMap,
    now: input.now,
    actions: [],
  };
  const d = st.d;
  if (d.metadata.deletionTimestamp) {
    const { newRS, oldRSs } = allReplicaSets(st, false);
    syncDeploymentStatus(st, [...oldRSs, newRS], newRS);
  } else {
    checkPausedConditions(st);
    // A rollback annotation (extensions/v1beta1's rollbackTo) is not served: apps/v1 has none,
    // and kubectl rolls back by writing the old template itself.
    if (d.spec?.paused || isScalingEvent(st)) syncScaling(st);
    else if (d.spec?.strategy?.type === 'Recreate') rolloutRecreate(st);
    else if (d.spec?.strategy?.type === 'RollingUpdate') rolloutRolling(st);
  }
  const before = input.deployment;
  const changed =
    !sameStatus(before.status, d.status) ||
    canonicalJSON(before.metadata.annotations ?? {}) !== canonicalJSON(d.metadata.annotations ?? {});
  return {
    actions: st.actions,
    deployment: d,
    changed,
    ...(st.requeueAfterMs !== undefined ? { requeueAfterMs: st.requeueAfterMs } : {}),
  };
}
