// Request body codecs: content types in, plain objects out. JSON and YAML for humans and
// dynamic clients, Kubernetes protobuf for kubectl's typed clients, and the three patch types.
import { parse as parseYaml } from 'yaml';
import type { ResourceInfo } from '../api/resources.ts';
import { ApiError, newBadRequest, newUnsupportedMediaType } from '../api/status.ts';
import type { KubeObject } from '../api/types.ts';
import { applyJsonPatch, applyMergePatch, applyStrategicMergePatch } from './patch/index.ts';
import { decodeProtobufObject } from './protobuf/index.ts';
import { conformToSchema } from './schema/conform.ts';
import { strictDecodingError, unknownFieldWarning } from './schema/unknown-fields.ts';

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';
export type PatchType = 'strategic' | 'merge' | 'json' | 'apply';

function mediaType(contentType: string | undefined): string {
  return (contentType ?? 'application/json').split(';')[0]?.trim().toLowerCase() ?? 'application/json';
}

/** sigs.k8s.io/json's nesting limit: Kubernetes decodes up to this depth and refuses deeper. */
export const maxNestingDepth = 10_000;

function tooDeep(): ApiError {
  return newBadRequest(`error decoding body: exceeded max depth of ${maxNestingDepth}`);
}

/** Whether JSON text nests deeper than the limit (brackets outside strings; the text may be invalid). */
export function jsonTooDeep(buf: Buffer, max = maxNestingDepth): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i];
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/** Whether a decoded value nests deeper than the limit (iterative: deep input must not overflow us). */
export function valueTooDeep(v: unknown, max = maxNestingDepth): boolean {
  const stack: [unknown, number][] = [[v, 1]];
  while (stack.length) {
    const [x, d] = stack.pop() as [unknown, number];
    if (typeof x !== 'object' || x === null) continue;
    if (d > max) return true;
    for (const child of Object.values(x)) if (typeof child === 'object' && child !== null) stack.push([child, d + 1]);
  }
  return false;
}

function parseJSON(buf: Buffer): unknown {
  if (jsonTooDeep(buf)) throw tooDeep();
  try {
    return JSON.parse(buf.toString('utf8'));
  } catch (e) {
    throw newBadRequest(`error decoding JSON body: ${(e as Error).message}`);
  }
}

function parseYAML(buf: Buffer, what: string, opts: { uniqueKeys?: boolean } = {}): unknown {
  let v: unknown;
  try {
    // logLevel error: a client's stray directive is its problem, not a process warning of ours.
    v = parseYaml(buf.toString('utf8'), { version: '1.1', logLevel: 'error', ...opts });
  } catch (e) {
    // The parser's own recursion limit (RangeError) included: too deep is bad input too.
    throw newBadRequest(`error decoding ${what}: ${(e as Error).message}`);
  }
  if (valueTooDeep(v)) throw tooDeep();
  return v;
}

export function decodeBody(contentType: string | undefined, buf: Buffer): unknown {
  const mt = mediaType(contentType);
  switch (mt) {
    case 'application/json':
    case '*/*':
      return parseJSON(buf);
    case 'application/yaml':
    case 'application/x-yaml':
    case 'text/yaml':
      return parseYAML(buf, 'YAML body');
    case 'application/vnd.kubernetes.protobuf':
      return decodeProtobufObject(buf);
    default:
      throw newUnsupportedMediaType(mt);
  }
}

export function patchTypeOf(contentType: string | undefined): PatchType {
  switch (mediaType(contentType)) {
    case 'application/strategic-merge-patch+json':
      return 'strategic';
    case 'application/merge-patch+json':
      return 'merge';
    case 'application/json-patch+json':
      return 'json';
    case 'application/apply-patch+yaml':
      return 'apply';
    default:
      throw new ApiError({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        // negotiation.NewUnsupportedMediaTypeError with the installer's list for built-in kinds.
        message:
          'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json',
        reason: 'UnsupportedMediaType',
        code: 415,
      });
  }
}

/** The body of an apply patch: YAML (JSON is YAML too), which must be one object. */
export function decodeApplyPatch(raw: Buffer): Record<string, unknown> {
  const v = parseYAML(raw, 'YAML', { uniqueKeys: true });
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    const what = v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
    throw newBadRequest(
      `error decoding YAML: json: cannot unmarshal ${what} into Go value of type map[string]interface {}`,
    );
  }
  return v as Record<string, unknown>;
}

export function applyPatch(
  type: Exclude<PatchType, 'apply'>,
  info: ResourceInfo,
  current: KubeObject,
  raw: Buffer,
): KubeObject {
  const patch = parseJSON(raw);
  try {
    switch (type) {
      case 'merge':
        return applyMergePatch(current, patch) as KubeObject;
      case 'json':
        return applyJsonPatch(current, patch) as KubeObject;
      case 'strategic':
        // Kinds without a Go struct in kubectl (MetalLB's) get merge-patch semantics, as CRDs do.
        return applyStrategicMergePatch(current, patch, info.kind) as KubeObject;
    }
  } catch (e) {
    // A patch that cannot apply to this object is the client's error, whatever the merge code
    // threw ("list element types are not identical" and the like): 400, never 500.
    if (e instanceof ApiError) throw e;
    throw newBadRequest(e instanceof Error ? e.message : String(e));
  }
}

/**
 * Fits a decoded body to its kind's schema in place (schema/conform.ts: unknown fields pruned,
 * wrong value types a 400). fieldValidation: Strict throws 400 with the apiserver's text for
 * unknown fields; Warn returns warning texts; Ignore drops them silently.
 */
export function checkUnknownFields(info: ResourceInfo, body: unknown, mode: FieldValidation): string[] {
  const paths = conformToSchema(info, body).unknown;
  if (mode === 'Ignore' || paths.length === 0) return [];
  if (mode === 'Strict') throw strictDecodingError(info.kind, info.version, paths);
  return paths.map(unknownFieldWarning);
}

/** Patches a subresource object that has no lists (Scale): strategic merge is merge patch there. */
export function applyScalePatch(type: PatchType, current: object, raw: Buffer): unknown {
  if (type === 'apply') throw newBadRequest('apply patches are not supported on the scale subresource');
  const patch = parseJSON(raw);
  return type === 'json' ? applyJsonPatch(current, patch) : applyMergePatch(current, patch);
}
