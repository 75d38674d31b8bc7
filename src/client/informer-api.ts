// The shape of an informer (client-go's SharedIndexInformer, reduced): a reflector that lists,
// watches from the last resourceVersion (with bookmarks), relists only on 410, backs off with
// jitter while the API is unreachable, and keeps serving its cache meanwhile.
//
// Convention 1 of DESIGN.md: add and delete are updates. Handlers get (old, new): add is
// (undefined, obj), delete is (obj, undefined), update is (old, new).
import type { KubeObject } from '../api/types.ts';

export type ChangeHandler<T extends KubeObject = KubeObject> = (old: T | undefined, cur: T | undefined) => void;

export interface InformerOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Initial back-off after a failed list/watch; doubles up to maxBackoffMs, with jitter. */
  backoffMs?: number;
  maxBackoffMs?: number;
}

export interface InformerLike<T extends KubeObject = KubeObject> {
  /** Registers a handler; existing cache entries are replayed to it as adds. */
  on(handler: ChangeHandler<T>): void;
  start(): void;
  stop(): void;
  /** True after the first successful list was delivered to handlers. */
  hasSynced(): boolean;
  waitForSync(): Promise<void>;
  /** Cache reads: namespace "" for cluster-scoped. */
  get(namespace: string, name: string): T | undefined;
  list(): T[];
  /** The last resourceVersion seen (list, event or bookmark). */
  lastResourceVersion(): string;
}
