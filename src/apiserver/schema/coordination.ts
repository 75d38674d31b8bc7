// coordination.k8s.io/v1 (k8s.io/api/coordination/v1/generated.proto).
import { ObjectMeta, TypeMeta } from './meta.ts';
import type { MessageSchema } from './types.ts';

export const LeaseSpec = {
  holderIdentity: { n: 1, t: 'string', ptr: true },
  leaseDurationSeconds: { n: 2, t: 'int32', ptr: true },
  acquireTime: { n: 3, t: 'microTime', ptr: true },
  renewTime: { n: 4, t: 'microTime', ptr: true },
  leaseTransitions: { n: 5, t: 'int32', ptr: true },
  strategy: { n: 6, t: 'string', ptr: true },
  preferredHolder: { n: 7, t: 'string', ptr: true },
} as const satisfies MessageSchema;

export const Lease = {
  ...TypeMeta,
  metadata: { n: 1, t: 'object', of: ObjectMeta },
  spec: { n: 2, t: 'object', of: LeaseSpec },
} as const satisfies MessageSchema;
