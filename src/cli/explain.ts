// `svcnet explain`: why a packet from a pod (or an address) to a Service goes where it goes.
// Names are resolved through the Kubernetes API (any API server); the explanation comes from the
// agent on the source's node (its /explain, found through the Node's svcnet.io/proxy-healthz
// annotation or InternalIP:10256); --probe sends one real flow from the pod's namespace and asks
// the agent where it landed.
import type { Command } from 'commander';
import { canonicalIP, joinHostPort } from '../api/ip.ts';
import { isNotFound } from '../api/status.ts';
import type { KubeObject, Pod, Service } from '../api/types.ts';
import { annotationKeys } from '../api/well-known.ts';
import type { Client } from '../client/client.ts';
import type { Explanation } from '../proxy/explain/types.ts';
import { CliError } from './util.ts';

export interface ExplainFlags {
  from: string;
  fromNode?: string;
  to: string;
  proto?: string;
  namespace: string;
  output?: string;
  probe?: boolean;
  agent?: string;
  kubeconfig?: string;
  context?: string;
}

interface Source {
  ip: string;
  pod?: Pod & KubeObject;
  node?: string;
}

interface Target {
  ip: string;
  port: number;
  proto: 'TCP' | 'UDP';
}

type NodeObj = KubeObject & { status?: { addresses?: { type: string; address: string }[] } };

function splitNsName(ref: string, defaultNs: string): [string, string] {
  const i = ref.indexOf('/');
  return i < 0 ? [defaultNs, ref] : [ref.slice(0, i), ref.slice(i + 1)];
}

/** "IP:PORT" / "[v6]:PORT" → address; undefined when `s` is not an address with a port. */
function parseAddrPort(s: string): { ip: string; port: number } | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|(\d+\.\d+\.\d+\.\d+)):(\d+)$/.exec(s);
  if (!m) return undefined;
  const ip = canonicalIP(m[1] ?? m[2] ?? '');
  const port = Number(m[3]);
  if (!ip) throw new CliError(`--to ${JSON.stringify(s)}: not an IP address`);
  if (port < 1 || port > 65535) throw new CliError(`--to ${JSON.stringify(s)}: port must be 1-65535`);
  return { ip, port };
}

function protoFlag(p: string | undefined): 'TCP' | 'UDP' | undefined {
  if (p === undefined) return undefined;
  const u = p.toUpperCase();
  if (u !== 'TCP' && u !== 'UDP') throw new CliError(`--proto must be tcp or udp, not ${JSON.stringify(p)}`);
  return u;
}

async function resolveSource(client: Client, from: string, ns: string): Promise<Source> {
  const ip = canonicalIP(from);
  if (ip) {
    const pods = await client.list<Pod & KubeObject>('pods');
    const pod = pods.items.find((p) => p.status?.podIP === ip && p.status?.phase !== 'Succeeded');
    return pod ? { ip, pod, ...(pod.spec?.nodeName ? { node: pod.spec.nodeName } : {}) } : { ip };
  }
  const [pns, name] = splitNsName(from, ns);
  let pod: Pod & KubeObject;
  try {
    pod = await client.get<Pod & KubeObject>('pods', pns, name);
  } catch (e) {
    if (isNotFound(e)) throw new CliError(`pod ${pns}/${name} not found`);
    throw e;
  }
  const podIP = pod.status?.podIP;
  if (!podIP) throw new CliError(`pod ${pns}/${name} has no IP yet (phase ${pod.status?.phase ?? 'Pending'})`);
  return { ip: podIP, pod, ...(pod.spec?.nodeName ? { node: pod.spec.nodeName } : {}) };
}

