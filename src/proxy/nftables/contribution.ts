// One service port → the nftables items it owns (elements, affinity chains and sets), per IP
// family. This is where kube-proxy's per-service chains become map elements: every VIP the
// port answers on (ClusterIP, external IPs, LB IPs, each NodePort address) is a key
// `addr . proto . port` in the same maps, so a packet costs the same lookups whatever the kind.
import { createHash } from 'node:crypto';
import { canonicalIP, cidrContains, ipFamilyOf } from '../../api/ip.ts';
import { categorizeEndpoints, sourceRangesOf } from '../eligibility.ts';
import { endpointSetsOf, trafficClassOf } from '../traffic-class.ts';
import { type EndpointInfo, endpointKey, type NodeInfo, type ServicePortInfo } from '../types.ts';
import { vipsOf } from '../vips.ts';
import type { Item } from './store.ts';
import {
  affinityEndpointPrefix,
  affinityPrefix,
  familyWords,
  ipFamilyOfNft,
  type NftFamily,
  nftFamilyOf,
  pickChain,
  slotMapBody,
  slotName,
} from './structure.ts';

export interface ContributionContext {
  readonly node: NodeInfo;
  /** Resolved NodePort addresses (loopback excluded). */
  readonly nodePortIPs: readonly string[];
  /** Also answer NodePorts on 127.0.0.1 (see README for ::1). */
  readonly localhostNodePorts: boolean;
  readonly families: readonly NftFamily[];
}

const protoWord = { TCP: 'tcp', UDP: 'udp', SCTP: 'sctp' } as const;

function familyOfIP(ip: string): NftFamily | undefined {
  const f = ipFamilyOf(ip);
  return f && nftFamilyOf(f);
}

/** nft prints addresses canonically; keys must match that text. */
function canon(ip: string): string {
  return canonicalIP(ip) ?? ip;
}

function shortHash(s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, 10);
}

/** Readable tail for names (nft identifiers: letters, digits, `_ . - /`; kept to a safe subset). */
function readable(s: string): string {
  return s.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 60);
}

/** The endpoint slot value as nft writes it: `addr . port`. */
export function endpointTarget(ep: EndpointInfo): string {
  return `${canon(ep.ip)} . ${ep.port}`;
}

/**
 * What the store keeps for an endpoint slot element: the endpoint key of its canonical address
 * (`10.245.0.7:8080`), which is the snapshot's own `ep.key` string whenever the address is
 * written canonically, where the text `10.245.0.7 . 8080` would be one more string per endpoint
 * (2 MB at 50,000). Values compare equal exactly when their texts do; slotText() writes the text
 * when a transaction is rendered.
 */
export function slotValue(ep: EndpointInfo): string {
  const k = endpointKey(canon(ep.ip), ep.port);
  return k === ep.key ? ep.key : k;
}

/** A slot value (slotValue) as nft writes it: `addr . port`. */
export function slotText(v: string): string {
  const colon = v.lastIndexOf(':');
  const ip = v.startsWith('[') ? v.slice(1, colon - 1) : v.slice(0, colon);
  return `${ip} . ${v.slice(colon + 1)}`;
}

function dnatTarget(family: NftFamily, ep: EndpointInfo): string {
  const ip = canon(ep.ip);
  return family === 'ip6' ? `[${ip}]:${ep.port}` : `${ip}:${ep.port}`;
}

