// The lab node's Node object, as a kubelet registers it: name, InternalIP, podCIDR, the
// topology zone label (EndpointSlices copy it into endpoints' zone) and the Ready condition.
import { isAlreadyExists, isConflict } from '../api/status.ts';
import type { KubeObject, Node } from '../api/types.ts';
import { labelKeys } from '../api/well-known.ts';
import type { Client } from '../client/client.ts';
import { rfc3339 } from './container.ts';

type NodeObj = Node & KubeObject;

export interface NodeInfo {
  name: string;
  internalIP: string;
  podCIDR: string;
  zone?: string;
  annotations?: Record<string, string>;
}

function readyCondition(ready: boolean, now: number, message: string) {
  return {
    type: 'Ready',
    status: ready ? 'True' : 'Unknown',
    reason: ready ? 'KubeletReady' : 'NodeStatusUnknown',
    message,
    lastHeartbeatTime: rfc3339(now),
    lastTransitionTime: rfc3339(now),
  };
}

/** Creates or updates the Node, then writes its status (Ready, addresses). */
export async function registerNode(client: Client, info: NodeInfo, now = Date.now()): Promise<NodeObj> {
  const labels: Record<string, string> = {
    [labelKeys.hostname]: info.name,
    [labelKeys.os]: 'linux',
  };
  if (info.zone) labels[labelKeys.topologyZone] = info.zone;
  const desired: NodeObj = {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: info.name, labels, ...(info.annotations ? { annotations: info.annotations } : {}) },
    spec: { podCIDR: info.podCIDR, podCIDRs: [info.podCIDR] },
  };
  try {
    await client.create<NodeObj>('nodes', desired);
  } catch (e) {
    if (!isAlreadyExists(e)) throw e;
    await retryOnConflict(async () => {
      const cur = await client.get<NodeObj>('nodes', '', info.name);
      const curLabels = { ...(cur.metadata.labels ?? {}), ...labels };
      if (!info.zone) delete curLabels[labelKeys.topologyZone];
      // podCIDR is fixed once set (ValidateNodeUpdate); a different one is a config error.
      const spec = cur.spec?.podCIDR
        ? cur.spec
        : { ...(cur.spec ?? {}), podCIDR: info.podCIDR, podCIDRs: [info.podCIDR] };
      const annotations = { ...(cur.metadata.annotations ?? {}), ...(info.annotations ?? {}) };
      return client.update<NodeObj>('nodes', {
        ...cur,
        metadata: { ...cur.metadata, labels: curLabels, annotations },
        spec,
      });
    });
  }
  return setNodeStatus(client, info, true, now, 'svcnet pod runner is posting ready status');
}

export async function setNodeStatus(
  client: Client,
  info: NodeInfo,
  ready: boolean,
  now: number,
  message: string,
): Promise<NodeObj> {
  return retryOnConflict(async () => {
    const cur = await client.get<NodeObj>('nodes', '', info.name);
    const status = {
      ...(cur.status ?? {}),
      addresses: [
        { type: 'InternalIP', address: info.internalIP },
        { type: 'Hostname', address: info.name },
      ],
      conditions: [readyCondition(ready, now, message)],
    };
    return client.updateStatus<NodeObj>('nodes', { ...cur, status });
  });
}

export async function retryOnConflict<T>(fn: () => Promise<T>, attempts = 5): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (e) {
      if (!isConflict(e) || i >= attempts) throw e;
    }
  }
}
