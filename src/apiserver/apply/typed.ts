// Objects walked with their schema, as structured-merge-diff's typed package walks them: the field
// set an object (or an apply configuration) consists of, the comparison of two objects as
// added/modified/removed sets, the merge of a configuration into a live object, and the pruning
// of fields an applier stopped applying. The types come from the one schema table per kind
// (schema/), so list and map semantics agree with strategic merge patch's.
import type { FieldSpec, MessageSchema } from '../schema/types.ts';
import { fieldFor, isAtomicType, jsonFields, OPEN_KEY } from '../schema/types.ts';
import { type FieldPath, FieldSet, field, type Json, keyElement, type PathElement, pathString } from './fieldpath.ts';

export type TypeNode =
  | { readonly kind: 'scalar' }
  | { readonly kind: 'deduced' }
  | { readonly kind: 'struct'; readonly schema: MessageSchema; readonly atomic: boolean }
  | { readonly kind: 'map'; readonly elem: TypeNode; readonly atomic: boolean }
  | {
      readonly kind: 'list';
      readonly rel: 'atomic' | 'set' | 'map';
      readonly keys: readonly string[];
      readonly elem: TypeNode;
    };

const scalar: TypeNode = { kind: 'scalar' };
const deduced: TypeNode = { kind: 'deduced' };
const nodes = new WeakMap<FieldSpec, TypeNode>();
const roots = new WeakMap<MessageSchema, TypeNode>();

export function rootType(schema: MessageSchema): TypeNode {
  let t = roots.get(schema);
  if (!t) {
    t = { kind: 'struct', schema, atomic: isAtomicType(schema) };
    roots.set(schema, t);
  }
  return t;
}

function elemType(of: FieldSpec['of']): TypeNode {
  if (of === undefined || of === 'any') return deduced;
  if (typeof of === 'string') return scalar;
  return rootType(of);
}

export function typeOf(spec: FieldSpec | undefined): TypeNode {
  if (!spec) return deduced;
  let t = nodes.get(spec);
  if (t) return t;
  switch (spec.t) {
    case 'any':
      t = deduced;
      break;
    case 'object':
      t =
        typeof spec.of === 'object'
          ? { kind: 'struct', schema: spec.of, atomic: spec.atomic === true || isAtomicType(spec.of) }
          : deduced;
      break;
    case 'map':
      t = { kind: 'map', elem: elemType(spec.of), atomic: spec.atomic === true };
      break;
    case 'array': {
      const merges = spec.patch?.split(',').includes('merge') ?? false;
      let rel = spec.list ?? (merges ? (spec.key ? 'map' : 'set') : 'atomic');
      const keys = spec.keys ?? (spec.key ? [spec.key] : []);
      // An associative list needs keys for object items; without them it can only be atomic.
      if (rel === 'map' && keys.length === 0) rel = 'atomic';
      t = { kind: 'list', rel, keys, elem: elemType(spec.of) };
      break;
    }
    default:
      t = scalar;
  }
  nodes.set(spec, t);
  return t;
}

type Obj = Record<string, Json>;

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The type of a map or struct member; structs fall back to deduced for undeclared keys. */
function memberType(t: TypeNode, key: string): { type: TypeNode; declared: boolean } {
  if (t.kind === 'map') return { type: t.elem, declared: false };
  if (t.kind === 'struct') {
    const f = key === OPEN_KEY ? undefined : jsonFields(t.schema).get(key);
    if (f) return { type: typeOf(f), declared: true };
    return { type: typeOf(fieldFor(t.schema, key)), declared: false };
  }
  return { type: deduced, declared: false };
}

/** Is this a granular (non-atomic) map-like node for this value? */
function mapLike(t: TypeNode): boolean {
  return (t.kind === 'struct' || t.kind === 'map' || t.kind === 'deduced') && !('atomic' in t && t.atomic);
}

/** A typed-walk failure, reported with its path the way ValidationErrors print. */
export class TypedError extends Error {}

