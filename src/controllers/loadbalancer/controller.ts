// The LoadBalancer IPAM controller (MetalLB's controller, for svcnet): watches Services,
// IPAddressPools and Namespaces, keeps the allocator (allocator.ts) in step and writes each
// Service's status.loadBalancer.ingress. One worker: the allocator is shared state, and
// serial processing is what makes "first free address" deterministic.
//
// Startup rebuilds the allocator from what Services already show in their status before any
// new allocation, so a restart never hands a live address to another Service.
//
// Pool changes that would strand a live allocation are refused here too (the apiserver's
// admission check, see pool-change.ts, is the real guard): the controller keeps serving the
// last accepted pools, says why on each affected Service, and tries again whenever an
// allocation is released or the pools change again.
import { isNotFound } from '../../api/status.ts';
import type { IPAddressPool, KubeObject, Namespace, Service } from '../../api/types.ts';
import { annotationKeys, labelKeys } from '../../api/well-known.ts';
import type { Client } from '../../client/client.ts';
import { Informer } from '../../client/informer.ts';
import { ok, type SyncResult } from '../runtime/result.ts';
import { runWorkers, type Workers } from '../runtime/runner.ts';
import { WorkQueue } from '../runtime/workqueue.ts';
import { formatAddr } from './addresses.ts';
import { Allocator } from './allocator.ts';
import { annotation, claimFor, serviceKey } from './claim.ts';
import { converge, handles, statusIPs } from './converge.ts';
import { type LiveAllocation, strandedAllocations, strandedMessage } from './pool-change.ts';
import { compilePool, isCompileError, type Pool } from './pools.ts';
import { EventRecorder } from './recorder.ts';

export interface LoadBalancerControllerOptions {
  /** Besides Services without a class, serve those with this spec.loadBalancerClass. */
  loadBalancerClass?: string;
  /** Serve Services without a class (default); false when a provider serves them. */
  classless?: boolean;
  /** Read pools only from this namespace (MetalLB reads its own, e.g. metallb-system). Default: all. */
  poolNamespace?: string;
  /** Event source component. */
  component?: string;
  onError?: (err: unknown) => void;
}

export interface LoadBalancerController {
  /** Stops informers and workers; resolves when the in-flight sync has finished. */
  stop(): Promise<void>;
  /** Resolves once caches synced, existing allocations were restored and every Service was processed once. */
  synced(): Promise<void>;
  /** Current allocations (for `svcnet` diagnostics and tests). */
  allocations(): ReturnType<Allocator['allocations']>;
}

// A key no Service can have (names never contain NUL): "re-read the pools".
const poolsKey = '\u0000pools';

const rvNumber = (o: KubeObject | undefined): bigint | undefined => {
  const rv = o?.metadata.resourceVersion;
  return rv && /^\d+$/.test(rv) ? BigInt(rv) : undefined;
};

