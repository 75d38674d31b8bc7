// Test-only protobuf encoder, written from the wire-format spec
// (https://protobuf.dev/programming-guides/encoding/), to build bodies the decoder must read back.
// Production code only decodes: the apiserver answers protobuf clients in JSON.
import type { FieldSpec, MessageSchema, ScalarType } from '../schema/types.ts';

export function varint(v: number | bigint): Buffer {
  let n = BigInt.asUintN(64, BigInt(v));
  const out: number[] = [];
  do {
    const b = Number(n & 0x7fn);
    n >>= 7n;
    out.push(n > 0n ? b | 0x80 : b);
  } while (n > 0n);
  return Buffer.from(out);
}

export const tag = (field: number, wire: number): Buffer => varint((field << 3) | wire);
export const bytesField = (field: number, payload: Buffer): Buffer =>
  Buffer.concat([tag(field, 2), varint(payload.length), payload]);
export const stringField = (field: number, s: string): Buffer => bytesField(field, Buffer.from(s, 'utf8'));
export const varintField = (field: number, v: number | bigint | boolean): Buffer =>
  Buffer.concat([tag(field, 0), varint(typeof v === 'boolean' ? (v ? 1 : 0) : v)]);

function encodeTime(iso: string): Buffer {
  const ms = Date.parse(iso);
  const seconds = Math.floor(ms / 1000);
  const frac = /\.(\d+)Z$/.exec(iso)?.[1] ?? '';
  const nanos = frac ? Number(frac.padEnd(9, '0')) : 0;
  return Buffer.concat([varintField(1, seconds), ...(nanos ? [varintField(2, nanos)] : [])]);
}

function encodeValue(field: number, of: ScalarType | MessageSchema, v: unknown): Buffer {
  if (typeof of === 'object') return bytesField(field, encodeMessage(of, v as Record<string, unknown>));
  switch (of) {
    case 'string':
      return stringField(field, String(v));
    case 'int32':
    case 'int64':
      return varintField(field, Number(v));
    case 'bool':
      return varintField(field, Boolean(v));
    case 'float64': {
      const b = Buffer.alloc(8);
      b.writeDoubleLE(Number(v));
      return Buffer.concat([tag(field, 1), b]);
    }
    case 'intOrString':
      return bytesField(
        field,
        typeof v === 'string'
          ? Buffer.concat([varintField(1, 1), varintField(2, 0), stringField(3, v)])
          : Buffer.concat([varintField(1, 0), varintField(2, Number(v)), stringField(3, '')]),
      );
    case 'quantity':
      return bytesField(field, stringField(1, String(v)));
    case 'time':
    case 'microTime':
      return bytesField(field, encodeTime(String(v)));
    case 'any':
      throw new Error('cannot encode an unmodelled field');
  }
}

function encodeField(spec: FieldSpec, v: unknown): Buffer[] {
  const n = spec.n;
  const of = spec.of ?? (spec.t === 'object' || spec.t === 'array' || spec.t === 'map' ? undefined : spec.t);
  if (n === undefined || of === undefined) return [];
  if (spec.t === 'array') return (v as unknown[]).map((item) => encodeValue(n, of, item));
  if (spec.t === 'map') {
    return Object.entries(v as Record<string, unknown>).map(([k, item]) =>
      bytesField(n, Buffer.concat([stringField(1, k), encodeValue(2, of, item)])),
    );
  }
  return [encodeValue(n, of, v)];
}

/** Encodes the JSON object's fields in schema order; inline members go into their wrapper field. */
export function encodeMessage(schema: MessageSchema, obj: Record<string, unknown>): Buffer {
  const parts: Buffer[] = [];
  for (const [name, spec] of Object.entries(schema)) {
    if (spec.inline && typeof spec.of === 'object' && spec.n !== undefined) {
      const members = Object.fromEntries(Object.keys(spec.of).flatMap((k) => (k in obj ? [[k, obj[k]]] : [])));
      if (Object.keys(members).length) parts.push(bytesField(spec.n, encodeMessage(spec.of, members)));
      continue;
    }
    if (name in obj) parts.push(...encodeField(spec, obj[name]));
  }
  return Buffer.concat(parts);
}

/** The k8s\0 + runtime.Unknown envelope around an encoded object. */
export function envelope(apiVersion: string, kind: string, raw: Buffer, extra: Buffer[] = []): Buffer {
  const typeMeta = Buffer.concat([stringField(1, apiVersion), stringField(2, kind)]);
  return Buffer.concat([Buffer.from('k8s\0', 'latin1'), bytesField(1, typeMeta), bytesField(2, raw), ...extra]);
}
