// `svcnet agent`: the node agent (kube-proxy's job, optionally with node-local cluster DNS)
// against any API server. It programs the namespace it runs in — in a real cluster the node,
// under `svcnet up` the lab's node namespace (started there with `ip netns exec`).
import { hostname } from 'node:os';
import type { Command } from 'commander';
import { canonicalCIDR } from '../api/ip.ts';
import type { Client } from '../client/client.ts';
import { createClient } from '../client/kubeconfig.ts';
import { type ClusterDns, startClusterDns } from '../dns/cluster-dns.ts';
import { ipvsSchedulers } from '../kernel/ipvs.ts';
import { type Agent, startAgent } from '../proxy/agent.ts';
import { Registry } from '../proxy/metrics.ts';
import type { DataPlane } from '../proxy/plane.ts';
import { isPlaneMode, type PlaneMode, planeModes, planes } from '../proxy/planes.ts';
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
  /** kube-proxy --ipvs-scheduler: the IPVS plane's default scheduler. */
  ipvsScheduler?: string;
  /** Also serve cluster DNS here (node-local DNS). */
  dnsListen?: { host: string; port: number }[];
  /** kube-proxy's syncPeriod: a full resync at least this often (repairs rules edited by others). */
  syncPeriodMs?: number;
  /** kube-proxy's minSyncPeriod: syncs start at least this far apart. */
  minSyncPeriodMs?: number;
}

export interface NodeAgent {
  agent: Agent;
  plane: DataPlane;
  dns: ClusterDns | undefined;
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
    ...(o.syncPeriodMs !== undefined ? { maxSyncIntervalMs: o.syncPeriodMs } : {}),
    ...(o.minSyncPeriodMs !== undefined ? { minSyncIntervalMs: o.minSyncPeriodMs } : {}),
  });
  const dns = o.dnsListen?.length ? await startClusterDns({ client: o.client, listen: o.dnsListen }) : undefined;
  return {
    agent,
    plane,
    dns,
    async stop() {
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
    .action(async (flags: AgentFlags) => {
      if (!isPlaneMode(flags.mode)) {
        throw new CliError(`--mode must be one of ${planeModes.join(', ')}, not ${flags.mode}`);
      }
      const mode = flags.mode;
      if (!(ipvsSchedulers as readonly string[]).includes(flags.ipvsScheduler)) {
        throw new CliError(`--ipvs-scheduler must be one of ${ipvsSchedulers.join(', ')}, not ${flags.ipvsScheduler}`);
      }
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
      });
      console.log(`svcnet agent: node ${flags.nodeName} (${nodeIPs.join(', ')}), mode ${flags.mode}`);
      const sig = await untilSignal();
      console.log(`svcnet agent: ${sig}, shutting down`);
      await running.stop();
    });
}
