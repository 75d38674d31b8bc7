// Deployment sync steps shared by every strategy (pkg/controller/deployment/sync.go): finding or
// creating the new ReplicaSet and keeping revisions, scaling (proportionally, when a Deployment
// is scaled mid-rollout), pruning history beyond revisionHistoryLimit, and the status computed
// from the ReplicaSets' own status.
import { annotationKeys } from '../../api/well-known.ts';
import {
  desiredReplicasOf,
  maxRevision,
  replicasAnnotationsNeedUpdate,
  setDeploymentRevision,
  setNewReplicaSetAnnotations,
  setReplicasAnnotations,
} from './annotations.ts';
import {
  type DeploymentStatus,
  getCondition,
  newDeploymentCondition,
  omitZero,
  reasons,
  rfc3339,
  setCondition,
} from './conditions.ts';
import { deploymentMaxSurge, deploymentMaxUnavailable } from './intstr.ts';
import {
  activeReplicaSets,
  actualReplicaCount,
  availableReplicaCount,
  byRevision,
  bySizeNewer,
  bySizeOlder,
  desiredOf,
  findActiveOrLatest,
  findNewReplicaSet,
  isSaturated,
  newRSNewReplicas,
  oldReplicaSets,
  proportion,
  type RS,
  readyReplicaCount,
  replicaCount,
  specReplicas,
} from './replicasets.ts';
import { type D, type SyncState, writeReplicaSet } from './state.ts';
import { newReplicaSetFor, templateHash } from './templates.ts';

const maxInt32 = 2 ** 31 - 1;

/** HasProgressDeadline: progressDeadlineSeconds set and not "forever". */
export const hasProgressDeadline = (d: D): boolean =>
  d.spec?.progressDeadlineSeconds !== undefined && d.spec.progressDeadlineSeconds !== maxInt32;

const hasRevisionHistoryLimit = (d: D): boolean =>
  d.spec?.revisionHistoryLimit !== undefined && d.spec.revisionHistoryLimit !== maxInt32;

export const isRollingUpdate = (d: D): boolean => d.spec?.strategy?.type === 'RollingUpdate';

/** Status is written through the copy in st.d; these keep TypeScript's view of it non-empty. */
export function statusOf(d: D): DeploymentStatus {
  d.status ??= {};
  return d.status;
}

/** getAllReplicaSetsAndSyncRevision: the new ReplicaSet (created if asked) and all old ones. */
export function allReplicaSets(st: SyncState, create: boolean): { newRS: RS | undefined; oldRSs: RS[] } {
  const existing = findNewReplicaSet(st.d, st.rsList);
  const oldRSs = oldReplicaSets(st.rsList, existing);
  return { newRS: newReplicaSet(st, existing, oldRSs, create), oldRSs };
}

/**
 * getNewReplicaSet: an existing new ReplicaSet gets the Deployment's annotations, the next
 * revision and minReadySeconds; otherwise (when asked) one is created, sized by NewRSNewReplicas.
 */
function newReplicaSet(st: SyncState, existing: RS | undefined, oldRSs: RS[], create: boolean): RS | undefined {
  const d = st.d;
  const newRevision = String(maxRevision(oldRSs) + 1);
  if (existing) {
    const copy = structuredClone(existing);
    const annotationsUpdated = setNewReplicaSetAnnotations(d, copy, newRevision, true);
    const minReady = d.spec?.minReadySeconds ?? 0;
    if (annotationsUpdated || (copy.spec?.minReadySeconds ?? 0) !== minReady) {
      if (copy.spec) copy.spec.minReadySeconds = minReady;
      // Upstream returns right after this write; the Deployment's revision follows next sync.
      const written = writeReplicaSet(st, 'updateReplicaSet', copy);
      st.rsList = st.rsList.map((rs) => (rs.metadata.name === written.metadata.name ? written : rs));
      return written;
    }
    setDeploymentRevision(d, copy.metadata.annotations?.[annotationKeys.deploymentRevision] ?? '');
    const status = statusOf(d);
    if (hasProgressDeadline(d) && !getCondition(status.conditions, 'Progressing')) {
      const msg = `Found new replica set "${copy.metadata.name ?? ''}"`;
      setCondition(status, newDeploymentCondition('Progressing', 'True', reasons.foundNewRS, msg, st.now));
    }
    return copy;
  }
  if (!create) return undefined;
  const rs = newReplicaSetFor(d, templateHash(d));
  if (rs.spec) rs.spec.replicas = newRSNewReplicas(d, [...oldRSs, rs], rs);
  setNewReplicaSetAnnotations(d, rs, newRevision, false);
  const n = specReplicas(rs);
  const name = rs.metadata.name ?? '';
  const written = writeReplicaSet(
    st,
    'createReplicaSet',
    rs,
    n > 0 ? `Scaled up replica set ${name} to ${n}` : undefined,
  );
  written.metadata = { ...written.metadata, creationTimestamp: rfc3339(st.now) };
  st.rsList = [...st.rsList, written];
  setDeploymentRevision(d, newRevision);
  if (hasProgressDeadline(d)) {
    const msg = `Created new replica set "${name}"`;
    setCondition(statusOf(d), newDeploymentCondition('Progressing', 'True', reasons.newReplicaSet, msg, st.now));
  }
  return written;
}

