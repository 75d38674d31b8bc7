// `svcnet agent`: the node agent (kube-proxy's job, optionally with node-local cluster DNS)
// against any API server. It programs the namespace it runs in — in a real cluster the node,
// under `svcnet up` the lab's node namespace (started there with `ip netns exec`).
import { hostname } from 'node:os';
import type { Command } from 'commander';
import { bgp, bgpMetrics } from '../announcer/bgp/announcer.ts';
import type { Announcer } from '../announcer/contract.ts';
import { layer2, layer2Metrics } from '../announcer/layer2/announcer.ts';
import { type Speaker, startSpeaker } from '../announcer/speaker.ts';
import { canonicalCIDR } from '../api/ip.ts';
import type { Client } from '../client/client.ts';
import { createClient } from '../client/kubeconfig.ts';
import { type ClusterDns, startClusterDns } from '../dns/cluster-dns.ts';
import { ipvsSchedulers } from '../kernel/ipvs.ts';
import { openPacketSocket, packetSocketsAvailable } from '../kernel/packet-socket.ts';
import { type Agent, startAgent } from '../proxy/agent.ts';
import { Registry } from '../proxy/metrics.ts';
import type { DataPlane } from '../proxy/plane.ts';
import { isPlaneMode, type PlaneMode, planeModes, planes } from '../proxy/planes.ts';
import { readKubeProxyConfig } from './kube-proxy-config.ts';
import { CliError, parseDuration, parseHostPort, untilSignal } from './util.ts';

export interface NodeAgentOptions {
  client: Client;
  nodeName: string;
  nodeIPs: string[];
  mode: PlaneMode;
  /**
   * Root: the named namespace to program (kernel planes: their rules; userspace: VIPs on its lo).
   * Undefined: kernel planes program the current namespace; userspace uses rootless loopback aliases.
   */
  netns?: string;
  /** Service CIDRs (kernel planes drop unallocated addresses inside them). */
  serviceCIDRs?: string[];
  healthz?: { host: string; port: number } | null;
  nodePortAddresses?: string[];
  externalIPAllowCIDRs?: string[];
  /** --lb-ip-allow: LB ingress IPs programmed besides IPAddressPool addresses. */
  lbIPAllowCIDRs?: string[];
  /** kube-proxy --masquerade-all. */
  masqueradeAll?: boolean;
  /**
   * kube-proxy --cluster-cidr (detectLocalMode ClusterCIDR): sources inside are local (pod)
   * traffic for every plane, instead of the Node's podCIDRs.
   */
  clusterCIDRs?: string[];
  /** kube-proxy --ipvs-scheduler: the IPVS plane's default scheduler. */
  ipvsScheduler?: string;
  /** Also serve cluster DNS here (node-local DNS). */
  dnsListen?: { host: string; port: number }[];
  /** kube-proxy's syncPeriod: a full resync at least this often (repairs rules edited by others). */
  syncPeriodMs?: number;
  /** kube-proxy's minSyncPeriod: syncs start at least this far apart. */
  minSyncPeriodMs?: number;
  /**
   * Announce LoadBalancer addresses (MetalLB's speaker): "layer2" answers ARP/NDP, "bgp" peers
   * with the BGPPeers selecting this node; default off.
   */
  announce?: AnnounceMode;
  /** BGP: how long routes carry the GRACEFUL_SHUTDOWN community (RFC 8326) before an orderly stop. */
  gracefulShutdownMs?: number;
}

export const announceModes = ['layer2', 'bgp', 'off'] as const;
export type AnnounceMode = (typeof announceModes)[number];
export const isAnnounceMode = (s: string): s is AnnounceMode => (announceModes as readonly string[]).includes(s);

export interface NodeAgent {
  agent: Agent;
  plane: DataPlane;
  dns: ClusterDns | undefined;
  speaker: Speaker | undefined;
  stop(): Promise<void>;
}

