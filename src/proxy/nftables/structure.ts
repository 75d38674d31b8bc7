// The fixed skeleton of svcnet's nftables ruleset: tables, base chains (hook + priority), the
// shared chains and the sets/maps every Service's elements live in (DESIGN.md convention 6:
// structure is data). Per-Service churn never adds rules here; it adds map elements (render.ts).
//
// Packet path (IPv4; IPv6 is the same with ip6):
//
//   prerouting: raw-prerouting (-300)   drop 127.0.0.0/8 arriving on a non-loopback interface
//               filter-prerouting (-110) LB source ranges (firewall-ips / firewall-allow)
//               nat-prerouting (-100)    jump services
//   output:     filter-output (-110)     LB source ranges, no-endpoint REJECT
//               nat-output (-100)        jump services
//               filter-output-post-dnat (-90)  cluster-ips-check
//   input/forward: filter-input / filter-forward (0) no-endpoint REJECT, cluster-ips-check
//   postrouting: nat-postrouting (100)   hairpin + marked → masquerade
//
//   services: daddr . proto . dport  vmap @service-ips → goto a class chain (5.4; NodePorts are
//             elements keyed by each NodePort address, so one lookup serves every VIP kind)
//   class chains (internal-cluster, internal-local, external-cluster, external-local) decide
//             masquerade and which endpoint set applies (5.6, 5.7, 5.11), then
//             vmap @cluster-pick / @local-pick → goto pick-N (or a per-service affinity chain)
//   pick-N:   numgen random mod N vmap { i : goto cluster-slot-i } (5.8)
//   slot-i:   dnat to daddr . proto . dport map @cluster-slot-i (endpoint i of that VIP)
import type { IPFamily } from '../../api/ip.ts';

export const tableName = 'svcnet';

/** nft families svcnet programs, one table each (kube-proxy does the same with `kube-proxy`). */
export const families = ['ip', 'ip6'] as const;
export type NftFamily = (typeof families)[number];

export function nftFamilyOf(f: IPFamily): NftFamily {
  return f === 'IPv4' ? 'ip' : 'ip6';
}

export function ipFamilyOfNft(f: NftFamily): IPFamily {
  return f === 'ip' ? 'IPv4' : 'IPv6';
}

/** Per-family vocabulary used when rendering rules. */
export const familyWords = {
  ip: { sel: 'ip', addr: 'ipv4_addr', loopback: '127.0.0.0/8', localhost: '127.0.0.1' },
  ip6: { sel: 'ip6', addr: 'ipv6_addr', loopback: '::1', localhost: '::1' },
} as const;

/** kube-proxy's masquerade bit (bit 14): ORed in mark-for-masquerade, cleared before masquerading. */
export const masqueradeMark = '0x00004000';

export type Hook = 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting';

export interface BaseChain {
  readonly name: string;
  readonly type: 'filter' | 'nat';
  readonly hook: Hook;
  /** Numeric: nft 1.0.6 refuses the `dstnat` keyword on the output hook. */
  readonly priority: number;
}

export const baseChains = [
  // Before conntrack (-200): the localhost-NodePort guard must see the packet as it arrived,
  // not after de-NAT of a reply, and must drop before a conntrack entry is created (CVE-2020-8558).
  { name: 'raw-prerouting', type: 'filter', hook: 'prerouting', priority: -300 },
  // dstnat - 10: source ranges are checked on the original destination (the LB IP), before DNAT.
  { name: 'filter-prerouting', type: 'filter', hook: 'prerouting', priority: -110 },
  { name: 'filter-input', type: 'filter', hook: 'input', priority: 0 },
  { name: 'filter-forward', type: 'filter', hook: 'forward', priority: 0 },
  // dstnat - 10 on output: node-originated packets still carry the VIP here, so the no-endpoint
  // REJECT and source ranges see it; the cluster-ips check must wait until after DNAT (below).
  { name: 'filter-output', type: 'filter', hook: 'output', priority: -110 },
  // dstnat + 10: packets to a live service were DNATed by now, so anything still addressed to
  // the service CIDR is an unknown port (REJECT) or an unallocated address (DROP), 5.14.
  { name: 'filter-output-post-dnat', type: 'filter', hook: 'output', priority: -90 },
  { name: 'nat-prerouting', type: 'nat', hook: 'prerouting', priority: -100 },
  { name: 'nat-output', type: 'nat', hook: 'output', priority: -100 },
  { name: 'nat-postrouting', type: 'nat', hook: 'postrouting', priority: 100 },
] as const satisfies readonly BaseChain[];

