// UDP conntrack hygiene after a sync, for every kernel data plane (service-semantics.md 5.25).
// UDP has no connection teardown, so a conntrack entry outlives the path it was made for:
// - a port that went 0 → N endpoints may hold *un-NATed* entries created while nothing served
//   it (packets that passed before rules existed); they would black-hole the client until they
//   time out. Only those are deleted — an un-NATed entry is recognisable by its reply source
//   being the VIP itself — so a restarted agent, which sees every port "go 0 → N", never flushes
//   a healthy, DNATed flow (the regression kube-proxy had);
// - an endpoint that went away: entries from each VIP of the port to that endpoint;
// - a deleted service port: every entry to its ClusterIP:port.
// TCP is never touched: a dead endpoint makes TCP fail fast and the client reconnects.
import { type IPFamily, ipFamilyOf } from '../api/ip.ts';
import type { Conntrack, ConntrackEntry } from '../kernel/conntrack.ts';
import type { ProxySnapshot, SyncChanges } from './snapshot.ts';
import type { ServicePortInfo } from './types.ts';
import { vipsOf } from './vips.ts';

/** Matches conntrack entries by original destination and (optionally) reply source. */
export interface ConntrackFilter {
  readonly family: IPFamily;
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

/** Pure: the filters a sync's changes call for, for the families a plane programs. */
export function cleanupFilters(
  snapshot: ProxySnapshot,
  changes: SyncChanges,
  families: readonly IPFamily[],
): ConntrackFilter[] {
  const out: ConntrackFilter[] = [];
  const ctx = { nodePortIPs: snapshot.nodePortIPs, localhostNodePorts: false };
  const vipsAll = (svc: ServicePortInfo) => vipsOf(svc, ctx).filter((v) => families.includes(v.family));
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
    const fam = ipFamilyOf(endpoint.ip);
    if (fam === undefined || !families.includes(fam)) continue;
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

export interface ConntrackCleaner {
  /** Deletes the entries the filters match; returns how many were deleted. */
  clean(filters: readonly ConntrackFilter[]): Promise<number>;
}

/**
 * One listing per family and one exact-tuple delete per matching entry: a restart with
 * thousands of UDP ports costs one `conntrack -L`, not one process per port.
 */
export class TableConntrackCleaner implements ConntrackCleaner {
  deleted = 0;
  constructor(private readonly table: Conntrack) {}

  async clean(filters: readonly ConntrackFilter[]): Promise<number> {
    let n = 0;
    for (const family of ['IPv4', 'IPv6'] as const) {
      const mine = filters.filter((f) => f.family === family);
      if (mine.length === 0) continue;
      for (const e of await this.table.listUDP(family)) {
        if (mine.some((f) => matches(f, e)) && (await this.table.deleteUDP(e))) n++;
      }
    }
    this.deleted += n;
    return n;
  }
}

/**
 * After a sync: clean what `changes` call for. A failure is logged, never thrown: stale entries
 * only delay recovery until they time out, and the rules are already right.
 */
export async function cleanConntrackAfterSync(
  cleaner: ConntrackCleaner,
  snapshot: ProxySnapshot,
  changes: SyncChanges,
  families: readonly IPFamily[],
  log?: (msg: string) => void,
): Promise<number> {
  const filters = cleanupFilters(snapshot, changes, families);
  if (filters.length === 0) return 0;
  try {
    return await cleaner.clean(filters);
  } catch (e) {
    log?.(`conntrack cleanup failed: ${(e as Error).message}`);
    return 0;
  }
}
