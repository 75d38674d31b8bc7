// meta.k8s.io/v1 shared types (k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto).
import { atomicType, type MessageSchema } from './types.ts';

export const OwnerReference = atomicType({
  apiVersion: { n: 5, t: 'string' },
  kind: { n: 1, t: 'string' },
  name: { n: 3, t: 'string' },
  uid: { n: 4, t: 'string' },
  controller: { n: 6, t: 'bool', ptr: true },
  blockOwnerDeletion: { n: 7, t: 'bool', ptr: true },
} as const satisfies MessageSchema);

export const ManagedFieldsEntry = {
  manager: { n: 1, t: 'string' },
  operation: { n: 2, t: 'string' },
  apiVersion: { n: 3, t: 'string' },
  time: { n: 4, t: 'time', ptr: true },
  fieldsType: { n: 6, t: 'string' },
  // FieldsV1 is raw JSON on the protobuf wire; clients never send managedFields on create.
  fieldsV1: { t: 'any' },
  subresource: { n: 8, t: 'string' },
} as const satisfies MessageSchema;

export const ObjectMeta = {
  name: { n: 1, t: 'string' },
  generateName: { n: 2, t: 'string' },
  namespace: { n: 3, t: 'string' },
  selfLink: { n: 4, t: 'string' },
  uid: { n: 5, t: 'string' },
  resourceVersion: { n: 6, t: 'string' },
  generation: { n: 7, t: 'int64' },
  creationTimestamp: { n: 8, t: 'time' },
  deletionTimestamp: { n: 9, t: 'time', ptr: true },
  deletionGracePeriodSeconds: { n: 10, t: 'int64', ptr: true },
  labels: { n: 11, t: 'map', of: 'string' },
  annotations: { n: 12, t: 'map', of: 'string' },
  ownerReferences: { n: 13, t: 'array', of: OwnerReference, patch: 'merge', key: 'uid' },
  finalizers: { n: 14, t: 'array', of: 'string', patch: 'merge' },
  managedFields: { n: 17, t: 'array', of: ManagedFieldsEntry },
} as const satisfies MessageSchema;

export const ListMeta = {
  selfLink: { n: 1, t: 'string' },
  resourceVersion: { n: 2, t: 'string' },
  continue: { n: 3, t: 'string' },
  remainingItemCount: { n: 4, t: 'int64', ptr: true },
} as const satisfies MessageSchema;

export const LabelSelectorRequirement = {
  key: { n: 1, t: 'string' },
  operator: { n: 2, t: 'string' },
  values: { n: 3, t: 'array', of: 'string' },
} as const satisfies MessageSchema;

export const LabelSelector = atomicType({
  matchLabels: { n: 1, t: 'map', of: 'string' },
  matchExpressions: { n: 2, t: 'array', of: LabelSelectorRequirement },
} as const satisfies MessageSchema);

/** metav1.Condition, used by Service status. */
export const Condition = {
  type: { n: 1, t: 'string' },
  status: { n: 2, t: 'string' },
  observedGeneration: { n: 3, t: 'int64' },
  lastTransitionTime: { n: 4, t: 'time' },
  reason: { n: 5, t: 'string' },
  message: { n: 6, t: 'string' },
} as const satisfies MessageSchema;

/** apiVersion and kind: in JSON on every object; in protobuf they travel in the runtime.Unknown envelope. */
export const TypeMeta = {
  apiVersion: { t: 'string' },
  kind: { t: 'string' },
} as const satisfies MessageSchema;