function goStringList(xs: readonly string[]): string {
  return `[${xs.map((x) => JSON.stringify(x)).join(' ')}]`;
}

/** listItemToPathElement. */
export function itemElement(t: TypeNode & { kind: 'list' }, item: Json, index: number, path: FieldPath): PathElement {
  const fail = (m: string) => new TypedError(`${pathString(path)}: element ${index}: ${m}`);
  if (t.rel === 'set') {
    if (isObj(item)) throw fail("associative list without keys has an element that's a map type");
    if (Array.isArray(item)) throw fail("associative list without keys has an element that's a list type");
    return { v: item };
  }
  if (item === null) throw fail('associative list with keys may not have a null element');
  if (!isObj(item)) throw fail('associative list with keys may not have non-map elements');
  const fields: [string, Json][] = [];
  const elem = t.elem;
  for (const k of t.keys) {
    const v = item[k];
    if (v !== undefined) fields.push([k, v]);
    else if (elem.kind === 'struct') {
      const d = jsonFields(elem.schema).get(k)?.dflt;
      if (d !== undefined) fields.push([k, d]);
    }
  }
  if (fields.length === 0) {
    throw fail(
      `associative list with keys has an element that omits all key fields ${goStringList(t.keys)} (and doesn't have default values for any key fields)`,
    );
  }
  return keyElement(fields);
}

/** One list's items grouped by element, in first-seen order (duplicates kept together). */
function indexItems(t: TypeNode & { kind: 'list' }, list: readonly Json[], path: FieldPath) {
  const order: PathElement[] = [];
  const byKey = new Map<string, { pe: PathElement; items: Json[] }>();
  list.forEach((item, i) => {
    const pe = itemElement(t, item, i, path);
    const k = JSON.stringify(pe);
    const g = byKey.get(k);
    if (g) g.items.push(item);
    else {
      byKey.set(k, { pe, items: [item] });
      order.push(pe);
    }
  });
  return { order, byKey, keyOf: (pe: PathElement) => JSON.stringify(pe) };
}

// ---- toFieldSet ------------------------------------------------------------------------------

export interface ToSetOptions {
  /** An apply configuration may not list one key twice; stored objects may (AllowDuplicates). */
  allowDuplicates?: boolean;
  /** Refuse fields the schema does not declare (built-in kinds: "field not declared in schema"). */
  strict?: boolean;
}

export function toFieldSet(v: Json | undefined, t: TypeNode, opts: ToSetOptions = {}): FieldSet {
  const set = new FieldSet();
  const undeclared: string[] = [];
  walkSet(v, t, [], set, opts.allowDuplicates ?? true, opts.strict ? undeclared : undefined);
  if (undeclared.length === 1) throw new TypedError(`${undeclared[0]}: field not declared in schema`);
  // ValidationErrors.Error() for several.
  if (undeclared.length) {
    throw new TypedError(`errors:\n  ${undeclared.map((p) => `${p}: field not declared in schema`).join('\n  ')}`);
  }
  return set;
}

function walkSet(
  v: Json | undefined,
  t: TypeNode,
  path: FieldPath,
  set: FieldSet,
  allowDup: boolean,
  undeclared: string[] | undefined,
): void {
  if (v === undefined) return;
  if (t.kind === 'scalar') {
    set.insert(path);
    return;
  }
  if (t.kind === 'list' || (t.kind === 'deduced' && Array.isArray(v))) {
    if (t.kind !== 'list' || t.rel === 'atomic' || !Array.isArray(v)) {
      set.insert(path);
      return;
    }
    const { order, byKey, keyOf } = indexItems(t, v, path);
    for (const pe of order) {
      const g = byKey.get(keyOf(pe));
      if (!g) continue;
      if (g.items.length > 1) {
        if (!allowDup) throw new TypedError(`${pathString(path)}: duplicate entries for key ${pathString([pe])}`);
        set.insert([...path, pe]);
        continue;
      }
      walkSet(g.items[0], t.elem, [...path, pe], set, allowDup, undeclared);
      set.insert([...path, pe]);
    }
    return;
  }
  if (!isObj(v) || !mapLike(t)) {
    set.insert(path);
    return;
  }
  for (const [k, child] of Object.entries(v)) {
    if (child === undefined) continue;
    const { type, declared } = memberType(t, k);
    const p = [...path, field(k)];
    if (undeclared && t.kind === 'struct' && !declared && !fieldFor(t.schema, k)) {
      undeclared.push(pathString(p));
      continue;
    }
    walkSet(child, type, p, set, allowDup, undeclared);
    if (child === null || (isObj(child) && Object.keys(child).length === 0) || !declared) set.insert(p);
  }
}

