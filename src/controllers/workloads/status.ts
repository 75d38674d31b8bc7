// Deployment status and its Available / Progressing conditions (deployment/sync.go
// calculateStatus and progress.go syncRolloutStatus), with Kubernetes' reasons and messages so
// `kubectl rollout status` and `kubectl describe` read as on a real cluster.
import type { Deployment, Pod } from '../../api/types.ts';
import { deploymentMaxUnavailable } from './intstr.ts';
import { isReady } from './pods.ts';

export type DeploymentStatus = NonNullable<Deployment['status']>;
type Condition = NonNullable<DeploymentStatus['conditions']>[number];

export interface PodCounts {
  active: readonly Pod[];
  newPods: readonly Pod[];
  available: readonly Pod[];
  replicaSetName: string;
  /** This sync creates or deletes pods: the rollout is moving. */
  acted: boolean;
}

const rfc3339 = (ms: number): string => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

/**
 * SetDeploymentCondition: an unchanged (status, reason) keeps the old condition; a new reason
 * with the same status keeps lastTransitionTime.
 */
function setCondition(conds: Condition[], c: Condition, refreshUpdateTime: boolean): Condition[] {
  const cur = conds.find((x) => x.type === c.type);
  if (cur && cur.status === c.status && cur.reason === c.reason && !refreshUpdateTime && cur.message === c.message)
    return conds;
  const next: Condition = cur && cur.status === c.status ? { ...c, lastTransitionTime: cur.lastTransitionTime } : c;
  return [...conds.filter((x) => x.type !== c.type), next];
}

export function nextStatus(
  d: Deployment,
  counts: PodCounts,
  now: number,
): { status: DeploymentStatus; deadlineInMs?: number } {
  const replicas = d.spec?.replicas ?? 1;
  const old = d.status ?? {};
  const ts = rfc3339(now);
  const total = counts.active.length;
  const availableReplicas = counts.available.length;
  const status: DeploymentStatus = {
    observedGeneration: d.metadata?.generation ?? 0,
    replicas: total,
    updatedReplicas: counts.newPods.length,
    readyReplicas: counts.active.filter(isReady).length,
    availableReplicas,
    unavailableReplicas: Math.max(0, total - availableReplicas),
    ...(old.collisionCount !== undefined ? { collisionCount: old.collisionCount } : {}),
  };
  let conds: Condition[] = [...(old.conditions ?? [])];
  const cond = (type: string, st: 'True' | 'False' | 'Unknown', reason: string, message: string): Condition => ({
    type,
    status: st,
    lastUpdateTime: ts,
    lastTransitionTime: ts,
    reason,
    message,
  });

  conds =
    availableReplicas >= replicas - deploymentMaxUnavailable(d)
      ? setCondition(
          conds,
          cond('Available', 'True', 'MinimumReplicasAvailable', 'Deployment has minimum availability.'),
          false,
        )
      : setCondition(
          conds,
          cond('Available', 'False', 'MinimumReplicasUnavailable', 'Deployment does not have minimum availability.'),
          false,
        );

  let deadlineInMs: number | undefined;
  const deadline = d.spec?.progressDeadlineSeconds;
  const rs = counts.replicaSetName;
  const complete =
    status.updatedReplicas === replicas && status.replicas === replicas && availableReplicas === replicas;
  const progressed =
    counts.acted ||
    (status.updatedReplicas ?? 0) > (old.updatedReplicas ?? 0) ||
    (status.readyReplicas ?? 0) > (old.readyReplicas ?? 0) ||
    availableReplicas > (old.availableReplicas ?? 0) ||
    (old.replicas ?? 0) - (old.updatedReplicas ?? 0) > total - (status.updatedReplicas ?? 0);
  const progressing = conds.find((c) => c.type === 'Progressing');
  if (d.spec?.paused) {
    conds = setCondition(conds, cond('Progressing', 'Unknown', 'DeploymentPaused', 'Deployment is paused'), false);
  } else if (complete) {
    conds = setCondition(
      conds,
      cond('Progressing', 'True', 'NewReplicaSetAvailable', `ReplicaSet "${rs}" has successfully progressed.`),
      false,
    );
  } else if (progressed || !progressing || progressing.reason === 'DeploymentPaused') {
    conds = setCondition(
      conds,
      cond('Progressing', 'True', 'ReplicaSetUpdated', `ReplicaSet "${rs}" is progressing.`),
      true,
    );
  } else if (deadline !== undefined && progressing.status === 'True') {
    const since = Date.parse(progressing.lastUpdateTime ?? '') || now;
    const left = since + deadline * 1000 - now;
    if (left <= 0)
      conds = setCondition(
        conds,
        cond('Progressing', 'False', 'ProgressDeadlineExceeded', `ReplicaSet "${rs}" has timed out progressing.`),
        false,
      );
    else deadlineInMs = left;
  }
  if (deadline !== undefined && deadlineInMs === undefined && !complete && !d.spec?.paused) {
    const p = conds.find((c) => c.type === 'Progressing');
    if (p?.status === 'True') deadlineInMs = deadline * 1000;
  }
  // Kubernetes lists Available before Progressing.
  const order = (t: string) => (t === 'Available' ? 0 : t === 'Progressing' ? 1 : 2);
  status.conditions = conds.sort((a, b) => order(a.type) - order(b.type));
  return { status, ...(deadlineInMs !== undefined ? { deadlineInMs } : {}) };
}
