// The Store semantics shared by every backend. Current objects live in memory (ResourceIndex),
// so reads never touch disk or parse more than they return; a Backend makes each write durable
// and keeps the change log. Every write runs synchronously from check to commit to publish, so
// it is atomic with respect to the event loop: no lock is needed, and update()'s optimistic
// retry only triggers when tryUpdate awaited while someone else wrote.
import {
  newAlreadyExists,
  newBadRequest,
  newConflict,
  newInternalError,
  newNotFound,
  newTooLargeResourceVersion,
  newTooOldResourceVersion,
} from '../api/status.ts';
import type { KubeObject } from '../api/types.ts';
import { decodeContinue, encodeContinue, newContinueExpired } from './continue.ts';
import { type Change, type ChangeType, firstChanges, type History, reconstruct } from './history.ts';
import {
  checkPreconditions,
  groupResource,
  hasFinalizers,
  markDeleting,
  prepareForCreate,
  prepareForUpdate,
  readyToRemove,
  setResourceVersion,
} from './meta.ts';
import { compileFilter } from './selectors.ts';
import { compareKeys, type Entry, keyString, ResourceIndex } from './state.ts';
import type {
  CreateOptions,
  DeleteOptions,
  DeleteResult,
  ListOptions,
  ListResult,
  ObjectKey,
  Store,
  TryUpdate,
  UpdateOptions,
  Watch,
  WatchHandler,
  WatchOptions,
} from './store.ts';
import { labelsOf, Version } from './version.ts';
import { WatchHub } from './watch-hub.ts';

/** One write, as a backend must persist it. */
export interface Commit {
  readonly rv: number;
  readonly type: ChangeType;
  readonly resource: string;
  readonly namespace: string;
  readonly name: string;
  /** The stored object after the write; undefined when it was removed. */
  readonly json: string | undefined;
  /** The stored object before the write; undefined for ADDED. */
  readonly prevJson: string | undefined;
}

export interface Backend {
  /** Make the write durable, synchronously; throwing means nothing was written. */
  commit(c: Commit): void;
  readonly history: History;
  close(): void;
}

export interface StoreOptions {
  /** Clock for creationTimestamp and deletionTimestamp. */
  clock?: () => Date;
  /** Periodic BOOKMARK interval for watches that allow bookmarks (default 60 s; 0 disables the timer). */
  bookmarkIntervalMs?: number;
}

export interface InitialState {
  readonly revision: number;
  /** Current objects by resource, in any order. */
  readonly objects: Iterable<{ resource: string } & Entry>;
}

/** Optimistic retries are cheap here (no I/O between read and check); this only stops livelock. */
const maxUpdateAttempts = 10_000;

export class CachedStore implements Store {
  private readonly indexes = new Map<string, ResourceIndex>();
  private revision: number;
  private closed = false;
  private readonly clock: () => Date;
  private readonly hub: WatchHub;

  constructor(
    private readonly backend: Backend,
    initial: InitialState,
    opts: StoreOptions = {},
  ) {
    this.revision = initial.revision;
    for (const o of initial.objects) {
      const { resource, ...entry } = o;
      this.index(resource).set(entry);
    }
    this.clock = opts.clock ?? (() => new Date());
    this.hub = new WatchHub({
      revision: () => this.revision,
      ...(opts.bookmarkIntervalMs === undefined ? {} : { bookmarkIntervalMs: opts.bookmarkIntervalMs }),
    });
  }

  currentRevision(): number {
    return this.revision;
  }

  /** Send a BOOKMARK now to every watch that allows bookmarks (besides the periodic ones). */
  bookmarkNow(): void {
    this.hub.bookmarkNow();
  }

  async get<T extends KubeObject = KubeObject>(key: ObjectKey): Promise<T | undefined> {
    this.assertOpen();
    const e = this.indexes.get(key.resource)?.get(key.namespace, key.name);
    return e ? (JSON.parse(e.json) as T) : undefined;
  }

