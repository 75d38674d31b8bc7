// coordination.k8s.io/v1 Lease validation (ValidateLeaseSpec): leader election depends on a
// positive duration.
import { type ErrorList, invalid, Path } from '../field.ts';
import type { Lease } from '../types.ts';
import { isNegativeErrorMsg } from './common.ts';
import { nameIsDNSSubdomain, validateObjectMeta, validateObjectMetaUpdate } from './names.ts';

export function validateLease(lease: Lease): ErrorList {
  const errs = validateObjectMeta(
    lease.metadata,
    { namespaced: true, nameFn: nameIsDNSSubdomain },
    Path.root('metadata'),
  );
  const spec = lease.spec ?? {};
  if (spec.leaseDurationSeconds !== undefined && spec.leaseDurationSeconds <= 0)
    errs.push(invalid(Path.of('spec', 'leaseDurationSeconds'), spec.leaseDurationSeconds, 'must be greater than 0'));
  if (spec.leaseTransitions !== undefined && spec.leaseTransitions < 0)
    errs.push(invalid(Path.of('spec', 'leaseTransitions'), spec.leaseTransitions, isNegativeErrorMsg));
  return errs;
}

export function validateLeaseUpdate(lease: Lease, old: Lease): ErrorList {
  return [...validateObjectMetaUpdate(lease.metadata, old.metadata, Path.root('metadata')), ...validateLease(lease)];
}
