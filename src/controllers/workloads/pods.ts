// Pod facts the workload controllers decide on: active, ready, available (podutil), and which
// pods a ReplicaSet deletes first when it scales down (controller.ActivePodsWithRanks with the
// PodDeletionCost and LogarithmicScaleDown features, both on by default since 1.22).

import type { Pod } from '../../api/types.ts';
import { annotationKeys } from '../../api/well-known.ts';

const parseTime = (s: string | undefined): number | undefined => {
  if (!s) return undefined;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : t;
};

/** Counted as a replica: not being deleted and not finished (controller.FilterActivePods). */
export function isActive(p: Pod): boolean {
  return !p.metadata?.deletionTimestamp && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed';
}

export function isReady(p: Pod): boolean {
  return p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

function readySince(p: Pod): number | undefined {
  return parseTime(p.status?.conditions?.find((c) => c.type === 'Ready' && c.status === 'True')?.lastTransitionTime);
}

/** Ready for more than minReadySeconds (podutil.IsPodAvailable). */
export function isAvailable(p: Pod, minReadySeconds: number, now: number): boolean {
  if (!isReady(p)) return false;
  if (minReadySeconds <= 0) return true;
  const since = readySince(p);
  return since !== undefined && since + minReadySeconds * 1000 < now;
}

/** Milliseconds until a ready pod becomes available, if it is ready but not yet available. */
export function msUntilAvailable(p: Pod, minReadySeconds: number, now: number): number | undefined {
  if (!isReady(p) || minReadySeconds <= 0) return undefined;
  const since = readySince(p);
  if (since === undefined) return undefined;
  const left = since + minReadySeconds * 1000 - now;
  return left >= 0 ? left + 1 : undefined;
}

const phaseRank: Readonly<Record<string, number>> = { Pending: 0, Unknown: 1, Running: 2 };

/** controller.kubernetes.io/pod-deletion-cost: an int32, 0 when absent or not a number. */
function deletionCost(p: Pod): number {
  const v = p.metadata?.annotations?.[annotationKeys.podDeletionCost];
  if (v === undefined || !/^[+-]?\d+$/.test(v)) return 0;
  const n = Number(v);
  return n >= -(2 ** 31) && n < 2 ** 31 ? n : 0;
}

const maxRestarts = (p: Pod): number =>
  Math.max(0, ...(p.status?.containerStatuses ?? []).map((c) => c.restartCount ?? 0));

/** afterOrZero: a missing time sorts first, then the later one. */
function afterOrZero(a: number | undefined, b: number | undefined): boolean {
  if (a === undefined || b === undefined) return a === undefined;
  return a > b;
}

/** logarithmicRankDiff: compare ages in powers of two of nanoseconds, so pods of similar age tie. */
function logRankDiff(a: number, b: number, now: number): number {
  const rank = (t: number) => {
    const ns = (now - t) * 1e6;
    return ns > 0 ? Math.floor(Math.log2(ns)) : -1;
  };
  return rank(a) - rank(b);
}

interface Ranked {
  pod: Pod;
  /** Active related pods on the same node ("doubled up"). */
  rank: number;
}

/** ActivePodsWithRanks.Less: true if `a` should be deleted before `b`. */
function deleteFirst(a: Ranked, b: Ranked, now: number): boolean {
  const pa = a.pod;
  const pb = b.pod;
  const na = pa.spec?.nodeName ?? '';
  const nb = pb.spec?.nodeName ?? '';
  if (na !== nb && (na === '' || nb === '')) return na === '';
  const ra = phaseRank[pa.status?.phase ?? ''] ?? 0;
  const rb = phaseRank[pb.status?.phase ?? ''] ?? 0;
  if (ra !== rb) return ra < rb;
  if (isReady(pa) !== isReady(pb)) return !isReady(pa);
  const ca = deletionCost(pa);
  const cb = deletionCost(pb);
  if (ca !== cb) return ca < cb;
  if (a.rank !== b.rank) return a.rank > b.rank;
  const byUid = () => (pa.metadata?.uid ?? '') < (pb.metadata?.uid ?? '');
  if (isReady(pa) && isReady(pb)) {
    const ta = readySince(pa);
    const tb = readySince(pb);
    if (ta !== tb) {
      if (ta === undefined || tb === undefined) return afterOrZero(ta, tb);
      const d = logRankDiff(ta, tb, now);
      return d === 0 ? byUid() : d < 0;
    }
  }
  if (maxRestarts(pa) !== maxRestarts(pb)) return maxRestarts(pa) > maxRestarts(pb);
  const ta = parseTime(pa.metadata?.creationTimestamp);
  const tb = parseTime(pb.metadata?.creationTimestamp);
  if (ta !== tb) {
    if (ta === undefined || tb === undefined) return afterOrZero(ta, tb);
    const d = logRankDiff(ta, tb, now);
    return d === 0 ? byUid() : d < 0;
  }
  return false;
}

/**
 * getPodsToDelete: `count` of `pods` to delete, cheapest loss first. `related` are the active
 * pods of every ReplicaSet of the same owner: a pod on a node crowded with them goes sooner.
 */
export function podsToDelete(pods: readonly Pod[], related: readonly Pod[], count: number, now: number): Pod[] {
  if (count >= pods.length) return [...pods];
  const onNode = new Map<string, number>();
  for (const p of related) {
    if (!isActive(p)) continue;
    const n = p.spec?.nodeName ?? '';
    onNode.set(n, (onNode.get(n) ?? 0) + 1);
  }
  const ranked: Ranked[] = pods.map((pod) => ({ pod, rank: onNode.get(pod.spec?.nodeName ?? '') ?? 0 }));
  ranked.sort((a, b) => (deleteFirst(a, b, now) ? -1 : deleteFirst(b, a, now) ? 1 : 0));
  return ranked.slice(0, count).map((r) => r.pod);
}