// ---- compare ---------------------------------------------------------------------------------

export interface Comparison {
  readonly added: FieldSet;
  readonly modified: FieldSet;
  readonly removed: FieldSet;
}

export function compare(lhs: Json | undefined, rhs: Json | undefined, t: TypeNode): Comparison {
  const c: Comparison = { added: new FieldSet(), modified: new FieldSet(), removed: new FieldSet() };
  walkCompare(lhs, rhs, t, [], c);
  return c;
}

function jsonEqual(a: Json | undefined, b: Json | undefined): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  const ka = Object.keys(a).filter((k) => (a as Obj)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Obj)[k] !== undefined);
  return ka.length === kb.length && ka.every((k) => jsonEqual((a as Obj)[k], (b as Obj)[k]));
}

function leaf(lhs: Json | undefined, rhs: Json | undefined, path: FieldPath, c: Comparison): void {
  if (lhs === undefined) c.added.insert(path);
  else if (rhs === undefined) c.removed.insert(path);
  else if (!jsonEqual(lhs, rhs)) c.modified.insert(path);
}

const emptyList = (v: Json | undefined) => v === undefined || v === null || (Array.isArray(v) && v.length === 0);
const emptyMap = (v: Json | undefined) => v === undefined || v === null || (isObj(v) && Object.keys(v).length === 0);

function walkCompare(lhs: Json | undefined, rhs: Json | undefined, t: TypeNode, path: FieldPath, c: Comparison): void {
  const present = lhs !== undefined ? lhs : rhs;
  const asList = t.kind === 'list' || (t.kind === 'deduced' && Array.isArray(present));
  const asMap = !asList && mapLike(t) && t.kind !== 'scalar' && (isObj(present) || present === null);
  if (asList) {
    const bothEmpty = emptyList(lhs) && emptyList(rhs);
    const shapeOk =
      (lhs === undefined || lhs === null || Array.isArray(lhs)) &&
      (rhs === undefined || rhs === null || Array.isArray(rhs));
    if (t.kind !== 'list' || t.rel === 'atomic' || bothEmpty || !shapeOk) {
      leaf(lhs, rhs, path, c);
      return;
    }
    compareItems(t, Array.isArray(lhs) ? lhs : [], Array.isArray(rhs) ? rhs : [], path, c);
  } else if (asMap) {
    const shapeOk =
      (lhs === undefined || lhs === null || isObj(lhs)) && (rhs === undefined || rhs === null || isObj(rhs));
    if ((emptyMap(lhs) && emptyMap(rhs)) || !shapeOk) {
      leaf(lhs, rhs, path, c);
      return;
    }
    const l = isObj(lhs) ? lhs : {};
    const r = isObj(rhs) ? rhs : {};
    for (const k of new Set([...Object.keys(l), ...Object.keys(r)])) {
      if (l[k] === undefined && r[k] === undefined) continue;
      walkCompare(l[k], r[k], memberType(t, k).type, [...path, field(k)], c);
    }
  } else {
    leaf(lhs, rhs, path, c);
    return;
  }
  if (lhs === undefined) c.added.insert(path);
  else if (rhs === undefined) c.removed.insert(path);
}