export async function startNodeAgent(o: NodeAgentOptions): Promise<NodeAgent> {
  // One registry: the plane's counters and the agent's kube-proxy metrics share /metrics.
  const metrics = new Registry();
  const plane = planes[o.mode].create({
    ...(o.netns !== undefined ? { netns: o.netns } : {}),
    serviceCIDRs: o.serviceCIDRs ?? ['10.96.0.0/12'],
    masqueradeAll: o.masqueradeAll ?? false,
    ...(o.ipvsScheduler !== undefined ? { ipvsScheduler: o.ipvsScheduler } : {}),
    metrics,
    log: (m) => console.error(`svcnet agent: ${m}`),
  });
  // Failures repeat on every retry (a 403 from RBAC above all): logged when they change and
  // again every minute, so the operator sees them without a flood.
  const logged = new Map<string, number>();
  const agent = await startAgent({
    onError: (e, where) => {
      const text = `svcnet agent: ${where}: ${e instanceof Error ? e.message : String(e)}`;
      const now = Date.now();
      if (now - (logged.get(text) ?? -Infinity) < 60_000) return;
      logged.set(text, now);
      if (logged.size > 1000) logged.clear();
      console.error(text);
    },
    client: o.client,
    nodeName: o.nodeName,
    nodeIPs: o.nodeIPs,
    plane,
    metrics,
    ...(o.healthz !== undefined ? { healthz: o.healthz } : {}),
    ...(o.nodePortAddresses ? { nodePortAddresses: o.nodePortAddresses } : {}),
    ...(o.externalIPAllowCIDRs ? { externalIPAllowCIDRs: o.externalIPAllowCIDRs } : {}),
    ...(o.lbIPAllowCIDRs ? { loadBalancerIPAllowCIDRs: o.lbIPAllowCIDRs } : {}),
    serviceCIDRs: o.serviceCIDRs ?? ['10.96.0.0/12'],
    masqueradeAll: o.masqueradeAll ?? false,
    ...(o.clusterCIDRs ? { podCIDRs: o.clusterCIDRs } : {}),
    ...(o.syncPeriodMs !== undefined ? { maxSyncIntervalMs: o.syncPeriodMs } : {}),
    ...(o.minSyncPeriodMs !== undefined ? { minSyncIntervalMs: o.minSyncPeriodMs } : {}),
  });
  const dns = o.dnsListen?.length ? await startClusterDns({ client: o.client, listen: o.dnsListen }) : undefined;
  // The node's DNS counts are scraped where its proxy's are (one listener per node).
  if (dns) agent.exposeAlso(() => dns.metrics.expose());
  let speaker: Speaker | undefined;
  if (o.announce === 'layer2' || o.announce === 'bgp') {
    const log = (m: string) => console.error(`svcnet agent: speaker: ${m}`);
    const onError = (e: unknown) => log(String(e instanceof Error ? e.message : e));
    let announcer: Announcer;
    if (o.announce === 'layer2') {
      if (!packetSocketsAvailable())
        throw new CliError('--announce layer2 needs the native packet-socket addon (run scripts/build-native.sh)');
      announcer = layer2.create(o.nodeName, { open: openPacketSocket, metrics: layer2Metrics(metrics), onError });
    } else {
      const routerID = o.nodeIPs.find((ip) => !ip.includes(':'));
      if (!routerID) throw new CliError('--announce bgp needs an IPv4 node IP for the BGP router ID');
      announcer = bgp.create(o.nodeName, {
        routerID,
        metrics: bgpMetrics(metrics),
        gracefulShutdownMs: o.gracefulShutdownMs ?? 1000,
        log,
        onError: (e, peer) => log(`bgp peer ${peer}: ${e instanceof Error ? e.message : String(e)}`),
      });
    }
    speaker = await startSpeaker({
      client: o.client,
      nodeName: o.nodeName,
      metrics,
      announcer,
      log,
      onError: (e, where) => log(`${where}: ${e instanceof Error ? e.message : String(e)}`),
    });
  }
  return {
    agent,
    plane,
    dns,
    speaker,
    async stop() {
      await speaker?.stop('shutdown');
      await dns?.close();
      await agent.stop({ drainMs: 2000 });
    },
  };
}

const list = (s: string | undefined) =>
  (s ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);

interface AgentFlags {
  kubeconfig?: string;
  context?: string;
  nodeName: string;
  nodeIp?: string;
  mode: string;
  ipvsScheduler: string;
  netns?: string;
  healthz: string;
  nodeportAddresses?: string;
  externalIpAllow?: string;
  dnsListen?: string;
  serviceCidrs: string;
  lbIpAllow?: string;
  syncPeriod: string;
  minSyncPeriod: string;
  announce: string;
  proxyMode?: string;
  masqueradeAll?: boolean;
  clusterCidr?: string;
  config?: string;
}

