// A tiny scheduler for the lab: binds every pending pod of the default scheduler to a Ready
// node, spreading by pod count. It sets spec.nodeName with an update, which the API allows
// only from "" (the equivalent of the pods/binding subresource).
import { isConflict, isNotFound } from '../api/status.ts';
import type { KubeObject, Node } from '../api/types.ts';
import type { Client } from '../client/client.ts';
import { Informer } from '../client/informer.ts';
import type { PodObj } from './pod-runner.ts';

type NodeObj = Node & KubeObject;

/** Pure: the Ready node with the fewest pods (ties by name), or undefined. */
export function pickNode(nodes: NodeObj[], podsPerNode: ReadonlyMap<string, number>): string | undefined {
  const ready = nodes
    .filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
    .filter((n) => !n.spec?.unschedulable)
    .map((n) => n.metadata.name ?? '')
    .sort((a, b) => (podsPerNode.get(a) ?? 0) - (podsPerNode.get(b) ?? 0) || a.localeCompare(b));
  return ready[0];
}

export class LabScheduler {
  private readonly pods: Informer<PodObj>;
  private readonly nodes: Informer<NodeObj>;
  private readonly inFlight = new Set<string>();
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly client: Client,
    private readonly onError: (e: unknown) => void = () => {},
  ) {
    this.pods = new Informer<PodObj>(client, 'pods');
    this.nodes = new Informer<NodeObj>(client, 'nodes');
  }

  async start(): Promise<void> {
    this.pods.on((_o, cur) => {
      if (cur && !cur.spec?.nodeName) void this.bind(cur);
    });
    // A node turning Ready may unblock pods that found none.
    this.nodes.on(() => this.schedulePending());
    this.pods.start();
    this.nodes.start();
    await Promise.all([this.pods.waitForSync(), this.nodes.waitForSync()]);
  }

  stop(): void {
    this.pods.stop();
    this.nodes.stop();
    if (this.retryTimer) clearTimeout(this.retryTimer);
  }

  private schedulePending(): void {
    if (!this.pods.hasSynced()) return;
    for (const p of this.pods.list()) if (!p.spec?.nodeName) void this.bind(p);
  }

  private async bind(pod: PodObj): Promise<void> {
    const sched = pod.spec?.schedulerName ?? 'default-scheduler';
    if (sched !== 'default-scheduler' || pod.metadata.deletionTimestamp) return;
    const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
    if (this.inFlight.has(key)) return;
    const counts = new Map<string, number>();
    for (const p of this.pods.list()) {
      const n = p.spec?.nodeName;
      if (n) counts.set(n, (counts.get(n) ?? 0) + 1);
    }
    const node = pickNode(this.nodes.list(), counts);
    if (!node) return;
    this.inFlight.add(key);
    try {
      const spec = { ...(pod.spec ?? { containers: [] }), nodeName: node };
      await this.client.update<PodObj>('pods', { ...pod, spec });
    } catch (e) {
      // A conflict means a newer version is on its way to the informer, which retries.
      if (!isConflict(e) && !isNotFound(e)) {
        this.onError(e);
        if (!this.retryTimer) {
          this.retryTimer = setTimeout(() => {
            this.retryTimer = undefined;
            this.schedulePending();
          }, 1000);
        }
      }
    } finally {
      this.inFlight.delete(key);
    }
  }
}
