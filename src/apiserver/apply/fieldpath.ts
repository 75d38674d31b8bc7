// Field paths and sets of them, as structured-merge-diff's fieldpath package has them: the
// vocabulary of managedFields. A path element is a struct field, a list item's key, a set
// member's value or (for atomic lists only in theory) an index. Sets are tries; their order and
// their fieldsV1 serialization follow upstream exactly, because users read both (in
// `kubectl get -o yaml --show-managed-fields` and in conflict messages).
import { goQuote } from '../../api/field.ts';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export type PathElement =
  | { readonly f: string }
  | { readonly k: readonly (readonly [string, Json])[] }
  | { readonly v: Json }
  | { readonly i: number };

export type FieldPath = readonly PathElement[];

export const field = (name: string): PathElement => ({ f: name });

/** A key element; fields sorted by name as value.FieldList.Sort does. */
export function keyElement(fields: (readonly [string, Json])[]): PathElement {
  return { k: [...fields].sort((a, b) => cmpString(a[0], b[0])) };
}

function cmpString(a: string, b: string): number {
  // Go compares strings bytewise; UTF-8 byte order equals code point order.
  if (a === b) return 0;
  const ca = [...a];
  const cb = [...b];
  for (let i = 0; i < Math.min(ca.length, cb.length); i++) {
    const x = ca[i]?.codePointAt(0) ?? 0;
    const y = cb[i]?.codePointAt(0) ?? 0;
    if (x !== y) return x < y ? -1 : 1;
  }
  return ca.length < cb.length ? -1 : ca.length > cb.length ? 1 : 0;
}

/** value.Compare: numbers < strings < booleans < lists < maps < null. */
export function compareValues(a: Json, b: Json): number {
  const rank = (v: Json) =>
    typeof v === 'number'
      ? 0
      : typeof v === 'string'
        ? 1
        : typeof v === 'boolean'
          ? 2
          : Array.isArray(v)
            ? 3
            : v === null
              ? 5
              : 4;
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra < rb ? -1 : 1;
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'string' && typeof b === 'string') return cmpString(a, b);
  if (typeof a === 'boolean' && typeof b === 'boolean') return a === b ? 0 : a ? 1 : -1;
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      const c = compareValues(a[i] ?? null, b[i] ?? null);
      if (c !== 0) return c;
    }
    return a.length - b.length < 0 ? -1 : a.length > b.length ? 1 : 0;
  }
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a).sort(cmpString);
    const kb = Object.keys(b).sort(cmpString);
    for (let i = 0; i < Math.min(ka.length, kb.length); i++) {
      const x = ka[i] ?? '';
      const y = kb[i] ?? '';
      const c =
        cmpString(x, y) ||
        compareValues((a as Record<string, Json>)[x] ?? null, (b as Record<string, Json>)[y] ?? null);
      if (c !== 0) return c;
    }
    return ka.length < kb.length ? -1 : ka.length > kb.length ? 1 : 0;
  }
  return 0;
}

/** PathElement.Compare: fields < keys < values < indexes. */
export function compareElements(a: PathElement, b: PathElement): number {
  if ('f' in a) return 'f' in b ? cmpString(a.f, b.f) : -1;
  if ('f' in b) return 1;
  if ('k' in a) {
    if (!('k' in b)) return -1;
    for (let i = 0; i < Math.min(a.k.length, b.k.length); i++) {
      const [an, av] = a.k[i] ?? ['', null];
      const [bn, bv] = b.k[i] ?? ['', null];
      const c = cmpString(an, bn) || compareValues(av, bv);
      if (c !== 0) return c;
    }
    return a.k.length < b.k.length ? -1 : a.k.length > b.k.length ? 1 : 0;
  }
  if ('k' in b) return 1;
  if ('v' in a) return 'v' in b ? compareValues(a.v, b.v) : -1;
  if ('v' in b) return 1;
  return a.i < b.i ? -1 : a.i > b.i ? 1 : 0;
}