export function registerAgentCommand(program: Command): void {
  program
    .command('agent')
    .description('run the node agent (Service data plane, health checks, metrics; optional node-local DNS)')
    .option('--kubeconfig <file>', 'kubeconfig (default: $KUBECONFIG, in-cluster, ~/.kube/config)')
    .option('--context <name>', 'kubeconfig context')
    .option('--node-name <name>', 'this node', hostname())
    .option('--node-ip <ips>', "node addresses, primary first (default: the Node's InternalIPs)")
    .option('--mode <mode>', `data plane: ${planeModes.join(', ')}`, 'nftables')
    .option('--netns <name>', 'named network namespace to bind VIPs in (root); omit for rootless loopback VIPs')
    .option('--healthz <host:port>', 'kube-proxy healthz, livez and metrics', '0.0.0.0:10256')
    .option('--nodeport-addresses <cidrs>', 'CIDRs or "primary" for NodePorts (default: all node addresses)')
    .option('--external-ip-allow <cidrs>', 'CIDRs whose spec.externalIPs are served (CVE-2020-8554: none by default)')
    .option(
      '--lb-ip-allow <cidrs>',
      'CIDRs whose status.loadBalancer.ingress IPs are served besides IPAddressPool ones (other LB providers)',
    )
    .option('--service-cidrs <cidrs>', 'service CIDRs, comma-separated', '10.96.0.0/12')
    .option('--ipvs-scheduler <name>', `--mode ipvs: default IPVS scheduler (${ipvsSchedulers.join(', ')})`, 'rr')
    .option('--dns-listen <addrs>', 'also serve cluster DNS on HOST:PORT,… (node-local DNS)')
    .option('--sync-period <duration>', 'full resync at least this often, also under churn', '30s')
    .option('--min-sync-period <duration>', 'minimum time between two syncs', '1s')
    .option(
      '--announce <protocol>',
      "announce LoadBalancer IPs as MetalLB's speaker: layer2 (ARP/NDP), bgp (BGPPeers) or off",
      'off',
    )
    .option('--proxy-mode <mode>', "kube-proxy's name for --mode")
    .option('--masquerade-all', 'masquerade every flow to a ClusterIP (kube-proxy --masquerade-all)')
    .option(
      '--cluster-cidr <cidrs>',
      "pod traffic is a source in these CIDRs, not in the Node's podCIDRs (kube-proxy --cluster-cidr)",
    )
    .option('--config <file>', 'a KubeProxyConfiguration (kubeproxy.config.k8s.io/v1alpha1); flags given win')
    .action(async (flags: AgentFlags, cmd: Command) => {
      applyKubeProxyVocabulary(flags, cmd);
      if (!isPlaneMode(flags.mode)) {
        throw new CliError(`--mode must be one of ${planeModes.join(', ')}, not ${flags.mode}`);
      }
      const mode = flags.mode;
      const missing = planes[mode].unavailable?.();
      if (missing) throw new CliError(`--mode ${mode}: ${missing}`);
      if (!(ipvsSchedulers as readonly string[]).includes(flags.ipvsScheduler)) {
        throw new CliError(`--ipvs-scheduler must be one of ${ipvsSchedulers.join(', ')}, not ${flags.ipvsScheduler}`);
      }
      if (!isAnnounceMode(flags.announce))
        throw new CliError(`--announce must be one of ${announceModes.join(', ')}, not ${flags.announce}`);
      const announce = flags.announce;
      const syncPeriodMs = parseDuration('--sync-period', flags.syncPeriod);
      const minSyncPeriodMs = parseDuration('--min-sync-period', flags.minSyncPeriod);
      if (syncPeriodMs < 1000) throw new CliError(`--sync-period must be at least 1s, not ${flags.syncPeriod}`);
      if (minSyncPeriodMs > syncPeriodMs) throw new CliError('--min-sync-period must not exceed --sync-period');
      const lbIPAllow = list(flags.lbIpAllow);
      const badCIDR = lbIPAllow.find((c) => canonicalCIDR(c) === undefined);
      if (badCIDR !== undefined) throw new CliError(`--lb-ip-allow: ${JSON.stringify(badCIDR)} is not a CIDR`);
      const client = createClient({
        ...(flags.kubeconfig ? { kubeconfig: flags.kubeconfig } : {}),
        ...(flags.context ? { context: flags.context } : {}),
      });
      let nodeIPs = list(flags.nodeIp);
      if (nodeIPs.length === 0) {
        const node = await client.get('nodes', '', flags.nodeName);
        const addrs = ((node.status as { addresses?: { type: string; address: string }[] })?.addresses ?? [])
          .filter((a) => a.type === 'InternalIP')
          .map((a) => a.address);
        if (addrs.length === 0) throw new CliError(`node ${flags.nodeName} has no InternalIP; give --node-ip`);
        nodeIPs = addrs;
      }
      const running = await startNodeAgent({
        client,
        nodeName: flags.nodeName,
        nodeIPs,
        mode,
        serviceCIDRs: list(flags.serviceCidrs),
        ...(flags.netns ? { netns: flags.netns } : {}),
        healthz: parseHostPort(flags.healthz),
        ...(flags.nodeportAddresses ? { nodePortAddresses: list(flags.nodeportAddresses) } : {}),
        ...(flags.externalIpAllow ? { externalIPAllowCIDRs: list(flags.externalIpAllow) } : {}),
        ...(lbIPAllow.length > 0 ? { lbIPAllowCIDRs: lbIPAllow } : {}),
        ...(flags.dnsListen ? { dnsListen: list(flags.dnsListen).map(parseHostPort) } : {}),
        syncPeriodMs,
        minSyncPeriodMs,
        ipvsScheduler: flags.ipvsScheduler,
        announce,
        ...(flags.masqueradeAll ? { masqueradeAll: true } : {}),
        ...(flags.clusterCidr ? { clusterCIDRs: list(flags.clusterCidr) } : {}),
      });
      console.log(`svcnet agent: node ${flags.nodeName} (${nodeIPs.join(', ')}), mode ${flags.mode}`);
      const sig = await untilSignal();
      console.log(`svcnet agent: ${sig}, shutting down`);
      await running.stop();
    });
}

