// One service port → the iptables chains and ipset elements it owns, per IP family. Where
// kube-proxy writes a KUBE-SERVICES rule per VIP (a list every packet walks), here every VIP is
// an element of one hash set carrying its entry chain's dispatch index; the port owns only its
// entry chains (the shared traffic-class steps, then the endpoint pick inline), chains for
// endpoint sets a non-final step sends to, and per-endpoint chains for ClientIP affinity.
import { createHash } from 'node:crypto';
import { canonicalIP, cidrContains, type IPFamily, ipFamilyOf } from '../../api/ip.ts';
import { categorizeEndpoints, sourceRangesOf } from '../eligibility.ts';
import { type ClassStep, classSteps, type SourceMatch, type TrafficClass, trafficClassOf } from '../traffic-class.ts';
import type { EndpointInfo, NodeInfo, ServicePortInfo } from '../types.ts';
import { vipsOf } from '../vips.ts';
import { familyWords, hex, indexMask, indexShift, type SetKey, setName } from './structure.ts';

export interface ContributionContext {
  readonly node: NodeInfo;
  readonly nodePortIPs: readonly string[];
  readonly localhostNodePorts: boolean;
  readonly masqueradeAll: boolean;
  /** The local-traffic CIDRs of a family (pod CIDRs or --cluster-cidr); none: no detector. */
  readonly localCIDRs: (family: IPFamily) => readonly string[];
}

export interface Contribution {
  /** nat chain name → its rules (rule text after "-A NAME "). */
  readonly chains: Map<string, string[]>;
  /** "setKey element" → extension text ("" or "skbmark …"). */
  readonly elements: Map<string, string>;
}

const protoWord = { TCP: 'tcp', UDP: 'udp', SCTP: 'sctp' } as const;

/** kube-proxy's chain-name hash: base32 of a sha256, 16 characters. */
export function nameHash(s: string): string {
  const digest = createHash('sha256').update(s).digest();
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of digest) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < 16) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    if (out.length >= 16) break;
  }
  return out;
}

export type EntryKind = 'SVC' | 'EXT';
export function entryChain(svc: ServicePortInfo, kind: EntryKind): string {
  return `SVCNET-${kind}-${nameHash(svc.key)}`;
}
function setChain(svc: ServicePortInfo, set: 'cluster' | 'local'): string {
  return `SVCNET-${set === 'cluster' ? 'EPC' : 'EPL'}-${nameHash(svc.key)}`;
}
function affinityChain(svc: ServicePortInfo, family: IPFamily, ep: EndpointInfo): string {
  return `SVCNET-SEP-${nameHash(`${svc.key}|${family}|${ep.key}`)}`;
}

/** What xt_statistic stores (a 31-bit fraction) printed the way iptables-save prints it. */
export function probabilityText(p: number): string {
  return (Math.round(0x80000000 * p) / 0x80000000).toFixed(11);
}

function canon(ip: string): string {
  return canonicalIP(ip) ?? ip;
}

function dnatTo(family: IPFamily, ep: EndpointInfo): string {
  return family === 'IPv6' ? `[${canon(ep.ip)}]:${ep.port}` : `${canon(ep.ip)}:${ep.port}`;
}

/**
 * One local-traffic CIDR (the usual case) is matched with -s as kube-proxy does; more need the
 * set. A set match costs iptables-nft a lookup of the set per rule whenever it reads the table
 * back (every --noflush restore): 10,000 of them added ~50 ms to a one-chain restore.
 */
function sourceMatch(family: IPFamily, m: SourceMatch, local: readonly string[]): string {
  const [only, ...more] = local;
  switch (m) {
    case 'any':
      return '';
    case 'local-traffic':
      return only !== undefined && more.length === 0
        ? `-s ${only} `
        : `-m set --match-set ${setName(family, 'pod-cidrs')} src `;
    case 'not-local-traffic':
      return only !== undefined && more.length === 0
        ? `! -s ${only} `
        : `-m set ! --match-set ${setName(family, 'pod-cidrs')} src `;
    case 'node':
      return '-m addrtype --src-type LOCAL ';
  }
}

