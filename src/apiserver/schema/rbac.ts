// rbac.authorization.k8s.io/v1 (k8s.io/api/rbac/v1/generated.proto), ServiceAccount from core/v1,
// and the request-only kinds of authorization.k8s.io/v1 and authentication.k8s.io/v1 that RBAC
// clients send (`kubectl auth can-i`, `kubectl create token`). No RBAC list carries a patch
// strategy: rules and subjects are atomic lists, replaced whole by a strategic merge patch.
import { LocalObjectReference, ObjectReference } from './core.ts';
import { LabelSelector, ObjectMeta, TypeMeta } from './meta.ts';
import type { MessageSchema } from './types.ts';

export const PolicyRule = {
  verbs: { n: 1, t: 'array', of: 'string' },
  apiGroups: { n: 2, t: 'array', of: 'string' },
  resources: { n: 3, t: 'array', of: 'string' },
  resourceNames: { n: 4, t: 'array', of: 'string' },
  nonResourceURLs: { n: 5, t: 'array', of: 'string' },
} as const satisfies MessageSchema;

export const AggregationRule = {
  clusterRoleSelectors: { n: 1, t: 'array', of: LabelSelector },
} as const satisfies MessageSchema;

export const Role = {
  ...TypeMeta,
  metadata: { n: 1, t: 'object', of: ObjectMeta },
  rules: { n: 2, t: 'array', of: PolicyRule },
} as const satisfies MessageSchema;

export const ClusterRole = {
  ...Role,
  aggregationRule: { n: 3, t: 'object', of: AggregationRule, ptr: true },
} as const satisfies MessageSchema;

export const Subject = {
  kind: { n: 1, t: 'string' },
  apiGroup: { n: 2, t: 'string' },
  name: { n: 3, t: 'string' },
  namespace: { n: 4, t: 'string' },
} as const satisfies MessageSchema;

export const RoleRef = {
  apiGroup: { n: 1, t: 'string' },
  kind: { n: 2, t: 'string' },
  name: { n: 3, t: 'string' },
} as const satisfies MessageSchema;

export const RoleBinding = {
  ...TypeMeta,
  metadata: { n: 1, t: 'object', of: ObjectMeta },
  subjects: { n: 2, t: 'array', of: Subject },
  roleRef: { n: 3, t: 'object', of: RoleRef },
} as const satisfies MessageSchema;

export const ClusterRoleBinding = RoleBinding;

export const ServiceAccount = {
  ...TypeMeta,
  metadata: { n: 1, t: 'object', of: ObjectMeta },
  secrets: { n: 2, t: 'array', of: ObjectReference, patch: 'merge', key: 'name' },
  imagePullSecrets: { n: 3, t: 'array', of: LocalObjectReference },
  automountServiceAccountToken: { n: 4, t: 'bool', ptr: true },
} as const satisfies MessageSchema;

export const ResourceAttributes = {
  namespace: { n: 1, t: 'string' },
  verb: { n: 2, t: 'string' },
  group: { n: 3, t: 'string' },
  version: { n: 4, t: 'string' },
  resource: { n: 5, t: 'string' },
  subresource: { n: 6, t: 'string' },
  name: { n: 7, t: 'string' },
  // Selector attributes (alpha in 1.32) narrow a check; RBAC ignores them.
  fieldSelector: { n: 8, t: 'any' },
  labelSelector: { n: 9, t: 'any' },
} as const satisfies MessageSchema;

export const NonResourceAttributes = {
  path: { n: 1, t: 'string' },
  verb: { n: 2, t: 'string' },
} as const satisfies MessageSchema;

export const SubjectAccessReviewStatus = {
  allowed: { n: 1, t: 'bool' },
  reason: { n: 2, t: 'string' },
  evaluationError: { n: 3, t: 'string' },
  denied: { n: 4, t: 'bool' },
} as const satisfies MessageSchema;

export const SelfSubjectAccessReview = {
  ...TypeMeta,
  metadata: { n: 1, t: 'object', of: ObjectMeta },
  spec: {
    n: 2,
    t: 'object',
    of: {
      resourceAttributes: { n: 1, t: 'object', of: ResourceAttributes, ptr: true },
      nonResourceAttributes: { n: 2, t: 'object', of: NonResourceAttributes, ptr: true },
    },
  },
  status: { n: 3, t: 'object', of: SubjectAccessReviewStatus },
} as const satisfies MessageSchema;

export const SelfSubjectRulesReview = {
  ...TypeMeta,
  metadata: { n: 1, t: 'object', of: ObjectMeta },
  spec: { n: 2, t: 'object', of: { namespace: { n: 1, t: 'string' } } },
  status: { n: 3, t: 'any' },
} as const satisfies MessageSchema;

export const TokenRequest = {
  ...TypeMeta,
  metadata: { n: 1, t: 'object', of: ObjectMeta },
  spec: {
    n: 2,
    t: 'object',
    of: {
      audiences: { n: 1, t: 'array', of: 'string' },
      boundObjectRef: {
        n: 3,
        t: 'object',
        of: {
          kind: { n: 1, t: 'string' },
          apiVersion: { n: 2, t: 'string' },
          name: { n: 3, t: 'string' },
          uid: { n: 4, t: 'string' },
        },
        ptr: true,
      },
      expirationSeconds: { n: 4, t: 'int64', ptr: true },
    },
  },
  status: { n: 3, t: 'any' },
} as const satisfies MessageSchema;

/** core/v1 ConfigMap: the components' configuration in deploy/ (binaryData stays JSON-only). */
export const ConfigMap = {
  ...TypeMeta,
  metadata: { n: 1, t: 'object', of: ObjectMeta },
  data: { n: 2, t: 'map', of: 'string' },
  binaryData: { t: 'any' },
  immutable: { n: 4, t: 'bool', ptr: true },
} as const satisfies MessageSchema;
