// The IPVS seam: `ipvsadm --restore` of a command list, `ipvsadm --save` and the connection
// counters of `ipvsadm --list`, inside the node's network namespace (IPVS tables are per
// namespace). Like the tool, a restore runs its commands in order and stops at the first error,
// keeping what came before: it is no transaction, so callers order commands to be safe at every
// step. FakeIpvs (fake-ipvs.ts) keeps the kernel's table in memory with the same semantics.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { canonicalIP, joinHostPort } from '../api/ip.ts';
import { type Runner, run } from './exec.ts';
import { inNetns } from './netns.ts';
import { blamedLine, RestoreError } from './restore-error.ts';

export type IpvsProtocol = 'TCP' | 'UDP' | 'SCTP';

/** A virtual service: an address:port of one protocol, or a firewall mark. */
export interface IpvsService {
  readonly protocol: IpvsProtocol;
  /** `ip:port` (`[ip]:port` for IPv6), or `fwmark:<n>:<family>` for a firewall-mark service. */
  readonly key: string;
  readonly scheduler: string;
  /** Persistence (ClientIP affinity) timeout in seconds; 0 = none. */
  readonly persistence: number;
}

export interface IpvsDest {
  /** `ip:port` of the real server. */
  readonly key: string;
  readonly weight: number;
}

export interface IpvsTable {
  readonly service: IpvsService;
  readonly dests: ReadonlyMap<string, IpvsDest>;
}

/** Parsed `ipvsadm -S -n`: service id (serviceId()) → service and its real servers. */
export type IpvsState = Map<string, IpvsTable>;

export interface IpvsConnections {
  readonly active: number;
  readonly inactive: number;
}

export interface Ipvs {
  /** Runs ipvsadm restore commands in order; rejects with a RestoreError at the first failure. */
  restore(text: string): Promise<void>;
  /** `ipvsadm -S -n`. */
  save(): Promise<string>;
  /** Per real server of each service: connection counters (`serviceId dest` → counters). */
  connections(): Promise<Map<string, IpvsConnections>>;
}

const protoFlag: Record<IpvsProtocol, string> = { TCP: '-t', UDP: '-u', SCTP: '--sctp-service' };
const flagProto: Record<string, IpvsProtocol> = { '-t': 'TCP', '-u': 'UDP', '--sctp-service': 'SCTP' };

export function fwmarkKey(mark: number, family: 'IPv4' | 'IPv6'): string {
  return `fwmark:${mark}:${family}`;
}

/** One identity per service: protocol and address (fwmark services are protocol-less in IPVS). */
export function serviceId(s: Pick<IpvsService, 'protocol' | 'key'>): string {
  return s.key.startsWith('fwmark:') ? s.key : `${s.protocol}/${s.key}`;
}

/** The `-t addr:port` / `-f mark [-6]` words naming a service in ipvsadm commands. */
export function serviceWords(s: Pick<IpvsService, 'protocol' | 'key'>): string {
  if (s.key.startsWith('fwmark:')) {
    const [, mark, fam] = s.key.split(':');
    return `-f ${mark}${fam === 'IPv6' ? ' -6' : ''}`;
  }
  return `${protoFlag[s.protocol]} ${s.key}`;
}

/** The ipvsadm commands that create `s` (-A) or edit it (-E). */
export function serviceLine(op: '-A' | '-E', s: IpvsService): string {
  return `${op} ${serviceWords(s)} -s ${s.scheduler}${s.persistence > 0 ? ` -p ${s.persistence}` : ''}`;
}

/** Masquerading (NAT) real servers: the only forwarding method a Service needs. */
export function destLine(op: '-a' | '-e', s: Pick<IpvsService, 'protocol' | 'key'>, d: IpvsDest): string {
  return `${op} ${serviceWords(s)} -r ${d.key} -m -w ${d.weight}`;
}

/** `ip:port` or `[ip]:port` with the address in canonical form (what keys compare). */
export function canonicalHostPort(hp: string): string {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(hp) ?? /^([^:]+):(\d+)$/.exec(hp);
  if (!m?.[1] || !m[2]) return hp;
  return joinHostPort(canonicalIP(m[1]) ?? m[1], m[2]);
}

/** Parses save/restore lines (`-A`/`-a` as `ipvsadm -S -n` prints them). */
export function parseSave(text: string): IpvsState {
  const out: IpvsState = new Map();
  for (const raw of text.split('\n')) {
    const w = raw.trim().split(/\s+/);
    if (w[0] !== '-A' && w[0] !== '-a') continue;
    const svc = parseServiceWords(w);
    if (!svc) continue;
    const id = serviceId(svc);
    if (w[0] === '-A') {
      const scheduler = flagValue(w, '-s') ?? 'wlc';
      const persistence = Number(flagValue(w, '-p') ?? 0);
      out.set(id, { service: { ...svc, scheduler, persistence }, dests: new Map() });
    } else {
      const r = flagValue(w, '-r');
      const t = out.get(id);
      if (!r || !t) continue;
      const key = canonicalHostPort(r);
      (t.dests as Map<string, IpvsDest>).set(key, { key, weight: Number(flagValue(w, '-w') ?? 1) });
    }
  }
  return out;
}

