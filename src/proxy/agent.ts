// The node agent core shared by every data plane:
//   informers (Services, EndpointSlices, this Node) → change trackers → sync runner
//   → snapshot → plane.sync(snapshot, changes), plus health servers and metrics.
// While the API is unreachable the informers keep their caches and nothing is synced, so the
// plane keeps serving the last known state.
import type { AddressInfo } from 'node:net';
import { ApiError } from '../api/status.ts';
import type { EndpointSlice, Event, IPAddressPool, KubeObject, Node, Service } from '../api/types.ts';
import { annotationKeys, labelKeys } from '../api/well-known.ts';
import type { Client } from '../client/client.ts';
import { Informer } from '../client/informer.ts';
import type { InformerOptions } from '../client/informer-api.ts';
import { localhostNodePortsAllowed, resolveNodePortAddresses } from './eligibility.ts';
import { EndpointsChangeTracker } from './endpoints.ts';
import { explainRoutes } from './explain/http.ts';
import { ProxyHealth, ProxyHealthServer, type ServiceHealthEntry, ServiceHealthServer } from './healthcheck.ts';
import { poolRangesOf, rejectedLoadBalancerIPReason, rejectionMessage } from './lb-ingress.ts';
import { type ProxyMetrics, proxyMetrics, Registry } from './metrics.ts';
import type { DataPlane, PlaneEvent } from './plane.ts';
import { loadBalancerIngressOf, ServiceChangeTracker } from './services.ts';
import { type ProxySnapshot, ProxyState } from './snapshot.ts';
import { type RunnerClock, type SyncContext, SyncRunner } from './sync-runner.ts';
import type { NodeInfo } from './types.ts';

export interface AgentOptions {
  client: Client;
  nodeName: string;
  /** The node's addresses, primary first. */
  nodeIPs: readonly string[];
  plane: DataPlane;
  /** `--nodeport-addresses`: CIDRs or "primary"; empty means every node address. */
  nodePortAddresses?: readonly string[];
  /** Admin allow-list for spec.externalIPs (CVE-2020-8554); default: none honoured. */
  externalIPAllowCIDRs?: readonly string[];
  /**
   * `--lb-ip-allow`: status.loadBalancer.ingress IPs programmed besides those of IPAddressPools
   * (lb-ingress.ts); default none.
   */
  loadBalancerIPAllowCIDRs?: readonly string[];
  /** Service CIDRs: never programmed as load balancer IPs. */
  serviceCIDRs?: readonly string[];
  /** Watch IPAddressPools for the ingress IPs svcnet's IPAM hands out; default true. */
  watchAddressPools?: boolean;
  /** NodePorts on 127.0.0.1 / ::1 (userspace plane); default true. */
  localhostNodePorts?: boolean;
  /** Overrides the Node's spec.podCIDRs (pod-traffic detection, 5.6/5.7). */
  podCIDRs?: readonly string[];
  minSyncIntervalMs?: number;
  maxSyncIntervalMs?: number;
  /** kube-proxy's healthz server (/healthz, /livez, /metrics); null disables it. Default 0.0.0.0:10256. */
  healthz?: { host: string; port: number } | null;
  metrics?: Registry;
  clock?: RunnerClock;
  informer?: InformerOptions;
  /** kube-proxy --masquerade-all (what /explain reports; the plane is configured by its creator). */
  masqueradeAll?: boolean;
  /**
   * "host:port" published on this Node as svcnet.io/proxy-healthz, where `svcnet explain`
   * finds this agent; default: the healthz address when it is not a wildcard.
   */
  advertiseHealthz?: string;
  /** Record plane events (ejections…) as Kubernetes Events; default true. */
  recordEvents?: boolean;
  onError?: (err: unknown, where: string) => void;
}

export interface Agent {
  readonly metrics: Registry;
  readonly proxyMetrics: ProxyMetrics;
  readonly health: ProxyHealth;
  readonly serviceHealth: ServiceHealthServer;
  /** Where /healthz listens, when enabled. */
  readonly healthzAddress: AddressInfo | undefined;
  /** The last snapshot a plane accepted. */
  snapshot(): ProxySnapshot | undefined;
  /** Adds another component's exposition (the node's cluster DNS) to this listener's /metrics. */
  exposeAlso(render: () => string): void;
  /** Resolves with the first synced snapshot (the current one included) that satisfies `pred`. */
  waitForSnapshot(pred: (s: ProxySnapshot) => boolean, timeoutMs?: number): Promise<ProxySnapshot>;
  stop(opts?: { drainMs?: number }): Promise<void>;
}