async function resolveTarget(
  client: Client,
  to: string,
  ns: string,
  proto: 'TCP' | 'UDP' | undefined,
): Promise<Target> {
  const addr = parseAddrPort(to);
  if (addr) return { ...addr, proto: proto ?? 'TCP' };
  const m = /^([^:]+)(?::(.+))?$/.exec(to);
  if (!m) throw new CliError(`--to ${JSON.stringify(to)}: want SERVICE[:PORT] or IP:PORT`);
  const [sns, name] = splitNsName(m[1] ?? '', ns);
  let svc: Service & KubeObject;
  try {
    svc = await client.get<Service & KubeObject>('services', sns, name);
  } catch (e) {
    if (isNotFound(e)) throw new CliError(`service ${sns}/${name} not found`);
    throw e;
  }
  const spec = svc.spec ?? {};
  if (spec.type === 'ExternalName')
    throw new CliError(`service ${sns}/${name} is ExternalName (${spec.externalName ?? ''}): DNS only, no proxying`);
  const ip = spec.clusterIPs?.[0] ?? spec.clusterIP;
  if (!ip || ip === 'None') throw new CliError(`service ${sns}/${name} is headless: clients reach pods directly`);
  const ports = (spec.ports ?? []).filter((p) => proto === undefined || (p.protocol ?? 'TCP') === proto);
  const want = m[2];
  const port =
    want === undefined
      ? ports.length === 1
        ? ports[0]
        : undefined
      : ports.find((p) => p.name === want || String(p.port) === want);
  if (!port) {
    const names = (spec.ports ?? []).map((p) => `${p.name ? `${p.name}=` : ''}${p.port}/${p.protocol ?? 'TCP'}`);
    throw new CliError(
      want === undefined
        ? `service ${sns}/${name} has ${names.length} ports (${names.join(', ')}): name one as ${name}:PORT`
        : `service ${sns}/${name} has no port ${want}${proto ? `/${proto}` : ''} (ports: ${names.join(', ') || 'none'})`,
    );
  }
  const p = (port.protocol ?? 'TCP').toUpperCase();
  if (p !== 'TCP' && p !== 'UDP') throw new CliError(`service port ${port.port} is ${p}: explain handles tcp and udp`);
  return { ip, port: port.port, proto: p };
}

async function agentURL(client: Client, nodeName: string | undefined, flag: string | undefined): Promise<string> {
  if (flag) return flag.replace(/\/$/, '');
  let node: NodeObj | undefined;
  if (nodeName) {
    try {
      node = await client.get<NodeObj>('nodes', '', nodeName);
    } catch (e) {
      if (isNotFound(e)) throw new CliError(`node ${nodeName} not found`);
      throw e;
    }
  } else {
    const nodes = (await client.list<NodeObj>('nodes')).items;
    if (nodes.length !== 1)
      throw new CliError(`the source is not a pod and there are ${nodes.length} nodes: name one with --from-node`);
    node = nodes[0];
  }
  const url = node ? agentBaseURL(node) : undefined;
  if (!url) throw new CliError(`node ${node?.metadata.name ?? ''} has no InternalIP: give --agent URL`);
  return url;
}

/** `metallb_speaker_announced{ip="X",node=…,protocol=…} 1` lines of one exposition. */
export function announcedIn(text: string, ip: string): { node: string; protocol: string }[] {
  const out: { node: string; protocol: string }[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('metallb_speaker_announced{') || !/\} 1$/.test(line)) continue;
    const labels = Object.fromEntries([...line.matchAll(/([a-z_]+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (labels.ip === ip && labels.node) out.push({ node: labels.node, protocol: labels.protocol ?? '' });
  }
  return out;
}

/** Who announces a LoadBalancer IP: every node's speaker asked, else the Service's last nodeAssigned Event. */
async function announcersOf(client: Client, e: Explanation): Promise<NonNullable<Explanation['announcedBy']>> {
  const nodes = (await client.list<NodeObj>('nodes')).items;
  const found = await Promise.all(
    nodes.map(async (n) => {
      const base = agentBaseURL(n);
      if (!base) return [];
      try {
        const r = await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(3000) });
        return r.ok ? announcedIn(await r.text(), e.destination.ip) : [];
      } catch {
        return [];
      }
    }),
  );
  const all = found.flat();
  if (all.length > 0)
    return {
      nodes: [...new Set(all.map((a) => a.node))].sort(),
      protocol: all[0]?.protocol ?? null,
      source: 'speakers',
    };
  if (e.service) {
    const events = (
      await client.list<KubeObject & Record<string, unknown>>('events', { namespace: e.service.namespace })
    ).items
      .filter((ev) => {
        const io = ev.involvedObject as { kind?: string; name?: string } | undefined;
        return ev.reason === 'nodeAssigned' && io?.kind === 'Service' && io.name === e.service?.name;
      })
      .sort((a, b) => String(a.lastTimestamp ?? '').localeCompare(String(b.lastTimestamp ?? '')));
    const m = /announcing from node "([^"]+)" with protocol "([^"]+)"/.exec(String(events.at(-1)?.message ?? ''));
    if (m) return { nodes: [m[1] ?? ''], protocol: m[2] ?? null, source: 'events' };
  }
  return { nodes: [], protocol: null, source: 'none' };
}

/** Where a node's agent serves /explain, /counters and /metrics: its annotation, else InternalIP:10256. */
export function agentBaseURL(node: NodeObj): string | undefined {
  const ann = node.metadata.annotations?.[annotationKeys.proxyHealthz];
  if (ann) return `http://${ann}`;
  const ip = node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
  return ip ? `http://${joinHostPort(ip, 10256)}` : undefined;
}