function compareItems(t: TypeNode & { kind: 'list' }, lhs: Json[], rhs: Json[], path: FieldPath, c: Comparison): void {
  const l = indexItems(t, lhs, path);
  const r = indexItems(t, rhs, path);
  const all = [...l.order, ...r.order.filter((pe) => !l.byKey.has(r.keyOf(pe)))];
  for (const pe of all) {
    const k = l.keyOf(pe);
    const li = l.byKey.get(k)?.items ?? [];
    const ri = r.byKey.get(k)?.items ?? [];
    const p = [...path, pe];
    if (li.length <= 1 && ri.length <= 1) walkCompare(li[0], ri[0], t.elem, p, c);
    else if (li.length >= 2 && ri.length >= 2) {
      if (!jsonEqual(li, ri)) c.modified.insert(p);
    } else if (li.length >= 2) {
      if (ri.length) walkCompare(undefined, ri[0], t.elem, p, c);
      c.removed.insert(p);
    } else {
      if (li.length) walkCompare(li[0], undefined, t.elem, p, c);
      c.added.insert(p);
    }
  }
}

// ---- merge -----------------------------------------------------------------------------------

/** typed.Merge with the keep-rhs rule: the configuration wins wherever it says something. */
export function merge(
  lhs: Json | undefined,
  rhs: Json | undefined,
  t: TypeNode,
  path: FieldPath = [],
): Json | undefined {
  const present = lhs !== undefined ? lhs : rhs;
  const asList = t.kind === 'list' || (t.kind === 'deduced' && Array.isArray(present));
  const keepRhs = () => (rhs !== undefined ? rhs : lhs);
  if (asList) {
    const shapeOk =
      (lhs === undefined || lhs === null || Array.isArray(lhs)) &&
      (rhs === undefined || rhs === null || Array.isArray(rhs));
    if (t.kind !== 'list' || t.rel === 'atomic' || (emptyList(lhs) && emptyList(rhs)) || !shapeOk) return keepRhs();
    return mergeItems(t, Array.isArray(lhs) ? lhs : [], Array.isArray(rhs) ? rhs : [], path);
  }
  if (!mapLike(t) || t.kind === 'scalar') return keepRhs();
  const shapeOk =
    (lhs === undefined || lhs === null || isObj(lhs)) && (rhs === undefined || rhs === null || isObj(rhs));
  if (!shapeOk || (emptyMap(lhs) && emptyMap(rhs)) || !(isObj(present) || present === null)) return keepRhs();
  const l = isObj(lhs) ? lhs : {};
  const r = isObj(rhs) ? rhs : {};
  const out: Obj = {};
  for (const k of new Set([...Object.keys(l), ...Object.keys(r)])) {
    const v = merge(l[k], r[k], memberType(t, k).type, [...path, field(k)]);
    if (v !== undefined) out[k] = v;
  }
  return Object.keys(out).length ? out : undefined;
}