/**
 * kube-proxy's spellings: --proxy-mode for --mode, and a --config file whose settings fill in
 * every flag not given on the command line. Bad values are one-line errors.
 */
function applyKubeProxyVocabulary(flags: AgentFlags, cmd: Command): void {
  const given = (name: string) => cmd.getOptionValueSource(name) === 'cli';
  if (flags.proxyMode !== undefined) {
    if (given('mode') && flags.mode !== flags.proxyMode)
      throw new CliError(`--proxy-mode ${flags.proxyMode} contradicts --mode ${flags.mode}`);
    flags.mode = flags.proxyMode;
  }
  if (flags.clusterCidr !== undefined) {
    const bad = list(flags.clusterCidr).find((c) => canonicalCIDR(c) === undefined);
    if (bad !== undefined || list(flags.clusterCidr).length === 0)
      throw new CliError(`--cluster-cidr: ${JSON.stringify(bad ?? flags.clusterCidr)} is not a CIDR`);
  }
  if (flags.config === undefined) return;
  const c = readKubeProxyConfig(flags.config);
  if (c.mode !== undefined && !given('mode') && !given('proxyMode')) flags.mode = c.mode;
  if (c.clusterCIDRs && !given('clusterCidr')) flags.clusterCidr = c.clusterCIDRs.join(',');
  if (c.masqueradeAll !== undefined && !given('masqueradeAll')) flags.masqueradeAll = c.masqueradeAll;
  if (c.nodeName && !given('nodeName')) flags.nodeName = c.nodeName;
  if (c.healthz && !given('healthz')) flags.healthz = c.healthz;
  if (c.nodePortAddresses && !given('nodeportAddresses')) flags.nodeportAddresses = c.nodePortAddresses.join(',');
  if (c.syncPeriod && !given('syncPeriod')) flags.syncPeriod = c.syncPeriod;
  if (c.minSyncPeriod && !given('minSyncPeriod')) flags.minSyncPeriod = c.minSyncPeriod;
  if (c.ipvsScheduler && !given('ipvsScheduler')) flags.ipvsScheduler = c.ipvsScheduler;
}
