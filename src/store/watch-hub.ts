// In-process watch fan-out. Writers publish a Change synchronously; the hub decides per watcher,
// right then, what that watcher sees (so later mutation by anyone cannot change it) and queues
// it. Delivery runs in a microtask, in revision order per watcher, each watcher getting its own
// parsed copy. Selector semantics follow the apiserver's cacher: an object that starts matching
// is ADDED, one that stops matching is DELETED (previous content, new resourceVersion).
import { apiVersionOf, resourceInfo } from '../api/resources.ts';
import type { KubeObject } from '../api/types.ts';
import type { Change } from './history.ts';
import { setResourceVersion } from './meta.ts';
import type { ObjectFilter } from './selectors.ts';
import type { Watch, WatchEvent, WatchHandler } from './store.ts';

export interface WatchSpec {
  readonly resource: string;
  readonly namespace: string | undefined;
  readonly filter: ObjectFilter | undefined;
  readonly allowBookmarks: boolean;
}

type Item =
  | { readonly type: 'ADDED' | 'MODIFIED'; readonly json: string }
  | { readonly type: 'DELETED'; readonly json: string; readonly rv: number }
  | { readonly type: 'BOOKMARK'; readonly rv: number };

interface Watcher {
  readonly spec: WatchSpec;
  readonly handler: WatchHandler<KubeObject>;
  queue: Item[];
  stopped: boolean;
}

export interface WatchHubOptions {
  /** The store's current revision, carried by bookmarks. */
  readonly revision: () => number;
  /** Periodic bookmark interval; the apiserver sends roughly one a minute. */
  readonly bookmarkIntervalMs?: number;
}

/** What one watcher sees of a change, or undefined when the change is invisible to it. */
export function translate(spec: WatchSpec, c: Change): Item | undefined {
  if (spec.namespace && c.namespace !== spec.namespace) return undefined;
  const f = spec.filter;
  const prevOk = c.prev !== undefined && (!f || f.matches(c.prev));
  if (c.type === 'DELETED') return prevOk && c.prev ? { type: 'DELETED', json: c.prev.json, rv: c.rv } : undefined;
  const curOk = c.cur !== undefined && (!f || f.matches(c.cur));
  if (curOk && c.cur) return { type: prevOk ? 'MODIFIED' : 'ADDED', json: c.cur.json };
  if (prevOk && c.prev) return { type: 'DELETED', json: c.prev.json, rv: c.rv };
  return undefined;
}

export class WatchHub {
  private readonly byResource = new Map<string, Set<Watcher>>();
  private readonly dirty = new Set<Watcher>();
  private scheduled = false;
  private timer: NodeJS.Timeout | undefined;
  private bookmarkWatchers = 0;

  constructor(private readonly opts: WatchHubOptions) {}

  /** Registers a watcher whose queue starts with `backlog` (already ordered). */
  subscribe(spec: WatchSpec, handler: WatchHandler<KubeObject>, backlog: Iterable<Change>): Watch {
    const w: Watcher = { spec, handler, queue: [], stopped: false };
    for (const c of backlog) {
      const item = translate(spec, c);
      if (item) w.queue.push(item);
    }
    let set = this.byResource.get(spec.resource);
    if (!set) this.byResource.set(spec.resource, (set = new Set()));
    set.add(w);
    if (spec.allowBookmarks && this.bookmarkWatchers++ === 0) this.startTimer();
    if (w.queue.length) this.markDirty(w);
    return { stop: () => this.unsubscribe(w) };
  }

  /** Lets writers skip building a Change nobody would see. */
  watching(resource: string): boolean {
    return this.byResource.has(resource);
  }

  publish(c: Change): void {
    const set = this.byResource.get(c.resource);
    if (!set) return;
    for (const w of set) {
      const item = translate(w.spec, c);
      if (!item) continue;
      w.queue.push(item);
      this.markDirty(w);
    }
  }

  /** Queue a BOOKMARK at the current revision for every watcher that asked for bookmarks. */
  bookmarkNow(): void {
    const rv = this.opts.revision();
    for (const set of this.byResource.values()) {
      for (const w of set) {
        if (!w.spec.allowBookmarks) continue;
        w.queue.push({ type: 'BOOKMARK', rv });
        this.markDirty(w);
      }
    }
  }

  get watcherCount(): number {
    let n = 0;
    for (const set of this.byResource.values()) n += set.size;
    return n;
  }

  close(): void {
    for (const set of this.byResource.values()) for (const w of set) this.unsubscribe(w);
    this.stopTimer();
  }

  private unsubscribe(w: Watcher): void {
    if (w.stopped) return;
    w.stopped = true;
    w.queue = [];
    this.dirty.delete(w);
    const set = this.byResource.get(w.spec.resource);
    set?.delete(w);
    if (set?.size === 0) this.byResource.delete(w.spec.resource);
    if (w.spec.allowBookmarks && --this.bookmarkWatchers === 0) this.stopTimer();
  }

  private markDirty(w: Watcher): void {
    this.dirty.add(w);
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => this.drain());
  }

  private drain(): void {
    this.scheduled = false;
    // Handlers may write (publishing more) or stop watches; both are seen by this loop.
    while (this.dirty.size) {
      for (const w of this.dirty) {
        this.dirty.delete(w);
        this.deliver(w);
      }
    }
  }

  private deliver(w: Watcher): void {
    while (!w.stopped && w.queue.length) {
      const batch = w.queue;
      w.queue = [];
      for (const item of batch) {
        if (w.stopped) return;
        const event = this.toEvent(w.spec.resource, item);
        try {
          w.handler(event);
        } catch (err) {
          // One broken handler must not starve the others; surface it like an uncaught throw.
          queueMicrotask(() => {
            throw err;
          });
        }
      }
    }
  }

  private toEvent(resource: string, item: Item): WatchEvent<KubeObject> {
    if (item.type === 'BOOKMARK') return { type: 'BOOKMARK', object: bookmarkObject(resource, item.rv) };
    const object = JSON.parse(item.json) as KubeObject;
    if (item.type === 'DELETED') setResourceVersion(object, item.rv);
    return { type: item.type, object };
  }

  private startTimer(): void {
    const ms = this.opts.bookmarkIntervalMs ?? 60_000;
    if (!(ms > 0) || this.timer) return;
    this.timer = setInterval(() => this.bookmarkNow(), ms);
    // Bookmarks are a courtesy; they must not keep a process alive.
    this.timer.unref();
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

function bookmarkObject(resource: string, rv: number): KubeObject {
  const info = resourceInfo(resource);
  return {
    apiVersion: info ? apiVersionOf(info) : 'v1',
    kind: info?.kind ?? '',
    metadata: { resourceVersion: String(rv) },
  };
}
