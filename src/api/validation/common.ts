// Small checks shared by the per-kind validators (pkg/apis/core/validation helpers). Each
// returns field errors in apimachinery's shape; the texts are those of the Go helpers.
import { type ErrorList, invalid, notSupported, type Path, required } from '../field.ts';
import { isDNS1123Label, isDNS1123Subdomain, isQualifiedName } from './names.ts';

/** core.Protocol values accepted on container, endpoint and endpoint slice ports. */
export const supportedPortProtocols = ['SCTP', 'TCP', 'UDP'] as const;

export const isNegativeErrorMsg = 'must be greater than or equal to 0';

export function validateDNS1123Label(value: string, path: Path): ErrorList {
  return isDNS1123Label(value).map((msg) => invalid(path, value, msg));
}

export function validateDNS1123Subdomain(value: string, path: Path): ErrorList {
  return isDNS1123Subdomain(value).map((msg) => invalid(path, value, msg));
}

export function validateQualifiedName(value: string, path: Path): ErrorList {
  return isQualifiedName(value).map((msg) => invalid(path, value, msg));
}

/** ValidateNonnegativeField. */
export function validateNonnegative(value: number, path: Path): ErrorList {
  return value < 0 ? [invalid(path, value, isNegativeErrorMsg)] : [];
}

/** "" is Required; anything else must be one of `valid` (NotSupported lists them sorted). */
export function validateEnum(value: string | undefined, valid: readonly string[], path: Path): ErrorList {
  if (!value) return [required(path, '')];
  return valid.includes(value) ? [] : [notSupported(path, value, valid)];
}

export function validateProtocol(protocol: string | undefined, path: Path): ErrorList {
  return validateEnum(protocol, supportedPortProtocols, path);
}

/** Structural equality for JSON-shaped values, key order ignored (apiequality.Semantic.DeepEqual for our use). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  return canonicalJSON(a) === canonicalJSON(b);
}

function canonicalJSON(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJSON).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJSON(x)}`).join(',')}}`;
  }
  return JSON.stringify(v ?? null);
}

/** ValidateImmutableField for structured values (selectors, lists). */
export function validateImmutable(newVal: unknown, oldVal: unknown, path: Path): ErrorList {
  return jsonEqual(newVal, oldVal) ? [] : [invalid(path, newVal ?? null, 'field is immutable')];
}
