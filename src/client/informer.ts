// The reflector + cache behind every informer (client-go's Reflector and SharedIndexInformer,
// reduced to what svcnet's agent and controllers need).
//
//   list (paged, limit 500 + continue) → replace the cache, emit the diff as (old, new) pairs
//   → watch from the list's resourceVersion with bookmarks → apply events to the cache
//   → clean close: re-watch from the last resourceVersion (no relist: lists are expensive)
//   → 410 Gone/Expired: relist; 504 "Too large resource version" (the store went back: a
//     memory store restarted, a database restored): relist too, so objects the store no
//     longer has leave the cache (the only reasons to relist)
//   → any other failure (API unreachable, 5xx, auth): keep the cache — the data plane keeps
//     serving the last known state — back off with jitter and retry from where we were.
//
// Handlers see (old, new) (DESIGN.md convention 1). They run synchronously from the event
// source, in order; a handler that throws is reported and does not stop the reflector.
import { isGone, isTooLargeResourceVersion } from '../api/status.ts';
import type { KubeObject } from '../api/types.ts';
import type { Client, ClientWatch, WatchEvent } from './client.ts';
import type { ChangeHandler, InformerLike, InformerOptions } from './informer-api.ts';

/** Timers and randomness the reflector uses; tests inject fakes. */
export interface InformerClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  /** In [0, 1); drives the back-off jitter and the watch timeout spread. */
  random(): number;
}

export const realClock: InformerClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
  random: () => Math.random(),
};

export type InformerErrorPhase = 'list' | 'watch' | 'handler';

export interface ReflectorOptions extends InformerOptions {
  clock?: InformerClock;
  /** List page size (client-go's pager default). 0 disables paging. */
  pageSize?: number;
  /**
   * Server-side watch timeout. Default: random in [300, 600) s like client-go's reflector, so
   * a half-open connection (peer gone without FIN/RST) is noticed and many clients do not
   * re-watch in lockstep.
   */
  watchTimeoutSeconds?: number;
  /** Observability hook for list/watch failures and handler exceptions. */
  onError?: (err: unknown, phase: InformerErrorPhase) => void;
}

const defaultPageSize = 500;
const defaultBackoffMs = 200;
const defaultMaxBackoffMs = 10_000;
// A watch that closes "cleanly" this fast without delivering anything is treated as a failure
// (client-go's "very short watch"): otherwise a server that accepts and closes at once would
// be hammered in a tight loop.
const shortWatchMs = 1_000;

function keyOf(obj: KubeObject): string {
  const ns = obj.metadata.namespace ?? '';
  const name = obj.metadata.name ?? '';
  return ns ? `${ns}/${name}` : name;
}

function rvOf(obj: KubeObject): string {
  return obj.metadata.resourceVersion ?? '';
}

type Phase = 'idle' | 'listing' | 'watching' | 'waiting' | 'stopped';

export class Informer<T extends KubeObject = KubeObject> implements InformerLike<T> {
  private readonly cache = new Map<string, T>();
  private readonly handlers: ChangeHandler<T>[] = [];
  private readonly clock: InformerClock;
  private readonly backoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly pageSize: number;
  private phase: Phase = 'idle';
  private synced = false;
  private rv = '';
  /** Failed attempts since the last sign of a healthy API; drives the back-off exponent. */
  private failures = 0;
  /** 410s in a row with no watch event between them. */
  private goneInARow = 0;
  /** Bumped on every attempt and on stop(): callbacks of stale attempts are ignored. */
  private epoch = 0;
  private watch: ClientWatch | undefined;
  private timer: unknown;
  private syncWaiters: { resolve: () => void; reject: (e: Error) => void }[] = [];

  constructor(
    private readonly client: Client,
    readonly resource: string,
    private readonly opts: ReflectorOptions = {},
  ) {
    this.clock = opts.clock ?? realClock;
    this.backoffMs = opts.backoffMs ?? defaultBackoffMs;
    this.maxBackoffMs = opts.maxBackoffMs ?? defaultMaxBackoffMs;
    this.pageSize = opts.pageSize ?? defaultPageSize;
  }

  on(handler: ChangeHandler<T>): void {
    this.handlers.push(handler);
    // A late handler must end up with the same view as the early ones.
    for (const obj of this.cache.values()) this.call(handler, undefined, obj);
  }

