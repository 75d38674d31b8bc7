// The Kubernetes DNS index (kubernetes/dns docs/specification.md, schema 1.1.0;
// reference/service-semantics.md §6): Services, EndpointSlices and Pods in, resource records out.
//
// Updated per informer event, synchronously: an event recomputes the records of the one Service it
// touches and swaps them in, so the next query sees them — there is no negative cache anywhere
// in the server to wait out (the "re-created Service answers at once" property of the issue).
// Every change bumps `generation`, which is what the server's encoded-answer memo keys on.
//
// Names are stored as canonical keys (ASCII-lowercase, no trailing dot). A name exists when it
// owns records or has a descendant that does (an empty non-terminal, RFC 8020): that is the
// line between NODATA and NXDOMAIN in answer.ts. Each node counts the (contributor, name) pairs
// at or below it, so existence is O(1) and removing the last record below a name removes it.
import { ipFamilyOf } from '../api/ip.ts';
import type { EndpointSlice, KubeObject, Service } from '../api/types.ts';
import { annotationKeys, labelKeys } from '../api/well-known.ts';
import { type Rr, rrText, T } from './codec.ts';
import { canonicalIp, dashedIp, isDnsLabel, parentOf, reverseName } from './names.ts';

export type PodMode = 'disabled' | 'insecure' | 'verified';

export interface DnsIndexOptions {
  /** Cluster domain, e.g. "cluster.local". */
  zone: string;
  /** TTL of every record, seconds (CoreDNS default 5, allowed 0–3600). */
  ttl?: number;
}

type ServiceObj = Service & KubeObject;
type SliceObj = EndpointSlice & KubeObject;
type PodLike = KubeObject & { status?: { podIP?: string; podIPs?: { ip?: string }[] } };

class NameNode {
  /** type → contributor → records of that contributor. */
  readonly sets = new Map<number, Map<string, Rr[]>>();
  /** (contributor, name) pairs at or below this name. */
  weight = 0;
  private flat = new Map<number, Rr[]>();

  records(type: number): Rr[] {
    let out = this.flat.get(type);
    if (out) return out;
    out = [];
    for (const rrs of this.sets.get(type)?.values() ?? []) out.push(...rrs);
    this.flat.set(type, out);
    return out;
  }

  types(): number[] {
    return [...this.sets.keys()];
  }

  invalidate(): void {
    this.flat = new Map();
  }
}

/** Records of one contributor, grouped: name → type → records. */
type Contribution = Map<string, Map<number, Rr[]>>;