  async list<T extends KubeObject = KubeObject>(resource: string, opts: ListOptions = {}): Promise<ListResult<T>> {
    this.assertOpen();
    const filter = compileFilter(resource, opts.labelSelector, opts.fieldSelector);
    const namespace = opts.namespace || undefined;
    const limit = opts.limit && opts.limit > 0 ? opts.limit : 0;
    let rv = this.revision;
    let start: StartKey;
    if (opts.resourceVersion && opts.resourceVersion !== '0' && !opts.continue) {
      const min = parseResourceVersion(opts.resourceVersion);
      if (min > this.revision) throw newTooLargeResourceVersion(min, this.revision);
    }
    if (opts.continue) {
      const point = decodeContinue(opts.continue);
      if (point.rv > this.revision) throw newBadRequest('continue key is not valid: resource version is in the future');
      if (point.rv < this.backend.history.compacted()) throw newContinueExpired();
      rv = point.rv;
      start = point.start;
    }
    const rows: Iterable<Entry> =
      rv === this.revision
        ? (this.indexes.get(resource)?.scan(start, namespace) ?? [])
        : this.rowsAt(resource, rv, start, namespace);
    const page: string[] = [];
    let last: Entry | undefined;
    let remaining = 0;
    for (const row of rows) {
      if (filter && !filter.matches(Version.withLabels(row.json, row.labels))) continue;
      if (limit && page.length === limit) {
        remaining++;
        // With selectors Kubernetes leaves remainingItemCount unset; one more match is enough.
        if (filter) break;
        continue;
      }
      page.push(row.json);
      last = row;
    }
    // One parse of the whole page is the deep copy, and cheaper than a parse per item.
    const items = JSON.parse(`[${page.join(',')}]`) as T[];
    const result: ListResult<T> = { items, resourceVersion: String(rv) };
    if (remaining > 0 && last) {
      result.continue = encodeContinue(rv, last.namespace, last.name);
      if (!filter) result.remainingItemCount = remaining;
    }
    return result;
  }

  async create<T extends KubeObject = KubeObject>(key: ObjectKey, obj: T, opts: CreateOptions = {}): Promise<T> {
    this.assertOpen();
    const index = this.index(key.resource);
    if (index.get(key.namespace, key.name)) throw newAlreadyExists(groupResource(key.resource), key.name);
    const rv = this.revision + 1;
    const stored = prepareForCreate(key, obj, rv, this.clock());
    if (opts.dryRun) {
      // Nothing was written, so there is no resourceVersion to report.
      const out = JSON.parse(JSON.stringify(stored)) as T;
      setResourceVersion(out, undefined);
      return out;
    }
    const json = JSON.stringify(stored);
    this.write(key, 'ADDED', rv, { json, labels: labelsOf(stored) }, undefined);
    return JSON.parse(json) as T;
  }

  async update<T extends KubeObject = KubeObject>(
    key: ObjectKey,
    tryUpdate: TryUpdate<T>,
    opts: UpdateOptions = {},
  ): Promise<T> {
    const gr = groupResource(key.resource);
    for (let attempt = 0; attempt < maxUpdateAttempts; attempt++) {
      this.assertOpen();
      const index = this.index(key.resource);
      const cur = index.get(key.namespace, key.name);
      if (!cur) throw newNotFound(gr, key.name);
      const old = JSON.parse(cur.json) as T;
      checkPreconditions(gr, key.name, opts.preconditions, old);
      const desired = await tryUpdate(JSON.parse(cur.json) as T);
      this.assertOpen();
      // Entries are replaced on every write, so identity tells whether anyone wrote meanwhile.
      if (index.get(key.namespace, key.name) !== cur) continue;
      const next = prepareForUpdate(key, old, desired);
      if (!next) return old;
      const rv = this.revision + 1;
      if (readyToRemove(next)) {
        // The last finalizer is gone: like the apiserver, the update becomes the delete.
        if (opts.dryRun) return old;
        this.write(key, 'DELETED', rv, undefined, cur);
        setResourceVersion(old, rv);
        return old;
      }
      if (opts.dryRun) return next;
      setResourceVersion(next, rv);
      const json = JSON.stringify(next);
      this.write(key, 'MODIFIED', rv, { json, labels: labelsOf(next) }, cur);
      return JSON.parse(json) as T;
    }
    throw newConflict(gr, key.name);
  }

  async delete<T extends KubeObject = KubeObject>(key: ObjectKey, opts: DeleteOptions = {}): Promise<DeleteResult<T>> {
    this.assertOpen();
    const gr = groupResource(key.resource);
    const cur = this.indexes.get(key.resource)?.get(key.namespace, key.name);
    if (!cur) throw newNotFound(gr, key.name);
    const obj = JSON.parse(cur.json) as T;
    checkPreconditions(gr, key.name, opts.preconditions, obj);
    const grace = opts.gracePeriodSeconds ?? 0;
    const deleting = obj.metadata.deletionTimestamp !== undefined;
    if (grace > 0 && (!deleting || grace < (obj.metadata.deletionGracePeriodSeconds ?? 0))) {
      // Graceful deletion: record the intent; the object stays until a delete with grace 0.
      const rv = this.revision + 1;
      const marked = markDeleting(obj, this.clock(), grace);
      if (opts.dryRun) return { object: marked, deleted: false };
      setResourceVersion(marked, rv);
      const json = JSON.stringify(marked);
      this.write(key, 'MODIFIED', rv, { json, labels: labelsOf(marked) }, cur);
      return { object: JSON.parse(json) as T, deleted: false };
    }
    if (grace > 0) return { object: obj, deleted: false };
    if (hasFinalizers(obj)) {
      // Already terminating: nothing more to record until the finalizers are gone.
      if (obj.metadata.deletionTimestamp !== undefined) return { object: obj, deleted: false };
      const rv = this.revision + 1;
      const marked = markDeleting(obj, this.clock());
      if (opts.dryRun) return { object: marked, deleted: false };
      setResourceVersion(marked, rv);
      const json = JSON.stringify(marked);
      this.write(key, 'MODIFIED', rv, { json, labels: labelsOf(marked) }, cur);
      return { object: JSON.parse(json) as T, deleted: false };
    }
    if (!opts.dryRun) this.write(key, 'DELETED', this.revision + 1, undefined, cur);
    return { object: obj, deleted: true };
  }

