// The garbage collector's decisions, pure (kube-controller-manager's garbagecollector, reduced
// to one pass over a snapshot): given every object of the watched kinds, what to delete, which
// ownerReferences to drop and which finalizers to remove.
//   - foregroundDeletion on a deleting owner: delete its dependents (Foreground when they have
//     dependents of their own), then drop the finalizer once no dependent with
//     blockOwnerDeletion is left;
//   - orphan on a deleting owner: remove the owner from its dependents' ownerReferences, then drop
//     the finalizer;
//   - an object all of whose owners are gone is deleted (background cascade); one with some
//     owners gone keeps the others and loses the dangling references.
import type { KubeObject } from '../../api/types.ts';

export const foregroundFinalizer = 'foregroundDeletion';
export const orphanFinalizer = 'orphan';

export interface GcObject {
  readonly resource: string;
  readonly obj: KubeObject;
}

export interface Target {
  readonly resource: string;
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
}

export type GcAction =
  | { readonly kind: 'delete'; readonly target: Target; readonly policy: 'Foreground' | 'Background' }
  | { readonly kind: 'dropOwners'; readonly target: Target; readonly owners: readonly string[] }
  | { readonly kind: 'removeFinalizer'; readonly target: Target; readonly finalizer: string }
  /** Delete `target` only if the owners are confirmed gone by a live read (caches lag). */
  | { readonly kind: 'deleteIfOwnersGone'; readonly target: Target; readonly owners: readonly OwnerRef[] }
  | { readonly kind: 'dropIfOwnersGone'; readonly target: Target; readonly owners: readonly OwnerRef[] };

export interface OwnerRef {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly uid: string;
  readonly blockOwnerDeletion?: boolean;
}

function targetOf(o: GcObject): Target {
  const m = o.obj.metadata;
  return { resource: o.resource, namespace: m.namespace ?? '', name: m.name ?? '', uid: m.uid ?? '' };
}

const refsOf = (o: GcObject): readonly OwnerRef[] => (o.obj.metadata.ownerReferences ?? []) as readonly OwnerRef[];

export function planCollection(objects: readonly GcObject[]): GcAction[] {
  const byUid = new Map<string, GcObject>();
  const dependents = new Map<string, GcObject[]>();
  for (const o of objects) {
    const uid = o.obj.metadata.uid;
    if (uid) byUid.set(uid, o);
    for (const r of refsOf(o)) {
      const list = dependents.get(r.uid);
      if (list) list.push(o);
      else dependents.set(r.uid, [o]);
    }
  }
  const actions: GcAction[] = [];
  for (const o of objects) {
    const m = o.obj.metadata;
    const uid = m.uid ?? '';
    const deps = dependents.get(uid) ?? [];
    if (m.deletionTimestamp) {
      const fins = m.finalizers ?? [];
      if (fins.includes(orphanFinalizer)) {
        for (const d of deps) actions.push({ kind: 'dropOwners', target: targetOf(d), owners: [uid] });
        if (deps.length === 0)
          actions.push({ kind: 'removeFinalizer', target: targetOf(o), finalizer: orphanFinalizer });
      }
      if (fins.includes(foregroundFinalizer)) {
        for (const d of deps) {
          if (d.obj.metadata.deletionTimestamp) continue;
          const nested = (dependents.get(d.obj.metadata.uid ?? '') ?? []).length > 0;
          actions.push({ kind: 'delete', target: targetOf(d), policy: nested ? 'Foreground' : 'Background' });
        }
        const blocking = deps.filter((d) => refsOf(d).some((r) => r.uid === uid && r.blockOwnerDeletion));
        if (blocking.length === 0) {
          actions.push({ kind: 'removeFinalizer', target: targetOf(o), finalizer: foregroundFinalizer });
        }
      }
      continue;
    }
    const refs = refsOf(o);
    if (refs.length === 0) continue;
    const missing = refs.filter((r) => !byUid.has(r.uid));
    if (missing.length === 0) continue;
    if (missing.length === refs.length)
      actions.push({ kind: 'deleteIfOwnersGone', target: targetOf(o), owners: missing });
    else actions.push({ kind: 'dropIfOwnersGone', target: targetOf(o), owners: missing });
  }
  return actions;
}