  start(): void {
    if (this.phase !== 'idle') return;
    void this.relist();
  }

  stop(): void {
    if (this.phase === 'stopped') return;
    this.phase = 'stopped';
    this.epoch++;
    this.watch?.stop();
    this.watch = undefined;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    const waiters = this.syncWaiters;
    this.syncWaiters = [];
    for (const w of waiters) w.reject(new Error(`informer for ${this.resource} stopped before it synced`));
  }

  hasSynced(): boolean {
    return this.synced;
  }

  waitForSync(): Promise<void> {
    if (this.synced) return Promise.resolve();
    if (this.phase === 'stopped') {
      return Promise.reject(new Error(`informer for ${this.resource} stopped before it synced`));
    }
    return new Promise((resolve, reject) => this.syncWaiters.push({ resolve, reject }));
  }

  get(namespace: string, name: string): T | undefined {
    return this.cache.get(namespace ? `${namespace}/${name}` : name);
  }

  list(): T[] {
    return [...this.cache.values()];
  }

  lastResourceVersion(): string {
    return this.rv;
  }

  /** Whether a watch is currently open (for health reporting). */
  isWatching(): boolean {
    return this.phase === 'watching';
  }

  // ---- reflector ---------------------------------------------------------------------------

  private async relist(): Promise<void> {
    const epoch = ++this.epoch;
    this.phase = 'listing';
    let items: T[];
    let rv: string;
    try {
      ({ items, rv } = await this.listAll());
    } catch (err) {
      if (epoch !== this.epoch) return;
      this.report(err, 'list');
      this.retryLater(() => void this.relist());
      return;
    }
    if (epoch !== this.epoch) return;
    this.failures = 0;
    this.rv = rv;
    this.replace(items);
    // A handler may have stopped us.
    if (epoch !== this.epoch) return;
    if (!this.synced) {
      this.synced = true;
      const waiters = this.syncWaiters;
      this.syncWaiters = [];
      for (const w of waiters) w.resolve();
    }
    this.startWatch();
  }

  private async listAll(): Promise<{ items: T[]; rv: string }> {
    const { namespace, labelSelector, fieldSelector } = this.opts;
    const base = { namespace, labelSelector, fieldSelector };
    const items: T[] = [];
    let cont: string | undefined;
    let rv = '';
    do {
      let page: Awaited<ReturnType<Client['list']>>;
      try {
        page = await this.client.list<T>(this.resource, {
          ...base,
          ...(this.pageSize > 0 ? { limit: this.pageSize } : {}),
          ...(cont ? { continue: cont } : {}),
        });
      } catch (err) {
        // A continue token outlived the history window: fall back to one unpaged list, as
        // client-go's pager does (FullListIfExpired), rather than failing the whole relist.
        if (cont && isGone(err)) {
          const full = await this.client.list<T>(this.resource, base);
          return { items: full.items as T[], rv: full.resourceVersion };
        }
        throw err;
      }
      for (const obj of page.items) items.push(obj as T);
      rv = page.resourceVersion;
      cont = page.continue;
    } while (cont);
    return { items, rv };
  }

  /** Swaps the cache for a fresh list and tells handlers what changed meanwhile. */
  private replace(items: readonly T[]): void {
    const previous = new Map(this.cache);
    this.cache.clear();
    for (const obj of items) this.cache.set(keyOf(obj), obj);
    for (const obj of items) {
      const old = previous.get(keyOf(obj));
      if (!old) this.emit(undefined, obj);
      // A store that went back can hold another object under the same name and number.
      else if (rvOf(old) !== rvOf(obj) || old.metadata.uid !== obj.metadata.uid) this.emit(old, obj);
    }
    for (const [key, old] of previous) if (!this.cache.has(key)) this.emit(old, undefined);
  }

