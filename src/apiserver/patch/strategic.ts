// Strategic merge patch, the server side of `kubectl apply` (k8s.io/apimachinery
// pkg/util/strategicpatch StrategicMergeMapPatch: MergeParallelList and IgnoreUnmatchedNulls on).
// Patch metadata (patchStrategy / patchMergeKey) comes from the same schema tables that drive
// unknown-field checks and protobuf decoding. Errors take the apiserver's shapes: the mergepatch
// format errors are 400, lists of lists 422, anything else a 500 carrying upstream's text.
import type { ResourceInfo } from '../../api/resources.ts';
import { type ApiError, newBadRequest, newRejectedRequest } from '../../api/status.ts';
import { kindSchema } from '../schema/index.ts';
import { type FieldSpec, fieldFor, type MessageSchema, messageOf, type ScalarType } from '../schema/types.ts';
import { goTypeName, goValue, isObject, type JsonObject } from './json-value.ts';
import { applyMergePatch } from './merge.ts';

const DIRECTIVE = '$patch';
const RETAIN_KEYS = '$retainKeys';
const DELETE_FROM_PRIMITIVE_LIST = '$deleteFromPrimitiveList';
const SET_ELEMENT_ORDER = '$setElementOrder';

type Failure = 'badRequest' | 'invalid' | 'internal';

class SmpError extends Error {
  constructor(
    readonly failure: Failure,
    message: string,
  ) {
    super(message);
  }
}

const badRequest = (m: string) => new SmpError('badRequest', m);
const internal = (m: string) => new SmpError('internal', m);
const errBadRetainKeys = () => badRequest('invalid patch format of retainKeys');
const errNoMergeKey = (m: unknown, key: string) =>
  internal(`map: ${goValue(m)} does not contain declared merge key: ${key}`);
const errBadArgType = (expected: string, actual: unknown) =>
  internal(`expected a ${expected}, but received a ${goTypeName(actual)}`);
const errBadPatchType = (t: unknown, m: unknown) => internal(`unknown patch type: ${goValue(t)} in map: ${goValue(m)}`);

/** What is known about the object being merged: a message's fields, a map's values, or nothing. */
type Ctx = { readonly message: MessageSchema } | { readonly mapOf: ScalarType | MessageSchema } | undefined;

interface FieldMeta {
  readonly strategy: string;
  readonly mergeKey: string;
  /** Context for a map value or for each element of a list. */
  readonly child: Ctx;
}

const noMeta: FieldMeta = { strategy: '', mergeKey: '', child: undefined };

function childCtx(spec: FieldSpec): Ctx {
  if (spec.t === 'map') return spec.of === undefined ? undefined : { mapOf: spec.of };
  const m = messageOf(spec);
  return m ? { message: m } : undefined;
}

/**
 * forkedjson.LookupPatchMetadata. A key the schema does not know gets no metadata (maps merge,
 * lists replace) rather than upstream's 500: fieldValidation reports unknown fields afterwards.
 */
function lookup(ctx: Ctx, key: string): FieldMeta {
  if (!ctx) return noMeta;
  if ('mapOf' in ctx) return typeof ctx.mapOf === 'object' ? { ...noMeta, child: { message: ctx.mapOf } } : noMeta;
  const spec = fieldFor(ctx.message, key);
  if (!spec) return noMeta;
  // retainKeys needs no server-side handling beyond the $retainKeys directive kubectl sends.
  const strategy = (spec.patch ?? '').split(',').find((s) => s !== 'retainKeys') ?? '';
  return { strategy, mergeKey: spec.key ?? '', child: childCtx(spec) };
}

function extractKey(s: string, prefix: string): string {
  const i = s.indexOf('/');
  if (i < 0 || s.slice(0, i) !== prefix) {
    throw badRequest(
      prefix === DELETE_FROM_PRIMITIVE_LIST
        ? 'invalid patch format of primitive list'
        : 'invalid patch format of setElementOrder list',
    );
  }
  return s.slice(i + 1);
}

type Shape = 'map' | 'list' | 'scalar';
const shapeOf = (v: unknown): Shape => (Array.isArray(v) ? 'list' : isObject(v) ? 'map' : 'scalar');

/** A patch value with nothing to merge into: still run it through the engine so directives go. */
function fresh(value: unknown, meta: FieldMeta): unknown {
  if (isObject(value)) return meta.strategy === 'replace' ? structuredClone(value) : mergeMap({}, value, meta.child);
  if (Array.isArray(value) && meta.strategy === 'merge') return mergeSlice([], value, meta, false);
  return structuredClone(value);
}

