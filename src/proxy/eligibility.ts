// Which endpoints a packet may reach, decided once for every data plane: kube-proxy's
// CategorizeEndpoints (pkg/proxy/topology.go) plus the verdicts its rule shapes implement
// (service-semantics.md 5.2, 5.6, 5.7, 5.10–5.12, 5.21). Kernel planes render these decisions
// into rules; the userspace plane calls them per connection; the conformance suite checks both
// against the same cases.
import { cidrContains, ipFamilyOf, isLoopbackIP } from '../api/ip.ts';
import type { EndpointInfo, NodeInfo, ServicePortInfo } from './types.ts';

export type TopologyMode = '' | 'PreferSameZone' | 'PreferSameNode';

export interface CategorizedEndpoints {
  /** Endpoints for Cluster policy: ready (topology-filtered), else serving+terminating. */
  readonly cluster: readonly EndpointInfo[];
  /** Endpoints for Local policy: local ready, else local serving+terminating. */
  readonly local: readonly EndpointInfo[];
  /** Any ready or serving+terminating endpoint exists (anywhere). */
  readonly hasAny: boolean;
  readonly topologyMode: TopologyMode;
}

/**
 * 5.21: hints count only if every ready endpoint carries them and this node (zone) appears in
 * at least one; node hints (PreferSameNode) win over zone hints.
 */
export function topologyModeFromHints(endpoints: readonly EndpointInfo[], node: NodeInfo): TopologyMode {
  let allNodeHints = true;
  let forNode = false;
  let allZoneHints = true;
  let forZone = false;
  let anyReady = false;
  for (const ep of endpoints) {
    if (!ep.ready) continue;
    anyReady = true;
    if (ep.nodeHints.length === 0) allNodeHints = false;
    else if (ep.nodeHints.includes(node.name)) forNode = true;
    if (ep.zoneHints.length === 0) allZoneHints = false;
    else if (node.zone !== '' && ep.zoneHints.includes(node.zone)) forZone = true;
  }
  if (!anyReady) return '';
  if (allNodeHints && forNode) return 'PreferSameNode';
  if (allZoneHints && forZone) return 'PreferSameZone';
  return '';
}

function availableForTopology(ep: EndpointInfo, mode: TopologyMode, node: NodeInfo): boolean {
  if (mode === 'PreferSameNode') return ep.nodeHints.includes(node.name);
  if (mode === 'PreferSameZone') return ep.zoneHints.includes(node.zone);
  return true;
}

/** 5.2: the endpoint sets each traffic policy uses. */
export function categorizeEndpoints(endpoints: readonly EndpointInfo[], node: NodeInfo): CategorizedEndpoints {
  // Topology applies to Cluster policy only; with Local policy the node is already the filter.
  const topologyMode = topologyModeFromHints(endpoints, node);
  let cluster = endpoints.filter((ep) => ep.ready && availableForTopology(ep, topologyMode, node));
  // Terminating fallback: only when no endpoint at all is ready (not per zone).
  if (cluster.length === 0) cluster = endpoints.filter((ep) => ep.serving && ep.terminating);
  let local = endpoints.filter((ep) => ep.isLocal && ep.ready);
  if (local.length === 0) local = endpoints.filter((ep) => ep.isLocal && ep.serving && ep.terminating);
  const hasAny = endpoints.some((ep) => ep.ready || (ep.serving && ep.terminating));
  return { cluster, local, hasAny, topologyMode };
}

/** How the packet reached the service. */
export type DestinationKind = 'clusterIP' | 'externalIP' | 'loadBalancer' | 'nodePort';

/** Where a packet comes from, as kube-proxy's local detector and `fib saddr type local` see it. */
export type SourceKind = 'pod' | 'node' | 'external';

export function classifySource(src: string, node: NodeInfo): SourceKind {
  if (node.podCIDRs.some((c) => cidrContains(c, src))) return 'pod';
  if (isLoopbackIP(src) || node.ips.includes(src)) return 'node';
  return 'external';
}

export type Verdict =
  | { readonly kind: 'endpoints'; readonly endpoints: readonly EndpointInfo[]; readonly masquerade: boolean }
  | { readonly kind: 'REJECT'; readonly reason: DenyReason }
  | { readonly kind: 'DROP'; readonly reason: DenyReason };

/** Typed reasons (DESIGN.md convention 11): they label the drop counters. */
export type DenyReason =
  | 'no-endpoints'
  | 'no-local-endpoints'
  | 'source-range'
  /** Userspace only: every eligible endpoint is ejected or failed in this connection. */
  | 'no-healthy-endpoints';

export interface VerdictOptions {
  /** kube-proxy --masquerade-all. */
  masqueradeAll?: boolean;
}