  private startWatch(): void {
    if (this.phase === 'stopped') return;
    const epoch = ++this.epoch;
    this.phase = 'watching';
    const startedAt = this.clock.now();
    let events = 0;
    const timeoutSeconds = this.opts.watchTimeoutSeconds ?? Math.floor(300 * (1 + this.clock.random()));
    const onEvent = (e: WatchEvent<T>) => {
      if (epoch !== this.epoch) return;
      events++;
      // Any event proves the API is reachable again.
      this.failures = 0;
      this.goneInARow = 0;
      this.apply(e);
    };
    const onClose = (err?: unknown) => {
      if (epoch !== this.epoch) return;
      this.watch = undefined;
      if (err === undefined) {
        if (events === 0 && this.clock.now() - startedAt < shortWatchMs) {
          this.report(new Error(`watch of ${this.resource} closed immediately without events`), 'watch');
          this.retryLater(() => this.startWatch());
          return;
        }
        // Watches end routinely (timeoutSeconds); this one was healthy.
        this.failures = 0;
        this.startWatch();
        return;
      }
      this.report(err, 'watch');
      if (isGone(err) || isTooLargeResourceVersion(err)) {
        // The window moved past our resourceVersion: only a relist can recover. Back off only
        // when relisting keeps landing on 410 (history shorter than our list→watch gap).
        if (this.goneInARow++ > 0) this.retryLater(() => void this.relist());
        else void this.relist();
        return;
      }
      this.retryLater(() => this.startWatch());
    };
    try {
      const w = this.client.watch<T>(
        this.resource,
        {
          namespace: this.opts.namespace,
          labelSelector: this.opts.labelSelector,
          fieldSelector: this.opts.fieldSelector,
          resourceVersion: this.rv,
          allowBookmarks: true,
          timeoutSeconds,
        },
        onEvent,
        onClose,
      );
      // onClose may have run synchronously and started the next attempt already.
      if (epoch === this.epoch) this.watch = w;
      else w.stop();
    } catch (err) {
      onClose(err);
    }
  }

  private apply(e: WatchEvent<T>): void {
    const obj = e.object;
    const rv = rvOf(obj);
    switch (e.type) {
      case 'BOOKMARK':
        break;
      case 'ADDED':
      case 'MODIFIED': {
        const key = keyOf(obj);
        const old = this.cache.get(key);
        this.cache.set(key, obj);
        if (!old || rvOf(old) !== rv) this.emit(old, obj);
        break;
      }
      case 'DELETED': {
        const key = keyOf(obj);
        const old = this.cache.get(key);
        this.cache.delete(key);
        // Consumers never saw an object we did not have: nothing to retract.
        if (old) this.emit(old, undefined);
        break;
      }
      case 'ERROR':
        // Transports turn ERROR into onClose(err); nothing to cache.
        return;
    }
    if (rv) this.rv = rv;
  }

  private retryLater(fn: () => void): void {
    const exp = Math.min(this.failures, 30);
    this.failures++;
    const ceiling = Math.min(this.maxBackoffMs, this.backoffMs * 2 ** exp);
    // "Equal jitter": at least half the ceiling, so retries stay spread out but never collapse
    // to zero; many agents losing the API together do not come back in lockstep.
    const delay = ceiling / 2 + (this.clock.random() * ceiling) / 2;
    this.phase = 'waiting';
    const epoch = ++this.epoch;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      if (epoch === this.epoch) fn();
    }, delay);
  }

  private emit(old: T | undefined, cur: T | undefined): void {
    for (const h of this.handlers) this.call(h, old, cur);
  }

  private call(h: ChangeHandler<T>, old: T | undefined, cur: T | undefined): void {
    try {
      h(old, cur);
    } catch (err) {
      this.report(err, 'handler');
    }
  }

  private lastLogged: { text: string; at: number } | undefined;

  private report(err: unknown, phase: InformerErrorPhase): void {
    if (this.opts.onError) {
      this.opts.onError(err, phase);
      return;
    }
    if (phase === 'handler') {
      console.error(`informer ${this.resource}: handler failed:`, err);
      return;
    }
    // As client-go's reflector logs "failed to list": an operator must see a 403 from RBAC. The
    // same failure repeats on every retry; it is logged when it changes, and again every minute.
    const text = `informer ${this.resource}: ${phase} failed: ${err instanceof Error ? err.message : String(err)}`;
    const now = Date.now();
    if (this.lastLogged?.text === text && now - this.lastLogged.at < 60_000) return;
    this.lastLogged = { text, at: now };
    console.error(text);
  }
}