function applyRetainKeys(original: JsonObject, patch: JsonObject): void {
  if (!Object.hasOwn(patch, RETAIN_KEYS)) return;
  const list = patch[RETAIN_KEYS];
  delete patch[RETAIN_KEYS];
  if (!Array.isArray(list)) throw errBadRetainKeys();
  const keep = new Set<unknown>(list);
  for (const [k, v] of Object.entries(patch)) {
    if (v === null || k.startsWith(DELETE_FROM_PRIMITIVE_LIST) || k.startsWith(SET_ELEMENT_ORDER)) continue;
    if (!keep.has(k)) throw errBadRetainKeys();
  }
  for (const k of Object.keys(original)) if (!keep.has(k)) delete original[k];
}

function mergeMap(original: JsonObject, patch: JsonObject, ctx: Ctx): JsonObject {
  if (Object.hasOwn(patch, DIRECTIVE)) {
    const directive = patch[DIRECTIVE];
    if (directive === 'delete') return {};
    if (directive !== 'replace') throw errBadPatchType(directive, patch);
    const { [DIRECTIVE]: _, ...rest } = patch;
    return mergeMap({}, rest, ctx);
  }
  applyRetainKeys(original, patch);
  mergeSetElementOrder(original, patch, ctx);

  for (const [k, patchValue] of Object.entries(patch)) {
    let key = k;
    let isDeleteList = false;
    if (k.startsWith(DELETE_FROM_PRIMITIVE_LIST)) {
      key = extractKey(k, DELETE_FROM_PRIMITIVE_LIST);
      isDeleteList = true;
    }
    if (patchValue === null) {
      delete original[key];
      continue;
    }
    const meta = lookup(ctx, key);
    if (!Object.hasOwn(original, key)) {
      // Upstream would store the deletion list itself here; deleting from nothing is a no-op.
      if (!isDeleteList) original[key] = fresh(patchValue, meta);
      continue;
    }
    const current = original[key];
    if (shapeOf(current) !== shapeOf(patchValue)) {
      original[key] = fresh(patchValue, meta);
    } else if (isObject(current) && isObject(patchValue)) {
      original[key] =
        meta.strategy === 'replace' ? structuredClone(patchValue) : mergeMap(current, patchValue, meta.child);
    } else if (Array.isArray(current) && Array.isArray(patchValue)) {
      original[key] =
        meta.strategy === 'merge' || isDeleteList
          ? mergeSlice(current, patchValue, meta, isDeleteList)
          : fresh(patchValue, meta);
    } else {
      original[key] = patchValue;
    }
  }
  return original;
}

/** Value compared for ordering and matching: the merge key's value for maps, the item for scalars. */
function keyOf(item: unknown, mergeKey: string, isMap: boolean): unknown {
  if (!isMap) return item;
  return isObject(item) ? item[mergeKey] : undefined;
}

function indexIn(list: readonly unknown[], item: unknown, mergeKey: string, isMap: boolean): number {
  const want = keyOf(item, mergeKey, isMap);
  return list.findIndex((x) => keyOf(x, mergeKey, isMap) === want);
}

function requireMergeKeys(mergeKey: string, ...lists: (readonly unknown[])[]): void {
  for (const list of lists) {
    for (const item of list) {
      if (!isObject(item)) throw errBadArgType('map[string]interface {}', item);
      if (!Object.hasOwn(item, mergeKey)) throw errNoMergeKey(item, mergeKey);
    }
  }
}

const isDeleteItem = (v: unknown): boolean => isObject(v) && v[DIRECTIVE] === 'delete';

/** normalizeSliceOrder: sort by position in `order`; $patch:delete items go last. */
function sortByOrder(toSort: unknown[], order: readonly unknown[], mergeKey: string, isMap: boolean): unknown[] {
  let items = toSort;
  let deletes: unknown[] = [];
  if (isMap) {
    requireMergeKeys(mergeKey, toSort, order);
    items = toSort.filter((v) => !isDeleteItem(v));
    deletes = toSort.filter(isDeleteItem);
  }
  const sorted = [...items].sort((a, b) => {
    const ia = indexIn(order, a, mergeKey, isMap);
    const ib = indexIn(order, b, mergeKey, isMap);
    return ia >= 0 && ib >= 0 ? ia - ib : 0;
  });
  return [...sorted, ...deletes];
}

/**
 * normalizeElementOrder + mergeSortedSlice: patch items keep the patch's (or $setElementOrder's)
 * order, server-only items keep the live order, and the two interleave by live position.
 */
