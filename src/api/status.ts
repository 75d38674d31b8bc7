// Kubernetes `Status` error objects (k8s.io/apimachinery/pkg/api/errors). Every error that
// crosses the API is an ApiError carrying the exact Status a real apiserver would send.
import { aggregateMessage, errorBody, type FieldError } from './field.ts';

export type StatusReason =
  | 'Invalid'
  | 'AlreadyExists'
  | 'Conflict'
  | 'NotFound'
  | 'Gone'
  | 'Expired'
  | 'InternalError'
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'MethodNotAllowed'
  | 'NotAcceptable'
  | 'UnsupportedMediaType'
  | 'RequestEntityTooLarge'
  | 'Timeout'
  | 'ServiceUnavailable';

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never> | { resourceVersion?: string };
  status: 'Failure' | 'Success';
  message: string;
  reason: StatusReason | '';
  details?: StatusDetails;
  code: number;
}

/** Stable codes for predicates; `reason` doubles as the code, as in apimachinery. */
export class ApiError extends Error {
  readonly status: Status;
  constructor(status: Status, options?: { cause?: unknown }) {
    super(status.message, options);
    this.name = 'ApiError';
    this.status = status;
  }
  get code(): number {
    return this.status.code;
  }
  get reason(): StatusReason | '' {
    return this.status.reason;
  }
}

function status(code: number, reason: StatusReason, message: string, details?: StatusDetails): Status {
  const s: Status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
  if (details) s.details = details;
  return s;
}

/** A group/kind pair as printed by schema.GroupKind.String(): "Service", "EndpointSlice.discovery.k8s.io". */
export interface GroupKind {
  group: string;
  kind: string;
}

export function groupKindString(gk: GroupKind): string {
  return gk.group ? `${gk.kind}.${gk.group}` : gk.kind;
}

/** A group/resource pair as printed by schema.GroupResource.String(): "services", "endpointslices.discovery.k8s.io". */
export interface GroupResource {
  group: string;
  resource: string;
}

export function groupResourceString(gr: GroupResource): string {
  return gr.group ? `${gr.resource}.${gr.group}` : gr.resource;
}

function detailsFor(gr: GroupResource, name: string): StatusDetails {
  const d: StatusDetails = { name, kind: gr.resource };
  if (gr.group) d.group = gr.group;
  return d;
}

/** 422 Invalid with one cause per field error (causes are not de-duplicated; the message is). */
export function newInvalid(gk: GroupKind, name: string, errs: readonly FieldError[]): ApiError {
  const causes: StatusCause[] = errs.map((e) => ({ reason: e.type, message: errorBody(e), field: e.field }));
  const details: StatusDetails = { name, kind: gk.kind, causes };
  if (gk.group) details.group = gk.group;
  const base = `${groupKindString(gk)} ${JSON.stringify(name)} is invalid`;
  const message = errs.length ? `${base}: ${aggregateMessage(errs)}` : base;
  return new ApiError(status(422, 'Invalid', message, details));
}

export function newAlreadyExists(gr: GroupResource, name: string): ApiError {
  return new ApiError(
    status(
      409,
      'AlreadyExists',
      `${groupResourceString(gr)} ${JSON.stringify(name)} already exists`,
      detailsFor(gr, name),
    ),
  );
}

export const conflictModified =
  'the object has been modified; please apply your changes to the latest version and try again';

export function newConflict(gr: GroupResource, name: string, why: string = conflictModified): ApiError {
  return new ApiError(
    status(
      409,
      'Conflict',
      `Operation cannot be fulfilled on ${groupResourceString(gr)} ${JSON.stringify(name)}: ${why}`,
      detailsFor(gr, name),
    ),
  );
}

export function newNotFound(gr: GroupResource, name: string): ApiError {
  return new ApiError(
    status(404, 'NotFound', `${groupResourceString(gr)} ${JSON.stringify(name)} not found`, detailsFor(gr, name)),
  );
}

/** 410 Gone as a watch or list sees it when the requested resourceVersion was compacted. */
export function newResourceExpired(message: string): ApiError {
  return new ApiError(status(410, 'Expired', message));
}

export function newGone(message: string): ApiError {
  return new ApiError(status(410, 'Gone', message));
}

export function newTooOldResourceVersion(requested: number | string, oldest: number | string): ApiError {
  return newResourceExpired(`too old resource version: ${requested} (${oldest})`);
}

/** The cause apimachinery attaches to a read at a resourceVersion the server has not reached. */
export const resourceVersionTooLargeCause = 'ResourceVersionTooLarge';