/** value.ToString, used inside path strings. */
function valueString(v: Json): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return goQuote(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map(valueString).join(', ')}]`;
  return `{${Object.keys(v)
    .sort(cmpString)
    .map((k) => `${k}=${valueString(v[k] ?? null)}`)
    .join(', ')}}`;
}

/** PathElement.String: `.name`, `[port=80,protocol="TCP"]`, `[="x"]`, `[3]`. */
export function elementString(e: PathElement): string {
  if ('f' in e) return `.${e.f}`;
  if ('k' in e) return `[${e.k.map(([n, v]) => `${n}=${valueString(v)}`).join(',')}]`;
  if ('v' in e) return `[=${valueString(e.v)}]`;
  return `[${e.i}]`;
}

export function pathString(p: FieldPath): string {
  return p.map(elementString).join('');
}

/** Go's json encoding of a key value inside `k:{...}` / `v:...` (map keys in sorted order). */
function goJson(v: Json): string {
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    return `{${Object.keys(v)
      .sort(cmpString)
      .map((k) => `${JSON.stringify(k)}:${goJson(v[k] ?? null)}`)
      .join(',')}}`;
  }
  if (Array.isArray(v)) return `[${v.map(goJson).join(',')}]`;
  return JSON.stringify(v);
}

/** serialize-pe.go: `f:name`, `k:{"port":80,"protocol":"TCP"}`, `v:"x"`, `i:3`. */
export function serializeElement(e: PathElement): string {
  if ('f' in e) return `f:${e.f}`;
  if ('k' in e) return `k:{${e.k.map(([n, v]) => `${JSON.stringify(n)}:${goJson(v)}`).join(',')}}`;
  if ('v' in e) return `v:${goJson(e.v)}`;
  return `i:${e.i}`;
}

export class FieldsError extends Error {}

export function deserializeElement(s: string): PathElement {
  if (s.length < 2 || s[1] !== ':') throw new FieldsError(`invalid path element: ${s}`);
  const body = s.slice(2);
  switch (s[0]) {
    case 'f':
      return { f: body };
    case 'i': {
      if (!/^-?\d+$/.test(body)) throw new FieldsError(`invalid index: ${body}`);
      return { i: Number(body) };
    }
    case 'v':
    case 'k': {
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        throw new FieldsError(`invalid path element: ${s}`);
      }
      if (s[0] === 'v') return { v: parsed as Json };
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
        throw new FieldsError(`invalid key: ${body}`);
      }
      return keyElement(Object.entries(parsed as Record<string, Json>));
    }
    default:
      throw new FieldsError(`unknown path element type: ${s[0]}`);
  }
}

interface Node {
  readonly pe: PathElement;
  member: boolean;
  children: FieldSet | undefined;
}

/** A set of field paths: a trie keyed by serialized path elements. */
export class FieldSet {
  private readonly nodes = new Map<string, Node>();

  static of(...paths: FieldPath[]): FieldSet {
    const s = new FieldSet();
    for (const p of paths) s.insert(p);
    return s;
  }

  get empty(): boolean {
    for (const n of this.nodes.values()) if (n.member || (n.children && !n.children.empty)) return false;
    return true;
  }

  private node(pe: PathElement, create: true): Node;
  private node(pe: PathElement, create: false): Node | undefined;
  private node(pe: PathElement, create: boolean): Node | undefined {
    const key = serializeElement(pe);
    let n = this.nodes.get(key);
    if (!n && create) {
      n = { pe, member: false, children: undefined };
      this.nodes.set(key, n);
    }
    return n;
  }

  insert(p: FieldPath): void {
    if (p.length === 0) return;
    const [head, ...rest] = p as [PathElement, ...PathElement[]];
    const n = this.node(head, true);
    if (rest.length === 0) n.member = true;
    else {
      n.children ??= new FieldSet();
      n.children.insert(rest);
    }
  }

  has(p: FieldPath): boolean {
    if (p.length === 0) return false;
    const [head, ...rest] = p as [PathElement, ...PathElement[]];
    const n = this.node(head, false);
    if (!n) return false;
    return rest.length === 0 ? n.member : (n.children?.has(rest) ?? false);
  }

  /** The subset under element `pe` (children of that path), if any. */
  child(pe: PathElement): FieldSet | undefined {
    return this.node(pe, false)?.children;
  }

  /** Is `pe` itself a member at this level? */
  hasMember(pe: PathElement): boolean {
    return this.node(pe, false)?.member ?? false;
  }

  /** Any member at or below `pe`. */
  touches(pe: PathElement): boolean {
    const n = this.node(pe, false);
    return !!n && (n.member || (!!n.children && !n.children.empty));
  }

  union(o: FieldSet): FieldSet {
    const out = this.clone();
    out.addAll(o);
    return out;
  }

  private addAll(o: FieldSet): void {
    for (const [k, n] of o.nodes) {
      const mine = this.nodes.get(k);
      if (!mine) {
        this.nodes.set(k, { pe: n.pe, member: n.member, children: n.children?.clone() });
        continue;
      }
      mine.member ||= n.member;
      if (n.children) {
        mine.children ??= new FieldSet();
        mine.children.addAll(n.children);
      }
    }
  }

  clone(): FieldSet {
    const out = new FieldSet();
    for (const [k, n] of this.nodes) out.nodes.set(k, { pe: n.pe, member: n.member, children: n.children?.clone() });
    return out;
  }

  /** Set.Difference: members of this not in o (not recursive: a member of o removes only itself). */
  difference(o: FieldSet): FieldSet {
    const out = new FieldSet();
    for (const [k, n] of this.nodes) {
      const other = o.nodes.get(k);
      const member = n.member && !other?.member;
      const children = n.children && other?.children ? n.children.difference(other.children) : n.children?.clone();
      if (member || (children && !children.empty)) out.nodes.set(k, { pe: n.pe, member, children });
    }
    return out;
  }

  /** Set.RecursiveDifference: a member of o removes its whole subtree from this. */
  recursiveDifference(o: FieldSet): FieldSet {
    const out = new FieldSet();
    for (const [k, n] of this.nodes) {
      const other = o.nodes.get(k);
      if (other?.member) continue;
      const children =
        n.children && other?.children ? n.children.recursiveDifference(other.children) : n.children?.clone();
      if (n.member || (children && !children.empty)) out.nodes.set(k, { pe: n.pe, member: n.member, children });
    }
    return out;
  }

  intersection(o: FieldSet): FieldSet {
    const out = new FieldSet();
    for (const [k, n] of this.nodes) {
      const other = o.nodes.get(k);
      if (!other) continue;
      const member = n.member && other.member;
      const children = n.children && other.children ? n.children.intersection(other.children) : undefined;
      if (member || (children && !children.empty)) out.nodes.set(k, { pe: n.pe, member, children });
    }
    return out;
  }

  private sorted(): Node[] {
    return [...this.nodes.values()].sort((a, b) => compareElements(a.pe, b.pe));
  }

  /** Every member path, in upstream's order (members before deeper paths of the same element). */
  paths(prefix: FieldPath = []): FieldPath[] {
    const out: FieldPath[] = [];
    for (const n of this.sorted()) if (n.member) out.push([...prefix, n.pe]);
    for (const n of this.sorted()) if (n.children) out.push(...n.children.paths([...prefix, n.pe]));
    return out;
  }

  /** The fieldsV1 object (emitContentsV1). */
  toFields(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const n of this.sorted()) {
      const hasChildren = !!n.children && !n.children.empty;
      if (!n.member && !hasChildren) continue;
      if (!hasChildren) out[serializeElement(n.pe)] = {};
      else {
        const inner = n.children?.toFields() ?? {};
        out[serializeElement(n.pe)] = n.member ? { '.': {}, ...inner } : inner;
      }
    }
    return out;
  }

  /** Parses a fieldsV1 object; throws FieldsError on malformed input. */
  static fromFields(v: unknown, depth = 0): FieldSet {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new FieldsError('fieldsV1 must be an object');
    // Objects are at most a few dozen levels deep; a deeper set is hostile input.
    if (depth > 64) throw new FieldsError('fieldsV1 is nested too deeply');
    const s = new FieldSet();
    for (const [k, child] of Object.entries(v)) {
      if (k === '.') continue;
      const pe = deserializeElement(k);
      const n = s.node(pe, true);
      const sub = FieldSet.fromFields(child, depth + 1);
      const self = Object.hasOwn(child as object, '.');
      if (sub.empty || self) n.member = true;
      if (!sub.empty) n.children = sub;
    }
    return s;
  }
}
