// apps/v1 SetDefaults_ReplicaSet, plus pod-spec defaults for the template (as for Deployments).
import type { ReplicaSet } from '../types.ts';
import { defaultPodSpec } from './pod.ts';

export function defaultReplicaSet(rs: ReplicaSet): void {
  rs.spec ??= { selector: {} };
  rs.spec.replicas ??= 1;
  if (rs.spec.template?.spec) defaultPodSpec(rs.spec.template.spec);
}
