// The Client every component uses to talk to the API (DESIGN.md: components talk to each other
// only through the Kubernetes API). Two transports implement it: in-process (straight into the
// apiserver's registry, so defaulting, validation and allocation still apply — used by
// `svcnet up`) and HTTP(S) (any API server: svcnet's or a real kube-apiserver).
//
// Errors are ApiErrors carrying Kubernetes Status objects (api/status.ts): use isNotFound,
// isConflict, isAlreadyExists, isGone on them.
import type { KubeObject } from '../api/types.ts';
import type { WatchEvent } from '../store/store.ts';

export type { WatchEvent };

export interface ClientListOptions {
  /** "" or undefined: all namespaces (or a cluster-scoped resource). */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
}

export interface ClientList<T extends KubeObject = KubeObject> {
  items: T[];
  resourceVersion: string;
  continue?: string;
}

export interface ClientWatchOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Start after this revision; "" or "0" first sends ADDED for every existing object. */
  resourceVersion: string;
  allowBookmarks?: boolean;
  /** Server-side timeout; the watch then closes cleanly (onClose without error). */
  timeoutSeconds?: number;
}

export interface ClientWatch {
  stop(): void;
}

export type PatchType = 'merge' | 'strategic' | 'json';

export interface WriteOptions {
  dryRun?: boolean;
}

export interface DeleteOptions extends WriteOptions {
  preconditions?: { uid?: string; resourceVersion?: string };
  /** Pods: 0 deletes at once (what the kubelet sends after the containers stopped). */
  gracePeriodSeconds?: number;
  /** What happens to dependents (ownerReferences): the garbage collector's cascade. */
  propagationPolicy?: 'Foreground' | 'Background' | 'Orphan';
}

/**
 * `resource` is the plural resource name from api/resources.ts ("services", "endpointslices",
 * "ipaddresspools", …); group and version come from that table.
 */
export interface Client {
  /** Throws 404 NotFound when absent. */
  get<T extends KubeObject = KubeObject>(resource: string, namespace: string, name: string): Promise<T>;
  list<T extends KubeObject = KubeObject>(resource: string, opts?: ClientListOptions): Promise<ClientList<T>>;
  create<T extends KubeObject = KubeObject>(resource: string, obj: T, opts?: WriteOptions): Promise<T>;
  /** PUT; namespace and name come from obj.metadata. A stale resourceVersion gives 409 Conflict. */
  update<T extends KubeObject = KubeObject>(resource: string, obj: T, opts?: WriteOptions): Promise<T>;
  /** PUT to the /status subresource. */
  updateStatus<T extends KubeObject = KubeObject>(resource: string, obj: T, opts?: WriteOptions): Promise<T>;
  patch<T extends KubeObject = KubeObject>(
    resource: string,
    namespace: string,
    name: string,
    type: PatchType,
    patch: unknown,
    opts?: WriteOptions & { subresource?: 'status' },
  ): Promise<T>;
  /** Throws 404 NotFound when absent. Returns the object as deleted. */
  delete<T extends KubeObject = KubeObject>(
    resource: string,
    namespace: string,
    name: string,
    opts?: DeleteOptions,
  ): Promise<T>;
  /**
   * Streams events until stop() or until the server ends the watch. onClose(undefined) means a
   * clean end (re-watch from the last seen resourceVersion); onClose(err) with err.code 410
   * means the version expired (relist). ERROR events are turned into onClose(err).
   */
  watch<T extends KubeObject = KubeObject>(
    resource: string,
    opts: ClientWatchOptions,
    onEvent: (e: WatchEvent<T>) => void,
    onClose: (err?: unknown) => void,
  ): ClientWatch;
}
