// Query parameters decoded the way kube-apiserver decodes them into ListOptions, CreateOptions,
// PatchOptions and DeleteOptions (apimachinery runtime/conversion.go and
// apis/meta/v1/validation). What matters to clients:
// - booleans are true unless the first value is "0" or "false" in any case
//   (Convert_Slice_string_To_bool), so Python's watch=True and a bare ?watch both start a watch;
// - integers go through strconv.ParseInt and a bad one is a 400 carrying Go's text;
// - option values (dryRun, fieldValidation, fieldManager, force, propagationPolicy) are validated
//   after decoding and refused as 422 Invalid of the options kind ("PatchOptions.meta.k8s.io").
import {
  type ErrorList,
  forbidden,
  GoSyntax,
  invalid,
  notSupported,
  notSupportedInOrder,
  required,
  tooLong,
} from '../api/field.ts';
import { newBadRequest, newInvalid } from '../api/status.ts';
import type { FieldValidation } from './codec.ts';

export type PropagationPolicy = 'Foreground' | 'Background' | 'Orphan';
export type OptionsKind = 'CreateOptions' | 'UpdateOptions' | 'PatchOptions' | 'DeleteOptions';

/** Convert_Slice_string_To_bool: absent is false, "0"/"false" (any case) false, anything else true. */
export function queryBool(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  if (v === null) return false;
  return !(v === '0' || v.toLowerCase() === 'false');
}

/** Convert_Slice_string_To_Pointer_bool: like queryBool, but absent stays undefined. */
export function queryOptionalBool(q: URLSearchParams, name: string): boolean | undefined {
  return q.has(name) ? queryBool(q, name) : undefined;
}

const int64Min = -(2n ** 63n);
const int64Max = 2n ** 63n - 1n;

/** Go's strconv.ParseInt(s, 10, 64), including its error text. */
export function parseInt64(s: string): number {
  const syntax = () => newBadRequest(`strconv.ParseInt: parsing ${JSON.stringify(s)}: invalid syntax`);
  if (!/^[+-]?\d+$/.test(s)) throw syntax();
  const n = BigInt(s);
  if (n < int64Min || n > int64Max) {
    throw newBadRequest(`strconv.ParseInt: parsing ${JSON.stringify(s)}: value out of range`);
  }
  return Number(n);
}

/** An optional int64 parameter (limit, timeoutSeconds, gracePeriodSeconds). */
export function queryInt(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  return v === null ? undefined : parseInt64(v);
}

function refuse(kind: OptionsKind, errs: ErrorList): void {
  if (errs.length) throw newInvalid({ group: 'meta.k8s.io', kind }, '', errs);
}

function validateDryRun(values: readonly string[]): ErrorList {
  if (values.every((v) => v === 'All')) return [];
  // The bad value is the whole []string, printed with %#v.
  const literal = `[]string{${values.map((v) => JSON.stringify(v)).join(', ')}}`;
  return [notSupported('dryRun', new GoSyntax(literal), ['All'])];
}

const fieldManagerMaxLength = 128;

