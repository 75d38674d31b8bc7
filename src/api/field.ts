// Field paths and field errors, shaped exactly like k8s.io/apimachinery/pkg/util/validation/field.
// The text these produce is what kubectl users read, so ErrorBody and the aggregate follow
// apimachinery byte for byte (reference/service-semantics.md §0).

export type FieldErrorType =
  | 'FieldValueNotFound'
  | 'FieldValueRequired'
  | 'FieldValueDuplicate'
  | 'FieldValueInvalid'
  | 'FieldValueNotSupported'
  | 'FieldValueForbidden'
  | 'FieldValueTooLong'
  | 'FieldValueTooMany'
  | 'InternalError'
  | 'FieldValueTypeInvalid';

const typeText: Record<FieldErrorType, string> = {
  FieldValueNotFound: 'Not found',
  FieldValueRequired: 'Required value',
  FieldValueDuplicate: 'Duplicate value',
  FieldValueInvalid: 'Invalid value',
  FieldValueNotSupported: 'Unsupported value',
  FieldValueForbidden: 'Forbidden',
  FieldValueTooLong: 'Too long',
  FieldValueTooMany: 'Too many',
  InternalError: 'Internal error',
  FieldValueTypeInvalid: 'Invalid value',
};

/** An immutable field path: `spec.ports[0].nodePort`, `metadata.annotations[key]`. */
export class Path {
  private constructor(
    private readonly parent: Path | undefined,
    private readonly segment: string,
    private readonly kind: 'root' | 'child' | 'index' | 'key',
  ) {}

  static root(name: string): Path {
    return new Path(undefined, name, 'root');
  }

  /** Path.of('spec', 'ports') === spec.ports */
  static of(first: string, ...rest: string[]): Path {
    let p = Path.root(first);
    for (const r of rest) p = p.child(r);
    return p;
  }

  child(name: string, ...more: string[]): Path {
    let p = new Path(this, name, 'child');
    for (const m of more) p = p.child(m);
    return p;
  }

  index(i: number): Path {
    return new Path(this, String(i), 'index');
  }

  key(k: string): Path {
    return new Path(this, k, 'key');
  }

  toString(): string {
    switch (this.kind) {
      case 'root':
        return this.segment;
      case 'child':
        return this.parent ? `${this.parent.toString()}.${this.segment}` : this.segment;
      case 'index':
      case 'key':
        return `${this.parent ? this.parent.toString() : ''}[${this.segment}]`;
    }
  }
}

/** Marker for errors whose value must not be printed (apimachinery's OmitValueType). */
export const omitValue: unique symbol = Symbol('omitValue');

export interface FieldError {
  type: FieldErrorType;
  field: string;
  badValue: unknown;
  detail: string;
}

export type ErrorList = FieldError[];

function fe(type: FieldErrorType, path: Path | string, badValue: unknown, detail: string): FieldError {
  return { type, field: typeof path === 'string' ? path : path.toString(), badValue, detail };
}

export const required = (p: Path | string, detail = ''): FieldError => fe('FieldValueRequired', p, '', detail);
export const forbidden = (p: Path | string, detail = ''): FieldError => fe('FieldValueForbidden', p, '', detail);
export const invalid = (p: Path | string, value: unknown, detail = ''): FieldError =>
  fe('FieldValueInvalid', p, value, detail);
export const duplicate = (p: Path | string, value: unknown): FieldError => fe('FieldValueDuplicate', p, value, '');
export const notFound = (p: Path | string, value: unknown): FieldError => fe('FieldValueNotFound', p, value, '');
export const internalError = (p: Path | string, err: Error | string): FieldError =>
  fe('InternalError', p, '', typeof err === 'string' ? err : err.message);
export const tooLong = (p: Path | string, _value: unknown, maxLength: number): FieldError =>
  fe('FieldValueTooLong', p, '', maxLength >= 0 ? `may not be more than ${maxLength} bytes` : 'value is too long');
export const tooMany = (p: Path | string, actual: number, max: number): FieldError =>
  fe('FieldValueTooMany', p, actual, `must have at most ${max} items`);

/** NotSupported lists the valid values sorted and quoted, as apimachinery's callers pass sets.List(). */
export function notSupported(p: Path | string, value: unknown, valid: readonly string[]): FieldError {
  return notSupportedInOrder(p, value, [...valid].sort());
}

/** NotSupported with the valid values in the caller's order (a literal slice upstream). */
export function notSupportedInOrder(p: Path | string, value: unknown, valid: readonly string[]): FieldError {
  const quoted = valid.map((v) => JSON.stringify(v));
  return fe('FieldValueNotSupported', p, value, quoted.length ? `supported values: ${quoted.join(', ')}` : '');
}

/** A bad value Go prints with %#v (e.g. `[]string{"x"}`), given as that text. */
export class GoSyntax {
  constructor(readonly text: string) {}
}

const goEscapes: Record<string, string> = {
  '\x07': '\\a',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\v': '\\v',
  '"': '\\"',
  '\\': '\\\\',
};

/** strconv.Quote: Go's escapes for control characters, \u/\U for other unprintable runes. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const esc = goEscapes[ch];
    if (esc) {
      out += esc;
      continue;
    }
    const cp = ch.codePointAt(0) ?? 0;
    if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else if (/^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u.test(ch)) out += ch;
    else if (cp > 0xffff) out += `\\U${cp.toString(16).padStart(8, '0')}`;
    else out += `\\u${cp.toString(16).padStart(4, '0')}`;
  }
  return `${out}"`;
}

/** Go's %v / %q rendering of a bad value, as in field.Error.ErrorBody. */
export function formatValue(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (typeof value === 'string') return goQuote(value);
  if (value instanceof GoSyntax) return value.text;
  return JSON.stringify(value);
}

export function errorBody(e: FieldError): string {
  let s: string;
  switch (e.type) {
    case 'FieldValueRequired':
    case 'FieldValueForbidden':
    case 'FieldValueTooLong':
    case 'InternalError':
      s = typeText[e.type];
      break;
    default:
      s = e.badValue === omitValue ? typeText[e.type] : `${typeText[e.type]}: ${formatValue(e.badValue)}`;
  }
  if (e.detail.length > 0) s += `: ${e.detail}`;
  return s;
}

export function fieldErrorString(e: FieldError): string {
  return `${e.field}: ${errorBody(e)}`;
}

/** utilerrors.NewAggregate(...).Error(): de-duplicated by message, `[a, b]` when more than one. */
export function aggregateMessage(errs: readonly FieldError[]): string {
  const seen = new Set<string>();
  const msgs: string[] = [];
  for (const e of errs) {
    const m = fieldErrorString(e);
    if (seen.has(m)) continue;
    seen.add(m);
    msgs.push(m);
  }
  if (msgs.length === 1) return msgs[0] ?? '';
  return `[${msgs.join(', ')}]`;
}