async function getJSON<T>(url: string): Promise<T> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(15_000) });
  } catch (e) {
    throw new CliError(`agent at ${new URL(url).host} unreachable: ${(e as Error).message}`);
  }
  const body = (await res.json().catch(() => ({}))) as T & { message?: string };
  if (!res.ok) throw new CliError(`agent: ${body.message ?? `HTTP ${res.status}`}`);
  return body;
}

function verdictLine(e: Explanation): string {
  if (e.verdict === 'endpoints') {
    const eps = e.endpoints.filter((x) => x.eligible).map((x) => joinHostPort(x.ip, x.port));
    return `sent to ${eps.length === 1 ? eps[0] : `one of ${eps.join(', ')}`}`;
  }
  return `${e.verdict}${e.rule ? ` by ${e.rule}` : ''}`;
}

/** The explanation in plain words. */
export function formatExplanation(e: Explanation): string {
  const out: string[] = [];
  const who = e.source.pod ? `pod ${e.source.pod} (${e.source.ip})` : e.source.ip;
  out.push(`From:        ${who}, ${e.source.kind} traffic, on node ${e.node}`);
  const dst = `${joinHostPort(e.destination.ip, e.destination.port)}/${e.destination.protocol}`;
  if (e.service) {
    const s = e.service;
    out.push(
      `To:          ${dst}, the ${e.destination.kind} of Service ${s.namespace}/${s.name} port ${s.portName || s.port} (${s.type}, ${s.trafficPolicy})`,
    );
  } else out.push(`To:          ${dst}, not a Service address on this node`);
  if (e.endpoints.length > 0) {
    const n = e.endpoints.filter((x) => x.eligible).length;
    out.push(`Endpoints:   ${n} of ${e.endpoints.length} eligible`);
    for (const x of e.endpoints) {
      const where = `${joinHostPort(x.ip, x.port)}`.padEnd(22);
      const node = `node ${x.node ?? '?'}`.padEnd(18);
      out.push(
        x.eligible
          ? `  yes  ${where} ${node} ${Math.round((x.weight ?? 0) * 100)}% of new flows`
          : `  no   ${where} ${node} ${x.reason ?? ''}`,
      );
    }
  } else if (e.service) out.push('Endpoints:   none');
  out.push(`Verdict:     ${verdictLine(e)}`);
  if (e.service) out.push(`Masquerade:  ${e.masquerade ? 'yes' : 'no'}: ${e.masqueradeReason}`);
  if (e.announcedBy) {
    const b = e.announcedBy;
    out.push(
      b.nodes.length === 0
        ? 'Announced:   by no node (no speaker announces it: is --announce on, and an advertisement selecting its pool?)'
        : `Announced:   by node${b.nodes.length > 1 ? 's' : ''} ${b.nodes.join(', ')}${b.protocol ? ` (${b.protocol})` : ''}${b.source === 'events' ? ', from the last nodeAssigned Event' : ''}`,
    );
  }
  const a = e.affinity;
  out.push(
    `Affinity:    ${a.type === 'None' ? 'none' : `ClientIP for ${a.timeoutSeconds}s${a.pinnedTo ? `, this client is pinned to ${a.pinnedTo}` : ''}`}`,
  );
  out.push(
    `Path:        ${e.plane}, ${e.pathSource === 'kernel' ? 'read back from the kernel' : "the plane's live state"}`,
  );
  for (const s of e.path) out.push(`  ${s.kind.padEnd(9)} ${s.name}${s.detail ? `  (${s.detail})` : ''}`);
  if (!e.consistent.matches) out.push(`MISMATCH:    ${e.consistent.detail ?? ''} (please report this)`);
  else if (e.consistent.detail) out.push(`Note:        ${e.consistent.detail}`);
  if (e.probe) {
    out.push(
      `Probe:       landed ${e.probe.landed}: ${e.probe.matches ? 'as explained' : `NOT as explained (${e.probe.detail ?? ''})`}`,
    );
  }
  return `${out.join('\n')}\n`;
}

