// Pod facts the Deployment controller decides on: active, ready, available, and which pods to
// delete first when scaling down (controller.ActivePods ranking).
import type { Pod } from '../../api/types.ts';

export const podTemplateHashLabel = 'pod-template-hash';

const parseTime = (s: string | undefined): number | undefined => {
  if (!s) return undefined;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : t;
};

/** Counted as a replica: not being deleted and not finished (FilterActivePods). */
export function isActive(p: Pod): boolean {
  return !p.metadata?.deletionTimestamp && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed';
}

export function isReady(p: Pod): boolean {
  return p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

function readySince(p: Pod): number | undefined {
  return parseTime(p.status?.conditions?.find((c) => c.type === 'Ready' && c.status === 'True')?.lastTransitionTime);
}

/** Ready for at least minReadySeconds (podutil.IsPodAvailable). */
export function isAvailable(p: Pod, minReadySeconds: number, now: number): boolean {
  if (!isReady(p)) return false;
  if (minReadySeconds <= 0) return true;
  const since = readySince(p);
  return since !== undefined && since + minReadySeconds * 1000 <= now;
}

/** Milliseconds until a ready pod becomes available, if it is ready but not yet available. */
export function msUntilAvailable(p: Pod, minReadySeconds: number, now: number): number | undefined {
  if (!isReady(p) || minReadySeconds <= 0) return undefined;
  const since = readySince(p);
  if (since === undefined) return undefined;
  const left = since + minReadySeconds * 1000 - now;
  return left > 0 ? left : undefined;
}

const phaseRank: Readonly<Record<string, number>> = { Pending: 0, Unknown: 1, Running: 2 };

/**
 * Deletion order, cheapest loss first: unscheduled < scheduled; Pending < Unknown < Running;
 * not ready < ready; ready for less time < longer; more restarts first; newer first.
 */
export function compareForDeletion(a: Pod, b: Pod): number {
  const assigned = (p: Pod) => (p.spec?.nodeName ? 1 : 0);
  if (assigned(a) !== assigned(b)) return assigned(a) - assigned(b);
  const pr = (p: Pod) => phaseRank[p.status?.phase ?? 'Pending'] ?? 0;
  if (pr(a) !== pr(b)) return pr(a) - pr(b);
  const rd = (p: Pod) => (isReady(p) ? 1 : 0);
  if (rd(a) !== rd(b)) return rd(a) - rd(b);
  if (isReady(a) && isReady(b)) {
    const ta = readySince(a) ?? 0;
    const tb = readySince(b) ?? 0;
    if (ta !== tb) return tb - ta;
  }
  const restarts = (p: Pod) => (p.status?.containerStatuses ?? []).reduce((n, c) => n + (c.restartCount ?? 0), 0);
  if (restarts(a) !== restarts(b)) return restarts(b) - restarts(a);
  const ca = parseTime(a.metadata?.creationTimestamp) ?? Number.POSITIVE_INFINITY;
  const cb = parseTime(b.metadata?.creationTimestamp) ?? Number.POSITIVE_INFINITY;
  if (ca !== cb) return cb - ca;
  // Same second: the name decides, so the choice is deterministic.
  const na = a.metadata?.name ?? '';
  const nb = b.metadata?.name ?? '';
  return na < nb ? 1 : na > nb ? -1 : 0;
}

export function rankForDeletion(pods: readonly Pod[]): Pod[] {
  return [...pods].sort(compareForDeletion);
}