export function flagValue(w: readonly string[], flag: string): string | undefined {
  const i = w.indexOf(flag);
  return i >= 0 ? w[i + 1] : undefined;
}

export function parseServiceWords(w: readonly string[]): Pick<IpvsService, 'protocol' | 'key'> | undefined {
  for (const [flag, protocol] of Object.entries(flagProto)) {
    const v = flagValue(w, flag);
    if (v !== undefined) return { protocol, key: canonicalHostPort(v) };
  }
  const mark = flagValue(w, '-f');
  if (mark !== undefined) return { protocol: 'TCP', key: fwmarkKey(Number(mark), w.includes('-6') ? 'IPv6' : 'IPv4') };
  return undefined;
}

/** Parses `ipvsadm -L -n` connection counters: `serviceId dest` → counters. */
export function parseConnections(text: string): Map<string, IpvsConnections> {
  const out = new Map<string, IpvsConnections>();
  let current: string | undefined;
  for (const line of text.split('\n')) {
    const svc = /^(TCP|UDP|SCTP|FWM)\s+(\S+)/.exec(line);
    if (svc?.[1] && svc[2]) {
      const [, kind, addr] = svc;
      current =
        kind === 'FWM'
          ? fwmarkKey(Number(addr), line.includes('IPv6') ? 'IPv6' : 'IPv4')
          : serviceId({ protocol: kind as IpvsProtocol, key: canonicalHostPort(addr) });
      continue;
    }
    const d = /^\s+->\s+(\S+)\s+\S+\s+\d+\s+(\d+)\s+(\d+)/.exec(line);
    if (d?.[1] && current) {
      out.set(`${current} ${canonicalHostPort(d[1])}`, { active: Number(d[2]), inactive: Number(d[3]) });
    }
  }
  return out;
}

export class ExecIpvs implements Ipvs {
  private loaded = false;
  constructor(
    private readonly netns: string | undefined,
    private readonly runner: Runner = run,
  ) {}

  async restore(text: string): Promise<void> {
    await this.load();
    try {
      await this.runner(inNetns(this.netns, ['ipvsadm', '-R']), { input: text, timeoutMs: 120_000 });
    } catch (e) {
      const stderr = (e as { stderr?: string }).stderr ?? String(e);
      throw new RestoreError('ipvsadm', firstLines(stderr), blamedLine(stderr), e);
    }
  }

  async save(): Promise<string> {
    await this.load();
    try {
      return (await this.runner(inNetns(this.netns, ['ipvsadm', '-S', '-n']), { timeoutMs: 60_000 })).stdout;
    } catch (e) {
      throw new RestoreError('ipvsadm', `save failed: ${firstLines((e as { stderr?: string }).stderr ?? String(e))}`);
    }
  }

  async connections(): Promise<Map<string, IpvsConnections>> {
    await this.load();
    const { stdout } = await this.runner(inNetns(this.netns, ['ipvsadm', '-L', '-n']), { timeoutMs: 60_000 });
    return parseConnections(stdout);
  }

  /** ip_vs is a module; ipvsadm loads it too, but only for some commands. */
  private async load(): Promise<void> {
    if (this.loaded) return;
    if (!existsSync('/proc/net/ip_vs')) await this.runner(['modprobe', 'ip_vs']).catch(() => {});
    this.loaded = true;
  }
}

function firstLines(s: string): string {
  return s.trim().split('\n').slice(0, 3).join('; ');
}

/** The schedulers the kernel ships as modules (ip_vs_<name>); mh is Maglev hashing. */
export const ipvsSchedulers = [
  'rr',
  'wrr',
  'lc',
  'wlc',
  'lblc',
  'lblcr',
  'dh',
  'sh',
  'sed',
  'nq',
  'fo',
  'ovf',
  'mh',
] as const;

export function isIPv6Key(key: string): boolean {
  return key.startsWith('[') || (key.startsWith('fwmark:') && key.endsWith('IPv6'));
}

/**
 * Why IPVS cannot be used on this kernel, or undefined: ip_vs is loaded or loadable. Checked once
 * at start so `--mode ipvs` fails with a reason instead of a sync that keeps failing.
 */
export function ipvsUnavailable(): string | undefined {
  if (existsSync('/proc/net/ip_vs')) return undefined;
  spawnSync('modprobe', ['ip_vs'], { stdio: 'ignore' });
  if (existsSync('/proc/net/ip_vs')) return undefined;
  return 'this kernel has no IPVS (modprobe ip_vs failed); use another --mode, or run inside scripts/vm/run.sh';
}
