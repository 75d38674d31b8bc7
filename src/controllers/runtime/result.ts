// What a controller's sync of one key returns (DESIGN.md convention 8: a result, not a boolean).
// `retry` goes back on the queue with per-key exponential back-off (or after `afterMs`, e.g. a
// stale informer cache that will catch up shortly); `noRetry` is a permanent failure for this
// state of the world: it is reported and dropped until an informer event queues the key again.

export type SyncResult =
  | { readonly kind: 'ok' }
  | { readonly kind: 'retry'; readonly reason: string; readonly afterMs?: number; readonly cause?: unknown }
  | { readonly kind: 'noRetry'; readonly reason: string; readonly cause?: unknown };

export const ok: SyncResult = { kind: 'ok' };

export function retry(reason: string, opts: { afterMs?: number; cause?: unknown } = {}): SyncResult {
  return { kind: 'retry', reason, ...opts };
}

export function noRetry(reason: string, cause?: unknown): SyncResult {
  return { kind: 'noRetry', reason, ...(cause === undefined ? {} : { cause }) };
}

/** Several partial failures of one sync collapse into one result: any retry wins over noRetry. */
export function combine(results: readonly SyncResult[]): SyncResult {
  const failed = results.filter((r): r is Exclude<SyncResult, { kind: 'ok' }> => r.kind !== 'ok');
  if (failed.length === 0) return ok;
  const reason = failed.map((r) => r.reason).join('; ');
  const retries = failed.filter((r) => r.kind === 'retry');
  if (retries.length === 0) return noRetry(reason);
  const after = retries.map((r) => r.afterMs);
  // An explicit delay applies only when every retry asked for one; otherwise use the back-off.
  const afterMs = after.every((a) => a !== undefined) ? Math.min(...(after as number[])) : undefined;
  return retry(reason, afterMs === undefined ? {} : { afterMs });
}
