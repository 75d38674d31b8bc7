// A tiny scheduler for the lab: binds every pending pod of the default scheduler to a Ready,
// schedulable node whose labels match the pod's nodeSelector, spreading as kube-scheduler's
// default topology spreading does: first the fewest pods of the same owner (a Deployment's
// replicas land one per node), then the fewest pods in all, ties by name. It sets
// spec.nodeName with an update, which the API allows only from "" (the equivalent of the
// pods/binding subresource). Bindings it made count at once, before the watch shows them
// (kube-scheduler's "assumed" pods), or a burst of pods would all land on one node.
import { isConflict, isNotFound } from '../api/status.ts';
import type { KubeObject, Node } from '../api/types.ts';
import type { Client } from '../client/client.ts';
import { Informer } from '../client/informer.ts';
import type { PodObj } from './pod-runner.ts';

type NodeObj = Node & KubeObject;

export interface Placement {
  node: string;
  /** The pod's controller uid, if any. */
  owner: string | undefined;
}

function ownerOf(p: PodObj): string | undefined {
  return p.metadata.ownerReferences?.find((r) => r.controller)?.uid;
}

function isReady(n: NodeObj): boolean {
  return n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** Pure: the node for `pod`, or undefined when none fits. */
export function pickNode(
  pod: Pick<PodObj, 'spec' | 'metadata'>,
  nodes: readonly NodeObj[],
  placed: readonly Placement[],
): string | undefined {
  const selector = pod.spec?.nodeSelector ?? {};
  const owner = ownerOf(pod as PodObj);
  const fits = nodes.filter(
    (n) =>
      isReady(n) && !n.spec?.unschedulable && Object.entries(selector).every(([k, v]) => n.metadata.labels?.[k] === v),
  );
  const total = new Map<string, number>();
  const same = new Map<string, number>();
  for (const p of placed) {
    total.set(p.node, (total.get(p.node) ?? 0) + 1);
    if (owner !== undefined && p.owner === owner) same.set(p.node, (same.get(p.node) ?? 0) + 1);
  }
  const score = (n: string) => [same.get(n) ?? 0, total.get(n) ?? 0] as const;
  const names = fits.map((n) => n.metadata.name ?? '');
  names.sort((a, b) => {
    const [sa, ta] = score(a);
    const [sb, tb] = score(b);
    return sa - sb || ta - tb || a.localeCompare(b);
  });
  return names[0];
}

export class LabScheduler {
  private readonly pods: Informer<PodObj>;
  private readonly nodes: Informer<NodeObj>;
  private readonly inFlight = new Set<string>();
  /** Pods bound here that the informer may not show bound yet: uid → placement. */
  private readonly assumed = new Map<string, Placement>();
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
      if (cur?.spec?.nodeName || !cur) {
        const uid = (cur ?? _o)?.metadata.uid;
        if (uid) this.assumed.delete(uid);
      }
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

  private placements(): Placement[] {
    const out: Placement[] = [];
    for (const p of this.pods.list()) {
      const phase = p.status?.phase;
      if (phase === 'Succeeded' || phase === 'Failed') continue;
      const node = p.spec?.nodeName || this.assumed.get(p.metadata.uid ?? '')?.node;
      if (node) out.push({ node, owner: ownerOf(p) });
    }
    return out;
  }

  private async bind(pod: PodObj): Promise<void> {
    const sched = pod.spec?.schedulerName ?? 'default-scheduler';
    if (sched !== 'default-scheduler' || pod.metadata.deletionTimestamp) return;
    const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
    const uid = pod.metadata.uid ?? '';
    if (this.inFlight.has(key) || this.assumed.has(uid)) return;
    const node = pickNode(pod, this.nodes.list(), this.placements());
    if (!node) return;
    this.inFlight.add(key);
    this.assumed.set(uid, { node, owner: ownerOf(pod) });
    try {
      const spec = { ...(pod.spec ?? { containers: [] }), nodeName: node };
      await this.client.update<PodObj>('pods', { ...pod, spec });
    } catch (e) {
      this.assumed.delete(uid);
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