/** 5.12: whether loadBalancerSourceRanges let `src` reach this LB IP. NodePorts are never filtered. */
export function sourceRangeAllows(svc: ServicePortInfo, src: string, node: NodeInfo): boolean {
  const ranges = svc.loadBalancerSourceRanges;
  if (ranges.length === 0) return true;
  if (ranges.some((r) => cidrContains(r, src))) return true;
  // With the node inside a range, traffic the node itself sends to its LB IP (hairpin through
  // the LB) arrives with the LB IP as source and is allowed.
  const nodeAllowed = node.ips.some((ip) => ranges.some((r) => cidrContains(r, ip)));
  return nodeAllowed && svc.loadBalancerIPs.includes(src);
}

/**
 * The verdict for a new flow from `src` to a service port reached through `dest`: the set of
 * endpoints it may be sent to, or REJECT / DROP. Hairpin masquerade (source is the chosen
 * endpoint, 5.8) depends on the pick and is left to the plane.
 */
export function decide(
  svc: ServicePortInfo,
  endpoints: readonly EndpointInfo[],
  dest: DestinationKind,
  src: string,
  node: NodeInfo,
  opts: VerdictOptions = {},
): Verdict {
  const cat = categorizeEndpoints(endpoints, node);
  return decideCategorized(svc, cat, dest, src, node, opts);
}

export function decideCategorized(
  svc: ServicePortInfo,
  cat: CategorizedEndpoints,
  dest: DestinationKind,
  src: string,
  node: NodeInfo,
  opts: VerdictOptions = {},
): Verdict {
  // 5.10: nothing usable anywhere → reject (ICMP port unreachable / ECONNREFUSED).
  if (!cat.hasAny) return { kind: 'REJECT', reason: 'no-endpoints' };
  const source = classifySource(src, node);
  if (dest === 'clusterIP') {
    const eps = svc.internalPolicyLocal ? cat.local : cat.cluster;
    // 5.11: endpoints exist but none local → dropped (a timeout, not a refusal).
    if (eps.length === 0) return { kind: 'DROP', reason: 'no-local-endpoints' };
    // 5.6: without --masquerade-all only traffic from outside the pod CIDR is masqueraded; with
    // no pod CIDR known there is no local detector and nothing is marked.
    const masquerade = opts.masqueradeAll === true || (node.podCIDRs.length > 0 && source !== 'pod');
    return { kind: 'endpoints', endpoints: eps, masquerade };
  }
  if (dest === 'loadBalancer' && !sourceRangeAllows(svc, src, node)) return { kind: 'DROP', reason: 'source-range' };
  if (!svc.externalPolicyLocal) {
    if (cat.cluster.length === 0) return { kind: 'REJECT', reason: 'no-endpoints' };
    return { kind: 'endpoints', endpoints: cat.cluster, masquerade: true };
  }
  // 5.7 ETP=Local: (a) pod traffic short-circuits to the cluster set, (b) node-local sources
  // are masqueraded to the cluster set, (c) the rest keeps its source IP and needs a local one.
  if (source === 'pod' || source === 'node') {
    if (cat.cluster.length === 0) return { kind: 'REJECT', reason: 'no-endpoints' };
    return { kind: 'endpoints', endpoints: cat.cluster, masquerade: source === 'node' || opts.masqueradeAll === true };
  }
  if (cat.local.length === 0) return { kind: 'DROP', reason: 'no-local-endpoints' };
  return { kind: 'endpoints', endpoints: cat.local, masquerade: false };
}

/**
 * `--nodeport-addresses`: empty → every node IP; `primary` → the node's first IP of each family;
 * otherwise CIDRs, and the node IPs inside them. Loopback is never returned (see
 * localhostNodePortsAllowed).
 */
export function resolveNodePortAddresses(config: readonly string[], nodeIPs: readonly string[]): string[] {
  const ips = nodeIPs.filter((ip) => !isLoopbackIP(ip));
  if (config.length === 0) return ips;
  const out = new Set<string>();
  for (const c of config) {
    if (c === 'primary') {
      const v4 = ips.find((ip) => ipFamilyOf(ip) === 'IPv4');
      const v6 = ips.find((ip) => ipFamilyOf(ip) === 'IPv6');
      if (v4) out.add(v4);
      if (v6) out.add(v6);
      continue;
    }
    for (const ip of ips) if (cidrContains(c, ip)) out.add(ip);
  }
  return ips.filter((ip) => out.has(ip));
}

/** Localhost NodePorts (5.22, and ::1 beyond kube-proxy) only when the addresses allow loopback. */
export function localhostNodePortsAllowed(config: readonly string[]): boolean {
  return (
    config.length === 0 ||
    config.some((c) => c !== 'primary' && (cidrContains(c, '127.0.0.1') || cidrContains(c, '::1')))
  );
}
