// The service controller of a cloud controller manager, for any LoadBalancerProvider: watches
// Services and Nodes, gives each LoadBalancer Service it owns a balancer through the provider,
// keeps every balancer's backends equal to the eligible node set, and deletes balancers before
// letting their Services go (the load-balancer-cleanup finalizer).
//
// As kube-controller-manager's defaults: one service worker (--concurrent-service-syncs=1),
// failed syncs retried without limit with per-key back-off from 5 s to 300 s. The node sync is a
// key of the same queue, so a node change never races a Service's ensure; a Service whose
// update failed keeps its old node baseline and is tried again when the node key's back-off
// fires.
import { isNotFound } from '../../api/status.ts';
import type { KubeObject, Node, Service } from '../../api/types.ts';
import { finalizerKeys } from '../../api/well-known.ts';
import type { Client } from '../../client/client.ts';
import { Informer } from '../../client/informer.ts';
import { EventRecorder } from '../loadbalancer/recorder.ts';
import { ok, retry, type SyncResult } from '../runtime/result.ts';
import { runWorkers, type Workers } from '../runtime/runner.ts';
import { WorkQueue } from '../runtime/workqueue.ts';
import { eligibleNodes, nodeSetKey, shouldSyncUpdatedNode } from './nodes.ts';
import type { LoadBalancerProvider, LoadBalancerStatus } from './provider.ts';
import { hasCleanupFinalizer, needsCleanup, needsUpdate, type Ownership, wantsLoadBalancer } from './service.ts';
import { type SyncDeps, syncService, updateNodes } from './sync.ts';

export interface ServiceControllerOptions {
  provider: LoadBalancerProvider;
  /** kube-controller-manager's --cluster-name, handed to the provider. */
  clusterName?: string;
  /** Default: Services without a class (the CCM's rule). */
  own?: Ownership;
  component?: string;
  /** Retry back-off (CCM: 5 s doubling to 300 s). */
  minRetryDelayMs?: number;
  maxRetryDelayMs?: number;
  onError?: (err: unknown) => void;
}

export interface ServiceController {
  stop(): Promise<void>;
  /** Resolves once caches synced and every Service was processed once. */
  synced(): Promise<void>;
  /** Resolves when nothing is queued or in process (scheduled retries do not count). */
  idle(): Promise<void>;
}

type Svc = Service & KubeObject;
// A key no Service can have (names never contain NUL).
const nodesKey = '\u0000nodes';

