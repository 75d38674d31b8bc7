// What svcnet believes the kernel holds, as owned items: map/set elements, dynamic chains and
// affinity sets. Each item can have several owners (a service port, or "#config"): an endpoint
// IP shared by two Services yields one hairpin element, two Services claiming the same external
// IP:port yield one map element (the first owner wins, as kube-proxy's last-writer would be
// arbitrary too). Changes are recorded per item so a sync emits only the items whose effective
// value changed: O(changed elements), never a relist.
import type { NftFamily } from './structure.ts';

export type ItemKind = 'element' | 'chain' | 'set';

/**
 * One item: family, kind, container (set/map name for elements, "" otherwise), name (the
 * element key text, chain name or set name) and value (element data, chain rules joined by
 * "\n", or set body). Endpoint slot elements carry the endpoint's key as their data, written
 * as `addr . port` only when rendered (contribution.ts, slotValue).
 */
export interface Item {
  readonly family: NftFamily;
  readonly kind: ItemKind;
  readonly container: string;
  readonly name: string;
  readonly value: string;
}

/**
 * An element claimed by more than one owner (rare: shared endpoints, duplicate VIPs). An
 * uncontested element is stored as its bare value string, without its owner: 80,000 Entry
 * objects for 10,000 Services cost ~4 MB, and the owner is never needed because every release
 * comes from the owner that claimed (replace() is given exactly what that owner contributed).
 * When a second owner arrives, the first one stays anonymous (`owner` undefined): it is the one
 * releasing an item it is not listed under in `others`.
 */
interface Contested {
  value: string;
  /** The effective owner; undefined: the anonymous first owner. */
  owner: string | undefined;
  /** Further owners, in arrival order. */
  others: Map<string, string>;
}

/**
 * Chains and sets are named after what they hold (pick-N, slot-i, affinity names carry a
 * hash of their service port), so two owners can never disagree on their value: a count is
 * enough, where an owner map would cost 10,000 entries for `cluster-pick-5`.
 */
interface Counted {
  value: string;
  refs: number;
}

type Slot = string | Contested | Counted;

const slotValue = (e: Slot): string => (typeof e === 'string' ? e : e.value);

/**
 * Verdict values come from a small vocabulary (`goto internal-cluster`, `goto cluster-pick-5`):
 * one copy each instead of one string per element. Endpoint targets are unique: not interned.
 */
const interned = new Map<string, string>();
function intern(v: string): string {
  if (!v.startsWith('goto ')) return v;
  const hit = interned.get(v);
  if (hit !== undefined) return hit;
  if (interned.size < 4096) interned.set(v, v);
  return v;
}

export interface ItemChange {
  readonly family: NftFamily;
  readonly kind: ItemKind;
  readonly container: string;
  readonly name: string;
  readonly before: string | undefined;
  readonly after: string | undefined;
}

function idOf(family: string, kind: string, container: string, name: string): string {
  return `${family}\u0000${kind}\u0000${container}\u0000${name}`;
}

export class ItemStore {
  /** family → kind → container → name → entry */
  private readonly entries = new Map<string, Map<string, Slot>>();
  /** id → effective value before the first change since the last drain(). */
  private touched = new Map<string, { item: Item; before: string | undefined }>();
  /**
   * Off while a full render rebuilds everything (nothing to diff; saves a map of 100k+ ids).
   * Owners' item lists are not kept either: the renderer recomputes what an owner had from the
   * inputs it already holds, which halves the memory of 10,000 Services.
   */
  tracking = true;

  private group(family: NftFamily, kind: ItemKind, container: string): Map<string, Slot> {
    const gid = `${family}\u0000${kind}\u0000${container}`;
    let g = this.entries.get(gid);
    if (!g) {
      g = new Map();
      this.entries.set(gid, g);
    }
    return g;
  }

  private touch(it: Item, before: string | undefined): void {
    if (!this.tracking) return;
    const id = idOf(it.family, it.kind, it.container, it.name);
    if (!this.touched.has(id)) this.touched.set(id, { item: it, before });
  }