export async function startAgent(opts: AgentOptions): Promise<Agent> {
  const onError = opts.onError ?? (() => {});
  const metrics = opts.metrics ?? new Registry();
  const pm = proxyMetrics(metrics);
  const maxInterval = opts.maxSyncIntervalMs ?? 30_000;
  const health = new ProxyHealth(2 * maxInterval);
  const lbPolicy = (pools: readonly IPAddressPool[]) => ({
    allowCIDRs: opts.loadBalancerIPAllowCIDRs ?? [],
    poolRanges: poolRangesOf(pools),
    serviceCIDRs: opts.serviceCIDRs ?? [],
  });
  const svcTracker = new ServiceChangeTracker({
    externalIPAllowCIDRs: opts.externalIPAllowCIDRs ?? [],
    defaultConnectRetries: 2,
    loadBalancerIPs: lbPolicy([]),
  });
  const epTracker = new EndpointsChangeTracker(opts.nodeName);
  const state = new ProxyState();
  const nodePortIPs = resolveNodePortAddresses(opts.nodePortAddresses ?? [], opts.nodeIPs);
  const localhostNodePorts =
    (opts.localhostNodePorts ?? true) && localhostNodePortsAllowed(opts.nodePortAddresses ?? []);
  let node: NodeInfo = { name: opts.nodeName, zone: '', ips: [...opts.nodeIPs], podCIDRs: [...(opts.podCIDRs ?? [])] };
  let last: ProxySnapshot | undefined;
  let waiters: { pred: (s: ProxySnapshot) => boolean; resolve: (s: ProxySnapshot) => void }[] = [];
  let requests = 0;

  const informerOpts = { ...opts.informer, onError: (e: unknown) => onError(e, 'informer') };
  const services = new Informer<Service & KubeObject>(opts.client, 'services', informerOpts);
  const slices = new Informer<EndpointSlice & KubeObject>(opts.client, 'endpointslices', informerOpts);
  const nodes = new Informer<Node & KubeObject>(opts.client, 'nodes', {
    ...informerOpts,
    fieldSelector: `metadata.name=${opts.nodeName}`,
  });
  // Pools not served (no MetalLB CRD in a real cluster) or not readable (RBAC): the agent goes on
  // with --lb-ip-allow alone instead of never syncing.
  let poolsUnavailable = opts.watchAddressPools === false;
  const pools = new Informer<IPAddressPool & KubeObject>(opts.client, 'ipaddresspools', {
    ...opts.informer,
    onError: (e: unknown, phase) => {
      if (phase === 'list' && e instanceof ApiError && (e.code === 404 || e.code === 403) && !poolsUnavailable) {
        poolsUnavailable = true;
        pools.stop();
        onError(
          new Error(`IPAddressPools unavailable (${e.message}): only --lb-ip-allow ingress IPs are programmed`),
          'informer',
        );
        request();
        return;
      }
      onError(e, 'informer');
    },
  });
  const serviceHealth = new ServiceHealthServer(
    () => [...new Set([...nodePortIPs, ...(localhostNodePorts ? ['127.0.0.1'] : [])])],
    () => health.healthy(),
    (e, k) => onError(e, `healthCheckNodePort ${k}`),
  );

  const request = (full = false) => {
    requests++;
    health.queued();
    pm.lastQueuedTimestamp.set(Date.now() / 1000);
    if (full) runner.requestFull();
    else runner.run();
  };

  const sync = async (ctx: SyncContext) => {
    const t0 = performance.now();
    const startedAt = requests;
    const changes = state.apply(svcTracker.take(), epTracker.take(), ctx.full);
    pm.serviceChangesPending.set(0);
    pm.endpointChangesPending.set(0);
    const snap = state.snapshot(node, nodePortIPs, localhostNodePorts);
    try {
      await opts.plane.sync(snap, changes);
    } catch (err) {
      pm.syncFailures.inc();
      throw err;
    }
    last = snap;
    await serviceHealth.sync(healthEntries(snap));
    const seconds = (performance.now() - t0) / 1000;
    pm.syncDuration.observe(seconds);
    (ctx.full ? pm.syncFullDuration : pm.syncPartialDuration).observe(seconds);
    const now = Date.now();
    pm.lastTimestamp.set(now / 1000);
    for (const t of changes.triggerTimesMs) pm.networkProgramming.observe(Math.max(0, now - t) / 1000);
    let denied = 0;
    for (const s of snap.services.values()) denied += s.deniedExternalIPs.length;
    pm.deniedExternalIPs.set(denied);
    if (startedAt === requests) health.updated();
    const ready = waiters.filter((w) => w.pred(snap));
    waiters = waiters.filter((w) => !ready.includes(w));
    for (const w of ready) w.resolve(snap);
  };

  const runner = new SyncRunner(sync, {
    minIntervalMs: opts.minSyncIntervalMs ?? 1000,
    maxIntervalMs: maxInterval,
    clock: opts.clock,
    canSync: () => services.hasSynced() && slices.hasSynced() && (poolsUnavailable || pools.hasSynced()),
    onError: (e) => onError(e, 'sync'),
  });

  services.on((old, cur) => {
    pm.serviceChangesTotal.inc();
    if (cur) reportRejectedIngress(cur);
    if (svcTracker.update(old, cur)) {
      pm.serviceChangesPending.set(svcTracker.pendingCount());
      request();
    }
  });
  slices.on((old, cur) => {
    pm.endpointChangesTotal.inc();
    if (epTracker.update(old, cur)) {
      pm.endpointChangesPending.set(epTracker.pendingCount());
      request();
    }
  });
  nodes.on((_old, cur) => {
    if (cur && cur.metadata.name !== opts.nodeName) return;
    if (cur && advertised !== undefined && cur.metadata.annotations?.[annotationKeys.proxyHealthz] !== advertised) {
      // Best effort: explain falls back to the InternalIP and port 10256.
      const patch = { metadata: { annotations: { [annotationKeys.proxyHealthz]: advertised } } };
      void opts.client.patch('nodes', '', opts.nodeName, 'merge', patch).catch((e) => onError(e, 'node annotation'));
    }
    const next: NodeInfo = {
      name: opts.nodeName,
      zone: cur?.metadata.labels?.[labelKeys.topologyZone] ?? '',
      ips: [...opts.nodeIPs],
      podCIDRs: [...(opts.podCIDRs ?? cur?.spec?.podCIDRs ?? (cur?.spec?.podCIDR ? [cur.spec.podCIDR] : []))],
    };
    // A node being deleted fails /healthz so load balancers drain it (kube-proxy 1.29+).
    health.nodeEligible = cur !== undefined && !cur.metadata.deletionTimestamp;
    if (next.zone !== node.zone || next.podCIDRs.join() !== node.podCIDRs.join()) {
      node = next;
      // Every plane renders node facts into shared rules: a partial sync cannot carry them.
      request(true);
    }
  });

  let poolsVersion = '';
  pools.on(() => {
    const all = pools.list();
    const version = JSON.stringify(all.map((p) => p.spec?.addresses ?? []).sort());
    if (version === poolsVersion) return;
    poolsVersion = version;
    const next = { ...svcTracker.options, loadBalancerIPs: lbPolicy(all) };
    if (svcTracker.setOptions(next, services.list())) request();
    if (pools.hasSynced()) for (const svc of services.list()) reportRejectedIngress(svc);
  });

  const recordEvents = opts.recordEvents ?? true;
  const recent = new Map<string, number>();
  // The agent's one Event recorder: the same Event is recorded at most once a minute.
  const emit = (e: PlaneEvent) => {
    if (!recordEvents || !e.service) return;
    const key = `${e.service.namespace}/${e.service.name}/${e.reason}/${e.message}`;
    const now = Date.now();
    if ((recent.get(key) ?? 0) > now - 60_000) return;
    if (recent.size > 10_000) for (const [k, t] of recent) if (t <= now - 60_000) recent.delete(k);
    recent.set(key, now);
    void recordEvent(opts.client, opts.nodeName, e).catch((err) => onError(err, 'event'));
  };
  function reportRejectedIngress(svc: Service): void {
    // Until the pools are known every pool address would look rejected.
    if (!poolsUnavailable && !pools.hasSynced()) return;
    const ns = svc.metadata?.namespace ?? 'default';
    const name = svc.metadata?.name ?? '';
    for (const r of loadBalancerIngressOf(svc, svcTracker.options).rejected) {
      pm.rejectedLoadBalancerIPs.inc();
      emit({
        type: 'Warning',
        reason: rejectedLoadBalancerIPReason,
        message: rejectionMessage(r.ip, r.reason),
        service: { namespace: ns, name },
      });
    }
  }
  opts.plane.attach?.({
    event: emit,
    environmentChanged: (why) => {
      onError(new Error(`${opts.plane.name}: environment changed (${why}): next sync is full`), 'plane');
      request(true);
    },
  });

  const alsoExposed: (() => string)[] = [];
  let advertised = opts.advertiseHealthz;
  let healthServer: ProxyHealthServer | undefined;
  let healthzAddress: AddressInfo | undefined;
  if (opts.healthz !== null) {
    const hz = opts.healthz ?? { host: '0.0.0.0', port: 10256 };
    healthServer = new ProxyHealthServer({
      ...hz,
      health,
      metrics: () => [metrics.render(), ...alsoExposed.map((f) => f())].join(''),
      routes: explainRoutes({ plane: opts.plane, snapshot: () => last, masqueradeAll: opts.masqueradeAll === true }),
    });
    healthzAddress = await healthServer.start();
    const host = healthzAddress.address;
    if (advertised === undefined && host !== '0.0.0.0' && host !== '::') {
      advertised = host.includes(':') ? `[${host}]:${healthzAddress.port}` : `${host}:${healthzAddress.port}`;
    }
  }

  runner.start();
  services.start();
  slices.start();
  nodes.start();
  if (!poolsUnavailable) pools.start();
  // The gate opens when the informers have listed; the sync itself is requested here.
  void Promise.all([services.waitForSync(), slices.waitForSync()]).then(
    () => request(),
    (e) => onError(e, 'informer'),
  );
  if (!poolsUnavailable) {
    void pools.waitForSync().then(
      () => {
        for (const svc of services.list()) reportRejectedIngress(svc);
        request();
      },
      () => {},
    );
  }

  return {
    metrics,
    proxyMetrics: pm,
    health,
    serviceHealth,
    healthzAddress,
    snapshot: () => last,
    exposeAlso: (render) => {
      alsoExposed.push(render);
    },
    waitForSnapshot: (pred, timeoutMs = 10_000) =>
      new Promise((resolve, reject) => {
        if (last && pred(last)) {
          resolve(last);
          return;
        }
        const timer = setTimeout(() => {
          waiters = waiters.filter((w) => w !== waiter);
          reject(new Error(`no synced snapshot matched within ${timeoutMs} ms`));
        }, timeoutMs);
        const waiter = {
          pred,
          resolve: (snap: ProxySnapshot) => {
            clearTimeout(timer);
            resolve(snap);
          },
        };
        waiters.push(waiter);
      }),
    async stop(stopOpts = {}) {
      services.stop();
      slices.stop();
      nodes.stop();
      pools.stop();
      await runner.stop();
      await opts.plane.stop(stopOpts);
      await serviceHealth.close();
      await healthServer?.close();
    },
  };
}

