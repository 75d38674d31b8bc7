// Current objects of one resource, kept in memory by every store: a map for point lookups and
// keys sorted by (namespace, name) for lists and paging. Values are the stored JSON text, so a
// read is one JSON.parse (the cheapest deep copy V8 has) and nobody can reach stored state.
//
// Order is maintained lazily: writes only touch the map (new keys are remembered, deletions
// leave a gap), and the next ordered read merges them in. Splicing a 10k-element array on every
// create cost more than the rest of a create together.
import type { Labels } from './selectors.ts';

export interface Entry {
  readonly namespace: string;
  readonly name: string;
  readonly rv: number;
  readonly json: string;
  /** A private copy of metadata.labels, so selectors run without parsing. */
  readonly labels: Labels;
}

export interface KeyPoint {
  readonly namespace: string;
  readonly name: string;
}

interface SortedKey extends KeyPoint {
  readonly key: string;
}

export function keyString(namespace: string, name: string): string {
  // Namespaces cannot contain "/", so this is unambiguous.
  return `${namespace}/${name}`;
}

/** Order by namespace, then name, comparing UTF-16 code units (SQLite's BINARY on ASCII names). */
export function compareKeys(ns1: string, n1: string, ns2: string, n2: string): number {
  if (ns1 !== ns2) return ns1 < ns2 ? -1 : 1;
  if (n1 === n2) return 0;
  return n1 < n2 ? -1 : 1;
}

const byKey = (a: KeyPoint, b: KeyPoint) => compareKeys(a.namespace, a.name, b.namespace, b.name);

export class ResourceIndex {
  private readonly entries = new Map<string, Entry>();
  private sorted: SortedKey[] = [];
  /** Keys added since `sorted` was last rebuilt. */
  private readonly added = new Map<string, SortedKey>();
  /** Whether some key in `sorted` was deleted since. */
  private holes = false;

  get size(): number {
    return this.entries.size;
  }

  get(namespace: string, name: string): Entry | undefined {
    return this.entries.get(keyString(namespace, name));
  }

  set(e: Entry): void {
    const k = keyString(e.namespace, e.name);
    if (!this.entries.has(k)) this.added.set(k, { namespace: e.namespace, name: e.name, key: k });
    this.entries.set(k, e);
  }

  delete(namespace: string, name: string): void {
    const k = keyString(namespace, name);
    if (!this.entries.delete(k)) return;
    if (!this.added.delete(k)) this.holes = true;
  }

  /** Entries from `start` on, in order, restricted to one namespace when given. */
  *scan(start: KeyPoint | undefined, namespace: string | undefined): Generator<Entry> {
    const sorted = this.ordered();
    let i = 0;
    if (start) i = lowerBound(sorted, start);
    if (namespace && (!start || start.namespace < namespace))
      i = Math.max(i, lowerBound(sorted, { namespace, name: '' }));
    for (; i < sorted.length; i++) {
      const k = sorted[i];
      if (!k) break;
      if (namespace && k.namespace !== namespace) break;
      const e = this.entries.get(k.key);
      if (e) yield e;
    }
  }

  private ordered(): readonly SortedKey[] {
    if (!this.holes && this.added.size === 0) return this.sorted;
    const kept = this.holes ? this.sorted.filter((k) => this.entries.has(k.key)) : this.sorted;
    const fresh = [...this.added.values()].sort(byKey);
    this.sorted = merge(kept, fresh);
    this.added.clear();
    this.holes = false;
    return this.sorted;
  }
}

function lowerBound(sorted: readonly SortedKey[], p: KeyPoint): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const m = sorted[mid];
    if (m && byKey(m, p) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function merge(a: readonly SortedKey[], b: readonly SortedKey[]): SortedKey[] {
  if (b.length === 0) return a.slice();
  if (a.length === 0) return b.slice();
  const out: SortedKey[] = new Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let o = 0;
  while (i < a.length && j < b.length) {
    const x = a[i] as SortedKey;
    const y = b[j] as SortedKey;
    if (byKey(x, y) <= 0) {
      out[o++] = x;
      i++;
    } else {
      out[o++] = y;
      j++;
    }
  }
  while (i < a.length) out[o++] = a[i++] as SortedKey;
  while (j < b.length) out[o++] = b[j++] as SortedKey;
  return out;
}
