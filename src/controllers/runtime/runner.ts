// Workers that drain a WorkQueue through a sync function and act on its SyncResult. A sync that
// throws counts as `retry` (an unexpected error is most often a transient API failure).
import type { SyncResult } from './result.ts';
import type { WorkQueue } from './workqueue.ts';

export interface WorkerOptions<K extends string> {
  workers?: number;
  /** Retries of one key before it is dropped (client-go controllers use 15). */
  maxRetries?: number;
  /** Called for every failed sync, with whether the key will be retried. */
  onError?: (key: K, result: Exclude<SyncResult, { kind: 'ok' }>, willRetry: boolean) => void;
}

export interface Workers {
  /** Resolves when every worker has returned (after queue.shutDown()). */
  stopped: Promise<void>;
}

export function runWorkers<K extends string>(
  queue: WorkQueue<K>,
  sync: (key: K) => Promise<SyncResult>,
  opts: WorkerOptions<K> = {},
): Workers {
  const maxRetries = opts.maxRetries ?? 15;
  const worker = async () => {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      let result: SyncResult;
      try {
        result = await sync(key);
      } catch (err) {
        result = { kind: 'retry', reason: err instanceof Error ? err.message : String(err), cause: err };
      }
      if (result.kind === 'ok') queue.forget(key);
      else if (result.kind === 'retry' && queue.numRequeues(key) < maxRetries) {
        opts.onError?.(key, result, true);
        if (result.afterMs !== undefined) queue.addAfter(key, result.afterMs);
        else queue.addRateLimited(key);
      } else {
        opts.onError?.(key, result, false);
        queue.forget(key);
      }
      queue.done(key);
    }
  };
  const n = Math.max(1, opts.workers ?? 1);
  return { stopped: Promise.all(Array.from({ length: n }, worker)).then(() => undefined) };
}