/**
 * NewTooLargeResourceVersionError: a list or watch asked for a revision newer than the store's
 * (the store went back: a memory store restarted, a database restored). 504 Timeout with a
 * retry hint, as kube-apiserver's watch cache answers once it gave up waiting.
 */
export function newTooLargeResourceVersion(requested: number, current: number): ApiError {
  return new ApiError(
    status(504, 'Timeout', `Timeout: Too large resource version: ${requested}, current: ${current}`, {
      causes: [{ reason: resourceVersionTooLargeCause, message: 'Too large resource version' }],
      retryAfterSeconds: 1,
    }),
  );
}

export function newInternalError(err: Error | string): ApiError {
  const text = typeof err === 'string' ? err : err.message;
  return new ApiError(
    status(500, 'InternalError', `Internal error occurred: ${text}`, { causes: [{ message: text }] }),
    typeof err === 'string' ? undefined : { cause: err },
  );
}

/**
 * apimachinery's NewGenericServerResponse(422) as patch handlers use it: the detail stays in
 * `cause` (for logs) and does not reach the client.
 */
export function newRejectedRequest(cause: Error): ApiError {
  const s = status(422, 'Invalid', 'the server rejected our request due to an error in our request', {});
  return new ApiError(s, { cause });
}

/** NewApplyConflict: server-side apply refused, one cause per conflicting field. */
export function newApplyConflict(causes: StatusCause[], message: string): ApiError {
  return new ApiError(status(409, 'Conflict', message, { causes }));
}

/** What ErrorToAPIStatus makes of an error that is not a Status: 500, reason unset, the error's text. */
export function newUnknownError(message: string): ApiError {
  return new ApiError({
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason: '',
    code: 500,
  });
}

export function newBadRequest(message: string): ApiError {
  return new ApiError(status(400, 'BadRequest', message));
}

export function newServiceUnavailable(message: string): ApiError {
  return new ApiError(status(503, 'ServiceUnavailable', message));
}

export function newUnauthorized(message = 'Unauthorized'): ApiError {
  return new ApiError(status(401, 'Unauthorized', message));
}

/** apierrors.NewForbidden: the resource and name are left out of the message when empty. */
export function newForbidden(gr: GroupResource, name: string, why: string): ApiError {
  let msg: string;
  if (!gr.group && !gr.resource) msg = `forbidden: ${why}`;
  else if (!name) msg = `${groupResourceString(gr)} is forbidden: ${why}`;
  else msg = `${groupResourceString(gr)} ${JSON.stringify(name)} is forbidden: ${why}`;
  return new ApiError(status(403, 'Forbidden', msg, detailsFor(gr, name)));
}

export function newMethodNotSupported(gr: GroupResource, action: string): ApiError {
  return new ApiError(
    status(405, 'MethodNotAllowed', `${action} is not supported on resources of kind ${JSON.stringify(gr.resource)}`, {
      kind: gr.resource,
      ...(gr.group ? { group: gr.group } : {}),
    }),
  );
}

export function newNotAcceptable(message: string): ApiError {
  return new ApiError(status(406, 'NotAcceptable', message));
}

export function newUnsupportedMediaType(contentType: string): ApiError {
  return new ApiError(
    status(
      415,
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf (got ${contentType})`,
    ),
  );
}

export const isApiError = (e: unknown): e is ApiError => e instanceof ApiError;
const hasReason = (e: unknown, r: StatusReason): boolean => e instanceof ApiError && e.status.reason === r;
export const isNotFound = (e: unknown): boolean => hasReason(e, 'NotFound');
export const isAlreadyExists = (e: unknown): boolean => hasReason(e, 'AlreadyExists');
export const isConflict = (e: unknown): boolean => hasReason(e, 'Conflict');
export const isInvalid = (e: unknown): boolean => hasReason(e, 'Invalid');
export const isGone = (e: unknown): boolean => hasReason(e, 'Gone') || hasReason(e, 'Expired');
export const isInternalError = (e: unknown): boolean => hasReason(e, 'InternalError');
export const isBadRequest = (e: unknown): boolean => hasReason(e, 'BadRequest');
export const isTooLargeResourceVersion = (e: unknown): boolean =>
  hasReason(e, 'Timeout') &&
  (e as ApiError).status.details?.causes?.some((c) => c.reason === resourceVersionTooLargeCause) === true;

/** Any thrown value as a Status (unknown errors become 500 InternalError). */
export function toStatus(e: unknown): Status {
  if (e instanceof ApiError) return e.status;
  return newInternalError(e instanceof Error ? e : String(e)).status;
}
