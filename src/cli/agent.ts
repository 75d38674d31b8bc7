// `svcnet agent`: the node agent (kube-proxy's job, optionally with node-local cluster DNS)
// against any API server. It programs the namespace it runs in — in a real cluster the node,
// under `svcnet up` the lab's node namespace (started there with `ip netns exec`).
import { hostname } from 'node:os';
import type { Command } from 'commander';
import type { Client } from '../client/client.ts';
import { createClient } from '../client/kubeconfig.ts';
import { type ClusterDns, startClusterDns } from '../dns/cluster-dns.ts';
import { type Agent, startAgent } from '../proxy/agent.ts';
import { createNftablesPlane } from '../proxy/nftables/plane.ts';
import type { DataPlane } from '../proxy/plane.ts';
import { NetnsVipBinder } from '../proxy/userspace/netns-vip-binder.ts';
import { UserspacePlane } from '../proxy/userspace/plane.ts';
import { BoundVips } from '../proxy/userspace/vips.ts';
import { CliError, parseHostPort, untilSignal } from './util.ts';

export type AgentMode = 'userspace' | 'nftables';
export const agentModes: readonly AgentMode[] = ['nftables', 'userspace'];

export interface NodeAgentOptions {
  client: Client;
  nodeName: string;
  nodeIPs: string[];
  mode: AgentMode;
  /**
   * Root: the named namespace to program (nftables: its ruleset; userspace: VIPs on its lo).
   * Undefined: nftables programs the current namespace; userspace uses rootless loopback aliases.
   */
  netns?: string;
  /** Service CIDRs (nftables drops unallocated addresses inside them). */
  serviceCIDRs?: string[];
  healthz?: { host: string; port: number } | null;
  nodePortAddresses?: string[];
  externalIPAllowCIDRs?: string[];
  /** Also serve cluster DNS here (node-local DNS). */
  dnsListen?: { host: string; port: number }[];
}

export interface NodeAgent {
  agent: Agent;
  plane: DataPlane;
  dns: ClusterDns | undefined;
  stop(): Promise<void>;
}

export function createPlane(mode: AgentMode, netns: string | undefined, serviceCIDRs: string[]): DataPlane {
  switch (mode) {
    case 'userspace':
      return new UserspacePlane(netns ? { vips: new BoundVips(new NetnsVipBinder(netns)) } : {});
    case 'nftables':
      return createNftablesPlane({ ...(netns ? { netns } : {}), serviceCIDRs });
  }
}

export async function startNodeAgent(o: NodeAgentOptions): Promise<NodeAgent> {
  const plane = createPlane(o.mode, o.netns, o.serviceCIDRs ?? ['10.96.0.0/12']);
  const agent = await startAgent({
    client: o.client,
    nodeName: o.nodeName,
    nodeIPs: o.nodeIPs,
    plane,
    ...(o.healthz !== undefined ? { healthz: o.healthz } : {}),
    ...(o.nodePortAddresses ? { nodePortAddresses: o.nodePortAddresses } : {}),
    ...(o.externalIPAllowCIDRs ? { externalIPAllowCIDRs: o.externalIPAllowCIDRs } : {}),
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
  netns?: string;
  healthz: string;
  nodeportAddresses?: string;
  externalIpAllow?: string;
  dnsListen?: string;
  serviceCidrs: string;
}

export function registerAgentCommand(program: Command): void {
  program
    .command('agent')
    .description('run the node agent (Service data plane, health checks, metrics; optional node-local DNS)')
    .option('--kubeconfig <file>', 'kubeconfig (default: $KUBECONFIG, in-cluster, ~/.kube/config)')
    .option('--context <name>', 'kubeconfig context')
    .option('--node-name <name>', 'this node', hostname())
    .option('--node-ip <ips>', "node addresses, primary first (default: the Node's InternalIPs)")
    .option('--mode <mode>', `data plane: ${agentModes.join(', ')}`, 'nftables')
    .option('--netns <name>', 'named network namespace to bind VIPs in (root); omit for rootless loopback VIPs')
    .option('--healthz <host:port>', 'kube-proxy healthz, livez and metrics', '0.0.0.0:10256')
    .option('--nodeport-addresses <cidrs>', 'CIDRs or "primary" for NodePorts (default: all node addresses)')
    .option('--external-ip-allow <cidrs>', 'CIDRs whose spec.externalIPs are served (CVE-2020-8554: none by default)')
    .option('--service-cidrs <cidrs>', 'service CIDRs, comma-separated', '10.96.0.0/12')
    .option('--dns-listen <addrs>', 'also serve cluster DNS on HOST:PORT,… (node-local DNS)')
    .action(async (flags: AgentFlags) => {
      if (!agentModes.includes(flags.mode as AgentMode)) {
        throw new CliError(`--mode must be one of ${agentModes.join(', ')}, not ${flags.mode}`);
      }
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
        mode: flags.mode as AgentMode,
        serviceCIDRs: list(flags.serviceCidrs),
        ...(flags.netns ? { netns: flags.netns } : {}),
        healthz: parseHostPort(flags.healthz),
        ...(flags.nodeportAddresses ? { nodePortAddresses: list(flags.nodeportAddresses) } : {}),
        ...(flags.externalIpAllow ? { externalIPAllowCIDRs: list(flags.externalIpAllow) } : {}),
        ...(flags.dnsListen ? { dnsListen: list(flags.dnsListen).map(parseHostPort) } : {}),
      });
      console.log(`svcnet agent: node ${flags.nodeName} (${nodeIPs.join(', ')}), mode ${flags.mode}`);
      const sig = await untilSignal();
      console.log(`svcnet agent: ${sig}, shutting down`);
      await running.stop();
    });
}
