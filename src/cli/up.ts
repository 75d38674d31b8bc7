// `svcnet up`: the whole cluster network on one machine. One process tree:
//   API server (SQLite in the data directory) + controllers (in-process client) + scheduler
//   lab nodes (--nodes N, src/lab/README.md): as root, N node namespaces on a lab LAN with an
//             outside client namespace; each node has a pod runner (pods are processes in their
//             own network namespaces) and a node agent; rootless, one node whose pods sit on
//             127.x addresses
//   node agent: the data plane and node-local cluster DNS. As root it runs inside its node
//             namespace (`ip netns exec`) and talks HTTPS to the API server over the LAN, like
//             a real node; rootless it runs in-process with the userspace plane.
// Everything kernel-side lives in the lab's namespaces and is removed on exit (DESIGN.md).
import { type ChildProcess, spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { bigIntToBytes, bytesToBigInt, canonicalCIDR, cidrContains, formatIP, parseCIDRSloppy } from '../api/ip.ts';
import { isAlreadyExists, isNotFound } from '../api/status.ts';
import type { KubeObject } from '../api/types.ts';
import { labelKeys } from '../api/well-known.ts';
import { writeKubeconfig } from '../apiserver/kubeconfig.ts';
import type { Client } from '../client/client.ts';
import { InProcessClient } from '../client/in-process.ts';
import { lbProviderEdges } from '../controllers/lbprovider/registry.ts';
import { setWorkqueueMetrics } from '../controllers/runtime/workqueue-metrics.ts';
import { hasNetAdmin } from '../kernel/exec.ts';
import { inNetns } from '../kernel/netns.ts';
import { packetSocketsAvailable } from '../kernel/packet-socket.ts';
import { LabCluster } from '../lab/cluster.ts';
import { LabEdge } from '../lab/edge.ts';
import { kubeletLeaseRenewIntervalMs } from '../lab/heartbeat.ts';
import { LabKubelet } from '../lab/kubelet-connection.ts';
import { LabLan, maxLabNodes } from '../lab/lan.ts';
import { PodRunner } from '../lab/pod-runner.ts';
import { LabScheduler } from '../lab/scheduler.ts';
import { LabTopology } from '../lab/topology.ts';
import { isPlaneMode, type PlaneMode, planeModes, planes } from '../proxy/planes.ts';
import { type AnnounceMode, announceModes, isAnnounceMode, startNodeAgent } from './agent.ts';
import { type ApiServerFlags, addApiServerFlags, runApiServer } from './apiserver.ts';
import {
  checkLbProviderFlag,
  lbProviderFlag,
  lbProviderFromFlag,
  lbProviderHelp,
  startControllers,
} from './controller.ts';
import { dashboardRoutes } from './dashboard.ts';
import { recordLbProvider } from './lb.ts';
import { progress } from './progress.ts';
import { CliError, parseDuration, untilSignal } from './util.ts';

export interface UpFlags extends ApiServerFlags {
  mode: string;
  nodeName: string;
  nodes: string;
  clusterCidr: string;
  zones?: string;
  lanCidr?: string;
  nodeMonitorGracePeriod: string;
  announce: string;
  lbProvider: string;
  edgeCidr: string;
}

const bin = resolve(import.meta.dirname, '..', '..', 'bin', 'svcnet');

/** The n-th address of a CIDR (kube-dns conventionally takes the 10th). */
export function nthAddress(cidr: string, n: number): string {
  const c = parseCIDRSloppy(cidr);
  if (!c) throw new CliError(`invalid CIDR ${JSON.stringify(cidr)}`);
  return formatIP(bigIntToBytes(bytesToBigInt(c.network) + BigInt(n)));
}

/** Creates obj unless it exists (a get first: a create would allocate, and fail, before the name check). */
async function ensure(client: Client, resource: string, obj: KubeObject): Promise<void> {
  try {
    await client.get(resource, obj.metadata.namespace ?? '', obj.metadata.name ?? '');
    return;
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
  try {
    await client.create(resource, obj);
  } catch (e) {
    if (!isAlreadyExists(e)) throw e;
  }
}

export interface DnsEndpoint {
  address: string;
  nodeName?: string;
  zone?: string;
  ready: boolean;
}

/**
 * default/kubernetes's endpoint: the API server's address on the lab LAN, as kube-apiserver's
 * endpoint reconciler writes its advertise address, so in-cluster clients reach it through
 * the Service's ClusterIP (KUBERNETES_SERVICE_HOST).
 */
async function ensureKubernetesEndpoints(client: Client, address: string, port: number): Promise<void> {
  const slice: KubeObject = {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: 'kubernetes',
      namespace: 'default',
      labels: { 'kubernetes.io/service-name': 'kubernetes', 'endpointslice.kubernetes.io/managed-by': 'svcnet-up' },
    },
    addressType: 'IPv4',
    endpoints: [{ addresses: [address], conditions: { ready: true, serving: true, terminating: false } }],
    ports: [{ name: 'https', port, protocol: 'TCP' }],
  };
  try {
    const cur = await client.get('endpointslices', 'default', 'kubernetes');
    await client.update('endpointslices', {
      ...slice,
      metadata: { ...slice.metadata, resourceVersion: cur.metadata.resourceVersion },
    });
  } catch (e) {
    if (!isNotFound(e)) throw e;
    await ensure(client, 'endpointslices', slice);
  }
}

/** kube-system/kube-dns: ClusterIP = the 10th service address, endpoints = where DNS listens (one per node). */
async function ensureKubeDns(
  client: Client,
  clusterIP: string,
  dnsEndpoints: DnsEndpoint[],
  dnsPort: number,
): Promise<void> {
  const ns = 'kube-system';
  const labels = { 'k8s-app': 'kube-dns', 'kubernetes.io/name': 'CoreDNS' };
  const ports = [
    { name: 'dns', port: 53, protocol: 'UDP', targetPort: dnsPort },
    { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: dnsPort },
  ];
  await ensure(client, 'services', {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'kube-dns', namespace: ns, labels },
    spec: { clusterIP, ports },
  });
  // No selector: the endpoints are written here, as for any Service fronting something outside pods.
  const slice: KubeObject = {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: 'kube-dns-svcnet',
      namespace: ns,
      labels: { 'kubernetes.io/service-name': 'kube-dns', 'endpointslice.kubernetes.io/managed-by': 'svcnet-up' },
    },
    addressType: 'IPv4',
    endpoints: dnsEndpoints.map((e) => ({
      addresses: [e.address],
      conditions: { ready: e.ready, serving: e.ready, terminating: false },
      ...(e.nodeName ? { nodeName: e.nodeName } : {}),
      ...(e.zone ? { zone: e.zone } : {}),
    })),
    ports: ports.map((p) => ({ name: p.name, port: dnsPort, protocol: p.protocol })),
  };
  try {
    const cur = await client.get('endpointslices', ns, 'kube-dns-svcnet');
    await client.update('endpointslices', {
      ...slice,
      metadata: { ...slice.metadata, resourceVersion: cur.metadata.resourceVersion },
    });
  } catch {
    await ensure(client, 'endpointslices', slice);
  }
}

