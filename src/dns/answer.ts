// Query → response, pure (reference/service-semantics.md §6; RFC 1034 §4.3.2 for the algorithm,
// RFC 2308 for negative answers, RFC 6604 for rcodes after a CNAME chain).
//
// Inside the zone the server is authoritative: a name that does not exist (no records and no
// descendants) is NXDOMAIN; a name that exists without the asked type is NODATA (NOERROR, empty
// answer). Both carry the zone SOA in the authority section with the negative TTL, so resolvers
// cache the denial for that long and no longer (RFC 2308 §5).
import { ipFamilyOf } from '../api/ip.ts';
import { type Rr, T } from './codec.ts';
import { inZone, ipFromPodLabel, isReverse } from './names.ts';
import type { DnsIndex, PodMode } from './records.ts';

export const SCHEMA_VERSION = '1.1.0';

export interface AnswerConfig {
  podMode: PodMode;
  /** TTL of the SOA in negative answers and its `minimum` field (RFC 2308 §5). */
  negativeTtl: number;
  /** Addresses of `ns.dns.<zone>` (the cluster DNS Service IPs), if known. */
  nsAddresses?: readonly string[];
}

export type Resolution =
  | { kind: 'answer'; rcode: number; aa: boolean; answers: Rr[]; authority: Rr[]; additional: Rr[] }
  /** Not ours: hand the question to the upstream resolvers. */
  | { kind: 'forward' }
  /** An ExternalName CNAME (chain) leads out of the zone: resolve `target` upstream, append. */
  | { kind: 'chase'; prefix: Rr[]; target: string; type: number };

const MAX_CNAME_HOPS = 8;

type Lookup =
  | { kind: 'records'; records: Rr[] }
  | { kind: 'cname'; record: Rr }
  | { kind: 'nodata' }
  | { kind: 'nxdomain' };

export function soaRecord(index: DnsIndex, cfg: AnswerConfig, ttl: number): Rr {
  return {
    name: index.zone,
    type: T.SOA,
    ttl,
    data: {
      kind: 'soa',
      mname: `ns.dns.${index.zone}`,
      rname: `hostmaster.${index.zone}`,
      serial: index.serial,
      refresh: 7200,
      retry: 1800,
      expire: 86400,
      minimum: cfg.negativeTtl,
    },
  };
}

function ipRecords(name: string, ips: readonly string[], type: number, ttl: number): Rr[] {
  const out: Rr[] = [];
  for (const ip of ips) {
    const t = ipFamilyOf(ip) === 'IPv4' ? T.A : T.AAAA;
    if (type === t || type === T.ANY) out.push({ name, type: t, ttl, data: { kind: 'ip', ip } });
  }
  return out;
}

/** `<a-b-c-d>.<ns>.pod.<zone>` (§6.11) and the names above it. */
function lookupPod(index: DnsIndex, cfg: AnswerConfig, key: string, rest: string[], type: number): Lookup {
  if (cfg.podMode === 'disabled') return { kind: 'nxdomain' };
  if (rest.length === 0) return { kind: 'nodata' };
  const ns = rest[rest.length - 1] as string;
  if (rest.length === 1) {
    // Every `<ip>.<ns>.pod` exists in insecure mode, so the namespace is a non-terminal.
    return cfg.podMode === 'insecure' || index.hasPodNamespace(ns) ? { kind: 'nodata' } : { kind: 'nxdomain' };
  }
  if (rest.length !== 2) return { kind: 'nxdomain' };
  const ip = ipFromPodLabel(rest[0] as string);
  if (!ip) return { kind: 'nxdomain' };
  if (cfg.podMode === 'verified' && !index.hasPodIp(ns, ip)) return { kind: 'nxdomain' };
  const records = ipRecords(key, [ip], type, index.ttl);
  return records.length > 0 ? { kind: 'records', records } : { kind: 'nodata' };
}

