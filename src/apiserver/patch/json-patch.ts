// JSON patch (RFC 6902), as `kubectl patch --type=json` sends it. Failures are answered as the
// apiserver does: a body that is not a list of operations is 400; an operation that does not apply
// is 422 with apimachinery's generic text (NewGenericServerResponse drops the detail), the precise
// reason kept as the error's cause for logs.
import { newBadRequest, newRejectedRequest } from '../../api/status.ts';
import { isObject, type JsonObject, jsonEqual } from './json-value.ts';

export type JsonPatchOp =
  | { op: 'add' | 'replace' | 'test'; path: string; value: unknown }
  | { op: 'remove'; path: string }
  | { op: 'move' | 'copy'; from: string; path: string };

class OpError extends Error {}

const unprocessable = newRejectedRequest;

/** RFC 6901 §3-4: "/a~1b/c~0d" → ["a/b", "c~d"]. */
export function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new OpError(`invalid JSON pointer ${JSON.stringify(pointer)}`);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

const indexRe = /^(0|[1-9][0-9]*)$/;

function arrayIndex(arr: unknown[], token: string, forInsert: boolean): number {
  if (forInsert && token === '-') return arr.length;
  if (!indexRe.test(token)) throw new OpError(`invalid array index ${JSON.stringify(token)}`);
  const i = Number(token);
  if (i > arr.length || (!forInsert && i === arr.length)) {
    throw new OpError(`Unable to access invalid index: ${i}: invalid index referenced`);
  }
  return i;
}

/** The container holding the pointer's last token, and that token. */
function locate(doc: unknown, tokens: readonly string[], op: string, path: string): [JsonObject | unknown[], string] {
  let cur = doc;
  for (const t of tokens.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[arrayIndex(cur, t, false)];
    else if (isObject(cur) && Object.hasOwn(cur, t)) cur = cur[t];
    else
      throw new OpError(`${op} operation does not apply: doc is missing path: ${JSON.stringify(path)}: missing value`);
  }
  const last = tokens[tokens.length - 1];
  if (last === undefined || !(Array.isArray(cur) || isObject(cur))) {
    throw new OpError(`${op} operation does not apply: doc is missing path: ${JSON.stringify(path)}: missing value`);
  }
  return [cur, last];
}

function get(doc: unknown, path: string, op: string): unknown {
  const tokens = parsePointer(path);
  if (tokens.length === 0) return doc;
  const [c, k] = locate(doc, tokens, op, path);
  if (Array.isArray(c)) return c[arrayIndex(c, k, false)];
  if (!Object.hasOwn(c, k))
    throw new OpError(`${op} operation does not apply: doc is missing key: ${path}: missing value`);
  return c[k];
}

function remove(doc: unknown, path: string, op: string): unknown {
  const tokens = parsePointer(path);
  if (tokens.length === 0) throw new OpError(`${op} operation does not apply: cannot remove the whole document`);
  const [c, k] = locate(doc, tokens, op, path);
  if (Array.isArray(c)) return c.splice(arrayIndex(c, k, false), 1)[0];
  if (!Object.hasOwn(c, k)) throw new OpError(`Unable to remove nonexistent key: ${k}: missing value`);
  const v = c[k];
  delete c[k];
  return v;
}

/** add: returns the new document (a root add replaces it). */
function add(doc: unknown, path: string, value: unknown, op: string): unknown {
  const tokens = parsePointer(path);
  if (tokens.length === 0) return value;
  const [c, k] = locate(doc, tokens, op, path);
  if (Array.isArray(c)) c.splice(arrayIndex(c, k, true), 0, value);
  else c[k] = value;
  return doc;
}

function requireString(op: JsonObject, field: string): string {
  const v = op[field];
  if (typeof v !== 'string') throw new OpError(`operation ${JSON.stringify(op.op)} is missing ${field}`);
  return v;
}

function applyOne(doc: unknown, op: JsonObject): unknown {
  const kind = op.op;
  const path = requireString(op, 'path');
  const needsValue = kind === 'add' || kind === 'replace' || kind === 'test';
  if (needsValue && !Object.hasOwn(op, 'value')) throw new OpError(`${kind} operation is missing value`);
  const value = structuredClone(op.value);
  switch (kind) {
    case 'add':
      return add(doc, path, value, 'add');
    case 'remove':
      remove(doc, path, 'remove');
      return doc;
    case 'replace': {
      if (path === '') return value;
      get(doc, path, 'replace');
      remove(doc, path, 'replace');
      return add(doc, path, value, 'replace');
    }
    case 'move': {
      const from = requireString(op, 'from');
      // RFC 6902 §4.4: a location cannot be moved into one of its children.
      if (path.startsWith(`${from}/`))
        throw new OpError(`move operation does not apply: ${path} is a child of ${from}`);
      if (from === path) return doc;
      const moved = remove(doc, from, 'move');
      return add(doc, path, moved, 'move');
    }
    case 'copy': {
      const from = requireString(op, 'from');
      return add(doc, path, structuredClone(get(doc, from, 'copy')), 'copy');
    }
    case 'test': {
      const actual = get(doc, path, 'test');
      if (!jsonEqual(actual, value)) throw new OpError(`testing value ${path} failed: test failed`);
      return doc;
    }
    default:
      throw new OpError(`Unexpected kind: ${String(kind)}`);
  }
}

/** RFC 6902 over a copy of target; the whole patch applies or none of it does. */
export function applyJsonPatch(target: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) {
    const what = isObject(ops) ? 'object' : ops === null ? 'null' : typeof ops;
    throw newBadRequest(`json: cannot unmarshal ${what} into Go value of type jsonpatch.Patch`);
  }
  let doc = structuredClone(target);
  for (const op of ops) {
    if (!isObject(op)) throw newBadRequest('json: cannot unmarshal into Go value of type jsonpatch.Operation');
    try {
      doc = applyOne(doc, op);
    } catch (e) {
      if (e instanceof OpError) throw unprocessable(e);
      throw e;
    }
  }
  return doc;
}
