// The working state of one Deployment sync. Upstream's controller calls the API step by step and
// goes on with what each call returned; here the steps run on copies and record their writes as
// actions, in order, for the controller to carry out. A written ReplicaSet's copy carries a
// placeholder resourceVersion naming the action, so a later write derived from it is sent with
// the resourceVersion that action got back, and one derived from a stale copy conflicts, as it
// would upstream.
import type { Deployment, KubeObject, Pod } from '../../api/types.ts';
import type { RS } from './replicasets.ts';

export type D = Deployment & KubeObject;

export type DeploymentAction =
  | { readonly kind: 'createReplicaSet'; readonly rs: RS; readonly token: string; readonly event?: string }
  | { readonly kind: 'updateReplicaSet'; readonly rs: RS; readonly token: string; readonly event?: string }
  | { readonly kind: 'deleteReplicaSet'; readonly name: string; readonly uid: string };

export interface SyncState {
  /** The Deployment as this sync leaves it: annotations and status change, spec does not. */
  readonly d: D;
  /** The Deployment's ReplicaSets as seen at the start, with the new one's annotation sync applied. */
  rsList: RS[];
  /** Pods by the uid of the ReplicaSet that controls them, terminating ones included. */
  readonly podMap: ReadonlyMap<string, readonly Pod[]>;
  readonly now: number;
  readonly actions: DeploymentAction[];
  /** Sync again after this long even without a change (progress deadline checks). */
  requeueAfterMs?: number;
}

export const plannedPrefix = 'planned:';

/** Records a ReplicaSet write and returns the copy later steps continue with. */
export function writeReplicaSet(
  st: SyncState,
  kind: 'createReplicaSet' | 'updateReplicaSet',
  rs: RS,
  event?: string,
): RS {
  const token = `${plannedPrefix}${st.actions.length}`;
  st.actions.push({ kind, rs: structuredClone(rs), token, ...(event ? { event } : {}) });
  const copy = structuredClone(rs);
  copy.metadata = { ...copy.metadata, resourceVersion: token };
  return copy;
}
