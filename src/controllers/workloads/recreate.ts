// Recreate (pkg/controller/deployment/recreate.go): old ReplicaSets to 0, then wait until no old
// pod runs (terminating ones included) before the new ReplicaSet is created and scaled up.
import type { Pod } from '../../api/types.ts';
import { deploymentComplete, syncRolloutStatus } from './progress.ts';
import { activeReplicaSets, actualReplicaCount, desiredOf, type RS } from './replicasets.ts';
import type { SyncState } from './state.ts';
import { allReplicaSets, cleanupDeployment, scaleAndRecord, statusOf } from './sync.ts';

export function rolloutRecreate(st: SyncState): void {
  let { newRS, oldRSs } = allReplicaSets(st, false);
  let all: (RS | undefined)[] = [...oldRSs, newRS];
  let scaledDown = false;
  for (const rs of activeReplicaSets(oldRSs)) if (scaleAndRecord(st, rs, 0).scaled) scaledDown = true;
  if (scaledDown || oldPodsRunning(newRS, oldRSs, st.podMap)) {
    syncRolloutStatus(st, all, newRS);
    return;
  }
  if (!newRS) {
    ({ newRS, oldRSs } = allReplicaSets(st, true));
    all = [...oldRSs, newRS];
  }
  if (newRS) scaleAndRecord(st, newRS, desiredOf(st.d));
  if (deploymentComplete(st.d, statusOf(st.d))) cleanupDeployment(st, oldRSs);
  syncRolloutStatus(st, all, newRS);
}

/** oldPodsRunning: an old ReplicaSet reports pods, or a pod of one is not finished. */
function oldPodsRunning(newRS: RS | undefined, oldRSs: RS[], podMap: ReadonlyMap<string, readonly Pod[]>): boolean {
  if (actualReplicaCount(oldRSs) > 0) return true;
  for (const [uid, pods] of podMap) {
    if (newRS && newRS.metadata.uid === uid) continue;
    if (pods.some((p) => p.status?.phase !== 'Failed' && p.status?.phase !== 'Succeeded')) return true;
  }
  return false;
}
