// apps/v1 (k8s.io/api/apps/v1/generated.proto).
import { PodTemplateSpec } from './core.ts';
import { LabelSelector, ObjectMeta, TypeMeta } from './meta.ts';
import type { MessageSchema } from './types.ts';

export const DeploymentStrategy = {
  type: { n: 1, t: 'string' },
  rollingUpdate: {
    n: 2,
    t: 'object',
    ptr: true,
    of: {
      maxUnavailable: { n: 1, t: 'intOrString', ptr: true },
      maxSurge: { n: 2, t: 'intOrString', ptr: true },
    },
  },
} as const satisfies MessageSchema;

export const DeploymentSpec = {
  replicas: { n: 1, t: 'int32', ptr: true },
  selector: { n: 2, t: 'object', of: LabelSelector, ptr: true },
  template: { n: 3, t: 'object', of: PodTemplateSpec },
  // retainKeys: switching type to Recreate must clear rollingUpdate (kubectl apply relies on it).
  strategy: { n: 4, t: 'object', of: DeploymentStrategy, patch: 'retainKeys' },
  minReadySeconds: { n: 5, t: 'int32' },
  revisionHistoryLimit: { n: 6, t: 'int32', ptr: true },
  paused: { n: 7, t: 'bool' },
  progressDeadlineSeconds: { n: 9, t: 'int32', ptr: true },
} as const satisfies MessageSchema;

export const DeploymentCondition = {
  type: { n: 1, t: 'string' },
  status: { n: 2, t: 'string' },
  lastUpdateTime: { n: 6, t: 'time' },
  lastTransitionTime: { n: 7, t: 'time' },
  reason: { n: 4, t: 'string' },
  message: { n: 5, t: 'string' },
} as const satisfies MessageSchema;

export const DeploymentStatus = {
  observedGeneration: { n: 1, t: 'int64' },
  replicas: { n: 2, t: 'int32' },
  updatedReplicas: { n: 3, t: 'int32' },
  readyReplicas: { n: 7, t: 'int32' },
  availableReplicas: { n: 4, t: 'int32' },
  unavailableReplicas: { n: 5, t: 'int32' },
  conditions: { n: 6, t: 'array', of: DeploymentCondition, patch: 'merge', key: 'type' },
  collisionCount: { n: 8, t: 'int32', ptr: true },
} as const satisfies MessageSchema;

export const Deployment = {
  ...TypeMeta,
  metadata: { n: 1, t: 'object', of: ObjectMeta },
  spec: { n: 2, t: 'object', of: DeploymentSpec },
  status: { n: 3, t: 'object', of: DeploymentStatus },
} as const satisfies MessageSchema;

export const ReplicaSetSpec = {
  replicas: { n: 1, t: 'int32', ptr: true },
  minReadySeconds: { n: 4, t: 'int32' },
  selector: { n: 2, t: 'object', of: LabelSelector, ptr: true },
  template: { n: 3, t: 'object', of: PodTemplateSpec },
} as const satisfies MessageSchema;

export const ReplicaSetCondition = {
  type: { n: 1, t: 'string' },
  status: { n: 2, t: 'string' },
  lastTransitionTime: { n: 3, t: 'time' },
  reason: { n: 4, t: 'string' },
  message: { n: 5, t: 'string' },
} as const satisfies MessageSchema;

export const ReplicaSetStatus = {
  replicas: { n: 1, t: 'int32' },
  fullyLabeledReplicas: { n: 2, t: 'int32' },
  readyReplicas: { n: 4, t: 'int32' },
  availableReplicas: { n: 5, t: 'int32' },
  observedGeneration: { n: 3, t: 'int64' },
  conditions: { n: 6, t: 'array', of: ReplicaSetCondition, patch: 'merge', key: 'type' },
} as const satisfies MessageSchema;

export const ReplicaSet = {
  ...TypeMeta,
  metadata: { n: 1, t: 'object', of: ObjectMeta },
  spec: { n: 2, t: 'object', of: ReplicaSetSpec },
  status: { n: 3, t: 'object', of: ReplicaSetStatus },
} as const satisfies MessageSchema;
