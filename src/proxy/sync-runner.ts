// The one sync runner (DESIGN.md convention 5), after kube-proxy's BoundedFrequencyRunner, and
// the one place that decides whether a sync is full or partial:
// - requests coalesce: any number of run() calls between two syncs cause one sync;
// - two syncs start at least minIntervalMs apart (a burst of endpoint churn costs one render);
// - a *full* sync happens at least every maxIntervalMs, requests or not: steady churn makes every
//   sync partial, so the periodic resync that repairs state someone else changed under us (a
//   deleted rule, a flushed table) is counted from the last full sync, not the last sync;
// - full syncs: the first, the periodic one, the one after a failure, and one requested with
//   requestFull() (a plane or the agent reporting that the environment changed);
// - a failed partial sync is retried at once as a full one; a failed full sync after
//   retryIntervalMs;
// - syncs never overlap, and none starts while canSync() is false (the agent gates on the
//   Services *and* EndpointSlices informers having synced: a sync from a half-filled cache
//   would tear down paths to endpoints it has not seen yet).

export interface RunnerClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realRunnerClock: RunnerClock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export type SyncReason = 'requested' | 'periodic' | 'retry';

export interface SyncContext {
  full: boolean;
  reason: SyncReason;
}

export interface SyncRunnerOptions {
  minIntervalMs: number;
  maxIntervalMs: number;
  /** Delay before retrying a failed sync; default 1 s. */
  retryIntervalMs?: number;
  clock?: RunnerClock;
  canSync?: () => boolean;
  onError?: (err: unknown) => void;
}

export class SyncRunner {
  private readonly clock: RunnerClock;
  private readonly retryIntervalMs: number;
  private lastRunAt = Number.NEGATIVE_INFINITY;
  private startedAt = 0;
  private running: Promise<void> | undefined;
  private requested = false;
  private retryAt: number | undefined;
  private needFull = true;
  private lastFullAt = Number.NEGATIVE_INFINITY;
  /** A failed partial sync: retry now, not after minIntervalMs. */
  private retryNow = false;
  private timer: unknown;
  private timerDue = Number.POSITIVE_INFINITY;
  private stopped = true;
  /** Completed syncs, failed ones included. */
  runs = 0;
  failures = 0;

  constructor(
    private readonly fn: (ctx: SyncContext) => Promise<void>,
    private readonly opts: SyncRunnerOptions,
  ) {
    this.clock = opts.clock ?? realRunnerClock;
    this.retryIntervalMs = opts.retryIntervalMs ?? 1000;
  }

  start(): void {
    this.stopped = false;
    this.startedAt = this.clock.now();
    this.schedule();
  }

  /** Requests a sync; coalesced with other requests and bounded by minIntervalMs. */
  run(): void {
    this.requested = true;
    this.schedule();
  }

  /**
   * Requests a full sync: the environment changed (node addresses, pod CIDRs), or a plane found
   * its kernel state altered under it. Coalesced like run().
   */
  requestFull(): void {
    this.needFull = true;
    this.run();
  }

  /** Stops scheduling and waits for an in-flight sync. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.clearTimer();
    await this.running;
  }

  private clearTimer(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerDue = Number.POSITIVE_INFINITY;
  }

  private nextDue(): { at: number; reason: SyncReason } {
    const earliest = this.lastRunAt + this.opts.minIntervalMs;
    const periodicBase = Number.isFinite(this.lastFullAt) ? this.lastFullAt : this.startedAt;
    let best: { at: number; reason: SyncReason } = {
      at: Math.max(periodicBase + this.opts.maxIntervalMs, earliest),
      reason: 'periodic',
    };
    if (this.retryAt !== undefined) {
      const at = this.retryNow ? this.retryAt : Math.max(this.retryAt, earliest);
      if (at < best.at) best = { at, reason: 'retry' };
    }
    if (this.requested && Math.max(this.clock.now(), earliest) <= best.at) {
      best = { at: Math.max(this.clock.now(), earliest), reason: 'requested' };
    }
    return best;
  }

  private schedule(): void {
    if (this.stopped || this.running) return;
    const due = this.nextDue();
    const now = this.clock.now();
    if (due.at <= now) {
      this.execute(due.reason);
      return;
    }
    if (this.timer !== undefined && this.timerDue === due.at) return;
    this.clearTimer();
    this.timerDue = due.at;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.timerDue = Number.POSITIVE_INFINITY;
      this.schedule();
    }, due.at - now);
  }

  private execute(reason: SyncReason): void {
    this.clearTimer();
    if (this.opts.canSync && !this.opts.canSync()) {
      // Not allowed yet: keep the request; the caller calls run() again when the gate opens.
      // The periodic check is re-armed from now so a closed gate is not polled in a tight loop.
      this.requested = this.requested || reason !== 'periodic';
      this.startedAt = this.clock.now();
      this.lastRunAt = Number.NEGATIVE_INFINITY;
      this.lastFullAt = Number.NEGATIVE_INFINITY;
      if (this.requested) return;
      this.schedule();
      return;
    }
    const now = this.clock.now();
    const full = this.needFull || reason === 'periodic' || now >= this.lastFullAt + this.opts.maxIntervalMs;
    this.requested = false;
    this.retryAt = undefined;
    this.retryNow = false;
    this.needFull = false;
    this.lastRunAt = now;
    if (full) this.lastFullAt = now;
    this.running = (async () => {
      try {
        await this.fn({ full, reason });
      } catch (err) {
        this.failures++;
        this.needFull = true;
        this.retryNow = !full;
        this.retryAt = this.clock.now() + (full ? this.retryIntervalMs : 0);
        this.opts.onError?.(err);
      } finally {
        this.runs++;
        this.running = undefined;
        this.schedule();
      }
    })();
  }
}