/** scaleReplicaSet: size and replicas annotations; the event only when the size changed. */
export function scaleReplicaSet(
  st: SyncState,
  rs: RS,
  newScale: number,
  operation: string,
): { scaled: boolean; rs: RS } {
  const d = st.d;
  const want = desiredOf(d);
  const max = want + deploymentMaxSurge(d);
  const sizeNeedsUpdate = specReplicas(rs) !== newScale;
  if (!sizeNeedsUpdate && !replicasAnnotationsNeedUpdate(rs, want, max)) return { scaled: false, rs };
  const old = specReplicas(rs);
  const copy = structuredClone(rs);
  copy.spec = { ...(copy.spec ?? { selector: {} }), replicas: newScale };
  setReplicasAnnotations(copy, want, max);
  const name = rs.metadata.name ?? '';
  const event = sizeNeedsUpdate ? `Scaled ${operation} replica set ${name} to ${newScale} from ${old}` : undefined;
  return { scaled: sizeNeedsUpdate, rs: writeReplicaSet(st, 'updateReplicaSet', copy, event) };
}

/** scaleReplicaSetAndRecordEvent. */
export function scaleAndRecord(st: SyncState, rs: RS, newScale: number): { scaled: boolean; rs: RS } {
  if (specReplicas(rs) === newScale) return { scaled: false, rs };
  return scaleReplicaSet(st, rs, newScale, specReplicas(rs) < newScale ? 'up' : 'down');
}

/**
 * scale: a scaling event (or a paused Deployment). One active ReplicaSet takes the new size;
 * a saturated new one means the old ones go to 0; otherwise a rolling Deployment spreads the
 * difference over its active ReplicaSets in proportion to their sizes, leftovers to the largest.
 */
export function scale(st: SyncState, newRS: RS | undefined, oldRSs: RS[]): void {
  const d = st.d;
  const want = desiredOf(d);
  const single = findActiveOrLatest(newRS, oldRSs);
  if (single) {
    if (specReplicas(single) !== want) scaleAndRecord(st, single, want);
    return;
  }
  if (isSaturated(d, newRS)) {
    for (const old of activeReplicaSets(oldRSs)) scaleAndRecord(st, old, 0);
    return;
  }
  if (!isRollingUpdate(d)) return;
  const all = activeReplicaSets([...oldRSs, newRS]);
  const allowed = want > 0 ? want + deploymentMaxSurge(d) : 0;
  const toAdd = allowed - replicaCount(all);
  let operation = '';
  if (toAdd > 0) {
    all.sort(bySizeNewer);
    operation = 'up';
  } else if (toAdd < 0) {
    all.sort(bySizeOlder);
    operation = 'down';
  }
  let added = 0;
  const size = new Map<string, number>();
  for (const rs of all) {
    const name = rs.metadata.name ?? '';
    if (toAdd !== 0) {
      const p = proportion(rs, d, toAdd, added);
      size.set(name, specReplicas(rs) + p);
      added += p;
    } else size.set(name, specReplicas(rs));
  }
  all.forEach((rs, i) => {
    const name = rs.metadata.name ?? '';
    if (i === 0 && toAdd !== 0) size.set(name, Math.max(0, (size.get(name) ?? 0) + toAdd - added));
    scaleReplicaSet(st, rs, size.get(name) ?? 0, operation);
  });
}

/**
 * cleanupDeployment: keep revisionHistoryLimit old ReplicaSets, deleting the oldest revisions
 * beyond that — only ones scaled to 0 with no pods left and their last change observed.
 */
