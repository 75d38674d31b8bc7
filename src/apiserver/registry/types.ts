// Per-kind behaviour plugged into the generic REST registry (registry/generic.ts), modelled on
// k8s.io/apiserver's RESTCreateStrategy / RESTUpdateStrategy. The order on create is the
// apiserver's (reference/service-semantics.md §0.8): prepareForCreate → default → beginCreate
// (normalize + allocate; may throw 422/500 before validation runs) → validateCreate → store
// write → txn.commit(); any failure after beginCreate calls txn.revert().
import type { ErrorList } from '../../api/field.ts';
import type { KubeObject } from '../../api/types.ts';
import type { UserInfo } from '../authz/rbac.ts';

export interface RequestContext {
  /** ?dryRun=All: validate and "allocate" but change nothing. */
  readonly dryRun: boolean;
  /** Namespace from the URL ("" for cluster-scoped). */
  readonly namespace: string;
  /**
   * Who asked, for checks that depend on the writer (RBAC escalation prevention). Absent for the
   * API server's own in-process writes (bootstrap, controllers it runs), which are trusted as
   * kube-apiserver trusts its loopback client in system:masters.
   */
  readonly user?: UserInfo;
  /** The object name in the request's URL ("" for a create), as RequestInfo.Name. */
  readonly requestName?: string;
}

/** Side effects bound to one write, e.g. allocated IPs and ports. */
export interface Txn {
  /** The store write succeeded: make releases final (e.g. free the old node ports). */
  commit(): void;
  /** The write failed or was abandoned: undo allocations done for it. */
  revert(): void;
}

export const noopTxn: Txn = { commit() {}, revert() {} };

export interface ResourceStrategy<T extends KubeObject = KubeObject> {
  /** Reset what a create may not set (status, store-owned metadata). */
  prepareForCreate?(obj: T): void;
  /** Keep what a main-resource update may not change (status), from old. */
  prepareForUpdate?(obj: T, old: T): void;
  /** Keep what a /status update may not change (spec), from old. */
  prepareForStatusUpdate?(obj: T, old: T): void;
  /** Defaulting (SetDefaults_<Kind>), applied to every decoded body. */
  default(obj: T): void;
  /** Allocation and normalization before validation; may throw ApiError. */
  beginCreate?(obj: T, ctx: RequestContext): Txn | Promise<Txn>;
  beginUpdate?(obj: T, old: T, ctx: RequestContext): Txn | Promise<Txn>;
  /** Refuses a delete before it happens (admission); may throw ApiError. */
  beforeDelete?(obj: T, ctx: RequestContext): void | Promise<void>;
  /** Releases after a delete committed (cluster IPs, node ports). */
  afterDelete?(obj: T, ctx: RequestContext): void;
  validateCreate(obj: T): ErrorList;
  validateUpdate(obj: T, old: T): ErrorList;
  validateStatusUpdate?(obj: T, old: T): ErrorList;
}

/** Reads other objects during admission (current state, all namespaces). */
export type ListFn = (resource: string) => Promise<KubeObject[]>;

/**
 * A validating admission check for one resource, like a ValidatingAdmissionWebhook: callers
 * outside the apiserver (e.g. the MetalLB-style IPAM) contribute rules that need other objects.
 */
export interface Admission {
  readonly resource: string;
  validateUpdate?(obj: KubeObject, old: KubeObject, list: ListFn): Promise<ErrorList>;
  validateDelete?(obj: KubeObject, list: ListFn): Promise<ErrorList>;
}
