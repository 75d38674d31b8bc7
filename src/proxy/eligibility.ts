// Which endpoints a packet may reach, decided once for every data plane: kube-proxy's
// CategorizeEndpoints (pkg/proxy/topology.go) plus the verdicts its rule shapes implement
// (service-semantics.md 5.2, 5.6, 5.7, 5.10–5.12, 5.21). Kernel planes render these decisions
// into rules; the userspace plane calls them per connection; the conformance suite checks both
// against the same cases.
import { cidrContains, cidrFamilyOf, type IPFamily, ipFamilyOf, isLoopbackIP } from '../api/ip.ts';
import { evaluateClass, type SourceKind, trafficClassOf } from './traffic-class.ts';
import type { EndpointInfo, NodeInfo, ServicePortInfo } from './types.ts';

export type { SourceKind };

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

/**
 * 5.12: the source ranges that filter this Service's LB IPs of `family`. As in kube-proxy the
 * ranges are taken per family (a Service with only IPv6 ranges does not filter its IPv4 LB IP)
 * and a zero-length prefix allows everyone, like no range at all. Entries were trimmed and made
 * canonical when the Service was read (services.ts). Empty: no filtering.
 */
export function sourceRangesOf(svc: ServicePortInfo, family: IPFamily): readonly string[] {
  const mine = svc.loadBalancerSourceRanges.filter((r) => cidrFamilyOf(r) === family);
  return mine.some((r) => r.endsWith('/0')) ? [] : mine;
}