const keyOf = (o: KubeObject) => `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;

export class DnsIndex {
  readonly zone: string;
  readonly ttl: number;
  /** Bumped on every change that can alter an answer. */
  generation = 0;
  /** SOA serial: seconds of the last change (what CoreDNS reports), never decreasing. */
  serial = Math.floor(Date.now() / 1000) >>> 0;

  private readonly nodes = new Map<string, NameNode>();
  private readonly contributions = new Map<string, { fingerprint: string; records: Contribution }>();
  private readonly services = new Map<string, ServiceObj>();
  private readonly sliceOwner = new Map<string, string>();
  private readonly slicesByService = new Map<string, Map<string, SliceObj>>();
  /** "ns/ip" → number of pods holding it (verified pod records). */
  private readonly podIps = new Map<string, number>();
  private readonly podNamespaces = new Map<string, number>();

  constructor(opts: DnsIndexOptions) {
    this.zone = opts.zone.replace(/\.$/, '').toLowerCase();
    this.ttl = opts.ttl ?? 5;
  }

  // ---- events (DESIGN.md convention 1: add and delete are updates) ----------------------------

  onService(old: ServiceObj | undefined, cur: ServiceObj | undefined): void {
    const obj = cur ?? old;
    if (!obj) return;
    const key = keyOf(obj);
    if (cur) this.services.set(key, cur);
    else this.services.delete(key);
    this.recompute(key);
  }

  onEndpointSlice(old: SliceObj | undefined, cur: SliceObj | undefined): void {
    const obj = cur ?? old;
    if (!obj) return;
    const sliceKey = keyOf(obj);
    const before = this.sliceOwner.get(sliceKey);
    const ownerName = cur?.metadata.labels?.[labelKeys.serviceName];
    const after = cur && ownerName ? `${cur.metadata.namespace ?? ''}/${ownerName}` : undefined;
    if (before !== undefined && before !== after) {
      this.slicesByService.get(before)?.delete(sliceKey);
      if (this.slicesByService.get(before)?.size === 0) this.slicesByService.delete(before);
      this.sliceOwner.delete(sliceKey);
    }
    if (cur && after !== undefined) {
      let m = this.slicesByService.get(after);
      if (!m) this.slicesByService.set(after, (m = new Map()));
      m.set(sliceKey, cur);
      this.sliceOwner.set(sliceKey, after);
    }
    if (before !== undefined && before !== after) this.recompute(before);
    if (after !== undefined) this.recompute(after);
  }

  onPod(old: PodLike | undefined, cur: PodLike | undefined): void {
    const a = old ? podKeys(old) : [];
    const b = cur ? podKeys(cur) : [];
    if (a.join() === b.join()) return;
    for (const k of a) this.bump(this.podIps, k, -1);
    for (const k of b) this.bump(this.podIps, k, 1);
    const nsOld = old && a.length > 0 ? old.metadata.namespace : undefined;
    const nsNew = cur && b.length > 0 ? cur.metadata.namespace : undefined;
    if (nsOld) this.bump(this.podNamespaces, nsOld, -1);
    if (nsNew) this.bump(this.podNamespaces, nsNew, 1);
    this.changed();
  }

  // ---- reads ----------------------------------------------------------------------------------

  /** Whether the name owns records or is an empty non-terminal above some. */
  exists(key: string): boolean {
    return this.nodes.has(key);
  }

  records(key: string, type: number): readonly Rr[] {
    return this.nodes.get(key)?.records(type) ?? [];
  }

  /** Types with records at the name (empty for an empty non-terminal or a missing name). */
  types(key: string): number[] {
    return this.nodes.get(key)?.types() ?? [];
  }

  hasPodIp(namespace: string, ip: string): boolean {
    return (this.podIps.get(`${namespace}/${ip}`) ?? 0) > 0;
  }

  hasPodNamespace(namespace: string): boolean {
    return (this.podNamespaces.get(namespace) ?? 0) > 0;
  }

  get size(): { names: number; services: number; slices: number } {
    return { names: this.nodes.size, services: this.services.size, slices: this.sliceOwner.size };
  }

  /** Every record, in zone-file text (debugging and tests). */
  dump(): string[] {
    const out: string[] = [];
    for (const node of this.nodes.values())
      for (const t of node.types()) for (const r of node.records(t)) out.push(rrText(r));
    return out.sort();
  }

  // ---- internals ------------------------------------------------------------------------------

  private changed(): void {
    this.generation++;
    const now = Math.floor(Date.now() / 1000) >>> 0;
    this.serial = now > this.serial ? now : (this.serial + 1) >>> 0;
  }

  private bump(m: Map<string, number>, k: string, d: number): void {
    const v = (m.get(k) ?? 0) + d;
    if (v > 0) m.set(k, v);
    else m.delete(k);
  }

  private recompute(svcKey: string): void {
    const svc = this.services.get(svcKey);
    const slices = [...(this.slicesByService.get(svcKey)?.values() ?? [])];
    const rrs = svc ? serviceRecords(svc, slices, this.zone, this.ttl) : [];
    this.replace(`svc/${svcKey}`, rrs);
  }

  /** Swaps one contributor's records; a no-op (no generation bump) when nothing changed. */
  private replace(contributor: string, rrs: readonly Rr[]): void {
    const fingerprint = rrs.map(rrText).join('\n');
    const prev = this.contributions.get(contributor);
    if ((prev?.fingerprint ?? '') === fingerprint) return;
    const next: Contribution = new Map();
    for (const r of rrs) {
      let byType = next.get(r.name);
      if (!byType) next.set(r.name, (byType = new Map()));
      const list = byType.get(r.type);
      if (list) list.push(r);
      else byType.set(r.type, [r]);
    }
    for (const [name, byType] of prev?.records ?? []) {
      if (next.has(name)) continue;
      const node = this.nodes.get(name);
      if (!node) continue;
      for (const t of byType.keys()) this.removeSet(node, t, contributor);
      node.invalidate();
      this.adjustWeight(name, -1);
    }
    for (const [name, byType] of next) {
      const had = prev?.records.get(name);
      let node = this.nodes.get(name);
      if (!node) {
        node = new NameNode();
        this.nodes.set(name, node);
      }
      for (const t of had?.keys() ?? []) if (!byType.has(t)) this.removeSet(node, t, contributor);
      for (const [t, list] of byType) {
        let set = node.sets.get(t);
        if (!set) node.sets.set(t, (set = new Map()));
        set.set(contributor, list);
      }
      node.invalidate();
      if (!had) this.adjustWeight(name, 1);
    }
    if (next.size > 0) this.contributions.set(contributor, { fingerprint, records: next });
    else this.contributions.delete(contributor);
    this.changed();
  }

  private removeSet(node: NameNode, type: number, contributor: string): void {
    const set = node.sets.get(type);
    set?.delete(contributor);
    if (set?.size === 0) node.sets.delete(type);
  }

  /** Adds d to the name and every ancestor, creating and dropping nodes as weights move. */
  private adjustWeight(name: string, d: number): void {
    for (let n = name; n !== ''; n = parentOf(n)) {
      let node = this.nodes.get(n);
      if (!node) {
        if (d < 0) continue;
        node = new NameNode();
        this.nodes.set(n, node);
      }
      node.weight += d;
      if (node.weight <= 0) this.nodes.delete(n);
    }
  }
}

function podKeys(p: PodLike): string[] {
  const ns = p.metadata.namespace ?? '';
  const ips = new Set<string>();
  for (const x of p.status?.podIPs ?? []) if (x.ip) ips.add(x.ip);
  if (p.status?.podIP) ips.add(p.status.podIP);
  const out: string[] = [];
  for (const ip of ips) {
    const c = canonicalIp(ip);
    if (c) out.push(`${ns}/${c}`);
  }
  return out.sort();
}

function isHeadless(svc: ServiceObj): boolean {
  return svc.spec?.clusterIP === 'None' || svc.spec?.clusterIPs?.[0] === 'None';
}

function tolerateUnready(svc: ServiceObj): boolean {
  return (
    svc.spec?.publishNotReadyAddresses === true ||
    svc.metadata.annotations?.[annotationKeys.tolerateUnreadyEndpoints] === 'true'
  );
}

/** `_<port>._<proto>` prefixes of the Service's named ports (unnamed ports have no SRV, §6.3). */
function namedPorts(svc: ServiceObj): { prefix: string; port: number }[] {
  const out: { prefix: string; port: number }[] = [];
  for (const p of svc.spec?.ports ?? []) {
    if (!p.name) continue;
    out.push({ prefix: `_${p.name.toLowerCase()}._${(p.protocol ?? 'TCP').toLowerCase()}`, port: p.port });
  }
  return out;
}

/** The records one Service owns, given its EndpointSlices. Pure. */
export function serviceRecords(svc: ServiceObj, slices: readonly SliceObj[], zone: string, ttl: number): Rr[] {
  const name = (svc.metadata.name ?? '').toLowerCase();
  const ns = (svc.metadata.namespace ?? '').toLowerCase();
  if (!name || !ns) return [];
  const owner = `${name}.${ns}.svc.${zone}`;
  const out: Rr[] = [];
  if (svc.spec?.type === 'ExternalName') {
    // §6.9: only the CNAME; no A, SRV or PTR of its own.
    const target = (svc.spec.externalName ?? '').replace(/\.$/, '');
    if (target) out.push({ name: owner, type: T.CNAME, ttl, data: { kind: 'name', target } });
    return out;
  }
  if (!isHeadless(svc)) {
    const ips = svc.spec?.clusterIPs?.length ? svc.spec.clusterIPs : svc.spec?.clusterIP ? [svc.spec.clusterIP] : [];
    const valid = ips.map(canonicalIp).filter((ip): ip is string => ip !== undefined);
    if (valid.length === 0) return out;
    for (const ip of valid) {
      out.push({ name: owner, type: ipFamilyOf(ip) === 'IPv4' ? T.A : T.AAAA, ttl, data: { kind: 'ip', ip } });
      const rev = reverseName(ip);
      if (rev) out.push({ name: rev, type: T.PTR, ttl, data: { kind: 'name', target: owner } });
    }
    for (const p of namedPorts(svc)) {
      out.push({
        name: `${p.prefix}.${owner}`,
        type: T.SRV,
        ttl,
        data: { kind: 'srv', priority: 0, weight: 100, port: p.port, target: owner },
      });
    }
    return out;
  }
  // Headless (§6.5–6.8): ready endpoints, or all with publishNotReadyAddresses.
  const all = tolerateUnready(svc);
  const hosts = new Map<string, Set<string>>();
  const addrSeen = new Set<string>();
  for (const slice of slices) {
    if (slice.addressType !== 'IPv4' && slice.addressType !== 'IPv6') continue;
    for (const ep of slice.endpoints ?? []) {
      // EndpointSlice API: a nil `ready` means ready.
      if (!all && ep.conditions?.ready === false) continue;
      for (const raw of ep.addresses ?? []) {
        const ip = canonicalIp(raw);
        if (!ip) continue;
        const given = ep.hostname?.toLowerCase();
        const host = given && isDnsLabel(given) ? given : dashedIp(ip);
        let set = hosts.get(host);
        if (!set) hosts.set(host, (set = new Set()));
        set.add(ip);
        addrSeen.add(ip);
      }
    }
  }
  for (const ip of [...addrSeen].sort(compareIps)) {
    out.push({ name: owner, type: ipFamilyOf(ip) === 'IPv4' ? T.A : T.AAAA, ttl, data: { kind: 'ip', ip } });
  }
  const hostNames = [...hosts.keys()].sort();
  for (const host of hostNames) {
    const hostOwner = `${host}.${owner}`;
    for (const ip of [...(hosts.get(host) ?? [])].sort(compareIps)) {
      out.push({ name: hostOwner, type: ipFamilyOf(ip) === 'IPv4' ? T.A : T.AAAA, ttl, data: { kind: 'ip', ip } });
      const rev = reverseName(ip);
      if (rev) out.push({ name: rev, type: T.PTR, ttl, data: { kind: 'name', target: hostOwner } });
    }
  }
  if (hostNames.length > 0) {
    // Priority and weight are not prescribed (§6.3); equal weights summing to ~100 like CoreDNS.
    const weight = Math.max(1, Math.floor(100 / hostNames.length));
    for (const p of namedPorts(svc)) {
      for (const host of hostNames) {
        // §6.7: the port is the Service port (CoreDNS uses the endpoint port instead).
        out.push({
          name: `${p.prefix}.${owner}`,
          type: T.SRV,
          ttl,
          data: { kind: 'srv', priority: 0, weight, port: p.port, target: `${host}.${owner}` },
        });
      }
    }
  }
  return out;
}

function compareIps(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
