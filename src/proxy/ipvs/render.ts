// The IPVS plane's renderer, pure: snapshot → the IPVS table it wants (virtual servers and real
// servers, as ipvsadm-save lines), the addresses bound on the svcnet-ipvs0 dummy, and the small
// nftables helper table IPVS cannot do without (masquerade, REJECT/DROP, source ranges, the
// traffic policies' per-source endpoint sets). Decisions come from the shared kit: vipsOf for
// the addresses, categorizeEndpoints for the endpoint sets, evaluateClass for what each kind of
// source gets; this file only writes them in IPVS's and nft's terms. README.md has the packet path.
import { cidrContains, cidrFamilyOf, type IPFamily, ipFamilyOf, joinHostPort } from '../../api/ip.ts';
import {
  destLine,
  fwmarkKey,
  type IpvsDest,
  type IpvsService,
  type IpvsState,
  type IpvsTable,
  ipvsSchedulers,
  serviceId,
  serviceLine,
} from '../../kernel/ipvs.ts';
import { categorizeEndpoints, sourceRangesOf } from '../eligibility.ts';
import type { ProxySnapshot } from '../snapshot.ts';
import { evaluateClass, type SourceKind, trafficClassOf } from '../traffic-class.ts';
import type { EndpointInfo, ServiceKey, ServicePortInfo } from '../types.ts';
import { vipsOf } from '../vips.ts';

export const dummyLink = 'svcnet-ipvs0';
export const helperTable = 'svcnet-ipvs';
/** Firewall marks of the per-source virtual servers start here (well above what CNIs use). */
export const fwmarkBase = 0x5c000;
/**
 * ct mark bits set on a flow's first packet to a VIP: its source kind (pod, node; neither is
 * external) and whether it is masqueraded, decided while the destination is still the VIP
 * (after IPVS it is the real server) and acted on in postrouting.
 */
export const ctBits = { pod: 0x100000, node: 0x200000, masq: 0x400000 } as const;
const hex = (n: number) => `0x${n.toString(16)}`;
const kindMask = hex(ctBits.pod | ctBits.node);
const kindIs: Record<SourceKind, string> = {
  pod: `ct mark & ${kindMask} == ${hex(ctBits.pod)}`,
  node: `ct mark & ${kindMask} == ${hex(ctBits.node)}`,
  external: `ct mark & ${kindMask} == 0`,
};

export interface IpvsRenderOptions {
  readonly serviceCIDRs: readonly string[];
  readonly masqueradeAll: boolean;
  /** `--ipvs-scheduler`; default rr. */
  readonly scheduler?: string;
  readonly families?: readonly IPFamily[];
}

export interface SchedulerProblem {
  readonly service: ServiceKey;
  readonly namespace: string;
  readonly name: string;
  readonly value: string;
}

export interface IpvsRendered {
  /** The IPVS table wanted: serviceId → service and real servers. */
  readonly table: IpvsState;
  /** Addresses bound on svcnet-ipvs0 (ClusterIPs, external IPs, LB IPs), sorted. */
  readonly bound: readonly string[];
  /** The helper table (`helper.text` replaces it in one nft transaction). */
  readonly helper: HelperRendered;
  /** Annotations naming no IPVS scheduler (the default is used; the plane records an Event). */
  readonly schedulerProblems: readonly SchedulerProblem[];
  /** Service ids of UDP virtual servers: their real servers are removed at once, not drained. */
  readonly udp: ReadonlySet<string>;
}

type Fam = 'ip' | 'ip6';
const famOf = (f: IPFamily): Fam => (f === 'IPv4' ? 'ip' : 'ip6');
const kinds: readonly SourceKind[] = ['pod', 'node', 'external'];

/** Elements of one family's helper sets. */
class FamilySets {
  readonly vips = new Set<string>();
  readonly bound = new Set<string>();
  readonly reject = new Set<string>();
  readonly drop: Record<SourceKind, Set<string>> = { pod: new Set(), node: new Set(), external: new Set() };
  readonly masq: Record<SourceKind, Set<string>> = { pod: new Set(), node: new Set(), external: new Set() };
  readonly mark: Record<'pod' | 'node', Map<string, number>> = { pod: new Map(), node: new Map() };
  readonly ranged = new Set<string>();
  readonly rangeAllow = new Set<string>();
  readonly hairpin = new Set<string>();
}

export function schedulerOf(svc: ServicePortInfo, dflt: string): { scheduler: string; bad?: string } {
  const v = svc.ipvsScheduler?.trim();
  if (v === undefined || v === '') return { scheduler: dflt };
  return (ipvsSchedulers as readonly string[]).includes(v) ? { scheduler: v } : { scheduler: dflt, bad: v };
}

