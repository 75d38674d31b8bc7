// The iptables plane's fixed shape as data: which built-in chains jump to svcnet's chains (and
// why there), the marks, the ipsets per family. Per-service chains and the dispatch tree are
// rendered (render.ts, contribution.ts); everything svcnet owns starts with SVCNET- or svcnet.
import type { IPFamily } from '../../api/ip.ts';
import type { IptTable } from '../../kernel/iptables.ts';

export const chainPrefix = 'SVCNET-';

/**
 * Jumps from built-in chains, inserted first so svcnet sees a service packet before rules other
 * software appends. Tables run in the kernel's order on each hook: raw (-300), mangle (-150),
 * nat (-100), filter (0).
 */
export const hookJumps = [
  // Before conntrack: 127/8 arriving from the wire is dropped before anything can DNAT it
  // (route_localnet, CVE-2020-8558). IPv4 only: the kernel drops ::1 from the wire itself.
  { table: 'raw', builtin: 'PREROUTING', chain: 'SVCNET-RAW-PREROUTING', families: ['IPv4'] },
  // mangle runs before nat: the source-range check still sees the LB IP, and --map-set (which
  // the kernel allows only in mangle) writes the service's dispatch index into the packet mark.
  { table: 'mangle', builtin: 'PREROUTING', chain: 'SVCNET-MANGLE', families: ['IPv4', 'IPv6'] },
  { table: 'mangle', builtin: 'OUTPUT', chain: 'SVCNET-MANGLE', families: ['IPv4', 'IPv6'] },
  { table: 'nat', builtin: 'PREROUTING', chain: 'SVCNET-SERVICES', families: ['IPv4', 'IPv6'] },
  { table: 'nat', builtin: 'OUTPUT', chain: 'SVCNET-SERVICES', families: ['IPv4', 'IPv6'] },
  { table: 'nat', builtin: 'POSTROUTING', chain: 'SVCNET-POSTROUTING', families: ['IPv4', 'IPv6'] },
  // filter runs after DNAT: what still carries a VIP was not sent to an endpoint.
  { table: 'filter', builtin: 'INPUT', chain: 'SVCNET-INPUT', families: ['IPv4', 'IPv6'] },
  { table: 'filter', builtin: 'FORWARD', chain: 'SVCNET-FORWARD', families: ['IPv4', 'IPv6'] },
  { table: 'filter', builtin: 'OUTPUT', chain: 'SVCNET-OUTPUT', families: ['IPv4', 'IPv6'] },
] as const satisfies readonly {
  table: IptTable;
  builtin: string;
  chain: string;
  families: readonly IPFamily[];
}[];

/** svcnet's fixed chains per table (besides per-service chains and the dispatch tree in nat). */
export const fixedChains: Readonly<Record<IptTable, readonly string[]>> = {
  raw: ['SVCNET-RAW-PREROUTING'],
  mangle: ['SVCNET-MANGLE'],
  nat: ['SVCNET-SERVICES', 'SVCNET-DISPATCH', 'SVCNET-POSTROUTING', 'SVCNET-MARK-MASQ', 'SVCNET-MARK-DROP'],
  filter: ['SVCNET-INPUT', 'SVCNET-FORWARD', 'SVCNET-OUTPUT'],
};

/** kube-proxy's masquerade and drop bits, so tools that know them read svcnet's the same way. */
export const masqMark = 0x4000;
export const dropMark = 0x8000;
/**
 * The dispatch index of a service's entry chain lives in the upper 16 bits of the mark of a
 * service flow's first packet, from mangle to the entry chain, which clears them again.
 */
export const indexShift = 16;
export const indexMask = 0xffff0000;
export const maxIndex = 0xffff;
/** The dispatch tree reads the index a nibble per level: 4 levels of at most 16 rules. */
export const treeLevels = 4;

export const hex = (v: number): string => `0x${(v >>> 0).toString(16)}`;

/** The ipsets of one family. All are rendered state: a full sync replaces each by swap. */
export const setSpecs = [
  // VIP (address, protocol:port) → the dispatch index of its entry chain (skbmark extension).
  { key: 'vips', type: 'hash:ip,port', extra: 'skbinfo' },
  // VIPs of service ports with no usable endpoint: REJECT (5.10).
  { key: 'noep', type: 'hash:ip,port', extra: '' },
  // Live ClusterIPs: a port they do not serve is refused (5.14).
  { key: 'cluster-ips', type: 'hash:ip', extra: '' },
  // LB VIPs with loadBalancerSourceRanges, and the (VIP, source range) pairs allowed (5.12).
  { key: 'fw-vips', type: 'hash:ip,port', extra: '' },
  { key: 'fw-allow', type: 'hash:ip,port,net', extra: '' },
  // (endpoint, protocol:port, endpoint): a local endpoint reached through a VIP by itself (5.8).
  { key: 'hairpin', type: 'hash:ip,port,ip', extra: '' },
  // Sources that are local traffic (pod CIDRs, or --cluster-cidr).
  { key: 'pod-cidrs', type: 'hash:net', extra: '' },
] as const;
export type SetKey = (typeof setSpecs)[number]['key'];

export function setName(family: IPFamily, key: SetKey): string {
  return `svcnet${family === 'IPv4' ? 4 : 6}-${key}`;
}

/** The temporary set a full sync fills before swapping it in. */
export function tmpSetName(family: IPFamily, key: SetKey): string {
  return `${setName(family, key)}-new`;
}

export const setMaxElements = 1_048_576;

export function createSetLine(name: string, family: IPFamily, key: SetKey): string {
  const spec = setSpecs.find((s) => s.key === key);
  const fam = family === 'IPv4' ? 'inet' : 'inet6';
  return `create ${name} ${spec?.type} family ${fam} maxelem ${setMaxElements}${spec?.extra ? ` ${spec.extra}` : ''}`;
}

export const familyWords = {
  IPv4: { reject: 'icmp-port-unreachable', hostMask: '255.255.255.255' },
  IPv6: { reject: 'icmp6-port-unreachable', hostMask: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff' },
} as const;