function lookupZone(index: DnsIndex, cfg: AnswerConfig, key: string, type: number): Lookup {
  const zone = index.zone;
  const ttl = index.ttl;
  if (key === zone) {
    const records: Rr[] = [];
    if (type === T.SOA || type === T.ANY) records.push(soaRecord(index, cfg, ttl));
    if (type === T.NS || type === T.ANY) {
      records.push({ name: zone, type: T.NS, ttl, data: { kind: 'name', target: `ns.dns.${zone}` } });
    }
    return records.length ? { kind: 'records', records } : { kind: 'nodata' };
  }
  const rel = key.slice(0, key.length - zone.length - 1).split('.');
  const top = rel[rel.length - 1];
  if (rel.length === 1 && top === 'dns-version') {
    return type === T.TXT || type === T.ANY
      ? {
          kind: 'records',
          records: [{ name: key, type: T.TXT, ttl, data: { kind: 'txt', strings: [SCHEMA_VERSION] } }],
        }
      : { kind: 'nodata' };
  }
  if (top === 'pod') return lookupPod(index, cfg, key, rel.slice(0, -1), type);
  if (top === 'dns' && cfg.nsAddresses?.length) {
    if (rel.length === 1) return { kind: 'nodata' };
    if (rel.length === 2 && rel[0] === 'ns') {
      const records = ipRecords(key, cfg.nsAddresses, type, ttl);
      return records.length ? { kind: 'records', records } : { kind: 'nodata' };
    }
  }
  if (!index.exists(key)) {
    // `svc.<zone>` is structure even in an empty cluster.
    return rel.length === 1 && top === 'svc' ? { kind: 'nodata' } : { kind: 'nxdomain' };
  }
  const cname = index.records(key, T.CNAME)[0];
  if (cname && type !== T.CNAME) return { kind: 'cname', record: cname };
  if (type === T.ANY) {
    const records = index.types(key).flatMap((t) => [...index.records(key, t)]);
    return records.length ? { kind: 'records', records } : { kind: 'nodata' };
  }
  const records = index.records(key, type);
  return records.length ? { kind: 'records', records: [...records] } : { kind: 'nodata' };
}

/** A/AAAA of in-zone SRV targets for the additional section (spec §2.3.2 "may include"). */
function glue(index: DnsIndex, answers: readonly Rr[]): Rr[] {
  const out: Rr[] = [];
  const seen = new Set<string>();
  for (const r of answers) {
    if (r.data.kind !== 'srv') continue;
    const t = r.data.target;
    if (seen.has(t) || !inZone(t, index.zone)) continue;
    seen.add(t);
    out.push(...index.records(t, T.A), ...index.records(t, T.AAAA));
  }
  return out;
}

/** Resolves a question (canonical key, qtype). qclass handling is the caller's. */
export function resolve(index: DnsIndex, cfg: AnswerConfig, key: string, type: number): Resolution {
  if (inZone(key, index.zone)) {
    const answers: Rr[] = [];
    let name = key;
    for (let hop = 0; hop <= MAX_CNAME_HOPS; hop++) {
      const r = lookupZone(index, cfg, name, type);
      if (r.kind === 'cname') {
        answers.push(r.record);
        if (r.record.data.kind !== 'name') break;
        const target = r.record.data.target.toLowerCase();
        if (!inZone(target, index.zone)) return { kind: 'chase', prefix: answers, target, type };
        if (answers.some((a) => a.name === target)) break; // a CNAME loop: stop with what we have
        name = target;
        continue;
      }
      if (r.kind === 'records') {
        answers.push(...r.records);
        return { kind: 'answer', rcode: 0, aa: true, answers, authority: [], additional: glue(index, r.records) };
      }
      // Negative: rcode is about the last name of the chain (RFC 6604 §2.1).
      const authority = [soaRecord(index, cfg, cfg.negativeTtl)];
      return { kind: 'answer', rcode: r.kind === 'nxdomain' ? 3 : 0, aa: true, answers, authority, additional: [] };
    }
    return { kind: 'answer', rcode: 2, aa: true, answers, authority: [], additional: [] };
  }
  if (isReverse(key) && index.types(key).length > 0) {
    // PTRs for ClusterIPs and endpoint addresses (§6.4, §6.8). Unknown addresses fall through
    // to the upstream resolvers like CoreDNS's `fallthrough in-addr.arpa ip6.arpa`.
    const records =
      type === T.ANY ? index.types(key).flatMap((t) => [...index.records(key, t)]) : [...index.records(key, type)];
    return { kind: 'answer', rcode: 0, aa: true, answers: records, authority: [], additional: [] };
  }
  return { kind: 'forward' };
}
