// Pure: the PodStatus the kubelet would report (pkg/kubelet/kubelet_pods.go getPhase and
// generateAPIPodStatus, pkg/kubelet/status/generate.go), from container statuses. Condition
// transition times survive from the previous status while the condition's value holds.
import type { ContainerStatus, PodCondition, PodStatus } from 'kubernetes-types/core/v1.js';
import { rfc3339 } from './container.ts';

export interface PodStatusInput {
  previous: PodStatus | undefined;
  restartPolicy: 'Always' | 'OnFailure' | 'Never';
  podIP: string | undefined;
  hostIP: string;
  startTime: number;
  containers: ContainerStatus[];
  now: number;
}

export function podPhase(restartPolicy: PodStatusInput['restartPolicy'], cs: ContainerStatus[]): string {
  let waiting = 0;
  let running = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const c of cs) {
    if (c.state?.running) running++;
    else if (c.state?.terminated) {
      stopped++;
      if (c.state.terminated.exitCode === 0) succeeded++;
    } else if (c.lastState?.terminated) {
      // Waiting to restart after having run: counts as stopped, not pending.
      stopped++;
      if (c.lastState.terminated.exitCode === 0) succeeded++;
    } else waiting++;
  }
  if (waiting > 0) return 'Pending';
  if (running > 0) return 'Running';
  if (stopped > 0) {
    if (restartPolicy === 'Always') return 'Running';
    if (stopped === succeeded) return 'Succeeded';
    if (restartPolicy === 'Never') return 'Failed';
    return 'Running';
  }
  return 'Pending';
}

function condition(
  previous: PodStatus | undefined,
  type: string,
  ok: boolean,
  now: number,
  reason?: string,
  message?: string,
): PodCondition {
  const status = ok ? 'True' : 'False';
  const prev = previous?.conditions?.find((c) => c.type === type);
  const c: PodCondition = {
    type,
    status,
    lastProbeTime: null as unknown as undefined,
    lastTransitionTime: prev?.status === status && prev.lastTransitionTime ? prev.lastTransitionTime : rfc3339(now),
  };
  if (!ok && reason) c.reason = reason;
  if (!ok && message) c.message = message;
  return c;
}

export function podStatus(i: PodStatusInput): PodStatus {
  const phase = podPhase(i.restartPolicy, i.containers);
  const unready = i.containers.filter((c) => !c.ready).map((c) => c.name);
  const terminal = phase === 'Succeeded' || phase === 'Failed';
  const ready = unready.length === 0 && i.containers.length > 0 && !terminal;
  const msg = `containers with unready status: [${unready.join(' ')}]`;
  const reason = terminal ? 'PodCompleted' : 'ContainersNotReady';
  const status: PodStatus = {
    phase,
    conditions: [
      condition(i.previous, 'Initialized', true, i.now),
      condition(i.previous, 'Ready', ready, i.now, reason, msg),
      condition(i.previous, 'ContainersReady', ready, i.now, reason, msg),
      condition(i.previous, 'PodScheduled', true, i.now),
    ],
    hostIP: i.hostIP,
    hostIPs: [{ ip: i.hostIP }],
    startTime: rfc3339(i.startTime),
    containerStatuses: i.containers,
    qosClass: 'BestEffort',
  };
  if (i.podIP) {
    status.podIP = i.podIP;
    status.podIPs = [{ ip: i.podIP }];
  }
  return status;
}