  watch<T extends KubeObject = KubeObject>(resource: string, opts: WatchOptions, handler: WatchHandler<T>): Watch {
    this.assertOpen();
    const filter = compileFilter(resource, opts.labelSelector, opts.fieldSelector);
    const namespace = opts.namespace || undefined;
    const spec = { resource, namespace, filter, allowBookmarks: opts.allowBookmarks === true };
    const text = opts.resourceVersion;
    let backlog: Iterable<Change>;
    if (!text || text === '0') {
      backlog = this.addedForExisting(resource, namespace);
    } else {
      const from = parseResourceVersion(text);
      const compacted = this.backend.history.compacted();
      if (from < compacted) throw newTooOldResourceVersion(from, compacted);
      // A revision this store never reached: it went back (a memory store restarted, a database
      // restored). Waiting would deliver other objects' changes under numbers the client has
      // seen already; refusing makes informers relist.
      if (from > this.revision) throw newTooLargeResourceVersion(from, this.revision);
      const idx = this.indexes.get(resource);
      backlog =
        from >= this.revision
          ? []
          : reconstruct(this.backend.history.since(resource, from), (ns, name) => idx?.get(ns, name)?.json);
    }
    // The handler only ever sees objects parsed for it; the cast is the caller's typing choice.
    return this.hub.subscribe(spec, handler as WatchHandler<KubeObject>, backlog);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.hub.close();
    this.backend.close();
  }

  private write(
    key: ObjectKey,
    type: ChangeType,
    rv: number,
    next: { json: string; labels: Entry['labels'] } | undefined,
    prev: Entry | undefined,
  ): void {
    const { resource, namespace, name } = key;
    try {
      this.backend.commit({ rv, type, resource, namespace, name, json: next?.json, prevJson: prev?.json });
    } catch (err) {
      throw newInternalError(err instanceof Error ? err : String(err));
    }
    this.revision = rv;
    const index = this.index(resource);
    if (next) index.set({ namespace, name, rv, json: next.json, labels: next.labels });
    else index.delete(namespace, name);
    if (!this.hub.watching(resource)) return;
    this.hub.publish({
      rv,
      type,
      resource,
      namespace,
      name,
      cur: next ? Version.withLabels(next.json, next.labels) : undefined,
      prev: prev ? Version.withLabels(prev.json, prev.labels) : undefined,
    });
  }

  private index(resource: string): ResourceIndex {
    let idx = this.indexes.get(resource);
    if (!idx) this.indexes.set(resource, (idx = new ResourceIndex()));
    return idx;
  }

  /** The objects as of revision `rv` (≥ compacted): current state with later changes undone. */
  private rowsAt(resource: string, rv: number, start: StartKey, namespace: string | undefined): Entry[] {
    const changed = firstChanges(this.backend.history.since(resource, rv));
    const rows: Entry[] = [];
    for (const e of this.indexes.get(resource)?.scan(start, namespace) ?? []) {
      if (!changed.has(keyString(e.namespace, e.name))) rows.push(e);
    }
    for (const e of changed.values()) {
      if (e.prevJson === undefined) continue;
      if (namespace && e.namespace !== namespace) continue;
      if (start && compareKeys(e.namespace, e.name, start.namespace, start.name) < 0) continue;
      const obj = JSON.parse(e.prevJson) as KubeObject;
      const at = Number(obj.metadata.resourceVersion);
      rows.push({ namespace: e.namespace, name: e.name, rv: at, json: e.prevJson, labels: labelsOf(obj) });
    }
    if (changed.size) rows.sort((a, b) => compareKeys(a.namespace, a.name, b.namespace, b.name));
    return rows;
  }

  private *addedForExisting(resource: string, namespace: string | undefined): Generator<Change> {
    const idx = this.indexes.get(resource);
    if (!idx) return;
    for (const e of idx.scan(undefined, namespace)) {
      const cur = Version.withLabels(e.json, e.labels);
      yield { rv: e.rv, type: 'ADDED', resource, namespace: e.namespace, name: e.name, cur, prev: undefined };
    }
  }

  private assertOpen(): void {
    if (this.closed) throw newInternalError('store is closed');
  }
}

type StartKey = { readonly namespace: string; readonly name: string } | undefined;

function parseResourceVersion(text: string): number {
  const n = /^[0-9]+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n)) throw newBadRequest(`invalid resource version: ${JSON.stringify(text)}`);
  return n;
}
