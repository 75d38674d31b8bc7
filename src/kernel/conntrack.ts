// The conntrack table seam: list UDP entries of one family, delete one entry by its exact
// tuple. `conntrack` (conntrack-tools) in the node namespace is the real one; FakeConntrack holds
// entries in memory for unit tests. What to delete is decided in proxy/conntrack.ts.
import type { IPFamily } from '../api/ip.ts';
import { type Runner, run } from './exec.ts';
import { inNetns } from './netns.ts';

export interface ConntrackEntry {
  readonly family: IPFamily;
  readonly src: string;
  readonly dst: string;
  readonly sport: number;
  readonly dport: number;
  readonly replySrc: string;
  readonly replySport: number;
}

export interface Conntrack {
  /** Every UDP entry of `family`. */
  listUDP(family: IPFamily): Promise<ConntrackEntry[]>;
  /** Deletes the entry with this original tuple; false when it was already gone. */
  deleteUDP(e: ConntrackEntry): Promise<boolean>;
}

/** Parses `conntrack -L -p udp` lines (orig tuple first, reply tuple second). */
export function parseConntrackList(text: string, family: IPFamily): ConntrackEntry[] {
  const out: ConntrackEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('udp')) continue;
    const src = [...line.matchAll(/\bsrc=(\S+)/g)].map((m) => m[1] ?? '');
    const dst = [...line.matchAll(/\bdst=(\S+)/g)].map((m) => m[1] ?? '');
    const sport = [...line.matchAll(/\bsport=(\d+)/g)].map((m) => Number(m[1]));
    const dport = [...line.matchAll(/\bdport=(\d+)/g)].map((m) => Number(m[1]));
    if (src.length < 2 || dst.length < 1 || sport.length < 2 || dport.length < 1) continue;
    out.push({
      family,
      src: src[0] ?? '',
      dst: dst[0] ?? '',
      sport: sport[0] ?? 0,
      dport: dport[0] ?? 0,
      replySrc: src[1] ?? '',
      replySport: sport[1] ?? 0,
    });
  }
  return out;
}

const famArg = { IPv4: 'ipv4', IPv6: 'ipv6' } as const;

/** `conntrack` inside `netns` (or here, when undefined). */
export class ExecConntrack implements Conntrack {
  constructor(
    private readonly netns: string | undefined,
    private readonly runner: Runner = run,
  ) {}

  async listUDP(family: IPFamily): Promise<ConntrackEntry[]> {
    const { stdout } = await this.runner(inNetns(this.netns, ['conntrack', '-L', '-f', famArg[family], '-p', 'udp']), {
      timeoutMs: 30_000,
    });
    return parseConntrackList(stdout, family);
  }

  async deleteUDP(e: ConntrackEntry): Promise<boolean> {
    const argv = ['conntrack', '-D', '-f', famArg[e.family], '-p', 'udp', '-s', e.src, '-d', e.dst];
    argv.push('--sport', String(e.sport), '--dport', String(e.dport));
    try {
      await this.runner(inNetns(this.netns, argv), { timeoutMs: 10_000 });
      return true;
    } catch (err) {
      // Gone meanwhile (timed out or deleted by someone else): "0 flow entries" is success.
      if (/0 flow entries/.test((err as { stderr?: string }).stderr ?? '')) return false;
      throw err;
    }
  }
}

/** An in-memory table: tests put entries in and see which the cleanup deleted. */
export class FakeConntrack implements Conntrack {
  entries: ConntrackEntry[] = [];
  readonly deleted: ConntrackEntry[] = [];

  async listUDP(family: IPFamily): Promise<ConntrackEntry[]> {
    return this.entries.filter((e) => e.family === family);
  }

  async deleteUDP(e: ConntrackEntry): Promise<boolean> {
    const same = (x: ConntrackEntry) =>
      x.family === e.family && x.src === e.src && x.dst === e.dst && x.sport === e.sport && x.dport === e.dport;
    const before = this.entries.length;
    this.entries = this.entries.filter((x) => !same(x));
    if (this.entries.length === before) return false;
    this.deleted.push(e);
    return true;
  }
}

export interface FlowQuery {
  readonly proto: 'TCP' | 'UDP' | 'SCTP';
  readonly src: string;
  readonly sport: number;
  readonly dst: string;
  readonly dport: number;
}

/**
 * Where the connection tracker sent one flow: the reply tuple's source (the endpoint after
 * DNAT), from `conntrack -L` lines of any protocol. Undefined when no entry has this origin.
 */
