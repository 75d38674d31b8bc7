// The node lifecycle controller (plan.ts has the rules): every monitor period it looks at each
// Node and its Lease, marks silent nodes Unknown after the grace period, taints not-Ready
// nodes and marks their pods not Ready; pods that land on a not-Ready node are marked at once
// (upstream's processPod). Eviction of pods from tainted nodes (the NoExecute taint manager,
// 300 s default toleration) is not run: the lab keeps a dead node's pods until it is healed.
import { isConflict, isNotFound } from '../../api/status.ts';
import type { KubeObject, Lease, Node, Pod } from '../../api/types.ts';
import type { Client } from '../../client/client.ts';
import { Informer } from '../../client/informer.ts';
import { EventRecorder } from '../loadbalancer/recorder.ts';
import {
  defaultGracePeriodMs,
  defaultMonitorPeriodMs,
  desiredTaints,
  type NodeHealth,
  observe,
  podNotReadyStatus,
  readyStatus,
  unknownConditions,
} from './plan.ts';

type NodeObj = Node & KubeObject;
type LeaseObj = Lease & KubeObject;
type PodObj = Pod & KubeObject;

export interface NodeLifecycleOptions {
  /** --node-monitor-grace-period (default 50 s, as since Kubernetes 1.32). */
  gracePeriodMs?: number;
  /** --node-monitor-period; default 5 s, or a fifth of a shorter grace period. */
  monitorPeriodMs?: number;
  now?: () => number;
  onError?: (e: unknown) => void;
}

const rfc3339 = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

export function startNodeLifecycleController(client: Client, opts: NodeLifecycleOptions = {}) {
  const grace = opts.gracePeriodMs ?? defaultGracePeriodMs;
  const period = opts.monitorPeriodMs ?? Math.max(100, Math.min(defaultMonitorPeriodMs, grace / 5));
  const now = opts.now ?? Date.now;
  const report = opts.onError ?? ((e: unknown) => console.error(`node lifecycle controller: ${String(e)}`));
  const nodes = new Informer<NodeObj>(client, 'nodes');
  const leases = new Informer<LeaseObj>(client, 'leases', { namespace: 'kube-node-lease' });
  const pods = new Informer<PodObj>(client, 'pods');
  const recorder = new EventRecorder(client, { component: 'node-controller', onError: report });
  const health = new Map<string, NodeHealth>();
  /** Nodes whose Ready was True when last looked at, to record the transition once. */
  const wasReady = new Map<string, boolean>();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let stopped = false;

  const retry = async (f: () => Promise<void>) => {
    for (let i = 0; ; i++) {
      try {
        return await f();
      } catch (e) {
        if (isNotFound(e)) return;
        if (!isConflict(e) || i >= 4) throw e;
      }
    }
  };

  const markPodsNotReady = async (nodeName: string, only?: PodObj) => {
    const list = only ? [only] : pods.list().filter((p) => p.spec?.nodeName === nodeName);
    for (const p of list) {
      if (!podNotReadyStatus(p, '')) continue;
      await retry(async () => {
        const cur = await client.get<PodObj>('pods', p.metadata.namespace ?? '', p.metadata.name ?? '');
        const status = podNotReadyStatus(cur, rfc3339(now()));
        if (!status) return;
        await client.updateStatus<PodObj>('pods', { ...cur, status });
        await recorder.record(cur, 'Warning', 'NodeNotReady', 'Node is not ready');
      });
    }
  };

  const monitorNode = async (n: NodeObj) => {
    const name = n.metadata.name ?? '';
    const lease = leases.get('kube-node-lease', name);
    const h = observe(health.get(name), n, lease?.spec?.renewTime ?? undefined, now());
    health.set(name, h);
    let node = n;
    if (now() - h.probeTimestamp > grace) {
      await retry(async () => {
        const cur = await client.get<NodeObj>('nodes', '', name);
        const conditions = unknownConditions(cur, rfc3339(now()));
        if (!conditions) return;
        node = await client.updateStatus<NodeObj>('nodes', { ...cur, status: { ...(cur.status ?? {}), conditions } });
        // Our own write must not count as the kubelet's heartbeat.
        health.set(name, {
          ...h,
          readyHeartbeat: node.status?.conditions?.find((c) => c.type === 'Ready')?.lastHeartbeatTime,
        });
      });
    }
    const ready = readyStatus(node) === 'True';
    if (!ready) {
      if (wasReady.get(name) !== false) {
        await recorder.record(node, 'Normal', 'NodeNotReady', `Node ${name} status is now: NodeNotReady`);
      }
      await markPodsNotReady(name);
    } else if (wasReady.get(name) === false) {
      await recorder.record(node, 'Normal', 'NodeReady', `Node ${name} status is now: NodeReady`);
    }
    wasReady.set(name, ready);
    await retry(async () => {
      const cur = await client.get<NodeObj>('nodes', '', name);
      const taints = desiredTaints(cur, rfc3339(now()));
      if (!taints) return;
      await client.update<NodeObj>('nodes', { ...cur, spec: { ...(cur.spec ?? {}), taints } });
    });
  };

  const pass = async () => {
    const seen = new Set<string>();
    for (const n of nodes.list()) {
      seen.add(n.metadata.name ?? '');
      await monitorNode(n).catch(report);
    }
    for (const k of [...health.keys()]) if (!seen.has(k)) health.delete(k);
  };

  const tick = () => {
    timer = undefined;
    if (stopped) return;
    running = pass().finally(() => {
      if (!stopped) timer = setTimeout(tick, period);
    });
  };

  pods.on((_old, cur) => {
    const nodeName = cur?.spec?.nodeName;
    if (!cur || !nodeName || !nodes.hasSynced()) return;
    const node = nodes.get('', nodeName);
    if (node && readyStatus(node) !== 'True' && podNotReadyStatus(cur, '')) {
      void markPodsNotReady(nodeName, cur).catch(report);
    }
  });
  nodes.start();
  leases.start();
  pods.start();
  const synced = Promise.all([nodes.waitForSync(), leases.waitForSync(), pods.waitForSync()]).then(() => {
    if (!stopped) tick();
  });

  return {
    gracePeriodMs: grace,
    async synced() {
      await synced;
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      nodes.stop();
      leases.stop();
      pods.stop();
      await running.catch(() => {});
    },
  };
}