function normalizeOrder(
  patchItems: unknown[],
  serverOnly: unknown[],
  patchOrder: readonly unknown[],
  serverOrder: readonly unknown[],
  mergeKey: string,
  isMap: boolean,
): unknown[] {
  const right = sortByOrder(patchItems, patchOrder, mergeKey, isMap);
  const left = sortByOrder(serverOnly, serverOrder, mergeKey, isMap);
  const out: unknown[] = [];
  let i = 0;
  let j = 0;
  while (i < left.length || j < right.length) {
    if (i >= left.length) out.push(right[j++]);
    else if (j >= right.length) out.push(left[i++]);
    else {
      const li = indexIn(serverOrder, left[i], mergeKey, isMap);
      const ri = indexIn(serverOrder, right[j], mergeKey, isMap);
      if (li >= 0 && ri >= 0 && li < ri) out.push(left[i++]);
      else out.push(right[j++]);
    }
  }
  return out;
}

/** Split `merged` into items present in `by` (by merge key) and server-only items. */
function partition(merged: readonly unknown[], by: readonly unknown[], mergeKey: string): [unknown[], unknown[]] {
  const isMap = mergeKey !== '';
  if (isMap) requireMergeKeys(mergeKey, merged);
  const inBy: unknown[] = [];
  const serverOnly: unknown[] = [];
  for (const v of merged) {
    const want = keyOf(v, mergeKey, isMap);
    const found = by.some((x) => {
      if (isMap && !isObject(x)) throw internal(`value for key ${goValue(x)} is not a map.`);
      return keyOf(x, mergeKey, isMap) === want;
    });
    (found ? inBy : serverOnly).push(v);
  }
  return [inBy, serverOnly];
}

/** sliceElementType: all items one shape, no nested lists. Returns whether they are maps. */
function elementsAreMaps(...lists: (readonly unknown[])[]): boolean | undefined {
  let first: string | undefined;
  for (const list of lists) {
    for (const v of list) {
      if (Array.isArray(v)) throw new SmpError('invalid', 'lists of lists are not supported');
      const t = isObject(v) ? 'map' : v === null ? 'null' : typeof v;
      if (first === undefined) first = t;
      else if (first !== t) {
        throw internal(`list element types are not identical: ${lists.map((l) => goValue(l)).join(' ')}`);
      }
    }
  }
  return first === undefined ? undefined : first === 'map';
}

function dedupe(list: readonly unknown[]): unknown[] {
  const out: unknown[] = [];
  for (const v of list) if (!out.includes(v)) out.push(v);
  return out;
}

function mergeSlice(original: unknown[], patch: unknown[], meta: FieldMeta, isDeleteList: boolean): unknown[] {
  if (original.length === 0 && patch.length === 0) return original;
  const isMap = elementsAreMaps(original, patch) ?? false;
  const { mergeKey } = meta;
  if (!isMap) {
    if (isDeleteList) return original.filter((v) => !patch.includes(v));
    const merged = dedupe([...original, ...patch]);
    const [inPatch, serverOnly] = partition(merged, patch, '');
    return normalizeOrder(inPatch, serverOnly, patch, original, '', false);
  }
  if (mergeKey === '') throw internal('cannot merge lists without merge key for type struct');

  // Special elements: {$patch: delete, key: v} removes matches, {$patch: replace} replaces the list.
  let base = original;
  let items: unknown[] = [];
  let replace = false;
  for (const v of patch) {
    if (!isObject(v) || !Object.hasOwn(v, DIRECTIVE)) {
      items.push(v);
      continue;
    }
    const directive = v[DIRECTIVE];
    if (directive === 'delete') {
      if (!Object.hasOwn(v, mergeKey)) throw errNoMergeKey(v, mergeKey);
      base = base.filter((x) => !(isObject(x) && Object.hasOwn(x, mergeKey) && x[mergeKey] === v[mergeKey]));
    } else if (directive === 'replace') {
      replace = true;
    } else if (directive === 'merge') {
      throw internal('merging lists cannot yet be specified in the patch');
    } else {
      throw errBadPatchType(directive, v);
    }
  }
  if (replace) {
    base = items.map((v) => fresh(v, { ...noMeta, child: meta.child }));
    items = [];
  }

  const merged = [...base];
  for (const v of items) {
    if (!isObject(v)) throw errBadArgType('map[string]interface {}', v);
    if (!Object.hasOwn(v, mergeKey)) throw errNoMergeKey(v, mergeKey);
    const at = merged.findIndex((x) => isObject(x) && Object.hasOwn(x, mergeKey) && x[mergeKey] === v[mergeKey]);
    const current = merged[at];
    if (at >= 0 && isObject(current)) merged[at] = mergeMap(current, v, meta.child);
    else merged.push(mergeMap({}, v, meta.child));
  }
  const [inPatch, serverOnly] = partition(merged, items, mergeKey);
  return normalizeOrder(inPatch, serverOnly, items, base, mergeKey, true);
}