async function probe(src: Source, target: Target, agent: string, e: Explanation): Promise<Explanation> {
  if (!src.pod) throw new CliError('--probe needs the source to be a pod (--from POD or a pod IP)');
  const { findPodNetns } = await import('../lab/exec.ts');
  const { IpNetns } = await import('../kernel/netns.ts');
  const { IpLinks } = await import('../kernel/links.ts');
  const { startProbe } = await import('./explain-probe.ts');
  let prefix: string[] = [];
  if (!src.ip.startsWith('127.')) {
    const netns = new IpNetns();
    const ns = await findPodNetns(src.ip, netns, new IpLinks());
    if (!ns)
      throw new CliError(`--probe: no network namespace with ${src.ip} on this machine: is the pod in this lab?`);
    prefix = netns.execArgv(ns, []);
  }
  const running = await startProbe(prefix, target.ip, target.port, target.proto);
  try {
    const { sport, outcome } = running.result;
    let landed: string;
    if (outcome === 'refused') landed = 'REJECT';
    else if (outcome === 'timeout') landed = 'DROP';
    else {
      const q = new URLSearchParams({
        proto: target.proto,
        src: src.ip,
        sport: String(sport),
        dst: target.ip,
        dport: String(target.port),
      });
      const r = await getJSON<{ landed: string | null }>(`${agent}/explain/landing?${q}`);
      // A UDP datagram nobody answered and no plane recorded: it was dropped. A reset no plane
      // recorded a landing for: refused after accept.
      landed = r.landed ?? (outcome === 'sent' ? 'DROP' : outcome === 'reset' ? 'REJECT' : 'UNHANDLED');
    }
    const expected = e.planeVerdict;
    const allowed = e.endpoints.filter((x) => x.eligible).map((x) => joinHostPort(x.ip, x.port));
    const matches = expected === 'endpoints' ? allowed.includes(landed) : landed === expected;
    const detail = matches
      ? undefined
      : expected === 'endpoints'
        ? `expected one of ${allowed.join(', ')}`
        : `expected ${expected}`;
    return { ...e, probe: { landed, matches, ...(detail ? { detail } : {}) } };
  } finally {
    running.close();
  }
}

export async function runExplain(
  flags: ExplainFlags,
  client: Client,
): Promise<{ text: string; explanation: Explanation }> {
  const output = flags.output ?? 'text';
  if (output !== 'text' && output !== 'json')
    throw new CliError(`-o must be json or text, not ${JSON.stringify(output)}`);
  const proto = protoFlag(flags.proto);
  const src = await resolveSource(client, flags.from, flags.namespace);
  const target = await resolveTarget(client, flags.to, flags.namespace, proto);
  const nodeName = flags.fromNode ?? src.node;
  const agent = await agentURL(client, nodeName, flags.agent);
  const q = new URLSearchParams({ src: src.ip, dst: target.ip, dport: String(target.port), proto: target.proto });
  if (src.pod) q.set('pod', `${src.pod.metadata.namespace ?? 'default'}/${src.pod.metadata.name ?? ''}`);
  let e = await getJSON<Explanation>(`${agent}/explain?${q}`);
  if (flags.probe) e = await probe(src, target, agent, e);
  if (e.destination.kind === 'loadBalancer') e = { ...e, announcedBy: await announcersOf(client, e) };
  return { text: output === 'json' ? `${JSON.stringify(e, null, 2)}\n` : formatExplanation(e), explanation: e };
}

export function registerExplainCommand(program: Command): Command {
  return program
    .command('explain')
    .description('why a packet from a pod or address to a Service goes where it goes, on the node that decides')
    .requiredOption('--from <pod|ip>', 'source: a pod ([NS/]NAME) or an IP address')
    .option('--from-node <node>', 'the node the packet leaves from (default: the source pod’s node)')
    .requiredOption('--to <service[:port]|ip:port>', 'destination: [NS/]SERVICE[:PORT NAME|NUMBER] or IP:PORT')
    .option('--proto <tcp|udp>', 'protocol (default: the service port’s, else tcp)')
    .option('-n, --namespace <ns>', 'namespace of the pod and service names', 'default')
    .option('-o, --output <format>', 'text or json', 'text')
    .option('--probe', 'send one real connection from the source pod and report where it landed')
    .option('--agent <url>', "the agent's healthz URL (default: from the Node)")
    .option('--kubeconfig <file>', 'kubeconfig to use')
    .option('--context <name>', 'kubeconfig context')
    .action(async (flags: ExplainFlags) => {
      const { createClient } = await import('../client/kubeconfig.ts');
      const client = createClient({
        ...(flags.kubeconfig ? { kubeconfig: flags.kubeconfig } : {}),
        ...(flags.context ? { context: flags.context } : {}),
      });
      const r = await runExplain(flags, client);
      process.stdout.write(r.text);
      if (r.explanation.probe && !r.explanation.probe.matches) process.exitCode = 3;
    });
}