/** Regular chains that always exist; their rules are rendered from config (render.ts). */
export const sharedChains = [
  'services',
  'service-endpoints-check',
  'cluster-ips-check',
  'firewall-check',
  'mark-for-masquerade',
  'masquerading',
  'reject-chain',
  'internal-cluster',
  'internal-local',
  'external-cluster',
  'external-local',
] as const;
export type SharedChain = (typeof sharedChains)[number];

export interface SetSpec {
  readonly name: string;
  readonly kind: 'set' | 'map';
  /** The body between braces, with `{ip}` / `{addr}` placeholders filled per family. */
  readonly body: string;
}

const vipKey = '{addr} . inet_proto . inet_service';

/**
 * Sets and maps per family, their elements fully owned by render (flushed and re-added on a full
 * sync; affinity sets are dynamic and are not). Order matters only for readability of dumps.
 */
export const setSpecs = [
  { name: 'cluster-ips', kind: 'set', body: 'type {addr};' },
  { name: 'service-cidrs', kind: 'set', body: 'type {addr}; flags interval;' },
  { name: 'pod-cidrs', kind: 'set', body: 'type {addr}; flags interval;' },
  { name: 'service-ips', kind: 'map', body: `type ${vipKey} : verdict;` },
  { name: 'no-endpoint-services', kind: 'map', body: `type ${vipKey} : verdict;` },
  { name: 'firewall-ips', kind: 'set', body: `type ${vipKey};` },
  { name: 'firewall-allow', kind: 'set', body: `type ${vipKey} . {addr}; flags interval;` },
  { name: 'cluster-pick', kind: 'map', body: `type ${vipKey} : verdict;` },
  { name: 'local-pick', kind: 'map', body: `type ${vipKey} : verdict;` },
  { name: 'hairpin', kind: 'set', body: 'type {addr} . {addr};' },
] as const satisfies readonly SetSpec[];
export type SetName = (typeof setSpecs)[number]['name'];

export function setBody(body: string, family: NftFamily): string {
  const w = familyWords[family];
  return body.replaceAll('{addr}', w.addr).replaceAll('{ip}', w.sel);
}

/** Maps whose elements are ordered last in a chunked cold start: they make a VIP live. */
export const dispatchMaps: readonly SetName[] = ['service-ips', 'no-endpoint-services'];

/** Chain names of the dynamic (per endpoint count / per affinity service) chains. */
export const pickChain = (policy: 'cluster' | 'local', n: number): string => `${policy}-pick-${n}`;

/**
 * Endpoint slot i: a map `<policy>-slot-<i>` (VIP key → endpoint i of that VIP's service) and a
 * chain of the same name that DNATs through it. Maps use `type`, never `typeof`: nft 1.0.6
 * cannot re-read a `typeof … th dport` or `numgen` key from the kernel, so any later
 * transaction adding a rule that references such a map fails ("conflicting protocols").
 */
export const slotName = (policy: 'cluster' | 'local', i: number): string => `${policy}-slot-${i}`;
export const slotPattern = /^(cluster|local)-slot-\d+$/;
export const slotMapBody = (family: NftFamily): string =>
  `type ${familyWords[family].addr} . inet_proto . inet_service : ${familyWords[family].addr} . inet_service;`;

/** Whether a dynamic set item is a map (endpoint slots) or a plain set (affinity). */
export function dynamicKind(name: string): 'set' | 'map' {
  return slotPattern.test(name) ? 'map' : 'set';
}

/** Whether elements of this container carry data (`key : value`). */
export function isMapContainer(name: string): boolean {
  return slotPattern.test(name) || setSpecs.some((s) => s.name === name && s.kind === 'map');
}
export const affinityPrefix = 'aff-';
export const affinityEndpointPrefix = 'affep-';
