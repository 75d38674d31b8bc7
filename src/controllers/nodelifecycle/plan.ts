// The node lifecycle controller's decisions, pure (kube-controller-manager's
// pkg/controller/nodelifecycle, monitorNodeHealth and the tainting passes):
//  - a node is alive while its Lease in kube-node-lease is renewed or its Ready condition's
//    heartbeat moves. Both are judged by when this controller *saw* them change (the probe
//    timestamp), never by the timestamps' values, so clock skew between nodes cannot matter;
//  - a node not heard from for the grace period gets its kubelet-owned conditions set to
//    Unknown ("Kubelet stopped posting node status.");
//  - a node whose Ready is not True has its pods' Ready condition set False (MarkPodsNotReady),
//    which takes their endpoints out of the ready set, and carries the unreachable (Unknown)
//    or not-ready (False) taints, NoSchedule and NoExecute; they go once it is Ready again.
import type { Node, Pod } from '../../api/types.ts';

export const defaultGracePeriodMs = 50_000;
/** kube-controller-manager --node-monitor-period. */
export const defaultMonitorPeriodMs = 5_000;

export const taintKeys = {
  unreachable: 'node.kubernetes.io/unreachable',
  notReady: 'node.kubernetes.io/not-ready',
} as const;

/** The conditions a kubelet posts; all become Unknown when it goes silent. */
export const kubeletConditions = ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure'] as const;

export interface NodeHealth {
  /** When this controller last saw the node alive. */
  probeTimestamp: number;
  readyHeartbeat: string | undefined;
  leaseRenewTime: string | undefined;
}

/** Updates what was seen of a node: a changed heartbeat or lease renewal moves the probe time. */
export function observe(
  prev: NodeHealth | undefined,
  node: Node,
  leaseRenewTime: string | undefined,
  now: number,
): NodeHealth {
  const readyHeartbeat = readyCondition(node)?.lastHeartbeatTime;
  if (!prev) return { probeTimestamp: now, readyHeartbeat, leaseRenewTime };
  const alive =
    readyHeartbeat !== prev.readyHeartbeat || (leaseRenewTime !== undefined && leaseRenewTime !== prev.leaseRenewTime);
  return { probeTimestamp: alive ? now : prev.probeTimestamp, readyHeartbeat, leaseRenewTime };
}

export function readyCondition(node: Node) {
  return node.status?.conditions?.find((c) => c.type === 'Ready');
}

export function readyStatus(node: Node): 'True' | 'False' | 'Unknown' {
  const s = readyCondition(node)?.status;
  return s === 'True' || s === 'False' ? s : 'Unknown';
}

type Condition = NonNullable<NonNullable<Node['status']>['conditions']>[number];

/** The node's conditions with every kubelet condition Unknown, or undefined when they already are. */
export function unknownConditions(node: Node, nowRfc3339: string): Condition[] | undefined {
  const cur = node.status?.conditions ?? [];
  let changed = false;
  const out: Condition[] = cur.map((c) => ({ ...c }));
  for (const type of kubeletConditions) {
    const have = out.find((c) => c.type === type);
    if (have?.status === 'Unknown') continue;
    changed = true;
    const unknown: Condition = {
      type,
      status: 'Unknown',
      reason: 'NodeStatusUnknown',
      message: have ? 'Kubelet stopped posting node status.' : 'Kubelet never posted node status.',
      lastHeartbeatTime: have?.lastHeartbeatTime ?? nowRfc3339,
      lastTransitionTime: nowRfc3339,
    };
    if (have) Object.assign(have, unknown);
    else out.push(unknown);
  }
  return changed ? out : undefined;
}

type Taint = NonNullable<NonNullable<Node['spec']>['taints']>[number];

/** The node's taints with the lifecycle ones matching its Ready status, or undefined when already so. */
export function desiredTaints(node: Node, nowRfc3339: string): Taint[] | undefined {
  const cur = node.spec?.taints ?? [];
  const status = readyStatus(node);
  const key = status === 'True' ? undefined : status === 'False' ? taintKeys.notReady : taintKeys.unreachable;
  const ours = new Set<string>(Object.values(taintKeys));
  const keep = cur.filter((t) => !ours.has(t.key) || t.key === key);
  const want: Taint[] = [...keep];
  if (key) {
    for (const effect of ['NoSchedule', 'NoExecute'] as const) {
      if (!want.some((t) => t.key === key && t.effect === effect)) {
        want.push({ key, effect, ...(effect === 'NoExecute' ? { timeAdded: nowRfc3339 } : {}) });
      }
    }
  }
  const same =
    want.length === cur.length && want.every((t) => cur.some((c) => c.key === t.key && c.effect === t.effect));
  return same ? undefined : want;
}

/** The pod's status with Ready False (MarkPodsNotReady), or undefined when it is not Ready True. */
export function podNotReadyStatus(pod: Pod, nowRfc3339: string): Pod['status'] | undefined {
  const conds = pod.status?.conditions ?? [];
  const ready = conds.find((c) => c.type === 'Ready');
  if (ready?.status !== 'True') return undefined;
  return {
    ...pod.status,
    conditions: conds.map((c) => (c.type === 'Ready' ? { ...c, status: 'False', lastTransitionTime: nowRfc3339 } : c)),
  };
}
