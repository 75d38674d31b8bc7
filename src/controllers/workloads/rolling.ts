// RollingUpdate (pkg/controller/deployment/rolling.go): scale the new ReplicaSet up while the
// total stays within replicas + maxSurge; scale old ones down while at least
// replicas − maxUnavailable stay available — unhealthy old replicas first, since removing them
// costs no availability, and never counting on new pods that are not available yet.
import { deploymentMaxUnavailable } from './intstr.ts';
import { deploymentComplete, syncRolloutStatus } from './progress.ts';
import {
  activeReplicaSets,
  availableReplicaCount,
  byCreation,
  desiredOf,
  newRSNewReplicas,
  type RS,
  replicaCount,
  specReplicas,
} from './replicasets.ts';
import type { SyncState } from './state.ts';
import { allReplicaSets, cleanupDeployment, scaleAndRecord, statusOf } from './sync.ts';

export function rolloutRolling(st: SyncState): void {
  const { newRS, oldRSs } = allReplicaSets(st, true);
  if (!newRS) return;
  const all = [...oldRSs, newRS];
  if (reconcileNewReplicaSet(st, all, newRS) || reconcileOldReplicaSets(st, all, activeReplicaSets(oldRSs), newRS)) {
    syncRolloutStatus(st, all, newRS);
    return;
  }
  if (deploymentComplete(st.d, statusOf(st.d))) cleanupDeployment(st, oldRSs);
  syncRolloutStatus(st, all, newRS);
}

function reconcileNewReplicaSet(st: SyncState, all: RS[], newRS: RS): boolean {
  const want = desiredOf(st.d);
  if (specReplicas(newRS) === want) return false;
  if (specReplicas(newRS) > want) return scaleAndRecord(st, newRS, want).scaled;
  return scaleAndRecord(st, newRS, newRSNewReplicas(st.d, all, newRS)).scaled;
}

function reconcileOldReplicaSets(st: SyncState, all: RS[], oldRSs: RS[], newRS: RS): boolean {
  if (replicaCount(oldRSs) === 0) return false;
  const allPods = replicaCount(all);
  const minAvailable = desiredOf(st.d) - deploymentMaxUnavailable(st.d);
  const newUnavailable = specReplicas(newRS) - (newRS.status?.availableReplicas ?? 0);
  // Surge pods and the new ReplicaSet's unavailable ones both count: scaling old ones down
  // while new pods crash-loop would only lower availability.
  const maxScaledDown = allPods - minAvailable - newUnavailable;
  if (maxScaledDown <= 0) return false;
  const cleaned = cleanupUnhealthyReplicas(st, oldRSs, maxScaledDown);
  const scaledDown = scaleDownOldReplicaSets(st, [...cleaned.oldRSs, newRS], cleaned.oldRSs);
  return cleaned.count + scaledDown > 0;
}

/** cleanupUnhealthyReplicas: old ReplicaSets lose their unavailable replicas first, oldest first. */
function cleanupUnhealthyReplicas(st: SyncState, oldRSs: RS[], maxCleanup: number): { oldRSs: RS[]; count: number } {
  const sorted = [...oldRSs].sort(byCreation);
  let total = 0;
  for (let i = 0; i < sorted.length; i++) {
    const rs = sorted[i];
    if (!rs || total >= maxCleanup) break;
    const available = rs.status?.availableReplicas ?? 0;
    if (specReplicas(rs) === 0 || specReplicas(rs) === available) continue;
    const down = Math.min(maxCleanup - total, specReplicas(rs) - available);
    sorted[i] = scaleAndRecord(st, rs, specReplicas(rs) - down).rs;
    total += down;
  }
  return { oldRSs: sorted, count: total };
}

/** scaleDownOldReplicaSetsForRollingUpdate: as many as keep minAvailable, oldest first. */
function scaleDownOldReplicaSets(st: SyncState, all: RS[], oldRSs: RS[]): number {
  const minAvailable = desiredOf(st.d) - deploymentMaxUnavailable(st.d);
  const available = availableReplicaCount(all);
  if (available <= minAvailable) return 0;
  const goal = available - minAvailable;
  let total = 0;
  for (const rs of [...oldRSs].sort(byCreation)) {
    if (total >= goal) break;
    if (specReplicas(rs) === 0) continue;
    const down = Math.min(specReplicas(rs), goal - total);
    scaleAndRecord(st, rs, specReplicas(rs) - down);
    total += down;
  }
  return total;
}
