// A request body made to fit its kind's schema, as kube-apiserver's typed Go decoding does for
// built-in kinds: fields the schema does not know are dropped (pruned) — reported first, for
// fieldValidation Strict/Warn — and a value of the wrong JSON type is a 400 decode error, never
// something later code trips over (a label whose value is an object once reached Buffer APIs
// and answered 500). null is accepted anywhere and becomes what Go leaves, the zero value (a
// null field is dropped, a null list or map element the element's zero). Subtrees typed
// "any" are neither descended nor checked; the schema's depth bounds the walk.
import type { ResourceInfo } from '../../api/resources.ts';
import { type ApiError, newBadRequest } from '../../api/status.ts';
import { kindSchema } from './index.ts';
import { type FieldSpec, fieldFor, type MessageSchema, type ScalarType } from './types.ts';

export interface Conformed {
  /** Paths of the fields dropped, in document order (`spec.ports[0].foo`). */
  readonly unknown: string[];
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** encoding/json's name for a value's JSON type. */
function jsonType(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return 'number';
  return typeof v === 'string' ? 'string' : 'object';
}

const goTypes: Record<Exclude<ScalarType, 'any'>, string> = {
  string: 'string',
  int32: 'int32',
  int64: 'int64',
  bool: 'bool',
  float64: 'float64',
  intOrString: 'intstr.IntOrString',
  quantity: 'resource.Quantity',
  time: 'v1.Time',
  microTime: 'v1.MicroTime',
};

class TypeMismatch extends Error {
  constructor(
    readonly path: string,
    readonly got: string,
    readonly want: string,
  ) {
    super(`json: cannot unmarshal ${got} into Go struct field ${path} of type ${want}`);
  }
}

function scalarOk(t: Exclude<ScalarType, 'any'>, v: unknown): boolean {
  switch (t) {
    case 'string':
    case 'time':
    case 'microTime':
      return typeof v === 'string';
    case 'bool':
      return typeof v === 'boolean';
    case 'float64':
      return typeof v === 'number';
    case 'int32':
      return typeof v === 'number' && Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 31;
    case 'int64':
      return typeof v === 'number' && Number.isSafeInteger(v);
    case 'intOrString':
      return typeof v === 'string' || (typeof v === 'number' && Number.isInteger(v));
    case 'quantity':
      return typeof v === 'string' || typeof v === 'number';
  }
}

/**
 * How deep an "any" subtree may nest. Most are typed structs upstream that the tables do not
 * model (no built-in type nests anywhere near this deep, so deeper input is a decode error
 * there); fieldsV1 is free-form but mirrors the object's own shape. Deeper values would reach
 * recursive code (validation, field sets) that overflows the stack at a few thousand levels.
 */
export const maxUnmodelledDepth = 1000;

function checkAny(v: unknown, path: string): void {
  const stack: [unknown, number][] = [[v, 1]];
  while (stack.length) {
    const [x, d] = stack.pop() as [unknown, number];
    if (d > maxUnmodelledDepth)
      throw new TypeMismatch(path, `value nested deeper than ${maxUnmodelledDepth} levels`, 'struct');
    for (const c of Object.values(x as object)) if (typeof c === 'object' && c !== null) stack.push([c, d + 1]);
  }
}

function check(of: ScalarType | MessageSchema | undefined, v: unknown, path: string, out: string[]): void {
  if (v === null || of === undefined) return;
  if (of === 'any') {
    if (typeof v === 'object') checkAny(v, path);
    return;
  }
  if (typeof of === 'object') {
    if (!isPlainObject(v)) throw new TypeMismatch(path, jsonType(v), 'struct');
    walk(of, v, path, out);
    return;
  }
  if (!scalarOk(of, v)) {
    const got = typeof v === 'number' ? `number ${v}` : jsonType(v);
    throw new TypeMismatch(path, got, goTypes[of]);
  }
}

/** What Go leaves in a list or map element decoded from null: the element type's zero value. */
function zeroOf(of: ScalarType | MessageSchema | undefined): unknown {
  if (of === undefined || of === 'any') return null;
  if (typeof of === 'object') return {};
  switch (of) {
    case 'bool':
      return false;
    case 'int32':
    case 'int64':
    case 'float64':
    case 'intOrString':
      return 0;
    case 'quantity':
      return '0';
    default:
      return '';
  }
}

function checkField(spec: FieldSpec, v: unknown, path: string, out: string[]): void {
  if (v === null) return;
  switch (spec.t) {
    case 'any':
      check('any', v, path, out);
      return;
    case 'object':
      check(typeof spec.of === 'object' ? spec.of : 'any', v, path, out);
      return;
    case 'array':
      if (!Array.isArray(v)) throw new TypeMismatch(path, jsonType(v), '[]');
      v.forEach((item, i) => {
        if (item === null) v[i] = zeroOf(spec.of);
        else check(spec.of, item, `${path}[${i}]`, out);
      });
      return;
    case 'map':
      if (!isPlainObject(v)) throw new TypeMismatch(path, jsonType(v), 'map');
      for (const [k, item] of Object.entries(v)) {
        if (item === null) v[k] = zeroOf(spec.of);
        else check(spec.of, item, `${path}[${k}]`, out);
      }
      return;
    default:
      check(spec.t, v, path, out);
  }
}

let pruning = true;

function walk(schema: MessageSchema, obj: Record<string, unknown>, prefix: string, out: string[]): void {
  for (const key of Object.keys(obj)) {
    const path = prefix ? `${prefix}.${key}` : key;
    const spec = fieldFor(schema, key);
    if (!spec) {
      out.push(path);
      if (pruning) delete obj[key];
      continue;
    }
    // A null field is the zero value, which Go's encoder then omits: the same as absent.
    if (obj[key] === null && pruning && spec.t !== 'any') {
      delete obj[key];
      continue;
    }
    checkField(spec, obj[key], path, out);
  }
}

/**
 * Prunes `obj` in place to its kind's schema (unless `prune` is false: apply patches report
 * unknown fields through the field manager) and checks value types. Throws 400 BadRequest with
 * the apiserver's decode text on a type mismatch. Unknown kinds and non-objects pass untouched.
 */
export function conformToSchema(info: ResourceInfo, obj: unknown, opts: { prune?: boolean } = {}): Conformed {
  const entry = kindSchema(info);
  const unknown: string[] = [];
  if (!entry || !isPlainObject(obj)) return { unknown };
  pruning = opts.prune ?? true;
  try {
    walk(entry.schema, obj, '', unknown);
  } catch (e) {
    if (e instanceof TypeMismatch) throw decodeError(info, e);
    throw e;
  } finally {
    pruning = true;
  }
  return { unknown };
}

function decodeError(info: ResourceInfo, e: TypeMismatch): ApiError {
  const text = `json: cannot unmarshal ${e.got} into Go struct field ${info.kind}.${e.path} of type ${e.want}`;
  return newBadRequest(
    `${info.kind} in version ${JSON.stringify(info.version)} cannot be handled as a ${info.kind}: ${text}`,
  );
}
