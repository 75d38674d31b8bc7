// The lab kubelet's heartbeat: a Lease named after the node in kube-node-lease, renewed every
// renewInterval (kubelet: a quarter of the 40 s lease duration), which the node lifecycle
// controller reads to tell a live node from a dead one. At each renewal the Node's Ready
// condition is checked as well: once the controller has written it Unknown, a kubelet that is
// alive after all posts Ready again (kubelet's status loop does the same by diffing its last
// posted status).
import { isAlreadyExists, isNotFound } from '../api/status.ts';
import type { KubeObject, Lease, Node } from '../api/types.ts';
import type { Client } from '../client/client.ts';
import type { LabClock } from './clock.ts';

export const nodeLeaseNamespace = 'kube-node-lease';
/** kubelet's defaults (nodeLeaseDurationSeconds, renew interval = duration / 4). */
export const kubeletLeaseDurationSeconds = 40;
export const kubeletLeaseRenewIntervalMs = 10_000;

type LeaseObj = Lease & KubeObject;
type NodeObj = Node & KubeObject;

/** metav1.MicroTime as the API writes it. */
export function microTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, -1)}000Z`;
}

export interface HeartbeatOptions {
  client: Client;
  nodeName: string;
  clock: LabClock;
  renewIntervalMs?: number;
  leaseDurationSeconds?: number;
  /** Called when the Node's Ready condition is not True at a renewal. */
  onNotReady?: () => Promise<void>;
  onError?: (e: unknown) => void;
}

export class NodeHeartbeat {
  private timer: unknown;
  private stopped = true;
  private running: Promise<void> = Promise.resolve();

  constructor(private readonly o: HeartbeatOptions) {}

  get renewIntervalMs(): number {
    return this.o.renewIntervalMs ?? kubeletLeaseRenewIntervalMs;
  }

  /** Renews once now (so a started node is alive at once), then every interval. */
  async start(): Promise<void> {
    this.stopped = false;
    await this.beat();
  }

  /** Stops renewing; the lease is left to expire, as when a machine dies. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) this.o.clock.clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private async beat(): Promise<void> {
    if (this.stopped) return;
    this.running = this.renew().catch((e: unknown) => this.o.onError?.(e));
    await this.running;
    if (this.stopped) return;
    this.timer = this.o.clock.setTimeout(() => void this.beat(), this.renewIntervalMs);
  }

  private async renew(): Promise<void> {
    const { client, nodeName } = this.o;
    const now = this.o.clock.now();
    const spec = {
      holderIdentity: nodeName,
      leaseDurationSeconds: this.o.leaseDurationSeconds ?? kubeletLeaseDurationSeconds,
      renewTime: microTime(now),
    };
    const node = await client.get<NodeObj>('nodes', '', nodeName);
    try {
      const cur = await client.get<LeaseObj>('leases', nodeLeaseNamespace, nodeName);
      await client.update<LeaseObj>('leases', { ...cur, spec: { ...(cur.spec ?? {}), ...spec } });
    } catch (e) {
      if (!isNotFound(e)) throw e;
      const lease: LeaseObj = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: {
          name: nodeName,
          namespace: nodeLeaseNamespace,
          // Owned by the Node: deleting the Node deletes its lease (kubelet sets the same).
          ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: nodeName, uid: node.metadata.uid ?? '' }],
        },
        spec,
      };
      try {
        await client.create<LeaseObj>('leases', lease);
      } catch (e2) {
        if (!isAlreadyExists(e2)) throw e2;
      }
    }
    const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
    if (ready?.status !== 'True' && this.o.onNotReady) await this.o.onNotReady();
  }
}