export function renderIpvs(snapshot: ProxySnapshot, opts: IpvsRenderOptions): IpvsRendered {
  const families = opts.families ?? ['IPv4', 'IPv6'];
  const dflt = opts.scheduler ?? 'rr';
  const table: IpvsState = new Map();
  const udp = new Set<string>();
  const bound = new Set<string>();
  const sets: Record<Fam, FamilySets> = { ip: new FamilySets(), ip6: new FamilySets() };
  const problems: SchedulerProblem[] = [];
  const reported = new Set<string>();
  const cfg = { masqueradeAll: opts.masqueradeAll, localDetector: snapshot.node.podCIDRs.length > 0 };
  let nextMark = fwmarkBase;
  const keys = [...snapshot.services.keys()].sort();

  for (const key of keys) {
    const svc = snapshot.services.get(key);
    if (!svc) continue;
    const { scheduler, bad } = schedulerOf(svc, dflt);
    if (bad !== undefined && !reported.has(svc.service)) {
      reported.add(svc.service);
      problems.push({ service: svc.service, namespace: svc.namespace, name: svc.name, value: bad });
    }
    const persistence = svc.affinityTimeoutSeconds ?? 0;
    const cat = categorizeEndpoints(snapshot.endpoints.get(key) ?? [], snapshot.node);
    const proto = svc.protocol.toLowerCase();
    for (const vip of vipsOf(svc, { nodePortIPs: snapshot.nodePortIPs, localhostNodePorts: false })) {
      if (!families.includes(vip.family)) continue;
      const f = famOf(vip.family);
      const s = sets[f];
      const elem = `${vip.addr} . ${proto} . ${vip.port}`;
      s.vips.add(elem);
      if (vip.kind !== 'nodePort') {
        bound.add(vip.addr);
        s.bound.add(vip.addr);
      }
      const dest = vip.kind === 'localhostNodePort' ? 'nodePort' : vip.kind;
      const cls = trafficClassOf(svc, dest);
      const per = new Map(kinds.map((k) => [k, evaluateClass(cls, cfg, k)] as const));
      const setOf = (k: SourceKind) => ((per.get(k)?.set ?? 'cluster') === 'local' ? cat.local : cat.cluster);
      if (!cat.hasAny) s.reject.add(elem);
      for (const k of kinds) {
        if (per.get(k)?.masquerade) s.masq[k].add(elem);
        if (cat.hasAny && setOf(k).length === 0) s.drop[k].add(elem);
      }
      if (dest === 'loadBalancer') {
        const ranges = sourceRangesOf(svc, vip.family);
        if (ranges.length > 0) {
          s.ranged.add(elem);
          for (const r of ranges) s.rangeAllow.add(`${elem} . ${r}`);
          // A node inside a range may reach its own LB IP (hairpin through the LB, 5.12).
          if (
            snapshot.node.ips.some((ip) =>
              ranges.some((r) => cidrFamilyOf(r) === ipFamilyOf(ip) && cidrContains(r, ip)),
            )
          ) {
            for (const lb of svc.loadBalancerIPs)
              if (ipFamilyOf(lb) === vip.family) s.rangeAllow.add(`${elem} . ${lb}`);
          }
        }
      }
      // The address's virtual server serves external sources; a source kind whose endpoint set
      // differs (pods and the node under externalTrafficPolicy Local) gets a firewall-mark one.
      const base: IpvsService = {
        protocol: svc.protocol,
        key: joinHostPort(vip.addr, vip.port),
        scheduler,
        persistence,
      };
      addService(table, base, setOf('external'), vip.family);
      if (svc.protocol === 'UDP') udp.add(serviceId(base));
      const extSet = per.get('external')?.set;
      for (const k of ['pod', 'node'] as const) {
        if (per.get(k)?.set === extSet || setOf(k).length === 0) continue;
        const mark = nextMark++;
        s.mark[k].set(elem, mark);
        const fw: IpvsService = { protocol: svc.protocol, key: fwmarkKey(mark, vip.family), scheduler, persistence };
        addService(table, fw, setOf(k), vip.family);
        if (svc.protocol === 'UDP') udp.add(serviceId(fw));
      }
    }
    // 5.8: a pod reaching itself through the Service must be masqueraded or its reply would
    // bypass IPVS.
    for (const ep of snapshot.endpoints.get(key) ?? []) {
      const f = ipFamilyOf(ep.ip);
      if (f && families.includes(f)) sets[famOf(f)].hairpin.add(`${ep.ip} . ${proto} . ${ep.port} . ${ep.ip}`);
    }
  }
  return {
    table,
    bound: [...bound].sort(),
    helper: renderHelper(sets, families, snapshot, opts.serviceCIDRs),
    schedulerProblems: problems,
    udp,
  };
}

