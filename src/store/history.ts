// The change log behind watch replay and consistent paging. A logged event keeps only the state
// *before* the change (prev): the state after it is the next event's prev for the same key, or
// the current object. That halves what every write stores, and the same backwards walk answers
// both "what happened after N" (watch) and "what did the store look like at N" (continue).
import { keyString } from './state.ts';
import { Version } from './version.ts';

export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface LoggedEvent {
  readonly rv: number;
  readonly resource: string;
  readonly namespace: string;
  readonly name: string;
  readonly type: ChangeType;
  /** The object before the change; undefined for ADDED. */
  readonly prevJson: string | undefined;
}

export interface History {
  /** Every revision ≤ this has been compacted away; replay needs from > compacted. */
  compacted(): number;
  /** Events of `resource` with rv > `after`, ascending. Callers check compacted() first. */
  since(resource: string, after: number): LoggedEvent[];
}

/** A change as watchers see it. For DELETED, `cur` is undefined and `prev` is the last state. */
export interface Change {
  readonly rv: number;
  readonly type: ChangeType;
  readonly resource: string;
  readonly namespace: string;
  readonly name: string;
  readonly cur: Version | undefined;
  readonly prev: Version | undefined;
}

type CurrentJson = (namespace: string, name: string) => string | undefined;

/** Turn logged events (ascending) into full changes by walking back from the current state. */
export function reconstruct(events: readonly LoggedEvent[], current: CurrentJson): Change[] {
  const out: Change[] = [];
  const after = new Map<string, string | undefined>();
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i];
    if (!e) continue;
    const k = keyString(e.namespace, e.name);
    const curJson = after.has(k) ? after.get(k) : current(e.namespace, e.name);
    after.set(k, e.prevJson);
    const prev = e.prevJson === undefined ? undefined : Version.of(e.prevJson);
    const cur = e.type === 'DELETED' || curJson === undefined ? undefined : Version.of(curJson);
    // A non-delete without a following state would mean a torn log; skip rather than invent.
    if (e.type !== 'DELETED' && !cur) continue;
    out.push({ rv: e.rv, type: e.type, resource: e.resource, namespace: e.namespace, name: e.name, cur, prev });
  }
  return out.reverse();
}

/** The state at revision N of every key changed after N: the first later event's prev (undefined: absent at N). */
export function firstChanges(events: readonly LoggedEvent[]): Map<string, LoggedEvent> {
  const first = new Map<string, LoggedEvent>();
  for (const e of events) {
    const k = keyString(e.namespace, e.name);
    if (!first.has(k)) first.set(k, e);
  }
  return first;
}

/** Default bound on the bytes of prior versions the window holds (see ByteWindow). */
export const defaultHistoryBytes = 128 * 1024 * 1024;

/** Bytes an event costs the window: its prior version's text. */
export const eventBytes = (prevJson: string | undefined | null): number => prevJson?.length ?? 0;

/**
 * The byte side of a history window. A window counted in revisions alone grows with object size:
 * 10,000 revisions of a 1 MiB object are 10 GiB. Past `max` bytes the oldest events go (down to
 * 90%, so compaction stays amortised), however few revisions remain; the newest is always kept.
 */
export class ByteWindow {
  private sizes: { rv: number; bytes: number }[] = [];
  private head = 0;
  total = 0;

  constructor(readonly max: number) {
    if (!(max >= 1)) throw new Error(`history byte limit must be at least 1, got ${max}`);
  }

  push(rv: number, bytes: number): void {
    this.sizes.push({ rv, bytes });
    this.total += bytes;
  }

  /** Forgets the newest event (its write failed). */
  dropLast(): void {
    const e = this.sizes.pop();
    if (e) this.total -= e.bytes;
  }

  /** Forgets events up to and including `rv` (compacted for another reason). */
  dropThrough(rv: number): void {
    while (this.head < this.sizes.length) {
      const e = this.sizes[this.head];
      if (!e || e.rv > rv) break;
      this.total -= e.bytes;
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.sizes.length) {
      this.sizes = this.sizes.slice(this.head);
      this.head = 0;
    }
  }

  /** The revision to compact through to get back under the bound, or undefined when within it. */
  overflow(): number | undefined {
    if (this.total <= this.max) return undefined;
    const target = this.max * 0.9;
    let total = this.total;
    let through: number | undefined;
    for (let i = this.head; i < this.sizes.length - 1 && total > target; i++) {
      const e = this.sizes[i];
      if (!e) break;
      total -= e.bytes;
      through = e.rv;
    }
    return through;
  }
}

/**
 * In-memory log that keeps at least `keep` revisions, dropping older ones in batches, unless
 * their prior versions pass `maxBytes` (ByteWindow).
 */
export class EventLog implements History {
  private events: LoggedEvent[] = [];
  private head = 0;
  private compactedRv: number;
  private readonly batch: number;
  private readonly bytes: ByteWindow;

  constructor(
    private readonly keep: number,
    compacted = 0,
    maxBytes = defaultHistoryBytes,
  ) {
    if (!(keep >= 1)) throw new Error(`history limit must be at least 1, got ${keep}`);
    this.compactedRv = compacted;
    // Batching keeps compaction amortised O(1) per write; the contract is "at least keep".
    this.batch = Math.max(1, Math.ceil(keep / 10));
    this.bytes = new ByteWindow(maxBytes);
  }

  compacted(): number {
    return this.compactedRv;
  }

  push(e: LoggedEvent): void {
    this.events.push(e);
    this.bytes.push(e.rv, eventBytes(e.prevJson));
    if (this.events.length - this.head > this.keep + this.batch) this.compactTo(e.rv - this.keep);
    const over = this.bytes.overflow();
    if (over !== undefined) this.compactTo(over);
  }

  private compactTo(rv: number): void {
    this.bytes.dropThrough(rv);
    while (this.head < this.events.length) {
      const e = this.events[this.head];
      if (!e || e.rv > rv) break;
      this.head++;
      this.compactedRv = e.rv;
    }
    if (this.head > 1024 && this.head * 2 > this.events.length) {
      this.events = this.events.slice(this.head);
      this.head = 0;
    }
  }

  since(resource: string, after: number): LoggedEvent[] {
    let lo = this.head;
    let hi = this.events.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const m = this.events[mid];
      if (m && m.rv <= after) lo = mid + 1;
      else hi = mid;
    }
    const out: LoggedEvent[] = [];
    for (let i = lo; i < this.events.length; i++) {
      const e = this.events[i];
      if (e && e.resource === resource) out.push(e);
    }
    return out;
  }
}
