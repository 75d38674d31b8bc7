// Pod routes between lab nodes, as a host-gateway CNI (flannel's host-gw) keeps them: every
// node routes each other node's pod CIDR via that node's InternalIP on the LAN. They derive
// from the Node objects alone, so a node whose InternalIP changes is followed by every other
// node's routes.

import { cidrContains } from '../api/ip.ts';
import type { KubeObject, Node } from '../api/types.ts';
import type { RouteInfo, RouteSpec } from '../kernel/links.ts';

type NodeObj = Node & KubeObject;

export function internalIP(n: Node): string | undefined {
  return n.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
}

/** Pure: the routes node `self` needs: every other node's pod CIDRs via its InternalIP. */
export function podRoutes(nodes: readonly NodeObj[], self: string): RouteSpec[] {
  const out: RouteSpec[] = [];
  for (const n of [...nodes].sort((a, b) => (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''))) {
    if (n.metadata.name === self) continue;
    const via = internalIP(n);
    if (!via) continue;
    const cidrs = n.spec?.podCIDRs?.length ? n.spec.podCIDRs : n.spec?.podCIDR ? [n.spec.podCIDR] : [];
    for (const dst of cidrs) if (!out.some((r) => r.dst === dst)) out.push({ dst, via });
  }
  return out;
}

export interface RouteChanges {
  replace: RouteSpec[];
  remove: string[];
}

/**
 * Pure: what turns `have` into `want`, touching only gateway routes inside the cluster CIDR
 * (the node's connected routes and anything else are not the lab's).
 */
export function routeChanges(
  have: readonly RouteInfo[],
  want: readonly RouteSpec[],
  clusterCIDR: string,
): RouteChanges {
  const ours = have.filter(
    (r) => r.gateway && r.dst !== 'default' && cidrContains(clusterCIDR, r.dst.split('/')[0] ?? ''),
  );
  const replace = want.filter((w) => !ours.some((r) => r.dst === w.dst && r.gateway === w.via));
  const remove = ours.filter((r) => !want.some((w) => w.dst === r.dst)).map((r) => r.dst);
  return { replace, remove };
}
