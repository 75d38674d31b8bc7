// A Deployment's view of its ReplicaSets (deployment util and controller_utils): which one is
// new, orderings, replica sums, and the arithmetic of scaling — how many replicas the new
// ReplicaSet may have during a rollout and each one's share of a scaling event.
import type { Deployment, KubeObject, ReplicaSet } from '../../api/types.ts';
import { desiredReplicasOf, maxReplicasOf, revisionOf } from './annotations.ts';
import { deploymentMaxSurge, scaledValue } from './intstr.ts';
import { equalIgnoreHash } from './templates.ts';

export type RS = ReplicaSet & KubeObject;

export const specReplicas = (rs: ReplicaSet | undefined): number => rs?.spec?.replicas ?? 0;
export const desiredOf = (d: Deployment): number => d.spec?.replicas ?? 1;

const created = (rs: ReplicaSet) => Date.parse(rs.metadata?.creationTimestamp ?? '') || 0;

/** ReplicaSetsByCreationTimestamp: older first, names break ties. */
export function byCreation(a: ReplicaSet, b: ReplicaSet): number {
  const d = created(a) - created(b);
  if (d !== 0) return d;
  const na = a.metadata?.name ?? '';
  const nb = b.metadata?.name ?? '';
  return na < nb ? -1 : na > nb ? 1 : 0;
}

/** ReplicaSetsBySizeOlder: larger first, then older first. */
export const bySizeOlder = (a: ReplicaSet, b: ReplicaSet): number =>
  specReplicas(b) - specReplicas(a) || byCreation(a, b);

/** ReplicaSetsBySizeNewer: larger first, then newer first. */
export const bySizeNewer = (a: ReplicaSet, b: ReplicaSet): number =>
  specReplicas(b) - specReplicas(a) || byCreation(b, a);

/** ReplicaSetsByRevision: lower revision first; unparseable or equal ones by creation. */
export function byRevision(a: ReplicaSet, b: ReplicaSet): number {
  const ra = revisionOf(a);
  const rb = revisionOf(b);
  if (ra === undefined || rb === undefined || ra === rb) return byCreation(a, b);
  return ra - rb;
}

/** FindNewReplicaSet: the oldest ReplicaSet whose template is the Deployment's. */
export function findNewReplicaSet<T extends ReplicaSet>(d: Deployment, rss: readonly T[]): T | undefined {
  return [...rss].sort(byCreation).find((rs) => equalIgnoreHash(rs.spec?.template, d.spec?.template));
}

/** FindOldReplicaSets' second result: every ReplicaSet but the new one, oldest first. */
export function oldReplicaSets<T extends ReplicaSet>(rss: readonly T[], newRS: T | undefined): T[] {
  return [...rss].sort(byCreation).filter((rs) => rs.metadata?.name !== newRS?.metadata?.name);
}

/** FilterActiveReplicaSets: with replicas wanted. */
export const activeReplicaSets = <T extends ReplicaSet>(rss: readonly (T | undefined)[]): T[] =>
  rss.filter((rs): rs is T => rs !== undefined && specReplicas(rs) > 0);

const sum = (rss: readonly (ReplicaSet | undefined)[], f: (rs: ReplicaSet) => number) =>
  rss.reduce((n, rs) => n + (rs ? f(rs) : 0), 0);

/** GetReplicaCountForReplicaSets: replicas wanted. */
export const replicaCount = (rss: readonly (ReplicaSet | undefined)[]) => sum(rss, specReplicas);
/** GetActualReplicaCountForReplicaSets: pods they report. */
export const actualReplicaCount = (rss: readonly (ReplicaSet | undefined)[]) =>
  sum(rss, (r) => r.status?.replicas ?? 0);
export const readyReplicaCount = (rss: readonly (ReplicaSet | undefined)[]) =>
  sum(rss, (r) => r.status?.readyReplicas ?? 0);
export const availableReplicaCount = (rss: readonly (ReplicaSet | undefined)[]) =>
  sum(rss, (r) => r.status?.availableReplicas ?? 0);

/** FindActiveOrLatest: the only active ReplicaSet, the newest one if none is, undefined if several are. */
export function findActiveOrLatest<T extends ReplicaSet>(newRS: T | undefined, oldRSs: readonly T[]): T | undefined {
  if (!newRS && oldRSs.length === 0) return undefined;
  const newestFirst = [...oldRSs].sort((a, b) => byCreation(b, a));
  const active = activeReplicaSets([...newestFirst, newRS]);
  if (active.length === 0) return newRS ?? newestFirst[0];
  return active.length === 1 ? active[0] : undefined;
}

/** IsSaturated: the new ReplicaSet runs all desired replicas, available, and knows it. */
export function isSaturated(d: Deployment, rs: ReplicaSet | undefined): boolean {
  if (!rs) return false;
  const want = desiredOf(d);
  return specReplicas(rs) === want && desiredReplicasOf(rs) === want && (rs.status?.availableReplicas ?? 0) === want;
}

/**
 * NewRSNewReplicas: the new ReplicaSet's size. Rolling update: up to replicas + maxSurge pods
 * in all, never above replicas in the new one; Recreate: replicas at once.
 */
export function newRSNewReplicas(d: Deployment, all: readonly (ReplicaSet | undefined)[], newRS: ReplicaSet): number {
  const want = desiredOf(d);
  if (d.spec?.strategy?.type === 'Recreate') return want;
  const surge = scaledValue(d.spec?.strategy?.rollingUpdate?.maxSurge, want, true);
  const current = replicaCount(all);
  const maxTotal = want + surge;
  if (current >= maxTotal) return specReplicas(newRS);
  return specReplicas(newRS) + Math.min(maxTotal - current, want - specReplicas(newRS));
}

/** Go's math.Round: halves away from zero (Math.round takes -2.5 to -2). */
const roundHalfAway = (x: number): number => Math.sign(x) * Math.round(Math.abs(x));

/** getReplicaSetFraction: this ReplicaSet's share of the new size, by its max-replicas annotation. */
function fraction(rs: ReplicaSet, d: Deployment): number {
  const want = desiredOf(d);
  if (want === 0) return -specReplicas(rs);
  const deploymentReplicas = want + deploymentMaxSurge(d);
  // Without the annotation fall back to the Deployment's size: inexact, but kept in bounds by the caller.
  const annotated = maxReplicasOf(rs) ?? d.status?.replicas ?? 0;
  // Upstream never divides by zero here (an active ReplicaSet had a size); a hand-edited
  // annotation could, and then this ReplicaSet keeps its size.
  if (annotated <= 0) return 0;
  return roundHalfAway((specReplicas(rs) * deploymentReplicas) / annotated) - specReplicas(rs);
}

/** GetProportion: how many replicas to add to (or remove from) this ReplicaSet in a scaling event. */
export function proportion(rs: ReplicaSet | undefined, d: Deployment, toAdd: number, added: number): number {
  if (!rs || specReplicas(rs) === 0 || toAdd === 0 || toAdd === added) return 0;
  const f = fraction(rs, d);
  const allowed = toAdd - added;
  return toAdd > 0 ? Math.min(f, allowed) : Math.max(f, allowed);
}
