// Cluster DNS as a component: informers (Services, EndpointSlices, and Pods for verified pod
// records) feeding the index, the handler, the UDP/TCP server, optional /metrics. Used by
// `svcnet dns` and by `svcnet up` / the node agent (node-local mode: listen on the node).
import type { EndpointSlice, KubeObject, Pod, Service } from '../api/types.ts';
import type { Client } from '../client/client.ts';
import { Informer } from '../client/informer.ts';
import { Forwarder, resolvConfUpstreams, type Upstream } from './forwarder.ts';
import { DnsHandler } from './handler.ts';
import { DnsMetrics, serveMetrics } from './metrics.ts';
import { DnsIndex, type PodMode } from './records.ts';
import { DnsServer, type DnsServerLimits, type Listen } from './server.ts';

export interface ClusterDnsOptions {
  client: Client;
  listen: readonly Listen[];
  zone?: string;
  ttl?: number;
  /** SOA minimum / negative TTL; defaults to ttl. */
  negativeTtl?: number;
  podMode?: PodMode;
  /** undefined: the node's /etc/resolv.conf; []: no forwarding (REFUSED outside the zone). */
  upstreams?: readonly Upstream[];
  forwardTimeoutMs?: number;
  cacheSize?: number;
  nsAddresses?: readonly string[];
  metricsListen?: Listen;
  limits?: Partial<DnsServerLimits>;
  /** Wait for the informers' first list before answering (default true). */
  waitForSync?: boolean;
}

export interface ClusterDns {
  index: DnsIndex;
  handler: DnsHandler;
  server: DnsServer;
  forwarder: Forwarder | undefined;
  metrics: DnsMetrics;
  addresses: Listen[];
  metricsPort: number | undefined;
  close(): Promise<void>;
}

export async function startClusterDns(opts: ClusterDnsOptions): Promise<ClusterDns> {
  const zone = opts.zone ?? 'cluster.local';
  const ttl = opts.ttl ?? 5;
  if (!Number.isInteger(ttl) || ttl < 0 || ttl > 3600) throw new Error(`ttl must be 0..3600 seconds, not ${ttl}`);
  const podMode = opts.podMode ?? 'insecure';
  const metrics = new DnsMetrics();
  const index = new DnsIndex({ zone, ttl });
  const upstreams = opts.upstreams ?? resolvConfUpstreams();
  const forwarder =
    upstreams.length > 0
      ? new Forwarder({
          upstreams,
          metrics,
          ...(opts.forwardTimeoutMs ? { timeoutMs: opts.forwardTimeoutMs } : {}),
          ...(opts.cacheSize !== undefined ? { cacheSize: opts.cacheSize } : {}),
        })
      : undefined;
  const handler = new DnsHandler(index, {
    podMode,
    negativeTtl: opts.negativeTtl ?? ttl,
    ...(opts.nsAddresses ? { nsAddresses: opts.nsAddresses } : {}),
    ...(forwarder ? { forwarder } : {}),
    metrics,
  });
  const services = new Informer<Service & KubeObject>(opts.client, 'services');
  const slices = new Informer<EndpointSlice & KubeObject>(opts.client, 'endpointslices');
  services.on((o, n) => index.onService(o, n));
  slices.on((o, n) => index.onEndpointSlice(o, n));
  const informers: { start(): void; stop(): void; waitForSync(): Promise<void>; hasSynced(): boolean }[] = [
    services,
    slices,
  ];
  if (podMode === 'verified') {
    // Only verified mode needs Pods: watching every Pod is the largest stream in a cluster.
    const pods = new Informer<Pod & KubeObject>(opts.client, 'pods');
    pods.on((o, n) => index.onPod(o, n));
    informers.push(pods);
  }
  metrics.gauge('svcnet_dns_index_names', 'Names held by the cluster DNS index.', () => index.size.names);
  metrics.gauge('svcnet_dns_index_services', 'Services held by the cluster DNS index.', () => index.size.services);
  for (const i of informers) i.start();
  const server = new DnsServer({
    listen: opts.listen,
    handler,
    metrics,
    socketBufferBytes: 4 << 20,
    ...(opts.limits ? { limits: opts.limits } : {}),
  });
  let metricsServer: Awaited<ReturnType<typeof serveMetrics>> | undefined;
  const close = async () => {
    for (const i of informers) i.stop();
    forwarder?.close();
    await server.stop();
    if (metricsServer) await new Promise<void>((r) => metricsServer?.server.close(() => r()));
  };
  try {
    if (opts.waitForSync !== false) await Promise.all(informers.map((i) => i.waitForSync()));
    const addresses = await server.start();
    if (opts.metricsListen) {
      metricsServer = await serveMetrics(metrics, opts.metricsListen.host, opts.metricsListen.port, () =>
        informers.every((i) => i.hasSynced()),
      );
    }
    return { index, handler, server, forwarder, metrics, addresses, metricsPort: metricsServer?.port, close };
  } catch (e) {
    await close();
    throw e;
  }
}
