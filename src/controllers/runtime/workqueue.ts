// A work queue with client-go's workqueue semantics, which controllers rely on for correctness:
// - a key is queued at most once however many events arrive (coalescing);
// - a key is never processed by two workers at once: adding a key while it is being processed
//   marks it dirty and it is queued again when the worker calls done();
// - failed keys come back with per-key exponential back-off (ItemExponentialFailureRateLimiter)
//   until forget() resets them.

import { type QueueMetrics, workqueueMetrics } from './workqueue-metrics.ts';

export interface WorkQueueOptions {
  /** The queue's name in workqueue_* metrics (client-go's; kube-controller-manager: "endpoint_slice", …). */
  name?: string;
  /** First retry delay; doubles per consecutive failure of the same key. */
  baseDelayMs?: number;
  maxDelayMs?: number;
}

export class WorkQueue<K extends string = string> {
  private readonly queue: K[] = [];
  private head = 0;
  private readonly dirty = new Set<K>();
  private readonly processing = new Set<K>();
  private readonly failures = new Map<K, number>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private waiters: ((k: K | undefined) => void)[] = [];
  private idleWaiters: (() => void)[] = [];
  private shuttingDown = false;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly metrics: QueueMetrics | undefined;
  private readonly labels: { name: string };
  /** When each queued key was added, and when each key in process was handed out (metrics only). */
  private readonly addedAt = new Map<K, number>();
  private readonly startedAt = new Map<K, number>();

  constructor(opts: WorkQueueOptions = {}) {
    this.baseDelayMs = opts.baseDelayMs ?? 5;
    this.maxDelayMs = opts.maxDelayMs ?? 60_000;
    this.metrics = opts.name ? workqueueMetrics() : undefined;
    this.labels = { name: opts.name ?? '' };
    this.report();
  }

  add(key: K): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    if (this.metrics) {
      this.metrics.adds.inc(this.labels);
      this.addedAt.set(key, performance.now());
    }
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    this.push(key);
  }

  addAfter(key: K, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const t = setTimeout(() => {
      this.timers.delete(t);
      this.add(key);
    }, ms);
    this.timers.add(t);
  }

  /** Queue again after this key's back-off; each call doubles it. */
  addRateLimited(key: K): void {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    this.metrics?.retries.inc(this.labels);
    this.addAfter(key, Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** Math.min(n, 30)));
  }

  /** The key succeeded (or was given up on): its back-off starts over. */
  forget(key: K): void {
    this.failures.delete(key);
  }

  numRequeues(key: K): number {
    return this.failures.get(key) ?? 0;
  }

  /** Next key to process, or undefined once the queue shuts down. Call done(key) afterwards. */
  get(): Promise<K | undefined> {
    const k = this.pop();
    if (k !== undefined) return Promise.resolve(k);
    if (this.shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  done(key: K): void {
    this.processing.delete(key);
    if (this.metrics) {
      const t = this.startedAt.get(key);
      this.startedAt.delete(key);
      if (t !== undefined) this.metrics.workDuration.observe((performance.now() - t) / 1000, this.labels);
      this.report();
    }
    if (this.dirty.has(key)) this.push(key);
    else this.checkIdle();
  }

  len(): number {
    return this.queue.length - this.head;
  }

  /** Resolves when nothing is queued or in process (delayed retries do not count). */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  shutDown(): void {
    this.shuttingDown = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w(undefined);
    this.queue.length = 0;
    this.head = 0;
    this.dirty.clear();
    this.checkIdle();
  }

  private isIdle(): boolean {
    return this.len() === 0 && this.processing.size === 0;
  }

  private checkIdle(): void {
    if (!this.isIdle() || this.idleWaiters.length === 0) return;
    const ws = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of ws) w();
  }

  private push(key: K): void {
    const w = this.waiters.shift();
    if (w) {
      this.dirty.delete(key);
      this.processing.add(key);
      this.handedOut(key);
      w(key);
      return;
    }
    this.queue.push(key);
    this.report();
  }

  private handedOut(key: K): void {
    if (!this.metrics) return;
    const now = performance.now();
    const t = this.addedAt.get(key);
    this.addedAt.delete(key);
    if (t !== undefined) this.metrics.queueDuration.observe((now - t) / 1000, this.labels);
    this.startedAt.set(key, now);
    this.report();
  }

  /** Depth and in-process work, updated at every queue event (client-go samples every 500 ms). */
  private report(): void {
    if (!this.metrics) return;
    this.metrics.depth.set(this.len(), this.labels);
    const now = performance.now();
    let unfinished = 0;
    let longest = 0;
    for (const t of this.startedAt.values()) {
      unfinished += now - t;
      longest = Math.max(longest, now - t);
    }
    this.metrics.unfinished.set(unfinished / 1000, this.labels);
    this.metrics.longestRunning.set(longest / 1000, this.labels);
  }

  private pop(): K | undefined {
    if (this.head >= this.queue.length) return undefined;
    const key = this.queue[this.head++] as K;
    // Compact now and then so a long-lived queue does not grow without bound.
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    this.dirty.delete(key);
    this.processing.add(key);
    this.handedOut(key);
    return key;
  }
}