function addService(table: IpvsState, service: IpvsService, eps: readonly EndpointInfo[], family: IPFamily): void {
  const dests = new Map<string, IpvsDest>();
  for (const ep of eps) {
    if (ipFamilyOf(ep.ip) !== family) continue;
    const key = joinHostPort(ep.ip, ep.port);
    dests.set(key, { key, weight: 1 });
  }
  table.set(serviceId(service), { service, dests });
}

function elements(items: ReadonlySet<string>): string {
  const all = [...items].sort();
  return all.length ? ` elements = { ${all.join(', ')} }` : '';
}

/** The helper table: one transaction that replaces it whole (atomic for traffic, never a gap). */
function renderHelper(
  sets: Record<Fam, FamilySets>,
  families: readonly IPFamily[],
  snapshot: ProxySnapshot,
  serviceCIDRs: readonly string[],
): HelperRendered {
  const elems = new Map<string, ReadonlySet<string>>();
  const skeleton: string[] = [];
  const out: string[] = [
    `add table inet ${helperTable}`,
    `delete table inet ${helperTable}`,
    `table inet ${helperTable} {`,
  ];
  const chainRules: Record<'pre' | 'out' | 'svc' | 'post' | 'fwd', string[]> = {
    pre: [],
    out: [],
    svc: [],
    post: [],
    fwd: [],
  };
  for (const fam of families) {
    const f = famOf(fam);
    const s = sets[f];
    const addr = f === 'ip' ? 'ipv4_addr' : 'ipv6_addr';
    const tuple = `${addr} . inet_proto . inet_service`;
    const set = (name: string, type: string, items: Iterable<string>, interval = false) =>
      out.push(`  set ${name}-${f} { type ${type};${interval ? ' flags interval;' : ''}${elements(new Set(items))} }`);
    const map = (name: string, m: ReadonlyMap<string, number>) =>
      out.push(
        `  map ${name}-${f} { type ${tuple} : mark;${
          m.size
            ? ` elements = { ${[...m]
                .map(([k, v]) => `${k} : 0x${v.toString(16)}`)
                .sort()
                .join(', ')} }`
            : ''
        } }`,
      );
    const pods = snapshot.node.podCIDRs.filter((c) => cidrFamilyOf(c) === fam);
    set('pods', addr, pods, true);
    set('vips', tuple, s.vips);
    set('bound', addr, s.bound);
    set('reject', tuple, s.reject);
    for (const k of kinds) set(`drop-${k}`, tuple, s.drop[k]);
    for (const k of kinds) set(`masq-${k}`, tuple, s.masq[k]);
    map('mark-pod', s.mark.pod);
    map('mark-node', s.mark.node);
    set('ranged', tuple, s.ranged);
    set('range-allow', `${tuple} . ${addr}`, s.rangeAllow, true);
    set('hairpin', `${tuple} . ${addr}`, s.hairpin);
    const cidrs = serviceCIDRs.filter((c) => cidrFamilyOf(c) === fam);
    set('service-cidrs', addr, cidrs, true);
    const dst = `${f} daddr . meta l4proto . th dport`;
    // IPv4: 127/8 arriving from the wire is a martian unless route_localnet is on; dropping it
    // here keeps the localhost NodePort relay unreachable from outside either way (CVE-2020-8558).
    const lo = f === 'ip' ? '127.0.0.0/8' : '::1';
    const setBit = (bit: number) => `ct mark set ct mark | ${hex(bit)}`;
    chainRules.pre.push(`    iifname != "lo" ${f} daddr ${lo} drop`);
    chainRules.pre.push(`    ct state new ${dst} @vips-${f} ${f} saddr @pods-${f} ${setBit(ctBits.pod)}`);
    for (const k of ['pod', 'external'] as const) {
      chainRules.pre.push(`    ct state new ${kindIs[k]} ${dst} @masq-${k}-${f} ${setBit(ctBits.masq)}`);
    }
    chainRules.pre.push(`    ${kindIs.pod} meta mark set ${dst} map @mark-pod-${f}`);
    chainRules.pre.push(`    meta l4proto { tcp, udp, sctp } ${f} daddr @bound-${f} jump services-${f}`);
    chainRules.pre.push(`    meta l4proto { tcp, udp, sctp } ${dst} @vips-${f} jump services-${f}`);
    chainRules.out.push(`    ct state new ${dst} @vips-${f} ${setBit(ctBits.node)}`);
    chainRules.out.push(`    ct state new ${kindIs.node} ${dst} @masq-node-${f} ${setBit(ctBits.masq)}`);
    chainRules.out.push(`    ${kindIs.node} meta mark set ${dst} map @mark-node-${f}`);
    chainRules.out.push(`    meta l4proto { tcp, udp, sctp } ${f} daddr @bound-${f} jump services-${f}`);
    chainRules.out.push(`    meta l4proto { tcp, udp, sctp } ${dst} @vips-${f} jump services-${f}`);
    // New flows only: an established flow whose last endpoint left keeps draining in IPVS.
    const svc = chainRules.svc;
    svc.push(`  chain services-${f} {`);
    svc.push(`    ct state != new return`);
    svc.push(`    ${dst} @reject-${f} reject`);
    svc.push(`    ${dst} @ranged-${f} ${dst} . ${f} saddr != @range-allow-${f} drop`);
    for (const k of kinds) svc.push(`    ${kindIs[k]} ${dst} @drop-${k}-${f} drop`);
    // An address bound for a Service answers on its service ports only (kube-proxy's
    // KUBE-IPVS-FILTER): anything else listening in the namespace stays out of reach.
    svc.push(`    ${f} daddr @bound-${f} ${dst} != @vips-${f} reject`);
    svc.push(`  }`);
    chainRules.post.push(
      `    ${f === 'ip' ? 'meta nfproto ipv4' : 'meta nfproto ipv6'} ct mark & ${hex(ctBits.masq)} != 0 masquerade`,
    );
    chainRules.post.push(`    ${dst} . ${f} saddr @hairpin-${f} masquerade`);
    // 5.14: a service-CIDR address no Service holds is not bound, so it would be routed on.
    chainRules.fwd.push(`    ${f} daddr @service-cidrs-${f} drop`);
  }
  // Before IPVS: it takes packets in LOCAL_IN (priority 98) and node-originated ones in
  // LOCAL_OUT (-99); mangle priority (-150) is after conntrack (-200), so ct state is known.
  out.push(
    '  chain prerouting {',
    '    type filter hook prerouting priority mangle; policy accept;',
    ...chainRules.pre,
    '  }',
  );
  out.push('  chain output {', '    type filter hook output priority mangle; policy accept;', ...chainRules.out, '  }');
  out.push(...chainRules.svc);
  out.push(
    '  chain forward {',
    '    type filter hook forward priority filter; policy accept;',
    ...chainRules.fwd,
    '  }',
  );
  out.push(
    '  chain postrouting {',
    '    type nat hook postrouting priority srcnat; policy accept;',
    ...chainRules.post,
    '  }',
  );
  out.push('}');
  skeleton.push(...chainRules.pre, ...chainRules.out, ...chainRules.svc, ...chainRules.fwd, ...chainRules.post);
  return { text: `${out.join('\n')}\n`, elements: elems, skeleton: skeleton.join('\n') };
}