export function startLoadBalancerController(
  client: Client,
  opts: LoadBalancerControllerOptions = {},
): LoadBalancerController {
  const component = opts.component ?? 'svcnet-lb-controller';
  const report = (err: unknown) => opts.onError?.(err);
  const services = new Informer<Service & KubeObject>(client, 'services', { onError: report });
  const pools = new Informer<IPAddressPool & KubeObject>(client, 'ipaddresspools', {
    ...(opts.poolNamespace ? { namespace: opts.poolNamespace } : {}),
    onError: report,
  });
  const namespaces = new Informer<Namespace & KubeObject>(client, 'namespaces', { onError: report });
  const recorder = new EventRecorder(client, { component, onError: report });
  const alloc = new Allocator();
  const queue = new WorkQueue<string>({ name: 'loadbalancer_ipam' });
  const pending = new Set<string>();
  /** Objects we wrote, newer than the cache until the watch catches up. */
  const written = new Map<string, Service & KubeObject>();
  let stalePools = false;
  let stopped = false;
  let workers: Workers | undefined;

  const current = (key: string): (Service & KubeObject) | undefined => {
    const [ns = '', name = ''] = key.split('/');
    const cached = services.get(ns, name);
    const mine = written.get(key);
    if (!mine) return cached;
    const a = rvNumber(cached);
    const b = rvNumber(mine);
    if (!cached || a === undefined || b === undefined || a >= b) {
      written.delete(key);
      return cached;
    }
    return mine;
  };

  const desiredPools = (): Pool[] => {
    const out: Pool[] = [];
    for (const p of pools.list()) {
      // Reserved for a provider side by side with us: its addresses are the provider's to give.
      if (p.metadata.labels?.[labelKeys.lbProvider] !== undefined) continue;
      const c = compilePool(p, namespaces.list());
      if (isCompileError(c)) report(new Error(c.message));
      else out.push(c);
    }
    return out;
  };

  const liveAllocations = (): LiveAllocation[] =>
    alloc.allocations().map((a) => {
      const svc = current(a.service);
      return { service: a.service, ips: a.ips, labels: svc?.metadata.labels ?? {} };
    });

  const enqueueAllServices = () => {
    for (const s of services.list()) if (handles(s, opts)) queue.add(serviceKey(s));
  };

  const syncPools = async (): Promise<SyncResult> => {
    const next = desiredPools();
    const stranded = strandedAllocations(next, liveAllocations());
    if (stranded.length > 0) {
      stalePools = true;
      for (const s of stranded) {
        const svc = current(s.service);
        if (svc)
          await recorder.record(svc, 'Warning', 'PoolChangeRefused', strandedMessage(s.service, s.ips.join(',')));
      }
      return ok;
    }
    stalePools = false;
    alloc.setPools(next);
    enqueueAllServices();
    return ok;
  };

  const writeStatus = async (svc: Service & KubeObject, ips: string[] | undefined, pool: string | undefined) => {
    const key = serviceKey(svc);
    const ns = svc.metadata.namespace ?? '';
    const name = svc.metadata.name ?? '';
    const have = (svc.status?.loadBalancer?.ingress ?? []).map(
      (i) => `${i.ip ?? ''}|${i.ipMode ?? ''}|${i.hostname ?? ''}`,
    );
    const want = (ips ?? []).map((ip) => `${ip}|VIP|`);
    let latest = svc;
    if (have.join(',') !== want.join(',')) {
      latest = await client.patch<Service & KubeObject>(
        'services',
        ns,
        name,
        'merge',
        { status: { loadBalancer: { ingress: ips?.length ? ips.map((ip) => ({ ip, ipMode: 'VIP' })) : null } } },
        { subresource: 'status' },
      );
    }
    const poolNow = latest.metadata.annotations?.[annotationKeys.metallbIPAllocatedFromPool];
    if ((pool ?? undefined) !== poolNow) {
      latest = await client.patch<Service & KubeObject>('services', ns, name, 'merge', {
        metadata: { annotations: { [annotationKeys.metallbIPAllocatedFromPool]: pool ?? null } },
      });
    }
    if (latest !== svc) written.set(key, latest);
  };

  const syncService = async (key: string): Promise<SyncResult> => {
    const svc = current(key);
    const had = alloc.ipsOf(key) !== undefined;
    const out = converge(key, svc, alloc, opts);
    const released = had && alloc.ipsOf(key) === undefined;
    if (svc && out.kind !== 'ignore')
      for (const e of out.events) await recorder.record(svc, e.type, e.reason, e.message);
    try {
      if (svc && out.kind === 'set') {
        pending.delete(key);
        await writeStatus(svc, out.ips, out.pool);
      } else if (svc && out.kind === 'clear') {
        if (out.retry) pending.add(key);
        else pending.delete(key);
        // A Service of another type keeps no LB status (the apiserver clears it on type
        // change); only touch what we own.
        const ours =
          svc.spec?.type === 'LoadBalancer' || annotation(svc, annotationKeys.metallbIPAllocatedFromPool) !== undefined;
        if (ours || (svc.status?.loadBalancer?.ingress?.length ?? 0) > 0) await writeStatus(svc, undefined, undefined);
      } else {
        pending.delete(key);
        if (!svc) written.delete(key);
      }
    } catch (err) {
      if (isNotFound(err)) return ok;
      throw err;
    }
    if (released) {
      // Freed addresses may satisfy a waiting Service or let a refused pool change through.
      for (const k of pending) if (k !== key) queue.add(k);
      if (stalePools) queue.add(poolsKey);
    }
    return ok;
  };

  const restoreAllocations = () => {
    // Services with addresses first, without events: they keep what they have if the pools
    // still hold it. converge() then handles everything else in queue order.
    for (const svc of services.list()) {
      if (!handles(svc, opts)) continue;
      const ips = statusIPs(svc);
      if (!ips?.length) continue;
      try {
        alloc.assign(claimFor(svc), ips);
      } catch (err) {
        report(
          new Error(`cannot restore ${serviceKey(svc)} ${ips.map((i) => formatAddr(i)).join(',')}: ${String(err)}`),
        );
      }
    }
  };

  const onService = (old: (Service & KubeObject) | undefined, cur: (Service & KubeObject) | undefined) => {
    const o = cur ?? old;
    if (o) queue.add(serviceKey(o));
  };
  services.on(onService);
  pools.on(() => queue.add(poolsKey));
  namespaces.on(() => {
    // Only namespaceSelectors depend on namespaces.
    if (pools.list().some((p) => (p.spec?.serviceAllocation?.namespaceSelectors?.length ?? 0) > 0)) queue.add(poolsKey);
  });

  const ready = (async () => {
    services.start();
    pools.start();
    namespaces.start();
    await Promise.all([services.waitForSync(), pools.waitForSync(), namespaces.waitForSync()]);
    if (stopped) return;
    alloc.setPools(desiredPools());
    restoreAllocations();
    queue.add(poolsKey);
    enqueueAllServices();
    workers = runWorkers(queue, (key) => (key === poolsKey ? syncPools() : syncService(key)), {
      workers: 1,
      onError: (key, r) => report(new Error(`sync ${key === poolsKey ? 'pools' : key}: ${r.reason}`)),
    });
    await queue.idle();
  })();

  return {
    async stop() {
      stopped = true;
      services.stop();
      pools.stop();
      namespaces.stop();
      queue.shutDown();
      await workers?.stopped;
    },
    synced: () => ready,
    allocations: () => alloc.allocations(),
  };
}
