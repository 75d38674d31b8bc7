// ControllerRefManager's claim rules (pkg/controller/controller_ref_manager.go), pure: which
// objects an owner controls, which orphans matching its selector it adopts, and which of its own
// it releases because their labels no longer match. Adoption writes a controller reference,
// release removes it; the controller carries both out (with a uid precondition).
import type { OwnerReference } from '../../api/types.ts';
import { controllerOf } from './templates.ts';

interface Claimable {
  metadata?: { uid?: string; deletionTimestamp?: string; ownerReferences?: OwnerReference[] };
}

export interface ClaimPlan<T> {
  /** Controlled and matching: the owner's already. */
  readonly owned: T[];
  /** Orphans that match: the owner's once adopted. */
  readonly adopt: T[];
  /** Controlled but no longer matching. */
  readonly release: T[];
}

export function planClaims<T extends Claimable>(
  owner: { uid: string; deleting: boolean },
  matches: (obj: T) => boolean,
  objects: readonly T[],
): ClaimPlan<T> {
  const plan: ClaimPlan<T> = { owned: [], adopt: [], release: [] };
  for (const obj of objects) {
    const ref = controllerOf(obj);
    if (ref) {
      if (ref.uid !== owner.uid) continue;
      if (matches(obj)) plan.owned.push(obj);
      // An owner being deleted keeps what it has: the garbage collector decides about those.
      else if (!owner.deleting) plan.release.push(obj);
      continue;
    }
    if (owner.deleting || !matches(obj) || obj.metadata?.deletionTimestamp) continue;
    plan.adopt.push(obj);
  }
  return plan;
}

/** The strategic merge patches upstream sends: the uid makes each one a precondition. */
export function adoptPatch(objUid: string, ref: OwnerReference): unknown {
  return { metadata: { ownerReferences: [ref], uid: objUid } };
}

export function releasePatch(objUid: string, ownerUid: string): unknown {
  return { metadata: { ownerReferences: [{ $patch: 'delete', uid: ownerUid }], uid: objUid } };
}