/** The contribution of `svc` with `endpoints` for `family`; `indexOf` gives an entry chain's index. */
export function contributionOf(
  svc: ServicePortInfo,
  endpoints: readonly EndpointInfo[],
  family: IPFamily,
  ctx: ContributionContext,
  indexOf: (chain: string) => number,
): Contribution {
  const chains = new Map<string, string[]>();
  const elements = new Map<string, string>();
  const el = (key: SetKey, element: string, ext = '') => elements.set(`${key} ${element}`, ext);
  // ::1 is never a VIP: the kernel will not route a DNATed ::1 flow, the localhost relay serves it.
  const vips = vipsOf(svc, ctx, family).filter((v) => v.kind !== 'localhostNodePort' || v.family === 'IPv4');
  if (vips.length === 0) return { chains, elements };
  const proto = protoWord[svc.protocol];
  const eps = endpoints.filter((e) => ipFamilyOf(e.ip) === family);
  const cat = categorizeEndpoints(eps, ctx.node);
  const w = familyWords[family];
  const local = ctx.localCIDRs(family);
  const cfg = { masqueradeAll: ctx.masqueradeAll, localDetector: local.length > 0 };

  // 5.8: only a pod on this node can be both client and endpoint of a flow this node NATs.
  for (const e of new Set([...cat.cluster, ...cat.local])) {
    if (e.isLocal || e.nodeName === undefined) el('hairpin', `${canon(e.ip)},${proto}:${e.port},${canon(e.ip)}`);
  }

  /** The rules that pick among `list` and DNAT (5.8 random, 5.9 ClientIP affinity). */
  const pickRules = (list: readonly EndpointInfo[]): string[] => {
    if (list.length === 0) return ['-j SVCNET-MARK-DROP'];
    const aff = svc.affinityTimeoutSeconds;
    const rules: string[] = [];
    if (aff === undefined) {
      for (const [i, e] of list.entries()) {
        const stat =
          i < list.length - 1
            ? `-m statistic --mode random --probability ${probabilityText(1 / (list.length - i))} `
            : '';
        rules.push(`-p ${proto} ${stat}-j DNAT --to-destination ${dnatTo(family, e)}`);
      }
      return rules;
    }
    const recent = (name: string, op: string) => `-m recent ${op} --name ${name} --mask ${w.hostMask} --rsource`;
    for (const e of list) {
      const sep = affinityChain(svc, family, e);
      rules.push(`${recent(sep, `--rcheck --seconds ${aff} --reap`)} -g ${sep}`);
      chains.set(sep, [`-p ${proto} ${recent(sep, '--set')} -j DNAT --to-destination ${dnatTo(family, e)}`]);
    }
    for (const [i, e] of list.entries()) {
      const sep = affinityChain(svc, family, e);
      const stat =
        i < list.length - 1
          ? `-m statistic --mode random --probability ${probabilityText(1 / (list.length - i))} `
          : '';
      rules.push(`${stat}-g ${sep}`);
    }
    return rules;
  };

  const setOf = (s: 'cluster' | 'local') => (s === 'cluster' ? cat.cluster : cat.local);
  /** An entry chain: clear the index, the class's steps, the last one's pick inline. */
  const entry = (cls: TrafficClass, name: string): void => {
    if (chains.has(name)) return;
    const steps: readonly ClassStep[] = classSteps(cls, cfg);
    const rules = [`-j MARK --set-xmark 0x0/${hex(indexMask)}`];
    for (const [i, s] of steps.entries()) {
      const when = sourceMatch(family, s.from, local);
      if (s.do === 'masquerade') rules.push(`${when}-j SVCNET-MARK-MASQ`);
      else if (i === steps.length - 1 && s.from === 'any') rules.push(...pickRules(setOf(s.set)));
      else {
        const target = setChain(svc, s.set);
        chains.set(target, pickRules(setOf(s.set)));
        rules.push(`${when}-g ${target}`);
      }
    }
    chains.set(name, rules);
  };

  for (const v of vips) {
    const key = `${v.addr},${proto}:${v.port}`;
    if (v.kind === 'clusterIP') el('cluster-ips', v.addr);
    const cls = trafficClassOf(svc, v.kind);
    // 5.10: nothing usable anywhere → REJECT; an external Cluster-policy VIP with an empty
    // cluster set too (the userspace plane's decide() agrees).
    if (!cat.hasAny || (cls === 'external-cluster' && cat.cluster.length === 0)) {
      el('noep', key);
      continue;
    }
    const name = entryChain(svc, v.kind === 'clusterIP' ? 'SVC' : 'EXT');
    entry(cls, name);
    el('vips', key, `skbmark ${hex(indexOf(name) << indexShift)}/${hex(indexMask)}`);
    // 5.12: source ranges filter LB IPs only, never NodePorts.
    const ranges = v.kind === 'loadBalancer' ? sourceRangesOf(svc, family) : [];
    if (ranges.length > 0) {
      el('fw-vips', key);
      for (const r of ranges) el('fw-allow', `${key},${r}`);
      // The node hairpinning through its own LB IP arrives from that address.
      if (ctx.node.ips.some((ip) => ranges.some((r) => cidrContains(r, ip))))
        for (const lb of svc.loadBalancerIPs) if (ipFamilyOf(lb) === family) el('fw-allow', `${key},${canon(lb)}`);
    }
  }
  return { chains, elements };
}