export function cleanupDeployment(st: SyncState, oldRSs: readonly RS[]): void {
  const d = st.d;
  if (!hasRevisionHistoryLimit(d)) return;
  const cleanable = oldRSs.filter((rs) => !rs.metadata.deletionTimestamp).sort(byRevision);
  const diff = cleanable.length - (d.spec?.revisionHistoryLimit ?? 0);
  for (let i = 0; i < diff; i++) {
    const rs = cleanable[i];
    if (!rs) continue;
    const busy =
      (rs.status?.replicas ?? 0) !== 0 ||
      specReplicas(rs) !== 0 ||
      (rs.metadata.generation ?? 0) > (rs.status?.observedGeneration ?? 0);
    if (busy) continue;
    st.actions.push({ kind: 'deleteReplicaSet', name: rs.metadata.name ?? '', uid: rs.metadata.uid ?? '' });
  }
}

/** calculateStatus: counters from the ReplicaSets' status and the Available condition. */
export function calculateStatus(
  st: SyncState,
  all: readonly (RS | undefined)[],
  newRS: RS | undefined,
): DeploymentStatus {
  const d = st.d;
  const old = statusOf(d);
  const available = availableReplicaCount(all);
  const total = replicaCount(all);
  const status: DeploymentStatus = omitZero(
    {
      observedGeneration: d.metadata.generation ?? 0,
      replicas: actualReplicaCount(all),
      updatedReplicas: actualReplicaCount([newRS]),
      readyReplicas: readyReplicaCount(all),
      availableReplicas: available,
      unavailableReplicas: Math.max(0, total - available),
      ...(old.collisionCount !== undefined ? { collisionCount: old.collisionCount } : {}),
      ...(old.conditions ? { conditions: old.conditions.map((c) => ({ ...c })) } : {}),
    },
    ['observedGeneration', 'replicas', 'updatedReplicas', 'readyReplicas', 'availableReplicas', 'unavailableReplicas'],
  );
  if (available >= desiredOf(d) - deploymentMaxUnavailable(d)) {
    const c = newDeploymentCondition(
      'Available',
      'True',
      reasons.minimumReplicasAvailable,
      'Deployment has minimum availability.',
      st.now,
    );
    setCondition(status, c);
  } else {
    const c = newDeploymentCondition(
      'Available',
      'False',
      reasons.minimumReplicasUnavailable,
      'Deployment does not have minimum availability.',
      st.now,
    );
    setCondition(status, c);
  }
  return status;
}

/** syncDeploymentStatus: the status a scaling or paused sync leaves (no progress estimate). */
export function syncDeploymentStatus(st: SyncState, all: readonly (RS | undefined)[], newRS: RS | undefined): void {
  st.d.status = calculateStatus(st, all, newRS);
}

/** isScalingEvent: an active ReplicaSet's desired-replicas differs from the Deployment's replicas. */
export function isScalingEvent(st: SyncState): boolean {
  const { newRS, oldRSs } = allReplicaSets(st, false);
  const want = desiredOf(st.d);
  for (const rs of activeReplicaSets([...oldRSs, newRS])) {
    const desired = desiredReplicasOf(rs);
    if (desired !== undefined && desired !== want) return true;
  }
  return false;
}

/** checkPausedConditions: Progressing Unknown while paused, DeploymentResumed once resumed. */
export function checkPausedConditions(st: SyncState): void {
  const d = st.d;
  if (!hasProgressDeadline(d)) return;
  const status = statusOf(d);
  const cond = getCondition(status.conditions, 'Progressing');
  if (cond?.reason === reasons.timedOut) return;
  const pausedCondExists = cond?.reason === reasons.paused;
  if (d.spec?.paused && !pausedCondExists)
    setCondition(
      status,
      newDeploymentCondition('Progressing', 'Unknown', reasons.paused, 'Deployment is paused', st.now),
    );
  else if (!d.spec?.paused && pausedCondExists)
    setCondition(
      status,
      newDeploymentCondition('Progressing', 'Unknown', reasons.resumed, 'Deployment is resumed', st.now),
    );
}

/** sync: scaling events and paused Deployments — resize, prune history when paused, status. */
export function syncScaling(st: SyncState): void {
  const { newRS, oldRSs } = allReplicaSets(st, false);
  scale(st, newRS, oldRSs);
  if (st.d.spec?.paused) cleanupDeployment(st, oldRSs);
  syncDeploymentStatus(st, [...oldRSs, newRS], newRS);
}