function spawnNodeAgent(args: string[], netns: string): ChildProcess {
  const [cmd = 'ip', ...argv] = inNetns(netns, [bin, 'agent', ...args]);
  const child = spawn(cmd, argv, {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  return child;
}

function stopChild(child: ChildProcess, how: 'graceful' | 'kill'): Promise<void> {
  return new Promise<void>((res) => {
    if (child.exitCode !== null || child.signalCode !== null) return res();
    child.once('exit', () => res());
    child.kill(how === 'kill' ? 'SIGKILL' : 'SIGTERM');
  });
}

/**
 * Keeps a node's agent running as its DaemonSet would: an agent that exits on its own is
 * started again after a second. The returned function stops it for good.
 */
function superviseAgent(spawnOne: () => ChildProcess, node: string): (how: 'graceful' | 'kill') => Promise<void> {
  let stopped = false;
  let child = spawnOne();
  let timer: NodeJS.Timeout | undefined;
  const watch = (c: ChildProcess) =>
    c.once('exit', (code, signal) => {
      if (stopped) return;
      console.error(`svcnet: agent of ${node} exited (${signal ?? code}); starting it again`);
      timer = setTimeout(() => {
        if (stopped) return;
        child = spawnOne();
        watch(child);
      }, 1000);
    });
  watch(child);
  return async (how) => {
    stopped = true;
    if (timer) clearTimeout(timer);
    await stopChild(child, how);
  };
}

interface ParsedUp {
  mode: PlaneMode;
  root: boolean;
  nodes: number;
  zones: string[];
  graceMs: number;
  announce: AnnounceMode;
  /** Edge namespaces the load-balancer provider runs on (0: the IPAM, no edge). */
  edges: number;
}

/** Whether two CIDRs share an address (one holds the other's network address). */
function overlaps(a: string, b: string): boolean {
  const na = canonicalCIDR(a)?.split('/')[0] ?? '';
  const nb = canonicalCIDR(b)?.split('/')[0] ?? '';
  return cidrContains(a, nb) || cidrContains(b, na);
}

/**
 * The provider's edge: its namespaces on the LAN, the outside namespace's route to the range,
 * and an IPAddressPool of the range reserved for the provider (the IPAM never takes from it).
 */
async function startEdge(lan: LabLan, count: number, cidr: string, flags: UpFlags): Promise<LabEdge> {
  for (const other of [lan.cidr, flags.clusterCidr, ...flags.serviceClusterIpRange.split(',')])
    if (overlaps(cidr, other.trim()))
      throw new CliError(`--edge-cidr ${cidr} overlaps ${other.trim()}; choose a range of its own`);
  const edge = new LabEdge({ lan, count, cidr });
  await edge.start();
  return edge;
}

async function ensureEdgePool(client: Client, provider: string, cidr: string): Promise<void> {
  await ensure(client, 'ipaddresspools', {
    apiVersion: 'metallb.io/v1beta1',
    kind: 'IPAddressPool',
    metadata: { name: `edge-${provider}`, namespace: 'metallb-system', labels: { [labelKeys.lbProvider]: provider } },
    // .0 and .255 of a /24 are valid, but some clients still refuse them (MetalLB's avoidBuggyIPs).
    spec: { addresses: [cidr], avoidBuggyIPs: true },
  });
}

function parseUpFlags(flags: UpFlags): ParsedUp {
  const root = hasNetAdmin();
  const mode = flags.mode === 'auto' ? (root ? 'nftables' : 'userspace') : flags.mode;
  if (!isPlaneMode(mode)) {
    throw new CliError(`--mode must be auto or one of ${planeModes.join(', ')}, not ${flags.mode}`);
  }
  if (!root && planes[mode].needsRoot)
    throw new CliError(`--mode ${mode} needs root (CAP_NET_ADMIN); use --mode userspace`);
  const missing = planes[mode].unavailable?.();
  if (missing) throw new CliError(`--mode ${mode}: ${missing}`);
  const nodes = Number(flags.nodes);
  if (!/^\d+$/.test(flags.nodes) || nodes < 1 || nodes > maxLabNodes)
    throw new CliError(`--nodes must be a whole number from 1 to ${maxLabNodes}, not ${flags.nodes}`);
  if (nodes > 1 && !root) throw new CliError('--nodes above 1 needs root (CAP_NET_ADMIN) for the node namespaces');
  const cidr = parseCIDRSloppy(flags.clusterCidr);
  if (cidr?.bits !== 32 || cidr.prefix > 24)
    throw new CliError(
      `--cluster-cidr must be an IPv4 CIDR of /24 or larger, not ${JSON.stringify(flags.clusterCidr)}`,
    );
  if (2 ** (24 - cidr.prefix) < nodes)
    throw new CliError(
      `--cluster-cidr ${flags.clusterCidr} has room for ${2 ** (24 - cidr.prefix)} node /24s, not ${nodes}`,
    );
  const zones = (flags.zones ?? '')
    .split(',')
    .map((z) => z.trim())
    .filter(Boolean);
  const badZone = zones.find((z) => !/^([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]$/.test(z));
  if (badZone !== undefined) throw new CliError(`--zones: ${JSON.stringify(badZone)} is not a valid label value`);
  if (flags.lanCidr !== undefined) {
    const lan = parseCIDRSloppy(flags.lanCidr);
    if (lan?.bits !== 32 || lan.prefix > 27)
      throw new CliError(`--lan-cidr must be an IPv4 CIDR of /27 or larger, not ${JSON.stringify(flags.lanCidr)}`);
  }
  const graceMs = parseDuration('--node-monitor-grace-period', flags.nodeMonitorGracePeriod);
  if (graceMs <= 0) throw new CliError('--node-monitor-grace-period must be more than 0');
  if (!isAnnounceMode(flags.announce))
    throw new CliError(`--announce must be one of ${announceModes.join(', ')}, not ${JSON.stringify(flags.announce)}`);
  if (flags.announce !== 'off' && !root)
    throw new CliError(`--announce ${flags.announce} needs root (CAP_NET_ADMIN) for the lab LAN`);
  if (flags.announce === 'layer2' && !packetSocketsAvailable())
    throw new CliError('--announce layer2 needs the native packet-socket addon (run scripts/build-native.sh)');
  checkLbProviderFlag(flags.lbProvider);
  const edges = lbProviderEdges(flags.lbProvider);
  if (edges > 0 && !root)
    throw new CliError(`--lb-provider ${flags.lbProvider} needs root (CAP_NET_ADMIN) for the lab's edge namespace`);
  const edge = parseCIDRSloppy(flags.edgeCidr);
  if (edge?.bits !== 32 || edge.prefix < 16)
    throw new CliError(`--edge-cidr must be an IPv4 CIDR of /16 or smaller, not ${JSON.stringify(flags.edgeCidr)}`);
  return { mode, root, nodes, zones, graceMs, announce: flags.announce, edges };
}

export async function runUp(flags: UpFlags): Promise<void> {
  const { mode, root, nodes, zones, graceMs, announce, edges } = parseUpFlags(flags);
  const dataDir = resolve(flags.dataDir);
  const serviceCIDRs = flags.serviceClusterIpRange.split(',').map((s) => s.trim());
  const dnsIP = nthAddress(serviceCIDRs[0] ?? '10.96.0.0/12', 10);
  const steps = progress();
  const stack: (() => Promise<void>)[] = [];
  const shutdown = async () => {
    for (const f of stack.reverse())
      await f().catch((e: unknown) => console.error(`svcnet: during shutdown: ${String(e)}`));
  };
  try {
    // The LAN comes first: the API server listens on the parent's LAN address for the nodes.
    const lanCluster = root ? new LabLan({ dataDir, ...(flags.lanCidr ? { cidr: flags.lanCidr } : {}) }) : undefined;
    if (lanCluster) {
      steps.step('svcnet: building the lab LAN and the outside client namespace');
      await lanCluster.start();
      stack.push(() => lanCluster.stop());
      steps.done();
    }
    let edge: LabEdge | undefined;
    if (lanCluster && edges > 0) {
      steps.step(`svcnet: building the edge for --lb-provider ${flags.lbProvider}`);
      edge = await startEdge(lanCluster, edges, flags.edgeCidr, flags);
      const e = edge;
      stack.push(() => e.stop());
      steps.done();
    }
    steps.step('svcnet: starting the API server');
    const api = await runApiServer(
      flags,
      lanCluster
        ? { extraHosts: [lanCluster.parentIP], advertiseAddress: lanCluster.parentIP }
        : { allowLoopbackEndpoints: true },
    );
    stack.push(() => api.close());
    steps.done(api.url);
    steps.step('svcnet: starting the controllers and scheduler');
    // The controllers run in this process: their workqueue_* go to the API server's /metrics.
    setWorkqueueMetrics(api.server.metrics);
    const client = new InProcessClient(api.server.registry);
    const where = edge
      ? { edges: edge.hosts, prefix: edge.prefix, ...(edge.hosts.length > 1 ? { floatingIP: edge.gateway } : {}) }
      : {};
    const lbProvider = lbProviderFromFlag(flags.lbProvider, { client, dataDir, ...where });
    const controllers = startControllers(client, {
      workloads: true,
      scheduler: true,
      nodeMonitorGracePeriodMs: graceMs,
      ...(lbProvider ? { lbProvider } : {}),
    });
    stack.push(() => controllers.stop());
    await controllers.synced();
    if (edge) await ensureEdgePool(client, flags.lbProvider, edge.cidr);
    recordLbProvider(dataDir, flags.lbProvider, where);
    const scheduler = new LabScheduler(client);
    await scheduler.start();
    stack.push(async () => scheduler.stop());
    steps.done();
    // Node leases are renewed four times per grace period at least (kubelet: 10 s of 50 s).
    const leaseRenewIntervalMs = Math.min(kubeletLeaseRenewIntervalMs, graceMs / 5);

    if (lanCluster) {
      steps.step(`svcnet: building ${nodes} lab node${nodes > 1 ? 's' : ''}`);
      const nodeKubeconfig = join(dataDir, 'node-kubeconfig');
      const lanParent = lanCluster.parentIP;
      writeKubeconfig(nodeKubeconfig, {
        server: `https://${lanParent}:${new URL(api.url).port}`,
        token: api.token,
        caPem: api.tls.ca,
        tlsServerName: 'localhost',
      });
      await ensureKubernetesEndpoints(client, lanParent, Number(new URL(api.url).port));
      let dnsWrites: Promise<void> = Promise.resolve();
      const cluster: LabCluster = new LabCluster({
        client,
        dataDir,
        nodes,
        nodeName: flags.nodeName,
        clusterCIDR: flags.clusterCidr,
        zones,
        lan: lanCluster,
        dnsIP,
        leaseRenewIntervalMs,
        serviceAccountTokens: {
          issue: (namespace, name, seconds) => api.server.issueServiceAccountToken(namespace, name, seconds),
          caPem: api.tls.ca,
        },
        startAgent: async (l) => {
          const argv = [
            '--kubeconfig',
            nodeKubeconfig,
            '--node-name',
            l.node.name,
            '--node-ip',
            l.nodeIP,
            '--mode',
            mode,
            '--netns',
            l.netns,
            '--service-cidrs',
            serviceCIDRs.join(','),
            '--healthz',
            `${l.nodeIP}:10256`,
            '--dns-listen',
            `${l.gateway}:53`,
            // The lab LAN is where LoadBalancer addresses are reached from (svcnet exec --outside).
            '--announce',
            announce,
          ];
          return superviseAgent(() => spawnNodeAgent(argv, l.netns), l.node.name);
        },
        // One writer at a time: nodes start in parallel, and ensure() is a get then a create.
        onNodesChanged: () => {
          dnsWrites = dnsWrites.catch(() => {}).then(() => writeDns());
          return dnsWrites;
        },
      });
      const writeDns = () =>
        ensureKubeDns(
          client,
          dnsIP,
          cluster.nodes.map((n) => ({
            address: n.topology.ipam.gateway(),
            nodeName: n.name,
            ...(n.spec.zone ? { zone: n.spec.zone } : {}),
            ready: n.power === 'on',
          })),
          53,
        );
      stack.push(() => cluster.stop());
      // kubectl logs / exec / port-forward reach the pods through the runner of their node.
      api.server.kubelet = new LabKubelet(() => cluster.nodes.flatMap((n) => (n.runner ? [n.runner] : [])));
      await cluster.start();
      steps.done();
      for (const n of cluster.nodes) {
        console.log(
          `svcnet: node ${n.name}: namespace ${n.topology.names.nodeNetns}, InternalIP ${n.topology.nodeIP}, pod CIDR ${n.spec.podCIDR}${n.spec.zone ? `, zone ${n.spec.zone}` : ''}`,
        );
      }
      console.log(
        `svcnet: LAN ${cluster.lan.cidr} (namespace ${cluster.lan.names.lanNetns}); outside client ${cluster.lan.outsideIP} in ${cluster.lan.outsideNetns}: svcnet exec --outside -- CMD`,
      );
      if (edge)
        console.log(
          `svcnet: edge (--lb-provider ${flags.lbProvider}) ${edge.hosts.map((h) => `${h.netns} ${h.ip}`).join(', ')}; LoadBalancer IPs from ${edge.cidr} (pool metallb-system/edge-${flags.lbProvider}), routed from the outside client via ${edge.gateway}`,
        );
      console.log(`svcnet: mode ${mode}, lab node namespace ${cluster.nodes[0]?.topology.names.nodeNetns}`);
    } else {
      const topology = new LabTopology({ dataDir, mode: 'rootless' });
      steps.step('svcnet: preparing the rootless lab');
      const runner = new PodRunner({
        client,
        topology,
        nodeName: flags.nodeName,
        dataDir,
        dnsIP,
        leaseRenewIntervalMs,
      });
      await runner.start();
      stack.push(() => runner.stop());
      api.server.kubelet = new LabKubelet(() => [runner]);
      steps.done();
      const running = await startNodeAgent({
        client,
        nodeName: flags.nodeName,
        nodeIPs: [topology.nodeIP],
        mode: 'userspace',
        healthz: { host: '127.0.0.1', port: 0 },
        dnsListen: [{ host: '127.0.0.1', port: 0 }],
      });
      stack.push(() => running.stop());
      const dnsPort = running.dns?.addresses[0]?.port ?? 0;
      await ensureKubeDns(client, dnsIP, [{ address: '127.0.0.1', ready: true }], dnsPort);
      console.log(
        `svcnet: cluster DNS on 127.0.0.1:${dnsPort} (rootless: VIPs are loopback aliases, see the agent's mapping)`,
      );
      console.log(`svcnet: mode ${mode}, rootless`);
    }
    if (flags.ui !== false) {
      api.server.uiRoutes = dashboardRoutes(client);
      console.log(`svcnet: dashboard: ${api.url}/ui/?token=${encodeURIComponent(api.token)}`);
    }
    console.log(`svcnet: ready. Try:`);
    console.log(`  export KUBECONFIG=${api.kubeconfig}`);
    console.log(`  kubectl apply -f examples/ && kubectl get svc`);
    console.log(`  svcnet exec <pod> -- curl -s http://my-service/hostname`);
  } catch (e) {
    await shutdown();
    throw e;
  }
  const sig = await untilSignal();
  console.log(`svcnet: ${sig}, shutting down`);
  await shutdown();
}

export function registerUpCommand(program: Command): Command {
  return addApiServerFlags(
    program
      .command('up')
      .description('bring up the whole cluster network on this machine: API server, controllers, lab node, agent, DNS'),
  )
    .option(
      '--mode <mode>',
      `data plane: auto (nftables as root, userspace otherwise), ${planeModes.join(', ')}`,
      'auto',
    )
    .option('--node-name <name>', 'name of the lab node (with --nodes N: <name>-1 … <name>-N)', 'svcnet-node')
    .option('--nodes <n>', `lab nodes (1-${maxLabNodes}; above 1 needs root)`, '1')
    .option('--cluster-cidr <cidr>', 'pod CIDR of the cluster; each node gets the next /24', '10.244.0.0/16')
    .option('--zones <zones>', 'topology.kubernetes.io/zone values given to the nodes round-robin, comma-separated')
    .option('--lan-cidr <cidr>', "the lab LAN's subnet (default: a /24 in 169.254.0.0/16 from the data directory)")
    .option(
      '--node-monitor-grace-period <duration>',
      'how long a node may miss heartbeats before it is NotReady (kube-controller-manager)',
      '50s',
    )
    .option(
      '--announce <protocol>',
      'node agents announce LoadBalancer IPs on the lab LAN: layer2 (ARP/NDP), bgp (to BGPPeers, e.g. BIRD started with svcnet exec --outside) or off',
      'off',
    )
    .option(lbProviderFlag, lbProviderHelp(), 'ipam')
    .option(
      '--edge-cidr <cidr>',
      "with --lb-provider: the provider's LoadBalancer addresses (a pool reserved for it; the outside client routes them to the edge)",
      '198.18.0.0/24',
    )
    .action(runUp);
}
