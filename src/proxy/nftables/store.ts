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
 * "\n", or set body).
 */
export interface Item {
  readonly family: NftFamily;
  readonly kind: ItemKind;
  readonly container: string;
  readonly name: string;
  readonly value: string;
}

interface Entry {
  value: string;
  owner: string;
  /** Further owners, in arrival order (rare: shared endpoints, duplicate VIPs). */
  others: Map<string, string> | undefined;
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
  private readonly entries = new Map<string, Map<string, Entry | Counted>>();
  /** id → effective value before the first change since the last drain(). */
  private touched = new Map<string, { item: Item; before: string | undefined }>();
  /**
   * Off while a full render rebuilds everything (nothing to diff; saves a map of 100k+ ids).
   * Owners' item lists are not kept either: the renderer recomputes what an owner had from the
   * inputs it already holds, which halves the memory of 10,000 Services.
   */
  tracking = true;

  private group(family: NftFamily, kind: ItemKind, container: string): Map<string, Entry | Counted> {
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
    for (const it of next) this.claim(owner, it);
  }

  private claim(owner: string, it: Item): void {
    const g = this.group(it.family, it.kind, it.container);
    const e = g.get(it.name);
    if (it.kind !== 'element') {
      if (e && 'refs' in e) e.refs++;
      else {
        this.touch(it, undefined);
        g.set(it.name, { value: it.value, refs: 1 });
      }
      return;
    }
    if (!e || 'refs' in e) {
      this.touch(it, undefined);
      g.set(it.name, { value: it.value, owner, others: undefined });
      return;
    }
    if (e.owner === owner) {
      this.touch(it, e.value);
      e.value = it.value;
      return;
    }
    e.others ??= new Map();
    e.others.set(owner, it.value);
  }

  private release(owner: string, it: Item): void {
    const g = this.group(it.family, it.kind, it.container);
    const e = g.get(it.name);
    if (!e) return;
    if ('refs' in e) {
      if (--e.refs > 0) return;
      this.touch(it, e.value);
      g.delete(it.name);
      return;
    }
    if (e.owner !== owner) {
      e.others?.delete(owner);
      return;
    }
    this.touch(it, e.value);
    const next = e.others?.entries().next();
    if (!next || next.done) {
      g.delete(it.name);
      return;
    }
    const [o, v] = next.value;
    e.others?.delete(o);
    e.owner = o;
    e.value = v;
  }

  get(family: NftFamily, kind: ItemKind, container: string, name: string): string | undefined {
    return this.entries.get(`${family}\u0000${kind}\u0000${container}`)?.get(name)?.value;
  }

  /** All items of one container (a set's elements; the chains or sets when container is ""). */
  *list(family: NftFamily, kind: ItemKind, container: string): IterableIterator<[string, string]> {
    const g = this.entries.get(`${family}\u0000${kind}\u0000${container}`);
    if (!g) return;
    for (const [name, e] of g) yield [name, e.value];
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
