// The annotations a Deployment keeps on its ReplicaSets (deployment util): the revision that
// orders rollouts for `kubectl rollout history/undo`, the revisions a rolled-back ReplicaSet
// served before, and desired/max replicas, which tell a scaling event from a rollout and
// weigh proportional scaling. The Deployment's own annotations are copied onto its new
// ReplicaSet, except these and kubectl's last-applied configuration.
import type { Deployment, ReplicaSet } from '../../api/types.ts';
import { annotationKeys } from '../../api/well-known.ts';
import { deploymentMaxSurge } from './intstr.ts';

const skipped: ReadonlySet<string> = new Set([
  annotationKeys.lastAppliedConfiguration,
  annotationKeys.deploymentRevision,
  annotationKeys.deploymentRevisionHistory,
  annotationKeys.deploymentDesiredReplicas,
  annotationKeys.deploymentMaxReplicas,
  annotationKeys.deprecatedRollbackTo,
]);

/** Upstream keeps the revision history under 2000 characters (about 100 revisions). */
const maxRevisionHistoryChars = 2000;

/** Go's strconv.ParseInt(s, 10, 64), as far as revisions need it. */
function parseRevision(v: string | undefined): number | undefined {
  if (v === undefined || !/^[+-]?\d+$/.test(v)) return undefined;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** deploymentutil.Revision: 0 without the annotation, undefined when it is not a number. */
export function revisionOf(obj: { metadata?: { annotations?: Record<string, string> } }): number | undefined {
  const v = obj.metadata?.annotations?.[annotationKeys.deploymentRevision];
  return v === undefined ? 0 : parseRevision(v);
}

/** MaxRevision: the highest parseable revision, 0 for none. */
export function maxRevision(rss: readonly ReplicaSet[]): number {
  let max = 0;
  for (const rs of rss) {
    const v = revisionOf(rs);
    if (v !== undefined && v > max) max = v;
  }
  return max;
}

function annotations(obj: { metadata?: { annotations?: Record<string, string> } }): Record<string, string> {
  const m = (obj.metadata ??= {});
  m.annotations ??= {};
  return m.annotations;
}

/** SetDeploymentRevision: true if it changed. */
export function setDeploymentRevision(d: Deployment, revision: string): boolean {
  const a = annotations(d);
  if (a[annotationKeys.deploymentRevision] === revision) return false;
  a[annotationKeys.deploymentRevision] = revision;
  return true;
}

/** SetReplicasAnnotations: desired-replicas and max-replicas; true if either changed. */
export function setReplicasAnnotations(rs: ReplicaSet, desired: number, max: number): boolean {
  const a = annotations(rs);
  let updated = false;
  for (const [k, v] of [
    [annotationKeys.deploymentDesiredReplicas, String(desired)],
    [annotationKeys.deploymentMaxReplicas, String(max)],
  ] as const) {
    if (a[k] !== v) {
      a[k] = v;
      updated = true;
    }
  }
  return updated;
}

export function replicasAnnotationsNeedUpdate(rs: ReplicaSet, desired: number, max: number): boolean {
  const a = rs.metadata?.annotations;
  if (!a) return true;
  return (
    a[annotationKeys.deploymentDesiredReplicas] !== String(desired) ||
    a[annotationKeys.deploymentMaxReplicas] !== String(max)
  );
}

/** getIntFromAnnotation (strconv.Atoi). */
function intAnnotation(rs: ReplicaSet, key: string): number | undefined {
  const v = rs.metadata?.annotations?.[key];
  if (v === undefined || !/^[+-]?\d+$/.test(v)) return undefined;
  return Number(v);
}

export const desiredReplicasOf = (rs: ReplicaSet) => intAnnotation(rs, annotationKeys.deploymentDesiredReplicas);
export const maxReplicasOf = (rs: ReplicaSet) => intAnnotation(rs, annotationKeys.deploymentMaxReplicas);

/**
 * SetNewReplicaSetAnnotations: copy the Deployment's annotations, raise the revision to
 * `newRevision` if it is higher (remembering the old one in revision-history: a rollback), and on
 * a ReplicaSet about to be created also the replicas annotations. True if anything changed.
 */
export function setNewReplicaSetAnnotations(
  d: Deployment,
  rs: ReplicaSet,
  newRevision: string,
  exists: boolean,
): boolean {
  const a = annotations(rs);
  let changed = false;
  for (const [k, v] of Object.entries(d.metadata?.annotations ?? {})) {
    if (skipped.has(k) || a[k] === v) continue;
    a[k] = v;
    changed = true;
  }
  const oldText = a[annotationKeys.deploymentRevision];
  const had = oldText !== undefined;
  let oldRevision = parseRevision(oldText ?? '');
  if (oldRevision === undefined) {
    if (had && oldText !== '') return false;
    oldRevision = 0;
  }
  const next = parseRevision(newRevision);
  if (next === undefined) return false;
  if (oldRevision < next) {
    a[annotationKeys.deploymentRevision] = newRevision;
    changed = true;
    if (had) {
      const history = a[annotationKeys.deploymentRevisionHistory] ?? '';
      if (history === '') a[annotationKeys.deploymentRevisionHistory] = oldText ?? '';
      else {
        let olds = history.split(',');
        let total = history.length + (oldText ?? '').length + 1;
        let start = 0;
        while (total > maxRevisionHistoryChars && start < olds.length) {
          total -= (olds[start] ?? '').length + 1;
          start++;
        }
        if (total <= maxRevisionHistoryChars) {
          olds = [...olds.slice(start), oldText ?? ''];
          a[annotationKeys.deploymentRevisionHistory] = olds.join(',');
        }
      }
    }
  }
  const replicas = d.spec?.replicas ?? 1;
  if (!exists && setReplicasAnnotations(rs, replicas, replicas + deploymentMaxSurge(d))) changed = true;
  return changed;
}

/** Whether an annotation belongs to the rollout machinery rather than to the user. */
export const isRolloutAnnotation = (key: string): boolean => skipped.has(key);
