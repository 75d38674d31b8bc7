// `svcnet exec [-n NS] POD -- CMD…`: runs a command "inside the cluster" from a pod's point of
// view — in the pod's network namespace as root, plainly in the rootless lab (pods share the
// host's loopback there). The namespace is found by the pod's IP among the lab's namespaces
// (`svn-*`), so this needs only API access, not the lab's data directory.
// `svcnet exec --outside -- CMD…` runs it in the lab's outside client namespace (lan.ts), found
// by the lab annotation its Nodes carry.
import type { Command } from 'commander';
import type { KubeObject, Node, Pod } from '../api/types.ts';
import { annotationKeys } from '../api/well-known.ts';
import type { Client } from '../client/client.ts';
import { type AttachedResult, runAttached } from '../kernel/exec.ts';
import { IpLinks, type Links } from '../kernel/links.ts';
import { IpNetns, type Netns } from '../kernel/netns.ts';
import { MountedUtsNamespaces, type UtsNamespaces } from '../kernel/uts.ts';
import { hostsFileHasPodIP } from './hosts.ts';
import { outsideNetnsOf } from './lan.ts';
import { namePrefix } from './topology.ts';

export type PodExecErrorCode = 'POD_NO_IP' | 'POD_NETNS_NOT_FOUND' | 'NO_LAB_OUTSIDE' | 'NO_COMMAND';

export class PodExecError extends Error {
  readonly code: PodExecErrorCode;
  constructor(code: PodExecErrorCode, message: string) {
    super(message);
    this.name = 'PodExecError';
    this.code = code;
  }
}

/** A pod namespace of some lab: svn-<hash>-<id>. */
const podNetnsName = new RegExp(`^${namePrefix}[0-9a-f]{6}-[0-9a-z]+$`);

/** The lab namespace holding `ip`, or undefined when none does. */
export async function findPodNetns(ip: string, netns: Netns, links: Links): Promise<string | undefined> {
  const names = (await netns.list()).filter((n) => podNetnsName.test(n));
  const holds = async (name: string) => {
    try {
      const ls = await links.links(name);
      return ls.some((l) => l.addresses.some((a) => a.split('/')[0] === ip));
    } catch {
      return false; // deleted while we looked: not this one
    }
  };
  // The pod runner writes each pod's hosts file (kubelet's, naming the pod IP): reading files
  // finds the namespace without a process per namespace; the interface check confirms it.
  const hinted: string[] = [];
  for (const name of names) {
    const hosts = await netns.readEtc(name, 'hosts').catch(() => undefined);
    if (hosts !== undefined && hostsFileHasPodIP(hosts, ip)) hinted.push(name);
  }
  for (const name of hinted) if (await holds(name)) return name;
  for (const name of names) if (!hinted.includes(name) && (await holds(name))) return name;
  return undefined;
}

export interface ExecInPodOptions {
  client: Client;
  namespace: string;
  pod: string;
  argv: string[];
  stdio?: 'inherit' | 'pipe';
  netns?: Netns;
  links?: Links;
  uts?: UtsNamespaces;
}

export async function execInPod(o: ExecInPodOptions): Promise<AttachedResult> {
  const pod = await o.client.get<Pod & KubeObject>('pods', o.namespace, o.pod);
  const ip = pod.status?.podIP;
  if (!ip)
    throw new PodExecError(
      'POD_NO_IP',
      `pod ${o.namespace}/${o.pod} has no IP yet (phase ${pod.status?.phase ?? 'Pending'})`,
    );
  const stdio = o.stdio ?? 'inherit';
  if (ip.startsWith('127.')) return runAttached(o.argv, { stdio });
  const netns = o.netns ?? new IpNetns();
  const ns = await findPodNetns(ip, netns, o.links ?? new IpLinks());
  if (!ns) {
    throw new PodExecError(
      'POD_NETNS_NOT_FOUND',
      `no network namespace with ${ip} (pod ${o.namespace}/${o.pod}) on this machine: is the pod in this lab?`,
    );
  }
  // The pod's UTS namespace too, when it has one, so `hostname` answers the pod's name as
  // under `kubectl exec`.
  const uts = o.uts ?? new MountedUtsNamespaces();
  const inNet = netns.execArgv(ns, o.argv);
  const argv = (await uts.list()).includes(ns) ? uts.execArgv(ns, inNet) : inNet;
  return runAttached(argv, { stdio });
}