const keyOf = (o: KubeObject) => `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;

export function startServiceController(client: Client, opts: ServiceControllerOptions): ServiceController {
  const report = (err: unknown) => opts.onError?.(err);
  const own = opts.own ?? { classless: true };
  const provider = opts.provider;
  const clusterName = opts.clusterName ?? 'kubernetes';
  const services = new Informer<Svc>(client, 'services', { onError: report });
  const nodeInformer = new Informer<Node & KubeObject>(client, 'nodes', { onError: report });
  const recorder = new EventRecorder(client, { component: opts.component ?? 'service-controller', onError: report });
  const queue = new WorkQueue<string>({
    name: 'service',
    baseDelayMs: opts.minRetryDelayMs ?? 5_000,
    maxDelayMs: opts.maxRetryDelayMs ?? 300_000,
  });
  /** Services with a balancer, as last synced, and the node set that balancer was given. */
  const cache = new Map<string, { svc: Svc; nodes: string }>();
  let workers: Workers | undefined;
  let stopped = false;

  const currentNodes = () => eligibleNodes(nodeInformer.list());

  const patchFinalizers = async (svc: Service, finalizers: string[]): Promise<Svc> =>
    client.patch<Svc>('services', svc.metadata?.namespace ?? '', svc.metadata?.name ?? '', 'merge', {
      // The resourceVersion makes it a compare-and-swap: another finalizer added meanwhile is a
      // conflict and a retry, never lost.
      metadata: { finalizers: finalizers.length ? finalizers : null, resourceVersion: svc.metadata?.resourceVersion },
    });

  const deps: SyncDeps = {
    clusterName,
    provider,
    own,
    nodes: currentNodes,
    async addFinalizer(svc) {
      if (hasCleanupFinalizer(svc)) return svc;
      return patchFinalizers(svc, [...(svc.metadata?.finalizers ?? []), finalizerKeys.loadBalancerCleanup]);
    },
    async removeFinalizer(svc) {
      if (!hasCleanupFinalizer(svc)) return;
      try {
        await patchFinalizers(
          svc,
          (svc.metadata?.finalizers ?? []).filter((f) => f !== finalizerKeys.loadBalancerCleanup),
        );
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    },
    async patchStatus(svc, status: LoadBalancerStatus) {
      await client.patch(
        'services',
        svc.metadata?.namespace ?? '',
        svc.metadata?.name ?? '',
        'merge',
        { status: { loadBalancer: { ingress: status.ingress?.length ? status.ingress : null } } },
        { subresource: 'status' },
      );
    },
    event: (svc, type, reason, message) => recorder.record(svc as Svc, type, reason, message),
  };

  const syncKey = async (key: string): Promise<SyncResult> => {
    const [ns = '', name = ''] = key.split('/');
    const svc = services.get(ns, name);
    const cached = cache.get(key);
    if (!svc) {
      // Gone without our finalizer (never had it, or it was forced off): delete what we built.
      if (!cached) return ok;
      if (wantsLoadBalancer(cached.svc, own)) {
        await deps.event(cached.svc, 'Normal', 'DeletingLoadBalancer', 'Deleting load balancer');
        try {
          await provider.ensureLoadBalancerDeleted(clusterName, cached.svc);
        } catch (e) {
          const m = e instanceof Error ? e.message : String(e);
          await deps.event(cached.svc, 'Warning', 'DeleteLoadBalancerFailed', `Error deleting load balancer: ${m}`);
          return retry(m, { cause: e });
        }
        await deps.event(cached.svc, 'Normal', 'DeletedLoadBalancer', 'Deleted load balancer');
      }
      cache.delete(key);
      return ok;
    }
    const out = await syncService(svc, cached !== undefined, deps);
    if (out.op === 'deleted' && out.result.kind === 'ok') cache.delete(key);
    else if (out.op === 'ensured' && out.nodes) cache.set(key, { svc, nodes: nodeSetKey(out.nodes) });
    else if (out.op === 'ensured' && cached) cache.set(key, { ...cached, svc });
    return out.result;
  };

  const syncNodes = async (): Promise<SyncResult> => {
    const nodes = currentNodes();
    const want = nodeSetKey(nodes);
    const failed: string[] = [];
    for (const [key, entry] of cache) {
      if (entry.nodes === want) continue;
      const [ns = '', name = ''] = key.split('/');
      const svc = services.get(ns, name);
      // A Service being deleted or changed is its own key's job.
      if (!svc || !wantsLoadBalancer(svc, own) || needsCleanup(svc, own)) continue;
      if (await updateNodes(svc, nodes, deps)) cache.set(key, { svc, nodes: want });
      else failed.push(key);
    }
    return failed.length ? retry(`updating load balancer hosts of ${failed.join(', ')}`) : ok;
  };

  services.on((old, cur) => {
    if (stopped) return;
    if (!cur) {
      if (old) queue.add(keyOf(old));
      return;
    }
    if (!old) {
      if (wantsLoadBalancer(cur, own) || needsCleanup(cur, own)) queue.add(keyOf(cur));
      return;
    }
    const change = needsUpdate(old, cur, own);
    for (const e of change.events) void recorder.record(cur, e.type, e.reason, e.message);
    if (change.update || needsCleanup(cur, own)) queue.add(keyOf(cur));
  });
  nodeInformer.on((old, cur) => {
    if (stopped) return;
    if (!old || !cur || shouldSyncUpdatedNode(old, cur)) queue.add(nodesKey);
  });

  const ready = (async () => {
    services.start();
    nodeInformer.start();
    await Promise.all([services.waitForSync(), nodeInformer.waitForSync()]);
    if (stopped) return;
    workers = runWorkers(queue, (key) => (key === nodesKey ? syncNodes() : syncKey(key)), {
      workers: 1,
      maxRetries: Number.POSITIVE_INFINITY,
      onError: (key, r) => report(new Error(`sync ${key === nodesKey ? 'nodes' : key}: ${r.reason}`)),
    });
    await queue.idle();
  })();

  return {
    async stop() {
      stopped = true;
      services.stop();
      nodeInformer.stop();
      queue.shutDown();
      await workers?.stopped;
      await provider.close?.();
    },
    synced: () => ready,
    idle: async () => {
      await ready;
      await queue.idle();
    },
  };
}
