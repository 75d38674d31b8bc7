// fieldValidation=Strict/Warn: fields the schema does not know, reported as the apiserver does
// (sigs.k8s.io/json strict decoding paths such as `spec.ports[0].foo`). Subtrees typed "any" are
// not checked — the schema says they are not modelled, not that they are free-form upstream.
import type { ResourceInfo } from '../../api/resources.ts';
import { type ApiError, newBadRequest } from '../../api/status.ts';
import { kindSchema } from './index.ts';
import { fieldFor, type MessageSchema } from './types.ts';

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function walk(schema: MessageSchema, obj: Record<string, unknown>, prefix: string, out: string[]): void {
  for (const [key, value] of Object.entries(obj)) {
    const path = prefix ? `${prefix}.${key}` : key;
    const spec = fieldFor(schema, key);
    if (!spec) {
      out.push(path);
      continue;
    }
    // Type mismatches are decode errors, reported elsewhere; only shape is checked here.
    const of = spec.of;
    if (spec.t === 'any' || typeof of !== 'object') continue;
    if (spec.t === 'object' && isPlainObject(value)) {
      walk(of, value, path, out);
    } else if (spec.t === 'array' && Array.isArray(value)) {
      value.forEach((item, i) => {
        if (isPlainObject(item)) walk(of, item, `${path}[${i}]`, out);
      });
    } else if (spec.t === 'map' && isPlainObject(value)) {
      for (const [k, item] of Object.entries(value)) {
        if (isPlainObject(item)) walk(of, item, `${path}[${k}]`, out);
      }
    }
  }
}

/**
 * Paths of fields not in the kind's schema, in document order. Unknown kinds and non-object bodies
 * yield nothing: those are rejected by the decoder with better messages.
 */
export function findUnknownFields(resourceOrKind: ResourceInfo | string, obj: unknown): string[] {
  const entry = kindSchema(resourceOrKind);
  if (!entry || !isPlainObject(obj)) return [];
  const out: string[] = [];
  walk(entry.schema, obj, '', out);
  return out;
}

/** One Warn-mode warning, also the item text of the Strict error. */
export function unknownFieldWarning(path: string): string {
  return `unknown field ${JSON.stringify(path)}`;
}

/** One duplicate-key warning (sigs.k8s.io/json reports `duplicate field "x"`). */
export function duplicateFieldWarning(path: string): string {
  return `duplicate field ${JSON.stringify(path)}`;
}

/**
 * 400 BadRequest as the apiserver's create/update handlers answer a Strict violation
 * (transformDecodeError): `Service in version "v1" cannot be handled as a Service: strict decoding
 * error: unknown field "spec.foo", unknown field "spec.bar"`.
 */
export function strictDecodingError(kind: string, version: string, paths: readonly string[]): ApiError {
  const items = paths.map(unknownFieldWarning).join(', ');
  return newBadRequest(
    `${kind} in version ${JSON.stringify(version)} cannot be handled as a ${kind}: strict decoding error: ${items}`,
  );
}