/** The items `svc` with `endpoints` owns. Pure. */
export function contributionOf(
  svc: ServicePortInfo,
  endpoints: readonly EndpointInfo[],
  ctx: ContributionContext,
): Item[] {
  const items: Item[] = [];
  const proto = protoWord[svc.protocol];
  for (const family of ctx.families) {
    const w = familyWords[family];
    // ::1 is never a VIP here: the kernel will not route a DNATed ::1 flow off the host, so the
    // localhost relay serves it (README).
    const vips = vipsOf(svc, ctx, ipFamilyOfNft(family)).filter(
      (v) => v.kind !== 'localhostNodePort' || v.family === 'IPv4',
    );
    if (vips.length === 0) continue;
    const el = (container: string, name: string, value = ''): void => {
      items.push({ family, kind: 'element', container, name, value });
    };
    for (const v of vips) if (v.kind === 'clusterIP') el('cluster-ips', v.addr);
    const eps = endpoints.filter((e) => familyOfIP(e.ip) === family);
    const cat = categorizeEndpoints(eps, ctx.node);
    // 5.8: hairpin masquerade for endpoints that can be picked. Only a pod on this node can be
    // both client and endpoint of a flow this node NATs, so remote endpoints need no element
    // (kube-proxy writes the rule for all; 50,000 remote endpoints would cost 50,000 elements).
    // An endpoint without nodeName might be here too.
    const mayBeHere = (e: EndpointInfo) => e.isLocal || e.nodeName === undefined;
    for (const e of new Set([...cat.cluster, ...cat.local])) {
      if (mayBeHere(e)) el('hairpin', `${canon(e.ip)} . ${canon(e.ip)}`);
    }

    // Pick targets: a shared pick-N chain, or this port's affinity chain (5.9).
    const aff = svc.affinityTimeoutSeconds;
    const base = aff !== undefined ? shortHash(`${svc.key}|${family}|${aff}`) : '';
    const affSet = (e: EndpointInfo) => `affinity-${base}-${shortHash(e.key).slice(0, 8)}`;
    const affEpChain = (e: EndpointInfo) => `${affinityEndpointPrefix}${base}-${readable(`${svc.key}__${e.key}`)}`;
    const pickTarget = (policy: 'cluster' | 'local', list: readonly EndpointInfo[]): string => {
      if (aff === undefined) {
        items.push({
          family,
          kind: 'chain',
          container: '',
          name: pickChain(policy, list.length),
          value: pickRule(policy, list.length),
        });
        for (let i = 0; i < list.length; i++) {
          items.push({ family, kind: 'set', container: '', name: slotName(policy, i), value: slotMapBody(family) });
          items.push({
            family,
            kind: 'chain',
            container: '',
            name: slotName(policy, i),
            value: slotRule(family, policy, i),
          });
        }
        return pickChain(policy, list.length);
      }
      const name = `${affinityPrefix}${base}-${policy}-${readable(svc.key)}`;
      const rules = list.map((e) => `${w.sel} saddr @${affSet(e)} goto ${affEpChain(e)}`);
      const vmap = list.map((e, i) => `${i} : goto ${affEpChain(e)}`).join(', ');
      rules.push(`numgen random mod ${list.length} vmap { ${vmap} }`);
      items.push({ family, kind: 'chain', container: '', name, value: rules.join('\n') });
      return name;
    };
    if (aff !== undefined) {
      for (const e of new Set([...cat.cluster, ...cat.local])) {
        items.push({
          family,
          kind: 'set',
          container: '',
          name: affSet(e),
          value: `type ${w.addr}; flags dynamic,timeout; timeout ${aff}s;`,
        });
        items.push({
          family,
          kind: 'chain',
          container: '',
          name: affEpChain(e),
          value: [
            `update @${affSet(e)} { ${w.sel} saddr }`,
            `meta l4proto { tcp, udp, sctp } dnat ${w.sel} to ${dnatTarget(family, e)}`,
          ].join('\n'),
        });
      }
    }
    // Created on first use: a port whose VIPs never use the local set owns no local chains.
    let clusterTarget: string | undefined;
    let localTarget: string | undefined;

    for (const v of vips) {
      // One flat string: the store keeps it once per element of this VIP, and a template literal
      // this long is a rope of its parts (~130 bytes for "10.96.0.1 . tcp . 80" against ~40).
      const key = [v.addr, ' . ', proto, ' . ', v.port].join('');
      const cls = trafficClassOf(svc, v.kind);
      // 5.10: nothing usable anywhere → REJECT (filter chains, via no-endpoint-services).
      // External Cluster-policy VIPs whose cluster set is empty also refuse (decide() agrees).
      const refuse = !cat.hasAny || (cls === 'external-cluster' && cat.cluster.length === 0);
      if (refuse) {
        el('no-endpoint-services', key, 'goto reject-chain');
        continue;
      }
      el('service-ips', key, `goto ${cls}`);
      const sets = endpointSetsOf(cls);
      const usesCluster = sets.has('cluster');
      const usesLocal = sets.has('local');
      if (usesCluster && cat.cluster.length > 0) {
        clusterTarget ??= pickTarget('cluster', cat.cluster);
        el('cluster-pick', key, `goto ${clusterTarget}`);
        if (aff === undefined) {
          for (const [i, e] of cat.cluster.entries()) el(slotName('cluster', i), key, slotValue(e));
        }
      }
      if (usesLocal && cat.local.length > 0) {
        localTarget ??= pickTarget('local', cat.local);
        el('local-pick', key, `goto ${localTarget}`);
        if (aff === undefined) {
          for (const [i, e] of cat.local.entries()) el(slotName('local', i), key, slotValue(e));
        }
      }
      // 5.12: source ranges filter LB IPs only, never NodePorts.
      const ranges = v.kind === 'loadBalancer' ? sourceRangesOf(svc, ipFamilyOfNft(family)) : [];
      if (ranges.length > 0) {
        el('firewall-ips', key);
        for (const r of ranges) el('firewall-allow', `${key} . ${r}`);
        const nodeInside = ctx.node.ips.some((ip) => ranges.some((r) => cidrContains(r, ip)));
        if (nodeInside)
          for (const lb of svc.loadBalancerIPs)
            if (familyOfIP(lb) === family) el('firewall-allow', `${key} . ${canon(lb)}`);
      }
    }
  }
  return items;
}

/** The single rule of a shared pick-N chain: a uniform pick among slots 0…N-1 (5.8). */
export function pickRule(policy: 'cluster' | 'local', n: number): string {
  const vmap = Array.from({ length: n }, (_, i) => `${i} : goto ${slotName(policy, i)}`).join(', ');
  return `numgen random mod ${n} vmap { ${vmap} }`;
}

/** The single rule of a slot chain: DNAT to endpoint i of the packet's VIP. */
export function slotRule(family: NftFamily, policy: 'cluster' | 'local', i: number): string {
  const w = familyWords[family];
  // nft 1.0.6 needs the l4proto match before a dnat to addr:port in a chain reached by goto.
  return `meta l4proto { tcp, udp, sctp } dnat ${w.sel} to ${w.sel} daddr . meta l4proto . th dport map @${slotName(policy, i)}`;
}