/** The list walk of typed/merge.go: shared items follow the configuration's order. */
function mergeItems(t: TypeNode & { kind: 'list' }, lhs: Json[], rhs: Json[], path: FieldPath): Json[] | undefined {
  const r = indexItems(t, rhs, path);
  for (const pe of r.order) {
    const g = r.byKey.get(r.keyOf(pe));
    if (g && g.items.length > 1)
      throw new TypedError(`${pathString(path)}: duplicate entries for key ${pathString([pe])}`);
  }
  const lPEs = lhs.map((item, i) => itemElement(t, item, i, path));
  const lKeys = lPEs.map((pe) => JSON.stringify(pe));
  const lSeen = new Map<string, Json | null>();
  lKeys.forEach((k, i) => {
    lSeen.set(k, lSeen.has(k) ? null : (lhs[i] ?? null));
  });
  const rKeys = r.order.map((pe) => r.keyOf(pe));
  const rSet = new Set(rKeys);
  const shared = rKeys.filter((k) => lSeen.has(k));
  let nextShared: string | undefined = shared.shift();
  const merged = new Set<string>();
  const out: Json[] = [];
  const emit = (k: string, pe: PathElement) => {
    const lv = lSeen.get(k);
    const rv = r.byKey.get(k)?.items[0];
    const m = merge(lv === null ? undefined : lv, rv, t.elem, [...path, pe]);
    if (m !== undefined) out.push(m);
  };
  let li = 0;
  let ri = 0;
  while (li < lKeys.length || ri < rKeys.length) {
    if (li < lKeys.length && ri < rKeys.length) {
      const lk = lKeys[li] ?? '';
      if (lk === rKeys[ri]) {
        merged.add(lk);
        emit(lk, lPEs[li] as PathElement);
        li++;
        ri++;
        nextShared = shared.shift();
        continue;
      }
      if (rSet.has(lk) && nextShared !== undefined && nextShared !== lk) {
        li++;
        continue;
      }
    }
    if (li < lKeys.length) {
      const lk = lKeys[li] ?? '';
      if (!rSet.has(lk)) {
        const lv = lhs[li];
        const m = merge(lv, undefined, t.elem, [...path, lPEs[li] as PathElement]);
        if (m !== undefined) out.push(m);
        li++;
        continue;
      }
      if (merged.has(lk)) li++;
    }
    if (ri < rKeys.length) {
      const rk = rKeys[ri] ?? '';
      merged.add(rk);
      emit(rk, r.order[ri] as PathElement);
      ri++;
      if (nextShared === rk) nextShared = shared.shift();
    }
  }
  return out.length ? out : undefined;
}

// ---- prune -----------------------------------------------------------------------------------

/**
 * Removes what the applier stopped applying: fields in its previous applied set (`last`) that no
 * manager owns any more (`owned`, every manager's set including the new applied one). Named struct
 * fields count as owned when anything under them is, as EnsureNamedFieldsAreMembers makes them;
 * fields never in `last` (set by the server or by nobody) stay.
 */
export function prune(v: Json | undefined, t: TypeNode, last: FieldSet, owned: FieldSet): Json | undefined {
  if (v === undefined) return v;
  if (t.kind === 'list' || (t.kind === 'deduced' && Array.isArray(v))) {
    if (t.kind !== 'list' || t.rel === 'atomic' || !Array.isArray(v)) return v;
    const out: Json[] = [];
    v.forEach((item, i) => {
      const pe = itemElement(t, item, i, []);
      const kept = pruneChild(item, t.elem, pe, false, last, owned);
      if (kept !== undefined) out.push(kept);
    });
    return out.length ? out : undefined;
  }
  if (!isObj(v) || !mapLike(t)) return v;
  const out: Obj = {};
  for (const [k, child] of Object.entries(v)) {
    const { type, declared } = memberType(t, k);
    const kept = pruneChild(child, type, field(k), declared && t.kind === 'struct', last, owned);
    if (kept !== undefined) out[k] = kept;
  }
  return Object.keys(out).length ? out : undefined;
}

function pruneChild(
  v: Json,
  t: TypeNode,
  pe: PathElement,
  named: boolean,
  last: FieldSet,
  owned: FieldSet,
): Json | undefined {
  const lastBelow = last.child(pe);
  const inLast = last.hasMember(pe) || (named && !!lastBelow && !lastBelow.empty);
  const ownedBelow = owned.child(pe);
  const isOwned = owned.hasMember(pe) || (named && !!ownedBelow && !ownedBelow.empty);
  if (inLast && !isOwned) return undefined;
  if (!lastBelow || lastBelow.empty) return v;
  const pruned = prune(v, t, lastBelow, ownedBelow ?? new FieldSet());
  // A container emptied by pruning goes too (RemoveItems drops empty maps and lists).
  return pruned;
}
