// Who may announce which LoadBalancer address: pure functions of the World. Layer 2 elects exactly
// one node per address; BGP lets every eligible node announce with its own next hop. Both share the
// eligibility rules (MetalLB's speaker): the node is healthy, an advertisement for the address's
// pool selects it, and with externalTrafficPolicy Local it hosts a ready endpoint.
import { createHash } from 'node:crypto';
import { ipFamilyOf } from '../api/ip.ts';
import { labelSelectorAsSelector } from '../api/labels/selector.ts';
import type { LabelSelector, Node, Service } from '../api/types.ts';
import { annotationKeys, loadBalancerClasses, metallbDeprecatedPrefix } from '../api/well-known.ts';
import type { Withheld } from './contract.ts';
import type { World } from './world.ts';

/** Nodes carrying this label never announce (kube's exclude-from-external-load-balancers). */
export const excludeLabel = 'node.kubernetes.io/exclude-from-external-load-balancers';

export const serviceKey = (svc: Service): string => `${svc.metadata?.namespace ?? ''}/${svc.metadata?.name ?? ''}`;

/** Healthy: the Node is not NotReady/Unknown and its speaker's liveness was renewed recently. */
export function nodeHealthy(world: World, node: Node): boolean {
  const name = node.metadata?.name ?? '';
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  if (ready && ready.status !== 'True') return false;
  if (node.metadata?.labels?.[excludeLabel] !== undefined) return false;
  const seen = world.livenessSeenMs.get(name);
  return seen !== undefined && world.nowMs - seen <= world.livenessTimeoutMs;
}

function anySelects(
  selectors: readonly LabelSelector[] | undefined,
  labels: Record<string, string> | undefined,
): boolean {
  if (!selectors || selectors.length === 0) return true;
  return selectors.some((s) => labelSelectorAsSelector(s).matches(labels ?? {}));
}

/** The advertisements (L2 or BGP) that cover a pool: named, selected by label, or covering all. */
export function advertisementsFor<
  A extends { spec?: { ipAddressPools?: string[]; ipAddressPoolSelectors?: LabelSelector[] } },
>(advs: readonly A[], pool: string, world: World): A[] {
  const labels = world.pools.find((p) => p.metadata?.name === pool)?.metadata?.labels ?? {};
  return advs.filter((a) => {
    const names = a.spec?.ipAddressPools ?? [];
    const sels = a.spec?.ipAddressPoolSelectors ?? [];
    if (names.length === 0 && sels.length === 0) return true;
    return names.includes(pool) || sels.some((s) => labelSelectorAsSelector(s).matches(labels));
  });
}

export function nodeSelectedBy(adv: { spec?: { nodeSelectors?: LabelSelector[] } }, node: Node): boolean {
  return anySelects(adv.spec?.nodeSelectors, node.metadata?.labels);
}

export function poolOf(svc: Service): string | undefined {
  const a = svc.metadata?.annotations ?? {};
  const key = annotationKeys.metallbIPAllocatedFromPool;
  return a[key] ?? a[metallbDeprecatedPrefix + key.slice(key.indexOf('/') + 1)];
}

/**
 * The addresses the nodes announce for a LoadBalancer Service: those the IPAM gave it. A Service of
 * another class is another implementation's (MetalLB leaves such Services alone), except svcnet's own
 * IPAM class, which the IPAM serves when a provider has the class-less Services. An ingress with
 * ipMode Proxy is held by a balancer in front of the nodes (a provider's edge): a node claiming it
 * would steal the balancer's traffic.
 */
export function ingressIPs(svc: Service): string[] {
  if (svc.spec?.type !== 'LoadBalancer') return [];
  const cls = svc.spec.loadBalancerClass;
  if (cls && cls !== loadBalancerClasses.ipam) return [];
  return (svc.status?.loadBalancer?.ingress ?? []).flatMap((i) =>
    i.ip && ipFamilyOf(i.ip) && i.ipMode !== 'Proxy' ? [i.ip] : [],
  );
}

/** Node names hosting a ready endpoint of the Service (a nil ready condition means ready). */
export function nodesWithReadyEndpoint(world: World, svc: Service): Set<string> {
  const key = svc.metadata?.name;
  const out = new Set<string>();
  for (const s of world.slices) {
    if (s.metadata?.namespace !== svc.metadata?.namespace) continue;
    if (s.metadata?.labels?.['kubernetes.io/service-name'] !== key) continue;
    for (const ep of s.endpoints ?? []) if (ep.conditions?.ready !== false && ep.nodeName) out.add(ep.nodeName);
  }
  return out;
}

export interface Eligibility<A> {
  /** Eligible nodes, each with the advertisements that select it. */
  nodes: Map<string, A[]>;
  /** When no node is eligible: why, as seen from the last failing rule. */
  reason?: Withheld;
  /** Why each node that an advertisement selects was left out. */
  rejected: Map<string, Withheld>;
}

/** The nodes that may announce this Service's addresses under the given advertisements. */
export function eligibleNodes<
  A extends {
    spec?: { ipAddressPools?: string[]; ipAddressPoolSelectors?: LabelSelector[]; nodeSelectors?: LabelSelector[] };
  },
>(world: World, svc: Service, advs: readonly A[]): Eligibility<A> {
  const pool = poolOf(svc);
  const covering = pool === undefined ? [] : advertisementsFor(advs, pool, world);
  const rejected = new Map<string, Withheld>();
  if (covering.length === 0) return { nodes: new Map(), reason: 'noAdvertisement', rejected };
  const withEndpoint = nodesWithReadyEndpoint(world, svc);
  // MetalLB announces nothing for a Service without a ready endpoint anywhere: traffic would die.
  if (withEndpoint.size === 0) return { nodes: new Map(), reason: 'noEndpoints', rejected };
  const local = svc.spec?.externalTrafficPolicy === 'Local';
  const nodes = new Map<string, A[]>();
  let reason: Withheld = 'nodeNotSelected';
  for (const node of world.nodes) {
    const name = node.metadata?.name ?? '';
    const selecting = covering.filter((a) => nodeSelectedBy(a, node));
    if (selecting.length === 0) continue;
    if (!nodeHealthy(world, node)) {
      reason = 'nodeUnhealthy';
      rejected.set(name, reason);
      continue;
    }
    if (local && !withEndpoint.has(name)) {
      reason = 'noLocalEndpoint';
      rejected.set(name, reason);
      continue;
    }
    nodes.set(name, selecting);
  }
  return nodes.size > 0 ? { nodes, rejected } : { nodes, reason, rejected };
}

/**
 * Layer 2's owner of one address: the candidate whose sha256("node#ip") sorts first (MetalLB's
 * rule), so every speaker computes the same owner from the same view without talking, and an
 * address moves only when its owner leaves the candidate set.
 */
export function electOwner(ip: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestHash: Buffer | undefined;
  for (const node of candidates) {
    const h = createHash('sha256').update(`${node}#${ip}`).digest();
    if (!bestHash || Buffer.compare(h, bestHash) < 0 || (Buffer.compare(h, bestHash) === 0 && node < (best ?? ''))) {
      best = node;
      bestHash = h;
    }
  }
  return best;
}