/** The outside client namespace of the lab whose Nodes `client` lists. */
export async function findOutsideNetns(client: Client, netns: Netns): Promise<string> {
  const nodes = (await client.list<Node & KubeObject>('nodes')).items;
  const ids = new Set(nodes.map((n) => n.metadata.annotations?.[annotationKeys.labId]).filter((x) => x !== undefined));
  const present = await netns.list();
  for (const id of ids) {
    const name = outsideNetnsOf(id);
    if (present.includes(name)) return name;
  }
  throw new PodExecError(
    'NO_LAB_OUTSIDE',
    ids.size === 0
      ? 'no svcnet lab node in this cluster: --outside needs a lab started by `svcnet up` as root'
      : `the lab's outside namespace (${[...ids].map(outsideNetnsOf).join(', ')}) is not on this machine`,
  );
}

export async function execOutside(o: {
  client: Client;
  argv: string[];
  stdio?: 'inherit' | 'pipe';
  netns?: Netns;
}): Promise<AttachedResult> {
  const netns = o.netns ?? new IpNetns();
  const ns = await findOutsideNetns(o.client, netns);
  return runAttached(netns.execArgv(ns, o.argv), { stdio: o.stdio ?? 'inherit' });
}

export interface ExecCommandDeps {
  /** Default: a Client from --kubeconfig/--context (client/kubeconfig.ts). */
  client?: (opts: { kubeconfig?: string; context?: string }) => Client | Promise<Client>;
  /** Default: sets process.exitCode. */
  exit?: (code: number) => void;
}

export function registerExecCommand(program: Command, deps: ExecCommandDeps = {}): Command {
  return program
    .command('exec')
    .description(
      "run a command in a lab pod's network namespace: svcnet exec [-n NS] POD -- CMD [ARGS…], or outside the cluster: svcnet exec --outside -- CMD",
    )
    .option('-n, --namespace <ns>', 'namespace of the pod', 'default')
    .option('--outside', "run in the lab's outside client namespace (on the LAN with every node), not in a pod")
    .option('--kubeconfig <file>', 'kubeconfig to use')
    .option('--context <name>', 'kubeconfig context')
    .argument('[pod]', 'pod name (none with --outside)')
    .argument('[command...]', 'command and arguments (after --)')
    .action(
      async (
        pod: string | undefined,
        rest: string[],
        opts: { namespace: string; kubeconfig?: string; context?: string; outside?: boolean },
      ) => {
        // With --outside there is no pod: what came first is the command.
        const argv = opts.outside ? [...(pod !== undefined ? [pod] : []), ...rest] : rest;
        if (argv.length === 0) {
          throw new PodExecError(
            'NO_COMMAND',
            opts.outside
              ? 'give a command: svcnet exec --outside -- CMD'
              : 'give a pod and a command: svcnet exec POD -- CMD',
          );
        }
        const make =
          deps.client ??
          (async (o: { kubeconfig?: string; context?: string }) =>
            (await import('../client/kubeconfig.ts')).createClient(o));
        const client = await make({ kubeconfig: opts.kubeconfig, context: opts.context });
        const r = opts.outside
          ? await execOutside({ client, argv })
          : await execInPod({ client, namespace: opts.namespace, pod: pod ?? '', argv });
        (deps.exit ?? ((c: number) => (process.exitCode = c)))(r.code);
      },
    );
}
