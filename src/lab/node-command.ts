// `svcnet node stop|start|set-ip NAME [IP]`: fail, heal and re-address a lab node. The lab
// (cluster.ts) acts on annotations of the Node object, so these commands need only API access
// (--kubeconfig / KUBECONFIG, as `svcnet exec`); each waits until the lab reports it done.
import type { Command } from 'commander';
import { canonicalIP, ipFamilyOf } from '../api/ip.ts';
import { isConflict, isNotFound } from '../api/status.ts';
import type { KubeObject, Node } from '../api/types.ts';
import { annotationKeys } from '../api/well-known.ts';
import type { Client } from '../client/client.ts';
import { parseCidr4 } from './ipam.ts';
import { outsideHost } from './lan.ts';
import { internalIP } from './routes.ts';

type NodeObj = Node & KubeObject;

/** A host address of the LAN other than the parent's and the outside client's (lan.ts). */
function isLanHost(lan: string, ip: string): boolean {
  const c = parseCidr4(lan);
  const n = parseCidr4(`${ip}/32`).base;
  return n > c.base + outsideHost && n < c.base + c.size - 1;
}

export class NodeCommandError extends Error {
  override name = 'NodeCommandError';
}

async function labNode(client: Client, name: string): Promise<NodeObj> {
  let node: NodeObj;
  try {
    node = await client.get<NodeObj>('nodes', '', name);
  } catch (e) {
    if (isNotFound(e)) throw new NodeCommandError(`node ${JSON.stringify(name)} not found`);
    throw e;
  }
  if (!node.metadata.annotations?.[annotationKeys.labId])
    throw new NodeCommandError(`node ${name} is not a node of a svcnet lab (svcnet up as root)`);
  return node;
}

async function annotate(client: Client, name: string, add: Record<string, string>): Promise<void> {
  for (let i = 0; ; i++) {
    const cur = await client.get<NodeObj>('nodes', '', name);
    const annotations = { ...(cur.metadata.annotations ?? {}), ...add };
    try {
      await client.update<NodeObj>('nodes', { ...cur, metadata: { ...cur.metadata, annotations } });
      return;
    } catch (e) {
      if (!isConflict(e) || i >= 4) throw e;
    }
  }
}

async function waitFor(
  client: Client,
  name: string,
  what: string,
  done: (n: NodeObj) => boolean,
  timeoutMs: number,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (done(await client.get<NodeObj>('nodes', '', name))) return;
    if (Date.now() > end)
      throw new NodeCommandError(`node ${name}: ${what} not done after ${timeoutMs / 1000} s (is svcnet up running?)`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function setPower(client: Client, name: string, power: 'on' | 'off', timeoutMs: number): Promise<void> {
  await labNode(client, name);
  await annotate(client, name, { [annotationKeys.labPower]: power });
  await waitFor(
    client,
    name,
    power === 'on' ? 'start' : 'stop',
    (n) => n.metadata.annotations?.[annotationKeys.labPowerState] === power,
    timeoutMs,
  );
}

export async function setNodeIP(client: Client, name: string, ip: string, timeoutMs: number): Promise<void> {
  if (ipFamilyOf(ip) !== 'IPv4' || canonicalIP(ip) !== ip)
    throw new NodeCommandError(`${JSON.stringify(ip)} is not an IPv4 address`);
  const node = await labNode(client, name);
  if (internalIP(node) === ip) return;
  const a = node.metadata.annotations ?? {};
  if (a[annotationKeys.labPowerState] === 'off')
    throw new NodeCommandError(`node ${name} is stopped: start it first (svcnet node start ${name})`);
  const lan = a[annotationKeys.labLan];
  if (lan && !isLanHost(lan, ip)) throw new NodeCommandError(`${ip} is not a free host address of the lab LAN ${lan}`);
  const nodes = (await client.list<NodeObj>('nodes')).items;
  const holder = nodes.find((n) => n.metadata.name !== name && internalIP(n) === ip);
  if (holder) throw new NodeCommandError(`${ip} is node ${holder.metadata.name}'s InternalIP`);
  await annotate(client, name, { [annotationKeys.labInternalIP]: ip });
  await waitFor(
    client,
    name,
    `moving to ${ip}`,
    (n) => n.metadata.annotations?.[annotationKeys.labInternalIPState] === ip && internalIP(n) === ip,
    timeoutMs,
  );
}

export interface NodeCommandDeps {
  client?: (opts: { kubeconfig?: string; context?: string }) => Client | Promise<Client>;
}

interface Flags {
  kubeconfig?: string;
  context?: string;
  timeout: string;
}

export function registerNodeCommand(program: Command, deps: NodeCommandDeps = {}): Command {
  const make = async (f: Flags) => {
    const mk =
      deps.client ??
      (async (o: { kubeconfig?: string; context?: string }) =>
        (await import('../client/kubeconfig.ts')).createClient(o));
    return mk({ ...(f.kubeconfig ? { kubeconfig: f.kubeconfig } : {}), ...(f.context ? { context: f.context } : {}) });
  };
  const timeout = (f: Flags) => {
    const s = Number(f.timeout);
    if (!Number.isFinite(s) || s <= 0)
      throw new NodeCommandError(`--timeout must be seconds above 0, not ${f.timeout}`);
    return s * 1000;
  };
  const node = program.command('node').description('fail, heal and re-address lab nodes (svcnet up)');
  const common = (c: Command) =>
    c
      .option('--kubeconfig <file>', 'kubeconfig to use')
      .option('--context <name>', 'kubeconfig context')
      .option('--timeout <seconds>', 'how long to wait for the lab', '60');
  common(node.command('stop').description('stop a node as if its machine died: agent, pods and links go down'))
    .argument('<name>', 'node name')
    .action(async (name: string, f: Flags) => {
      await setPower(await make(f), name, 'off', timeout(f));
      console.log(`node/${name} stopped`);
    });
  common(node.command('start').description('start a stopped node again (it registers, its pods run again)'))
    .argument('<name>', 'node name')
    .action(async (name: string, f: Flags) => {
      await setPower(await make(f), name, 'on', timeout(f));
      console.log(`node/${name} started`);
    });
  common(node.command('set-ip').description("move a node's InternalIP to another free address on the lab LAN"))
    .argument('<name>', 'node name')
    .argument('<ip>', 'the new InternalIP')
    .action(async (name: string, ip: string, f: Flags) => {
      await setNodeIP(await make(f), name, ip, timeout(f));
      console.log(`node/${name} InternalIP ${ip}`);
    });
  return node;
}
