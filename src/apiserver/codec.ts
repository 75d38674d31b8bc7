// Request body codecs: content types in, plain objects out. JSON and YAML for humans and
// dynamic clients, Kubernetes protobuf for kubectl's typed clients, and the three patch types.
import { parse as parseYaml } from 'yaml';
import type { ResourceInfo } from '../api/resources.ts';
import { ApiError, newBadRequest, newUnsupportedMediaType } from '../api/status.ts';
import type { KubeObject } from '../api/types.ts';
import { applyJsonPatch, applyMergePatch, applyStrategicMergePatch } from './patch/index.ts';
import { decodeProtobufObject } from './protobuf/index.ts';
import { findUnknownFields, strictDecodingError, unknownFieldWarning } from './schema/unknown-fields.ts';

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';
export type PatchType = 'strategic' | 'merge' | 'json' | 'apply';

function mediaType(contentType: string | undefined): string {
  return (contentType ?? 'application/json').split(';')[0]?.trim().toLowerCase() ?? 'application/json';
}

function parseJSON(buf: Buffer): unknown {
  try {
    return JSON.parse(buf.toString('utf8'));
  } catch (e) {
    throw newBadRequest(`error decoding JSON body: ${(e as Error).message}`);
  }
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
      try {
        return parseYaml(buf.toString('utf8'), { version: '1.1' });
      } catch (e) {
        throw newBadRequest(`error decoding YAML body: ${(e as Error).message}`);
      }
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
  let v: unknown;
  try {
    v = parseYaml(raw.toString('utf8'), { version: '1.1', uniqueKeys: true });
  } catch (e) {
    throw newBadRequest(`error decoding YAML: ${(e as Error).message}`);
  }
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
  switch (type) {
    case 'merge':
      return applyMergePatch(current, patch) as KubeObject;
    case 'json':
      return applyJsonPatch(current, patch) as KubeObject;
    case 'strategic':
      // Kinds without a Go struct in kubectl (MetalLB's) get merge-patch semantics, as CRDs do.
      return applyStrategicMergePatch(current, patch, info.kind) as KubeObject;
  }
}

/** fieldValidation: Strict throws 400 with the apiserver's text; Warn returns warning texts. */
export function checkUnknownFields(info: ResourceInfo, body: unknown, mode: FieldValidation): string[] {
  if (mode === 'Ignore') return [];
  const paths = findUnknownFields(info.kind, body);
  if (paths.length === 0) return [];
  if (mode === 'Strict') throw strictDecodingError(info.kind, info.version, paths);
  return paths.map(unknownFieldWarning);
}

/** Patches a subresource object that has no lists (Scale): strategic merge is merge patch there. */
export function applyScalePatch(type: PatchType, current: object, raw: Buffer): unknown {
  if (type === 'apply') throw newBadRequest('apply patches are not supported on the scale subresource');
  const patch = parseJSON(raw);
  return type === 'json' ? applyJsonPatch(current, patch) : applyMergePatch(current, patch);
}
