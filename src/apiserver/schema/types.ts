// The vocabulary of the schema tables. One table per served kind drives three things — unknown-field
// detection (fieldValidation=Strict/Warn), strategic merge patch and protobuf decoding — so the three
// can never disagree about what a field is.

/** Leaf value types, named after their JSON form. */
export type ScalarType =
  | 'string'
  | 'int32'
  | 'int64'
  | 'bool'
  | 'float64'
  /** intstr.IntOrString: JSON number or string; protobuf {type=1, intVal=2, strVal=3}. */
  | 'intOrString'
  /** resource.Quantity: JSON string; protobuf {string=1}. */
  | 'quantity'
  /** metav1.Time: RFC 3339 seconds in JSON; protobuf {seconds=1, nanos=2}. */
  | 'time'
  /** metav1.MicroTime: RFC 3339 with microseconds in JSON. */
  | 'microTime'
  /** A subtree not modelled: accepted as-is, never checked, not decodable from protobuf. */
  | 'any';

export type PatchStrategy = 'merge' | 'replace' | 'retainKeys' | 'merge,retainKeys';

export interface FieldSpec {
  /** Protobuf field number; absent where the type has no protobuf form (CRDs, "any"). */
  readonly n?: number;
  readonly t: ScalarType | 'object' | 'array' | 'map';
  /** Element type of an array or map value, or the message of an object. */
  readonly of?: ScalarType | MessageSchema;
  /**
   * A Go pointer (or *bool/*int32/...): present on the protobuf wire only when set, so a zero value
   * there is meaningful and kept. Non-pointer fields are always written by gogo-protobuf, so their
   * zero values are dropped to match what a JSON client would have omitted.
   */
  readonly ptr?: true;
  /** patchStrategy struct tag. */
  readonly patch?: PatchStrategy;
  /** patchMergeKey struct tag. */
  readonly key?: string;
  /**
   * x-kubernetes-list-type, where it says more than the patch tags do. Without it a list is a map
   * keyed by the merge key when the patch strategy merges with a key, a set when it merges
   * without one, else atomic (the fallback kube-openapi's schemaconv applies).
   */
  readonly list?: 'atomic' | 'set' | 'map';
  /** x-kubernetes-list-map-keys, when they are more than the merge key (ports: port + protocol). */
  readonly keys?: readonly string[];
  /** +structType=atomic / +mapType=atomic: replaced whole by server-side apply, owned as one field. */
  readonly atomic?: true;
  /** The values an enum field takes (+enum), for OpenAPI and `kubectl explain`. */
  readonly enum?: readonly string[];
  /** The OpenAPI default; server-side apply fills missing list-map key fields with it. */
  readonly dflt?: string | number | boolean;
  /**
   * An embedded Go struct: a field of its own in protobuf (Probe.handler = ProbeHandler) but whose
   * members sit directly in the parent's JSON object.
   */
  readonly inline?: true;
}

/**
 * A message: JSON field name → spec. The key '*' (with t 'any') admits any other key unchecked, for
 * objects such as Volume whose many variants are not modelled.
 */
export interface MessageSchema {
  readonly [jsonName: string]: FieldSpec;
}

export const OPEN_KEY = '*';

/** JSON name → field, with inline members flattened into their parent. */
const jsonViews = new WeakMap<MessageSchema, ReadonlyMap<string, FieldSpec>>();

export function jsonFields(m: MessageSchema): ReadonlyMap<string, FieldSpec> {
  let view = jsonViews.get(m);
  if (view) return view;
  const out = new Map<string, FieldSpec>();
  for (const [name, f] of Object.entries(m)) {
    if (f.inline && typeof f.of === 'object') {
      for (const [k, v] of jsonFields(f.of)) out.set(k, v);
    } else {
      out.set(name, f);
    }
  }
  view = out;
  jsonViews.set(m, view);
  return view;
}

/** The spec for a JSON key, falling back to the open '*' entry. */
export function fieldFor(m: MessageSchema, key: string): FieldSpec | undefined {
  const view = jsonFields(m);
  return view.get(key) ?? (key === OPEN_KEY ? undefined : view.get(OPEN_KEY));
}

export interface ProtoField {
  readonly name: string;
  readonly spec: FieldSpec;
}

/** Protobuf field number → JSON name and spec (inline fields kept as one wire field). */
const protoViews = new WeakMap<MessageSchema, ReadonlyMap<number, ProtoField>>();

export function protoFields(m: MessageSchema): ReadonlyMap<number, ProtoField> {
  let view = protoViews.get(m);
  if (view) return view;
  const out = new Map<number, ProtoField>();
  for (const [name, spec] of Object.entries(m)) {
    if (spec.n !== undefined) out.set(spec.n, { name, spec });
  }
  view = out;
  protoViews.set(m, view);
  return view;
}

/** The message schema an object/array/map field holds, if it is a message. */
export function messageOf(f: FieldSpec | undefined): MessageSchema | undefined {
  return f && typeof f.of === 'object' ? f.of : undefined;
}

/** Types marked +structType=atomic: a field of such a type is applied and owned as a whole. */
const atomicTypes = new WeakSet<MessageSchema>();

export function atomicType<T extends MessageSchema>(m: T): T {
  atomicTypes.add(m);
  return m;
}

export function isAtomicType(m: MessageSchema): boolean {
  return atomicTypes.has(m);
}
