// What happens to a new flow once it has matched a service VIP, decided once for every plane:
// the traffic class of the VIP (kube-proxy's KUBE-SVC / KUBE-SVL / KUBE-EXT chains), and each
// class's steps in order: mark for masquerade, then send to an endpoint set, each step for some
// sources. Kernel planes render the steps into rules (nftables class chains, iptables class
// chains); the userspace plane evaluates them per connection (eligibility.decide). Checked
// against kube-proxy's TestInternalExternalMasquerade (traffic-class.test.ts).
import type { ServicePortInfo } from './types.ts';
import type { VipKind } from './vips.ts';

export type TrafficClass = 'internal-cluster' | 'internal-local' | 'external-cluster' | 'external-local';

/**
 * Which sources a step applies to, as the kernel can tell them apart:
 * - `local-traffic`: kube-proxy's LocalTrafficDetector (pod CIDRs, or --cluster-cidr);
 * - `not-local-traffic`: its negation;
 * - `node`: a source address local to the node (`fib saddr type local`, `addrtype --src-type LOCAL`).
 */
export type SourceMatch = 'any' | 'local-traffic' | 'not-local-traffic' | 'node';

export type ClassStep =
  | { readonly do: 'masquerade'; readonly from: SourceMatch }
  /** Terminal for the sources it matches: pick among this endpoint set (none → DROP, 5.11). */
  | { readonly do: 'endpoints'; readonly set: 'cluster' | 'local'; readonly from: SourceMatch };

export interface ClassConfig {
  /** kube-proxy --masquerade-all: every flow to a ClusterIP is masqueraded. */
  readonly masqueradeAll: boolean;
  /** Whether local traffic can be detected (pod CIDRs or a cluster CIDR are known). */
  readonly localDetector: boolean;
}

/** internalTrafficPolicy applies to ClusterIPs only; externalTrafficPolicy to everything else. */
export function trafficClassOf(svc: ServicePortInfo, kind: VipKind | 'clusterIP'): TrafficClass {
  if (kind === 'clusterIP') return svc.internalPolicyLocal ? 'internal-local' : 'internal-cluster';
  return svc.externalPolicyLocal ? 'external-local' : 'external-cluster';
}

const any = 'any' as const;

export function classSteps(cls: TrafficClass, cfg: ClassConfig): readonly ClassStep[] {
  switch (cls) {
    case 'internal-cluster':
    case 'internal-local': {
      // Masquerading is not a traffic-policy matter: an off-cluster source (a static route to
      // the service range, the node itself) is masqueraded with either policy, since the reply
      // may otherwise bypass this node.
      const mark: ClassStep[] = cfg.masqueradeAll
        ? [{ do: 'masquerade', from: any }]
        : cfg.localDetector
          ? [{ do: 'masquerade', from: 'not-local-traffic' }]
          : [];
      return [...mark, { do: 'endpoints', set: cls === 'internal-local' ? 'local' : 'cluster', from: any }];
    }
    case 'external-cluster':
      // The endpoint may be on another node: the reply must come back through this one (5.7).
      return [
        { do: 'masquerade', from: any },
        { do: 'endpoints', set: 'cluster', from: any },
      ];
    case 'external-local':
      // 5.7: pod traffic short-circuits to every endpoint as if it had gone out to the LB and
      // back, unmasqueraded (--masquerade-all does not apply: it is not ClusterIP traffic);
      // the node's own traffic has a local source address, so it must be masqueraded; the rest
      // keeps its source address and needs a local endpoint.
      return [
        ...(cfg.localDetector ? [{ do: 'endpoints', set: 'cluster', from: 'local-traffic' } as const] : []),
        { do: 'masquerade', from: 'node' },
        { do: 'endpoints', set: 'cluster', from: 'node' },
        { do: 'endpoints', set: 'local', from: any },
      ];
  }
}

/** The endpoint sets a class can send to (what a plane must render for its VIPs). */
export function endpointSetsOf(cls: TrafficClass): ReadonlySet<'cluster' | 'local'> {
  switch (cls) {
    case 'internal-cluster':
    case 'external-cluster':
      return clusterOnly;
    case 'internal-local':
      return localOnly;
    case 'external-local':
      return both;
  }
}
const clusterOnly: ReadonlySet<'cluster' | 'local'> = new Set(['cluster']);
const localOnly: ReadonlySet<'cluster' | 'local'> = new Set(['local']);
const both: ReadonlySet<'cluster' | 'local'> = new Set(['cluster', 'local']);

/** How a source looks to the steps (eligibility.classifySource). */
export type SourceKind = 'pod' | 'node' | 'external';

export function sourceMatches(m: SourceMatch, source: SourceKind): boolean {
  switch (m) {
    case 'any':
      return true;
    case 'local-traffic':
      return source === 'pod';
    case 'not-local-traffic':
      return source !== 'pod';
    case 'node':
      return source === 'node';
  }
}

/** The steps evaluated for one source: which set it reaches and whether it is masqueraded. */
export function evaluateClass(
  cls: TrafficClass,
  cfg: ClassConfig,
  source: SourceKind,
): { readonly set: 'cluster' | 'local'; readonly masquerade: boolean } {
  let masquerade = false;
  for (const step of classSteps(cls, cfg)) {
    if (!sourceMatches(step.from, source)) continue;
    if (step.do === 'masquerade') masquerade = true;
    else return { set: step.set, masquerade };
  }
  // Every class ends with an `any` endpoints step.
  throw new Error(`traffic class ${cls} has no final step`);
}