export interface HelperRendered {
  /** The whole table, replaced in one transaction. */
  readonly text: string;
  /** Set or map name → its elements (map elements as `key : value`). */
  readonly elements: ReadonlyMap<string, ReadonlySet<string>>;
  /** Everything but the elements: when equal, a sync may change elements alone. */
  readonly skeleton: string;
}

/**
 * The element changes that turn helper `from` into `to` (same skeleton), as one nft transaction;
 * '' when nothing changed. Deletes first: a map key whose value changed is deleted and re-added.
 */
export function helperDelta(from: HelperRendered, to: HelperRendered): string {
  const lines: string[] = [];
  const keyOf = (e: string) => e.split(' : ')[0] ?? e;
  for (const [name, want] of to.elements) {
    const have = from.elements.get(name) ?? new Set<string>();
    const del = [...have].filter((e) => !want.has(e));
    const add = [...want].filter((e) => !have.has(e));
    if (del.length) lines.push(`delete element inet ${helperTable} ${name} { ${del.map(keyOf).join(', ')} }`);
    if (add.length) lines.push(`add element inet ${helperTable} ${name} { ${add.join(', ')} }`);
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}

/** The helper table gone (`svcnet cleanup`). */
export function renderHelperCleanup(): string {
  return `add table inet ${helperTable}\ndelete table inet ${helperTable}\n`;
}

/** An IPVS table as ipvsadm-save lines, sorted (golden files, the fake's dump). */
export function saveText(table: IpvsState): string {
  const out: string[] = [];
  for (const id of [...table.keys()].sort()) {
    const t = table.get(id);
    if (!t) continue;
    out.push(serviceLine('-A', t.service));
    for (const k of [...t.dests.keys()].sort()) {
      const d = t.dests.get(k);
      if (d) out.push(destLine('-a', t.service, d));
    }
  }
  return out.length ? `${out.join('\n')}\n` : '';
}

export type { IpvsTable };
