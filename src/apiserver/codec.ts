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
export type PatchType = 'strategic' | 'merge' | 'json';

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
    default:
      throw new ApiError({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: `the server does not support the patch type ${mediaType(contentType)}; supported: application/strategic-merge-patch+json, application/merge-patch+json, application/json-patch+json`,
        reason: 'UnsupportedMediaType',
        code: 415,
      });
  }
}

export function applyPatch(type: PatchType, info: ResourceInfo, current: KubeObject, raw: Buffer): KubeObject {
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
  const patch = parseJSON(raw);
  return type === 'json' ? applyJsonPatch(current, patch) : applyMergePatch(current, patch);
}
