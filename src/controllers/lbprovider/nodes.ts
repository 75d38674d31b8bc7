// Which nodes a load balancer sends traffic to (cloud-provider's node predicates) and when a
// Node change matters to balancers. Pure.
//
// A node is a backend when it is Ready, not labelled exclude-from-external-load-balancers and
// not being removed by the cluster autoscaler: the CCM's allNodePredicates, the node set before
// StableLoadBalancerNodeSet. We keep readiness in the predicate because svcnet's providers
// (HAProxy on the LAN) have no health view of their own until the first check fails; a stopped
// lab node turns NotReady after the node monitor grace period and leaves every balancer.
//
// Deliberate difference: a node's InternalIP is part of the set. Cloud balancers address
// instances by provider ID, so the CCM ignores address changes; a balancer of our own reaches
// nodes by IP, and "the node got a new IP, edit the balancer" is exactly the chore it removes.
import type { Node } from '../../api/types.ts';
import { labelKeys, taintKeys } from '../../api/well-known.ts';

export function isReady(node: Node): boolean {
  return (node.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

export function isIncluded(node: Node): boolean {
  return !Object.hasOwn(node.metadata?.labels ?? {}, labelKeys.excludeFromExternalLoadBalancers);
}

export function isUntainted(node: Node): boolean {
  return !(node.spec?.taints ?? []).some((t) => t.key === taintKeys.toBeDeletedByClusterAutoscaler);
}

export function isEligible(node: Node): boolean {
  return !node.metadata?.deletionTimestamp && isIncluded(node) && isUntainted(node) && isReady(node);
}

export function internalIP(node: Node): string | undefined {
  return node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
}

/** The balancers' view of the cluster: eligible nodes, by name. */
export function eligibleNodes(nodes: readonly Node[]): Node[] {
  return nodes.filter(isEligible).sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
}

/** Identity of a node set as balancers see it: names with their addresses and provider IDs. */
export function nodeSetKey(nodes: readonly Node[]): string {
  return nodes.map((n) => `${n.metadata?.name ?? ''}=${internalIP(n) ?? ''}@${n.spec?.providerID ?? ''}`).join(',');
}

/** Whether a Node update can change some balancer's backends (cloud-provider's shouldSyncUpdatedNode). */
export function shouldSyncUpdatedNode(old: Node, cur: Node): boolean {
  return (
    isEligible(old) !== isEligible(cur) ||
    internalIP(old) !== internalIP(cur) ||
    (old.spec?.providerID ?? '') !== (cur.spec?.providerID ?? '')
  );
}