/** Ready local endpoints per LoadBalancer + ETP Local Service (5.23). */
function healthEntries(snap: ProxySnapshot): Map<string, ServiceHealthEntry> {
  const out = new Map<string, ServiceHealthEntry>();
  for (const svc of snap.services.values()) {
    if (svc.healthCheckNodePort === 0) continue;
    const local = new Set((snap.endpoints.get(svc.key) ?? []).filter((e) => e.isLocal && e.ready).map((e) => e.ip));
    const prev = out.get(svc.service);
    const n = Math.max(prev?.localEndpoints ?? 0, local.size);
    out.set(svc.service, {
      namespace: svc.namespace,
      name: svc.name,
      port: svc.healthCheckNodePort,
      localEndpoints: n,
    });
  }
  return out;
}

async function recordEvent(client: Client, nodeName: string, e: PlaneEvent): Promise<void> {
  if (!e.service) return;
  const now = new Date().toISOString();
  const ev: Event = {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: {
      namespace: e.service.namespace,
      name: `${e.service.name}.${Date.now().toString(16)}${Math.floor(Math.random() * 0xffff).toString(16)}`,
    },
    involvedObject: { apiVersion: 'v1', kind: 'Service', namespace: e.service.namespace, name: e.service.name },
    reason: e.reason,
    message: e.message,
    type: e.type,
    source: { component: 'svcnet-proxy', host: nodeName },
    reportingComponent: 'svcnet-proxy',
    reportingInstance: nodeName,
    firstTimestamp: now,
    lastTimestamp: now,
    count: 1,
  };
  await client.create('events', ev as unknown as Parameters<Client['create']>[1]);
}