/** validatePatchWithSetOrderList: the patch list's relative order must agree with the order list. */
function checkSetOrder(patchList: readonly unknown[], order: readonly unknown[], mergeKey: string, key: string): void {
  if (patchList.length === 0 || order.length === 0) return;
  const items = mergeKey ? patchList.filter((v) => !isDeleteItem(v)) : patchList;
  let p = 0;
  let s = 0;
  while (p < items.length && s < order.length) {
    const item = items[p];
    if (isObject(item) && Object.hasOwn(item, DIRECTIVE)) {
      p++;
      continue;
    }
    const want = order[s];
    if (mergeKey) {
      if (!isObject(item)) throw errBadArgType('map[string]interface {}', item);
      if (!isObject(want)) throw errBadArgType('map[string]interface {}', want);
      if (!Object.hasOwn(item, mergeKey)) throw errNoMergeKey(item, mergeKey);
      if (!Object.hasOwn(want, mergeKey)) throw errNoMergeKey(want, mergeKey);
      if (item[mergeKey] === want[mergeKey]) p++;
    } else if (item === want) {
      p++;
    }
    s++;
  }
  if (p < items.length) {
    throw internal(
      `The order in patch list:\n${goValue(patchList)}\n doesn't match ${SET_ELEMENT_ORDER}/${key} list:\n${goValue(order)}\n`,
    );
  }
}

/** mergePatchIntoOriginal: merge each list named by $setElementOrder/<key>, then impose that order. */
function mergeSetElementOrder(original: JsonObject, patch: JsonObject, ctx: Ctx): void {
  for (const [directiveKey, order] of Object.entries(patch)) {
    if (!directiveKey.startsWith(SET_ELEMENT_ORDER)) continue;
    delete patch[directiveKey];
    if (!Array.isArray(order)) throw errBadArgType('[]interface {}', order);
    const key = extractKey(directiveKey, SET_ELEMENT_ORDER);
    const foundOriginal = Object.hasOwn(original, key);
    const foundPatch = Object.hasOwn(patch, key);
    if (!foundOriginal && !foundPatch) continue;
    const originalList = original[key];
    const patchList = patch[key];
    if (foundOriginal && !Array.isArray(originalList)) throw errBadArgType('[]interface {}', originalList);
    if (foundPatch && !Array.isArray(patchList)) throw errBadArgType('[]interface {}', patchList);
    const ol = Array.isArray(originalList) ? originalList : [];
    const pl = Array.isArray(patchList) ? patchList : [];
    const meta = lookup(ctx, key);
    checkSetOrder(pl, order, meta.mergeKey, key);

    let merged: unknown[];
    if (!foundPatch) merged = ol;
    else if (!foundOriginal) merged = fresh(pl, meta) as unknown[];
    else merged = meta.strategy === 'merge' ? mergeSlice(ol, pl, meta, false) : (fresh(pl, meta) as unknown[]);

    const isMap = elementsAreMaps(ol, pl);
    delete patch[key];
    // Upstream fails on a directive over two empty lists ("no elements in any of the given slices").
    if (isMap === undefined) {
      original[key] = merged;
      continue;
    }
    const [inOrder, serverOnly] = partition(merged, order, meta.mergeKey);
    original[key] = normalizeOrder(inOrder, serverOnly, order, ol, meta.mergeKey, isMap);
  }
}

function toApiError(e: SmpError): ApiError {
  switch (e.failure) {
    case 'badRequest':
      return newBadRequest(e.message);
    case 'invalid':
      // apimachinery NewGenericServerResponse(422): the detail does not reach the client.
      return newRejectedRequest(e);
    case 'internal':
      // Upstream answers these 500 (its merge code's errors); the patch is what cannot apply,
      // so here they are the client's 400, with upstream's text.
      return newBadRequest(e.message);
  }
}

function goUnmarshalName(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (v === null) return 'null';
  return typeof v === 'number' ? 'number' : typeof v;
}

/**
 * Apply a strategic merge patch to a copy of target. Kinds without compiled-in patch metadata
 * (MetalLB's CRDs) get JSON merge patch semantics, which is what the directives degrade to.
 */
export function applyStrategicMergePatch(
  target: unknown,
  patch: unknown,
  resourceOrKind: ResourceInfo | string,
): JsonObject {
  if (!isObject(patch)) {
    throw newBadRequest(
      `json: cannot unmarshal ${goUnmarshalName(patch)} into Go value of type map[string]interface {}`,
    );
  }
  const entry = kindSchema(resourceOrKind);
  if (entry && !entry.builtin) return applyMergePatch(target, patch);
  const ctx: Ctx = entry ? { message: entry.schema } : undefined;
  const base = isObject(target) ? structuredClone(target) : {};
  try {
    return mergeMap(base, structuredClone(patch), ctx);
  } catch (e) {
    if (e instanceof SmpError) throw toApiError(e);
    throw e;
  }
}
