// JSON merge patch (RFC 7386), as `kubectl patch --type=merge` and `kubectl label` send it.
import { newBadRequest } from '../../api/status.ts';
import { isObject, type JsonObject } from './json-value.ts';

/** RFC 7386 §2 MergePatch, verbatim: pure, never mutates its arguments. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  const out: JsonObject = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

/**
 * A merge patch against a stored object. The apiserver (evanphx/json-patch MergePatch) refuses a
 * patch that is not a JSON object with "Invalid JSON Patch"; an object in, an object out.
 */
export function applyMergePatch(target: unknown, patch: unknown): JsonObject {
  if (!isObject(patch)) throw newBadRequest('Invalid JSON Patch');
  // Cloned so later defaulting of the result cannot reach back into the stored object.
  return mergePatch(structuredClone(target), patch) as JsonObject;
}