export function parseFlowLanding(text: string, q: FlowQuery): { ip: string; port: number } | undefined {
  const proto = q.proto.toLowerCase();
  for (const line of text.split('\n')) {
    if (!line.startsWith(proto)) continue;
    const src = [...line.matchAll(/\bsrc=(\S+)/g)].map((m) => m[1] ?? '');
    const dst = [...line.matchAll(/\bdst=(\S+)/g)].map((m) => m[1] ?? '');
    const sport = [...line.matchAll(/\bsport=(\d+)/g)].map((m) => Number(m[1]));
    const dport = [...line.matchAll(/\bdport=(\d+)/g)].map((m) => Number(m[1]));
    if (src[0] !== q.src || dst[0] !== q.dst || sport[0] !== q.sport || dport[0] !== q.dport) continue;
    if (src[1] === undefined || sport[1] === undefined) continue;
    return { ip: src[1], port: sport[1] };
  }
  return undefined;
}

/** Looks one flow up in the conntrack table of `netns` (or here). */
export async function findConntrackFlow(
  netns: string | undefined,
  q: FlowQuery,
  runner: Runner = run,
): Promise<{ ip: string; port: number } | undefined> {
  const argv = ['conntrack', '-L', '-p', q.proto.toLowerCase(), '-s', q.src, '-d', q.dst];
  argv.push('--sport', String(q.sport), '--dport', String(q.dport));
  try {
    const { stdout } = await runner(inNetns(netns, argv), { timeoutMs: 10_000 });
    return parseFlowLanding(stdout, q);
  } catch (err) {
    if (/0 flow entries/.test((err as { stderr?: string }).stderr ?? '')) return undefined;
    throw err;
  }
}

/** Flows the connection tracker rewrote towards one endpoint: original destination → reply source. */
export interface TrackedFlowCount {
  readonly proto: 'TCP' | 'UDP' | 'SCTP';
  readonly dst: string;
  readonly dport: number;
  /** Where replies come from: the endpoint the flow was sent to, "ip" and port. */
  readonly endpointIP: string;
  readonly endpointPort: number;
  readonly flows: number;
}

const trackedProtos = { tcp: 'TCP', udp: 'UDP', sctp: 'SCTP' } as const;

/**
 * Counts `conntrack -L` entries whose destination was translated (reply source ≠ original
 * destination): the flows a Service VIP was sent to an endpoint, per (VIP, endpoint). Flows
 * that were not translated (traffic to a pod directly) are left out.
 */
export function countTranslatedFlows(text: string): TrackedFlowCount[] {
  const counts = new Map<string, TrackedFlowCount>();
  for (const line of text.split('\n')) {
    const proto = trackedProtos[line.split(/\s+/, 1)[0] as keyof typeof trackedProtos];
    if (!proto) continue;
    const src = [...line.matchAll(/\bsrc=(\S+)/g)].map((m) => m[1] ?? '');
    const dst = [...line.matchAll(/\bdst=(\S+)/g)].map((m) => m[1] ?? '');
    const sport = [...line.matchAll(/\bsport=(\d+)/g)].map((m) => Number(m[1]));
    const dport = [...line.matchAll(/\bdport=(\d+)/g)].map((m) => Number(m[1]));
    const [d, dp, rs, rsp] = [dst[0], dport[0], src[1], sport[1]];
    if (d === undefined || dp === undefined || rs === undefined || rsp === undefined) continue;
    if (rs === d && rsp === dp) continue;
    const k = `${proto} ${d} ${dp} ${rs} ${rsp}`;
    const c = counts.get(k);
    counts.set(k, { proto, dst: d, dport: dp, endpointIP: rs, endpointPort: rsp, flows: (c?.flows ?? 0) + 1 });
  }
  return [...counts.values()];
}

/** The translated flows of both families in `netns` (or here). */
export async function listTranslatedFlows(
  netns: string | undefined,
  runner: Runner = run,
): Promise<TrackedFlowCount[]> {
  const out: TrackedFlowCount[] = [];
  for (const f of ['ipv4', 'ipv6'] as const) {
    try {
      const { stdout } = await runner(inNetns(netns, ['conntrack', '-L', '-f', f]), { timeoutMs: 10_000 });
      out.push(...countTranslatedFlows(stdout));
    } catch (err) {
      if (/0 flow entries/.test((err as { stderr?: string }).stderr ?? '')) continue;
      throw err;
    }
  }
  return out;
}
