// The one Store interface (DESIGN.md convention 9). Implementations: memory (tests) and sqlite
// (the embedded default); one conformance suite (store/conformance.ts) runs against both.
//
// Semantics, shared by all implementations:
// - A single global revision counter increases by one for every write (create, update, delete)
//   and becomes the written object's metadata.resourceVersion, like etcd's mod_revision.
// - create sets uid, creationTimestamp, generation=1; update bumps generation when anything other
//   than metadata and status changed; metadata fields the store owns cannot be forged by callers.
// - update(key, tryUpdate) is the only optimistic write primitive: it reads, calls tryUpdate,
//   and writes if nothing changed meanwhile, retrying tryUpdate on conflict.
// - Objects with finalizers are not removed by delete: deletionTimestamp is set instead, and the
//   update that empties the finalizer list removes the object.
// - Watches start at a resourceVersion; revisions older than the kept window give 410 Expired.
import type { KubeObject } from '../api/types.ts';

/** Identifies one object: resource (plural, "services"), namespace ("" when cluster-scoped), name. */
export interface ObjectKey {
  readonly resource: string;
  readonly namespace: string;
  readonly name: string;
}

export interface ListOptions {
  /** Only this namespace; undefined or "" lists across namespaces. */
  namespace?: string;
  /** Kubernetes label selector text, e.g. "app=web,tier in (a,b),!legacy". */
  labelSelector?: string;
  /** Kubernetes field selector text, e.g. "metadata.name=x,spec.nodeName!=n1". */
  fieldSelector?: string;
  /** Page size; 0 or undefined means no limit. */
  limit?: number;
  /** Continue token from a previous page. Expired tokens give 410 Expired. */
  continue?: string;
  /**
   * "Not older than" (Kubernetes' default resourceVersionMatch): the current state is served
   * when the store has reached this revision; a revision it never reached (the store went back)
   * throws 504 "Too large resource version". "" and "0" accept any state.
   */
  resourceVersion?: string;
}

export interface ListResult<T extends KubeObject = KubeObject> {
  items: T[];
  /** The store revision the list reflects (a consistent snapshot). */
  resourceVersion: string;
  /** Present when more items remain. */
  continue?: string;
  remainingItemCount?: number;
}

export interface Preconditions {
  uid?: string;
  resourceVersion?: string;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface WatchEvent<T extends KubeObject = KubeObject> {
  type: WatchEventType;
  /** For BOOKMARK: only apiVersion/kind/metadata.resourceVersion. For ERROR: a Status object. */
  object: T;
}

export interface WatchOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /**
   * Start point. "" or undefined: start now, first sending an ADDED event per existing object
   * (what Kubernetes does for watch without resourceVersion). "0": same. "N": every change
   * after revision N. N older than the kept window: throws 410 Expired. N beyond the
   * current revision (the store went back): throws 504 "Too large resource version".
   */
  resourceVersion?: string;
  /** Send BOOKMARK events carrying the current revision periodically and on demand. */
  allowBookmarks?: boolean;
}

export interface Watch {
  /** Stops delivery; idempotent. */
  stop(): void;
}

export type WatchHandler<T extends KubeObject = KubeObject> = (event: WatchEvent<T>) => void;

/**
 * tryUpdate receives the current object (a private copy) and returns the desired object, or
 * throws to abort (the error propagates unchanged). Returning the input unchanged is a no-op
 * write that does not bump the revision.
 */
export type TryUpdate<T extends KubeObject = KubeObject> = (current: T) => T | Promise<T>;

export interface UpdateOptions {
  preconditions?: Preconditions;
  /** Do everything but write (dryRun=All). */
  dryRun?: boolean;
}

export interface DeleteOptions {
  preconditions?: Preconditions;
  dryRun?: boolean;
  /**
   * Graceful deletion (pods): > 0 marks the object deleting — deletionTimestamp = now + grace,
   * deletionGracePeriodSeconds = grace — and keeps it, like the apiserver's BeforeDelete; a later
   * delete with 0 (what the kubelet sends once containers stopped) removes it.
   */
  gracePeriodSeconds?: number;
}

export interface CreateOptions {
  dryRun?: boolean;
}

export interface DeleteResult<T extends KubeObject = KubeObject> {
  /** The object as removed, or as updated with deletionTimestamp when finalizers keep it. */
  object: T;
  /** True when the object is gone from the store; false when finalizers keep it. */
  deleted: boolean;
}

export interface Store {
  get<T extends KubeObject = KubeObject>(key: ObjectKey): Promise<T | undefined>;
  list<T extends KubeObject = KubeObject>(resource: string, opts?: ListOptions): Promise<ListResult<T>>;
  /** Throws 409 AlreadyExists if the key is taken. Returns the stored object. */
  create<T extends KubeObject = KubeObject>(key: ObjectKey, obj: T, opts?: CreateOptions): Promise<T>;
  /** Throws 404 NotFound if absent; 409 Conflict when preconditions fail. */
  update<T extends KubeObject = KubeObject>(key: ObjectKey, tryUpdate: TryUpdate<T>, opts?: UpdateOptions): Promise<T>;
  /** Throws 404 NotFound if absent; 409 Conflict when preconditions fail. */
  delete<T extends KubeObject = KubeObject>(key: ObjectKey, opts?: DeleteOptions): Promise<DeleteResult<T>>;
  /** Registers a watch; throws 410 Expired when resourceVersion is too old. */
  watch<T extends KubeObject = KubeObject>(resource: string, opts: WatchOptions, handler: WatchHandler<T>): Watch;
  /** The current global revision. */
  currentRevision(): number;
  close(): Promise<void>;
}
