// UDP conntrack hygiene after a sync (service-semantics.md 5.25). UDP has no connection
// teardown, so a conntrack entry outlives the path it was made for:
// - a port that went 0 → N endpoints may hold *un-NATed* entries created while nothing served
//   it (packets that passed before rules existed); they would black-hole the client until they
//   time out. Only those are deleted — an un-NATed entry is recognisable by its reply source
//   being the VIP itself — so a restarted agent, which sees every port "go 0 → N", never flushes
//   a healthy, DNATed flow (the regression kube-proxy had);
// - an endpoint that went away: entries from each VIP of the port to that endpoint;
// - a deleted service port: every entry to its ClusterIP:port.
// TCP is never touched: a dead endpoint makes TCP fail fast and the client reconnects.
import { ipFamilyOf } from '../../api/ip.ts';
import { type Runner, run } from '../../kernel/exec.ts';
import type { ProxySnapshot, SyncChanges } from '../snapshot.ts';
import type { ServicePortInfo } from '../types.ts';
import { inNetns } from './applier.ts';
import { vipsOf } from './contribution.ts';
import type { NftFamily } from './structure.ts';

/** Matches conntrack entries by original destination and (optionally) reply source. */
export interface ConntrackFilter {
  readonly family: NftFamily;
  /** Original destination address; undefined: any (NodePorts on every node address). */
  readonly origDst: string | undefined;
  readonly origDport: number;
  /** Reply source address (the endpoint, or the VIP itself for un-NATed entries). */
  readonly replySrc: string | undefined;
  readonly replySport?: number;
  /** Reply source must equal the original destination (un-NATed entry). */
  readonly unNATed?: boolean;
  readonly why: string;
}

export interface ConntrackEntry {
  readonly family: NftFamily;
  readonly src: string;
  readonly dst: string;
  readonly sport: number;
  readonly dport: number;
  readonly replySrc: string;
  readonly replySport: number;
}

/** Pure: the filters a sync's changes call for. */
export function cleanupFilters(
  snapshot: ProxySnapshot,
  changes: SyncChanges,
  families: readonly NftFamily[],
): ConntrackFilter[] {
  const out: ConntrackFilter[] = [];
  const ctx = { node: snapshot.node, nodePortIPs: snapshot.nodePortIPs, localhostNodePorts: false, families };
  const vipsAll = (svc: ServicePortInfo) =>
    families.flatMap((f) => vipsOf(svc, f, ctx).map((v) => ({ ...v, family: f })));
  for (const k of changes.newlyActiveUDP) {
    const svc = snapshot.services.get(k);
    if (!svc) continue;
    for (const v of vipsAll(svc)) {
      out.push({
        family: v.family,
        origDst: v.addr,
        origDport: v.port,
        replySrc: v.addr,
        unNATed: true,
        why: `newly active ${k}`,
      });
    }
  }
  for (const { servicePort: svc, endpoint } of changes.staleUDPEndpoints) {
    const fam: NftFamily = ipFamilyOf(endpoint.ip) === 'IPv6' ? 'ip6' : 'ip';
    if (!families.includes(fam)) continue;
    for (const v of vipsAll(svc)) {
      if (v.family !== fam) continue;
      out.push({
        family: fam,
        origDst: v.addr,
        origDport: v.port,
        replySrc: endpoint.ip,
        replySport: endpoint.port,
        why: `endpoint ${endpoint.key} of ${svc.key} removed`,
      });
    }
  }
  for (const svc of changes.deletedServices) {
    if (svc.protocol !== 'UDP') continue;
    for (const v of vipsAll(svc)) {
      if (v.kind !== 'clusterIP' && v.kind !== 'nodePort') continue;
      out.push({
        family: v.family,
        origDst: v.addr,
        origDport: v.port,
        replySrc: undefined,
        why: `service port ${svc.key} deleted`,
      });
    }
  }
  return out;
}

export function matches(f: ConntrackFilter, e: ConntrackEntry): boolean {
  if (f.family !== e.family || f.origDport !== e.dport) return false;
  if (f.origDst !== undefined && f.origDst !== e.dst) return false;
  if (f.unNATed && (e.replySrc !== e.dst || e.replySport !== e.dport)) return false;
  if (f.replySrc !== undefined && f.replySrc !== e.replySrc) return false;
  if (f.replySport !== undefined && f.replySport !== e.replySport) return false;
  return true;
}

/** Parses `conntrack -L -p udp` lines (orig tuple first, reply tuple second). */
export function parseConntrackList(text: string, family: NftFamily): ConntrackEntry[] {
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

export interface ConntrackCleaner {
  /** Deletes the entries the filters match; returns how many were deleted. */
  clean(filters: readonly ConntrackFilter[]): Promise<number>;
}

/**
 * `conntrack` in the node namespace. One listing per family and one exact-tuple delete per
 * matching entry: a restart with thousands of UDP ports costs one `conntrack -L`, not one
 * process per port.
 */
export class ExecConntrack implements ConntrackCleaner {
  deleted = 0;
  constructor(
    private readonly netns: string | undefined,
    private readonly runner: Runner = run,
  ) {}

  async clean(filters: readonly ConntrackFilter[]): Promise<number> {
    if (filters.length === 0) return 0;
    let n = 0;
    for (const family of ['ip', 'ip6'] as const) {
      const mine = filters.filter((f) => f.family === family);
      if (mine.length === 0) continue;
      const fam = family === 'ip' ? 'ipv4' : 'ipv6';
      const { stdout } = await this.runner(inNetns(this.netns, ['conntrack', '-L', '-f', fam, '-p', 'udp']), {
        timeoutMs: 30_000,
      });
      for (const e of parseConntrackList(stdout, family)) {
        if (!mine.some((f) => matches(f, e))) continue;
        try {
          await this.runner(
            inNetns(this.netns, [
              'conntrack',
              '-D',
              '-f',
              fam,
              '-p',
              'udp',
              '-s',
              e.src,
              '-d',
              e.dst,
              '--sport',
              String(e.sport),
              '--dport',
              String(e.dport),
            ]),
            { timeoutMs: 10_000 },
          );
          n++;
        } catch (err) {
          // Gone meanwhile (timed out or deleted by someone else): "0 flow entries" is success.
          if (!/0 flow entries/.test((err as { stderr?: string }).stderr ?? '')) throw err;
        }
      }
    }
    this.deleted += n;
    return n;
  }
}