  /** Replaces what `owner` contributes: `old` is exactly what it contributed before. */
  replace(owner: string, old: readonly Item[], next: readonly Item[]): void {
    for (const it of old) this.release(owner, it);
    // An owner listing one item twice (two VIPs of a port with the same address:port): the last
    // value wins, and claim() only ever meets other owners' entries.
    let last: Map<string, number> | undefined;
    if (next.length > 1) {
      last = new Map();
      for (const [i, it] of next.entries()) last.set(idOf(it.family, it.kind, it.container, it.name), i);
      if (last.size === next.length) last = undefined;
    }
    for (const [i, it] of next.entries()) {
      if (last && last.get(idOf(it.family, it.kind, it.container, it.name)) !== i) continue;
      this.claim(owner, it);
    }
  }

  private claim(owner: string, it: Item): void {
    const g = this.group(it.family, it.kind, it.container);
    const e = g.get(it.name);
    const value = intern(it.value);
    if (it.kind !== 'element') {
      if (e !== undefined && typeof e !== 'string' && 'refs' in e) e.refs++;
      else {
        this.touch(it, undefined);
        g.set(it.name, { value, refs: 1 });
      }
      return;
    }
    if (e === undefined) {
      this.touch(it, undefined);
      g.set(it.name, value);
    } else if (typeof e === 'string') {
      g.set(it.name, { value: e, owner: undefined, others: new Map([[owner, value]]) });
    } else if ('others' in e) {
      e.others.set(owner, value);
    }
  }

  private release(owner: string, it: Item): void {
    const g = this.group(it.family, it.kind, it.container);
    const e = g.get(it.name);
    if (e === undefined) return;
    if (typeof e === 'string') {
      this.touch(it, e);
      g.delete(it.name);
      return;
    }
    if ('refs' in e) {
      if (--e.refs > 0) return;
      this.touch(it, e.value);
      g.delete(it.name);
      return;
    }
    const effective = e.owner === owner || (e.owner === undefined && !e.others.has(owner));
    if (!effective) {
      e.others.delete(owner);
    } else {
      this.touch(it, e.value);
      const next = e.others.entries().next();
      if (next.done) {
        g.delete(it.name);
        return;
      }
      const [o, v] = next.value;
      e.others.delete(o);
      e.owner = o;
      e.value = v;
    }
    // Back to one owner: the bare value again (that owner is the one who will release it).
    if (e.others.size === 0) g.set(it.name, e.value);
  }

  get(family: NftFamily, kind: ItemKind, container: string, name: string): string | undefined {
    const e = this.entries.get(`${family}\u0000${kind}\u0000${container}`)?.get(name);
    return e === undefined ? undefined : slotValue(e);
  }

  /** All items of one container (a set's elements; the chains or sets when container is ""). */
  *list(family: NftFamily, kind: ItemKind, container: string): IterableIterator<[string, string]> {
    const g = this.entries.get(`${family}\u0000${kind}\u0000${container}`);
    if (!g) return;
    for (const [name, e] of g) yield [name, slotValue(e)];
  }

  /** Containers that hold elements for `family`. */
  elementContainers(family: NftFamily): string[] {
    const out: string[] = [];
    const prefix = `${family}\u0000element\u0000`;
    for (const [gid, g] of this.entries) if (gid.startsWith(prefix) && g.size > 0) out.push(gid.slice(prefix.length));
    return out;
  }

  /** Changes since the last drain, without no-ops (an item that ended where it began). */
  drain(): ItemChange[] {
    const out: ItemChange[] = [];
    for (const { item, before } of this.touched.values()) {
      const after = this.get(item.family, item.kind, item.container, item.name);
      if (after === before) continue;
      out.push({ family: item.family, kind: item.kind, container: item.container, name: item.name, before, after });
    }
    this.touched = new Map();
    return out;
  }

  /** Forgets pending changes (after a full sync wrote the whole state). */
  clearChanges(): void {
    this.touched = new Map();
  }

  size(): number {
    let n = 0;
    for (const g of this.entries.values()) n += g.size;
    return n;
  }
}