/** 5.12: whether loadBalancerSourceRanges let `src` reach this LB IP. NodePorts are never filtered. */
export function sourceRangeAllows(svc: ServicePortInfo, src: string, node: NodeInfo): boolean {
  const family = ipFamilyOf(src);
  if (family === undefined) return false;
  const ranges = sourceRangesOf(svc, family);
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
  if (dest === 'loadBalancer' && !sourceRangeAllows(svc, src, node)) return { kind: 'DROP', reason: 'source-range' };
  const cls = trafficClassOf(svc, dest);
  // No pod CIDR known: no local detector, so no source counts as pod traffic (kube-proxy's no-op detector).
  const cfg = { masqueradeAll: opts.masqueradeAll === true, localDetector: node.podCIDRs.length > 0 };
  const { set, masquerade } = evaluateClass(cls, cfg, classifySource(src, node));
  const endpoints = set === 'local' ? cat.local : cat.cluster;
  if (endpoints.length > 0) return { kind: 'endpoints', endpoints, masquerade };
  // 5.11: endpoints exist but none local → dropped (a timeout, not a refusal).
  return set === 'local' ? { kind: 'DROP', reason: 'no-local-endpoints' } : { kind: 'REJECT', reason: 'no-endpoints' };
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

/** One endpoint's part in a decision: eligible, or the reason it is not (for `svcnet explain`). */
export interface EndpointEligibility {
  readonly endpoint: EndpointInfo;
  readonly eligible: boolean;
  readonly reason?: string;
}

export interface ExplainedDecision {
  readonly verdict: Verdict;
  readonly sourceKind: SourceKind;
  /** The traffic policy that chose the endpoint set, in the API's words. */
  readonly trafficPolicy: string;
  readonly masqueradeReason: string;
  readonly endpoints: readonly EndpointEligibility[];
}

function conditionReason(ep: EndpointInfo): string | undefined {
  if (ep.ready) return undefined;
  if (!ep.serving) return ep.terminating ? 'terminating and not serving' : 'not ready';
  return undefined;
}

/**
 * decide(), with the why: each endpoint's eligibility and the reason for each excluded one,
 * derived from the same categorization the planes render, and why the flow is (not) masqueraded.
 */
export function explainDecision(
  svc: ServicePortInfo,
  endpoints: readonly EndpointInfo[],
  dest: DestinationKind,
  src: string,
  node: NodeInfo,
  opts: VerdictOptions = {},
): ExplainedDecision {
  const cat = categorizeEndpoints(endpoints, node);
  const verdict = decideCategorized(svc, cat, dest, src, node, opts);
  const sourceKind = classifySource(src, node);
  const cls = trafficClassOf(svc, dest);
  const local = cls === 'internal-local' || cls === 'external-local';
  const trafficPolicy = `${dest === 'clusterIP' ? 'internalTrafficPolicy' : 'externalTrafficPolicy'} ${local ? 'Local' : 'Cluster'}`;
  const cfg = { masqueradeAll: opts.masqueradeAll === true, localDetector: node.podCIDRs.length > 0 };
  const { set, masquerade } = evaluateClass(cls, cfg, sourceKind);
  const chosen = new Set((set === 'local' ? cat.local : cat.cluster).map((e) => e.key));
  const anyReady = endpoints.some((e) => e.ready);
  const anyLocalReady = endpoints.some((e) => e.ready && e.isLocal);
  const reasonOf = (ep: EndpointInfo): string | undefined => {
    if (verdict.kind === 'DROP' && verdict.reason === 'source-range') {
      return `source ${src} is outside loadBalancerSourceRanges (${svc.loadBalancerSourceRanges.join(', ')})`;
    }
    if (verdict.kind === 'endpoints' && chosen.has(ep.key)) return undefined;
    if (set === 'local' && !ep.isLocal) {
      return `on node ${ep.nodeName ?? '(none)'}, not ${node.name}, and ${trafficPolicy} sends only to this node's endpoints`;
    }
    const cond = conditionReason(ep);
    if (cond) return cond;
    if (!ep.ready && ep.serving && ep.terminating) {
      return set === 'local' && anyLocalReady
        ? 'terminating: serving terminating endpoints are used only when no local endpoint is ready'
        : anyReady
          ? 'terminating: serving terminating endpoints are used only when no endpoint is ready'
          : 'terminating';
    }
    if (set === 'cluster' && cat.topologyMode === 'PreferSameZone') {
      return `hinted for zone ${ep.zoneHints.join(', ') || '(none)'}, not this node's zone ${node.zone} (topology hints, PreferSameZone)`;
    }
    if (set === 'cluster' && cat.topologyMode === 'PreferSameNode') {
      return `hinted for node ${ep.nodeHints.join(', ') || '(none)'}, not ${node.name} (topology hints, PreferSameNode)`;
    }
    return 'not selected';
  };
  const list = endpoints.map((ep): EndpointEligibility => {
    const reason = reasonOf(ep);
    return reason === undefined ? { endpoint: ep, eligible: true } : { endpoint: ep, eligible: false, reason };
  });
  return {
    verdict,
    sourceKind,
    trafficPolicy,
    masqueradeReason: masqueradeReason(cls, cfg, sourceKind, masquerade),
    endpoints: list,
  };
}

function masqueradeReason(
  cls: ReturnType<typeof trafficClassOf>,
  cfg: { masqueradeAll: boolean; localDetector: boolean },
  source: SourceKind,
  masquerade: boolean,
): string {
  switch (cls) {
    case 'internal-cluster':
    case 'internal-local':
      if (cfg.masqueradeAll) return '--masquerade-all: every flow to a ClusterIP is masqueraded';
      if (!cfg.localDetector) return 'no pod CIDR is known, so no source counts as off-cluster: not masqueraded';
      return masquerade
        ? 'the source is outside the pod CIDRs (the node or off-cluster): masqueraded so the reply comes back through this node'
        : 'a pod source reaching a ClusterIP keeps its address';
    case 'external-cluster':
      return 'externalTrafficPolicy Cluster: the endpoint may be on another node, so the reply must come back through this one';
    case 'external-local':
      if (source === 'pod' && cfg.localDetector)
        return 'pod traffic to an external address goes to every endpoint, as if it had left and come back, unmasqueraded';
      if (source === 'node') return "the node's own traffic has a local source address: masqueraded";
      return 'externalTrafficPolicy Local keeps the client address';
  }
}