function validateFieldManager(m: string): ErrorList {
  const errs: ErrorList = [];
  if (Buffer.byteLength(m) > fieldManagerMaxLength) errs.push(tooLong('fieldManager', m, fieldManagerMaxLength));
  let i = 0;
  for (const ch of m) {
    // unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space.
    if (!/^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u.test(ch)) {
      const cp = ch.codePointAt(0) ?? 0;
      const u = `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
      errs.push(invalid('fieldManager', m, `invalid character ${u} (at position ${i})`));
    }
    i += Buffer.byteLength(ch);
  }
  return errs;
}

function validateFieldValidation(v: string): ErrorList {
  return ['', 'Ignore', 'Warn', 'Strict'].includes(v)
    ? []
    : [notSupported('fieldValidation', v, ['', 'Ignore', 'Strict', 'Warn'])];
}

export interface WriteOptions {
  dryRun: boolean;
  fieldManager: string;
  fieldValidation: FieldValidation;
}

export interface PatchOptions extends WriteOptions {
  force: boolean;
}

function writeOptions(q: URLSearchParams): { errs: ErrorList; opts: WriteOptions } {
  const dry = q.getAll('dryRun');
  const fieldManager = q.get('fieldManager') ?? '';
  const fv = q.get('fieldValidation') ?? '';
  const errs = [...validateFieldManager(fieldManager), ...validateDryRun(dry), ...validateFieldValidation(fv)];
  return {
    errs,
    // An empty fieldValidation means the server default, Warn.
    opts: { dryRun: dry.length > 0, fieldManager, fieldValidation: (fv || 'Warn') as FieldValidation },
  };
}

/** CreateOptions / UpdateOptions from the query (ValidateCreateOptions, ValidateUpdateOptions). */
export function createOrUpdateOptions(q: URLSearchParams, kind: 'CreateOptions' | 'UpdateOptions'): WriteOptions {
  const { errs, opts } = writeOptions(q);
  refuse(kind, errs);
  return opts;
}

/** PatchOptions (ValidatePatchOptions): apply needs a fieldManager, other patches refuse force. */
export function patchOptions(q: URLSearchParams, apply: boolean): PatchOptions {
  const force = queryOptionalBool(q, 'force');
  const { errs, opts } = writeOptions(q);
  const extra: ErrorList = [];
  if (apply && opts.fieldManager === '') extra.push(required('fieldManager', 'is required for apply patch'));
  if (!apply && force !== undefined) extra.push(forbidden('force', 'may not be specified for non-apply patch'));
  refuse('PatchOptions', [...extra, ...errs]);
  return { ...opts, force: force === true };
}

export interface DeleteOptions {
  dryRun: boolean;
  gracePeriodSeconds?: number;
  propagationPolicy?: PropagationPolicy;
  orphanDependents?: boolean;
  preconditions: { uid?: string; resourceVersion?: string };
}

/**
 * DeleteOptions come from the body when there is one (kubectl sends one), else from the query,
 * as the delete handler decodes them; then ValidateDeleteOptions.
 */
export function deleteOptions(q: URLSearchParams, body: Record<string, unknown> | undefined): DeleteOptions {
  let dry: string[];
  let grace: unknown;
  let policy: unknown;
  let orphan: unknown;
  let pre: Record<string, unknown> = {};
  if (body) {
    dry = Array.isArray(body.dryRun) ? body.dryRun.map(String) : [];
    grace = body.gracePeriodSeconds ?? undefined;
    policy = body.propagationPolicy ?? undefined;
    orphan = body.orphanDependents ?? undefined;
    if (typeof body.preconditions === 'object' && body.preconditions !== null) {
      pre = body.preconditions as Record<string, unknown>;
    }
  } else {
    dry = q.getAll('dryRun');
    grace = queryInt(q, 'gracePeriodSeconds');
    policy = q.get('propagationPolicy') ?? undefined;
    orphan = queryOptionalBool(q, 'orphanDependents');
  }
  if (grace !== undefined && (typeof grace !== 'number' || !Number.isInteger(grace))) {
    throw newBadRequest(`invalid gracePeriodSeconds: ${String(grace)}`);
  }
  if (orphan !== undefined && typeof orphan !== 'boolean') {
    throw newBadRequest(`invalid orphanDependents: ${String(orphan)}`);
  }
  const errs: ErrorList = [];
  if (orphan !== undefined && policy !== undefined) {
    errs.push(invalid('propagationPolicy', policy, 'orphanDependents and deletionPropagation cannot be both set'));
  }
  if (policy !== undefined && policy !== 'Foreground' && policy !== 'Background' && policy !== 'Orphan') {
    errs.push(notSupportedInOrder('propagationPolicy', policy, ['Foreground', 'Background', 'Orphan', 'nil']));
  }
  errs.push(...validateDryRun(dry));
  refuse('DeleteOptions', errs);
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  return {
    dryRun: dry.length > 0,
    gracePeriodSeconds: grace as number | undefined,
    propagationPolicy: policy as PropagationPolicy | undefined,
    orphanDependents: orphan as boolean | undefined,
    preconditions: { uid: str(pre.uid), resourceVersion: str(pre.resourceVersion) },
  };
}

/** dryRun on subresource writes and deletecollection: only validated. */
export function dryRunOnly(q: URLSearchParams, kind: OptionsKind): boolean {
  const dry = q.getAll('dryRun');
  refuse(kind, validateDryRun(dry));
  return dry.length > 0;
}
