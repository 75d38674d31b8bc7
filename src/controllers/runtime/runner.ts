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

export interface ControllerHandle {
  stop(): Promise<void>;
  /** Resolves once every informer has delivered its first list. */
  synced(): Promise<void>;
  /** Resolves when no key is queued or being synced (scheduled retries do not count). */
  idle(): Promise<void>;
}

/**
 * Starts the informers, then the workers — never before every cache has synced: a Service
 * missing from a half-listed cache would look deleted and lose what the controller wrote for it.
 * `onStop` runs first on stop (controllers use it to ignore late informer events).
 */
export function startController<K extends string>(
  bundle: { start(): void; stop(): void; waitForSync(): Promise<void> },
  queue: WorkQueue<K>,
  sync: (key: K) => Promise<SyncResult>,
  opts: WorkerOptions<K> & { onStop?: () => void } = {},
): ControllerHandle {
  bundle.start();
  const syncedP = bundle.waitForSync();
  syncedP.catch(() => {});
  const workers = syncedP.then(
    () => runWorkers(queue, sync, { ...opts, workers: opts.workers ?? 5 }).stopped,
    () => undefined,
  );
  return {
    async stop() {
      opts.onStop?.();
      queue.shutDown();
      bundle.stop();
      await workers;
    },
    synced: () => syncedP,
    idle: async () => {
      await syncedP;
      await queue.idle();
    },
  };
}
