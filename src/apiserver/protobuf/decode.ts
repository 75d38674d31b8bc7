// Kubernetes protobuf request bodies → the JSON shape a JSON client would have sent, driven by the
// schema tables' field numbers. Envelope (k8s.io/apimachinery/pkg/runtime/serializer/protobuf):
// the 4-byte magic "k8s\0", then runtime.Unknown {typeMeta=1 {apiVersion=1, kind=2}, raw=2,
// contentEncoding=3, contentType=4}, raw being the kind's own message.
//
// gogo-protobuf writes every non-pointer field, zero or not, so zero values of non-pointer fields are
// dropped (a JSON client would have omitted them via omitempty); pointer fields keep their zeros.
import { parseApiVersion } from '../../api/resources.ts';
import { newBadRequest } from '../../api/status.ts';
import type { KubeObject } from '../../api/types.ts';
import { kindSchema } from '../schema/index.ts';
import { type FieldSpec, type MessageSchema, protoFields, type ScalarType } from '../schema/types.ts';
import { Reader, WireError, WireType } from './wire.ts';

export const PROTOBUF_MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

type Json = { [key: string]: unknown };

function expectWire(actual: number, expected: number, name: string): void {
  if (actual !== expected) throw new WireError(`proto: wrong wireType = ${actual} for field ${name}`);
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** metav1.Time / MicroTime {seconds=1, nanos=2} → RFC 3339 in UTC; undefined for the zero time. */
function decodeTime(r: Reader, micro: boolean): string | undefined {
  let seconds = 0;
  let nanos = 0;
  while (!r.done) {
    const { field, wire } = r.tag();
    if (field === 1 && wire === WireType.varint) seconds = r.int();
    else if (field === 2 && wire === WireType.varint) nanos = r.int();
    else r.skip(wire);
  }
  // An empty message is Go's zero time.Time, which JSON renders as null (omitted here).
  if (seconds === 0 && nanos === 0) return undefined;
  const d = new Date(seconds * 1000);
  if (Number.isNaN(d.getTime())) throw new WireError(`time out of range: ${seconds}s`);
  const base =
    `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)}` +
    `T${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}`;
  // metav1.Time marshals whole seconds only; MicroTime keeps six fractional digits.
  return micro ? `${base}.${pad(Math.floor(nanos / 1000), 6)}Z` : `${base}Z`;
}

/** intstr.IntOrString {type=1 (0 int, 1 string), intVal=2, strVal=3}. */
function decodeIntOrString(r: Reader): number | string {
  let type = 0;
  let intVal = 0;
  let strVal = '';
  while (!r.done) {
    const { field, wire } = r.tag();
    if (field === 1 && wire === WireType.varint) type = r.int();
    else if (field === 2 && wire === WireType.varint) intVal = r.int();
    else if (field === 3 && wire === WireType.bytes) strVal = r.string();
    else r.skip(wire);
  }
  return type === 1 ? strVal : intVal;
}

/** resource.Quantity {string=1}. */
function decodeQuantity(r: Reader): string {
  let s = '';
  while (!r.done) {
    const { field, wire } = r.tag();
    if (field === 1 && wire === WireType.bytes) s = r.string();
    else r.skip(wire);
  }
  return s;
}

/** One value of a scalar or message type; undefined means "zero time" (absent). */
function decodeValue(r: Reader, wire: number, of: ScalarType | MessageSchema, name: string): unknown {
  if (typeof of === 'object') {
    expectWire(wire, WireType.bytes, name);
    return decodeMessage(r.sub(), of);
  }
  switch (of) {
    case 'string':
      expectWire(wire, WireType.bytes, name);
      return r.string();
    case 'int32':
    case 'int64':
      expectWire(wire, WireType.varint, name);
      return r.int();
    case 'bool':
      expectWire(wire, WireType.varint, name);
      return r.varint() !== 0n;
    case 'float64':
      expectWire(wire, WireType.fixed64, name);
      return r.double();
    case 'intOrString':
      expectWire(wire, WireType.bytes, name);
      return decodeIntOrString(r.sub());
    case 'quantity':
      expectWire(wire, WireType.bytes, name);
      return decodeQuantity(r.sub());
    case 'time':
    case 'microTime':
      expectWire(wire, WireType.bytes, name);
      return decodeTime(r.sub(), of === 'microTime');
    case 'any':
      r.skip(wire);
      return undefined;
  }
}

const packable = new Set<unknown>(['int32', 'int64', 'bool']);

function isZero(v: unknown): boolean {
  if (v === undefined || v === '' || v === 0 || v === false) return true;
  if (Array.isArray(v)) return v.length === 0;
  return typeof v === 'object' && v !== null && Object.keys(v).length === 0;
}

function decodeField(r: Reader, wire: number, name: string, spec: FieldSpec, out: Json): void {
  const of = spec.of ?? (spec.t === 'object' || spec.t === 'array' || spec.t === 'map' ? undefined : spec.t);
  if (of === undefined) {
    r.skip(wire);
    return;
  }
  if (spec.t === 'array') {
    const list = Array.isArray(out[name]) ? (out[name] as unknown[]) : [];
    out[name] = list;
    if (wire === WireType.bytes && packable.has(of)) {
      // Packed repeated scalars (proto2 allows either form on the wire).
      const p = r.sub();
      while (!p.done) list.push(decodeValue(p, WireType.varint, of, name));
    } else {
      list.push(decodeValue(r, wire, of, name));
    }
    return;
  }
  if (spec.t === 'map') {
    expectWire(wire, WireType.bytes, name);
    const entry = r.sub();
    let key = '';
    let value: unknown;
    while (!entry.done) {
      const t = entry.tag();
      if (t.field === 1) {
        expectWire(t.wire, WireType.bytes, `${name}.key`);
        key = entry.string();
      } else if (t.field === 2) {
        value = decodeValue(entry, t.wire, of, `${name}.value`);
      } else {
        entry.skip(t.wire);
      }
    }
    const map = (typeof out[name] === 'object' && out[name] !== null ? out[name] : {}) as Json;
    // A map value keeps its zero ({"a": ""} is a real label); proto omits empty values on the wire.
    map[key] = value ?? (typeof of === 'object' ? {} : '');
    out[name] = map;
    return;
  }
  const value = decodeValue(r, wire, of, name);
  if (spec.inline && typeof value === 'object' && value !== null) {
    Object.assign(out, value);
    return;
  }
  if (!spec.ptr && isZero(value)) return;
  if (value !== undefined) out[name] = value;
}

export function decodeMessage(r: Reader, schema: MessageSchema): Json {
  const fields = protoFields(schema);
  const out: Json = {};
  while (!r.done) {
    const { field, wire } = r.tag();
    if (wire === WireType.startGroup || wire === WireType.endGroup) {
      throw new WireError(`proto: illegal wireType ${wire}`);
    }
    const f = fields.get(field);
    if (f) decodeField(r, wire, f.name, f.spec, out);
    else r.skip(wire);
  }
  return out;
}

interface Envelope {
  apiVersion: string;
  kind: string;
  raw: Uint8Array;
  contentEncoding: string;
}

function decodeEnvelope(body: Uint8Array): Envelope {
  const r = new Reader(body, PROTOBUF_MAGIC.length);
  const env: Envelope = { apiVersion: '', kind: '', raw: new Uint8Array(), contentEncoding: '' };
  while (!r.done) {
    const { field, wire } = r.tag();
    if (field === 1 && wire === WireType.bytes) {
      const tm = r.sub();
      while (!tm.done) {
        const t = tm.tag();
        if (t.field === 1 && t.wire === WireType.bytes) env.apiVersion = tm.string();
        else if (t.field === 2 && t.wire === WireType.bytes) env.kind = tm.string();
        else tm.skip(t.wire);
      }
    } else if (field === 2 && wire === WireType.bytes) {
      const { start, end } = r.bytes();
      env.raw = body.subarray(start, end);
    } else if (field === 3 && wire === WireType.bytes) {
      env.contentEncoding = r.string();
    } else {
      r.skip(wire);
    }
  }
  return env;
}

/** The kind the URL names, for the apiserver's "cannot be handled as a" wording. */
export interface DecodeInto {
  kind: string;
  version: string;
}

function fail(message: string, into: DecodeInto | undefined): never {
  throw newBadRequest(
    into
      ? `${into.kind} in version ${JSON.stringify(into.version)} cannot be handled as a ${into.kind}: ${message}`
      : message,
  );
}

/** Decode a `application/vnd.kubernetes.protobuf` body; malformed input is a 400 BadRequest. */
export function decodeProtobufObject(body: Uint8Array, into?: DecodeInto): KubeObject {
  if (body.length === 0) fail('empty data', into);
  if (body.length < PROTOBUF_MAGIC.length || !PROTOBUF_MAGIC.equals(body.subarray(0, PROTOBUF_MAGIC.length))) {
    fail(`provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]`, into);
  }
  try {
    const env = decodeEnvelope(body);
    if (env.contentEncoding !== '') fail(`unsupported content encoding ${JSON.stringify(env.contentEncoding)}`, into);
    const { group } = parseApiVersion(env.apiVersion);
    const entry = kindSchema(`${group}/${env.kind}`);
    if (!entry?.builtin) {
      fail(`no kind ${JSON.stringify(env.kind)} is registered for version ${JSON.stringify(env.apiVersion)}`, into);
    }
    const { metadata, ...rest } = decodeMessage(new Reader(env.raw), entry.schema);
    // metadata is kept even when empty: every stored object has one.
    const meta = typeof metadata === 'object' && metadata !== null ? metadata : {};
    return { apiVersion: env.apiVersion, kind: env.kind, metadata: meta, ...rest } as KubeObject;
  } catch (e) {
    if (e instanceof WireError) fail(e.message, into);
    throw e;
  }
}
