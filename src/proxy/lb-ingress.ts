// Which status.loadBalancer.ingress IPs an agent programs. kube-proxy programs every one, so
// whoever can write a Service's status (a buggy or compromised LB controller, an admin's typo)
// can make the node capture 127.0.0.1, the cloud metadata address or another Service's ClusterIP.
// svcnet programs an ingress IP only when
//   - it lies in an IPAddressPool (svcnet's IPAM hands out nothing else; MetalLB's speaker
//     likewise announces only addresses of a pool it knows), or
//   - it lies in the agent's --lb-ip-allow CIDRs (how addresses of other LB providers and
//     loadBalancerClasses are served),
// and never when it is a special address (unspecified, loopback, link-local — so also
// 169.254.169.254 —, multicast, broadcast, reserved, the IPv6 metadata address) or inside the
// service CIDRs, whatever a pool or the allow-list says. Each rejected IP becomes a Warning Event
// on the Service (agent.ts).
import { bytesAreIPv4, bytesToBigInt, cidrContains, parseIPSloppy } from '../api/ip.ts';
import type { IPAddressPool } from '../api/types.ts';
import { type AddressRange, parsePoolEntry } from '../api/validation/metallb.ts';

export type LoadBalancerIPRejection =
  | 'invalid'
  | 'unspecified'
  | 'loopback'
  | 'link-local'
  | 'multicast'
  | 'broadcast'
  | 'reserved'
  | 'metadata'
  | 'service-cidr'
  | 'not-allowed';

/** Special ranges: never a load balancer address, checked in order (metadata before link-local). */
const special: readonly { cidr: string; reason: LoadBalancerIPRejection }[] = [
  { cidr: '169.254.169.254/32', reason: 'metadata' },
  { cidr: 'fd00:ec2::254/128', reason: 'metadata' },
  { cidr: '0.0.0.0/8', reason: 'unspecified' },
  { cidr: '::/128', reason: 'unspecified' },
  { cidr: '127.0.0.0/8', reason: 'loopback' },
  { cidr: '::1/128', reason: 'loopback' },
  { cidr: '169.254.0.0/16', reason: 'link-local' },
  { cidr: 'fe80::/10', reason: 'link-local' },
  { cidr: '224.0.0.0/4', reason: 'multicast' },
  { cidr: 'ff00::/8', reason: 'multicast' },
  { cidr: '255.255.255.255/32', reason: 'broadcast' },
  { cidr: '240.0.0.0/4', reason: 'reserved' },
  // IPv4-mapped IPv6 text (::ffff:127.0.0.1) parses to the IPv4 address: the cases above cover it.
] as const;

const explanations: Readonly<Record<LoadBalancerIPRejection, string>> = {
  invalid: 'not an IP address',
  unspecified: 'an unspecified address',
  loopback: 'a loopback address',
  'link-local': 'a link-local address',
  multicast: 'a multicast address',
  broadcast: 'the broadcast address',
  reserved: 'a reserved address',
  metadata: 'the cloud metadata address',
  'service-cidr': 'inside the service CIDR',
  'not-allowed': "in no IPAddressPool and not in the agent's --lb-ip-allow CIDRs",
};

export interface LoadBalancerIPPolicy {
  /** --lb-ip-allow: ingress IPs of other providers and loadBalancerClasses served here. */
  readonly allowCIDRs: readonly string[];
  /** Address ranges of the IPAddressPools (svcnet's IPAM). */
  readonly poolRanges: readonly AddressRange[];
  readonly serviceCIDRs: readonly string[];
}

/** The ranges of every pool's spec.addresses (unparsable entries skipped, as the controller does). */
export function poolRangesOf(pools: Iterable<IPAddressPool>): AddressRange[] {
  const out: AddressRange[] = [];
  for (const p of pools) {
    for (const entry of p.spec?.addresses ?? []) {
      const r = parsePoolEntry(entry);
      if (typeof r !== 'string') out.push(r);
    }
  }
  return out;
}

/**
 * Why `ip` must not be programmed, or undefined when it may. Without a policy only the special
 * addresses are refused (pure conversions in tests and tools; the agent always passes one).
 */
export function checkLoadBalancerIP(
  ip: string,
  policy: LoadBalancerIPPolicy | undefined,
): LoadBalancerIPRejection | undefined {
  const parsed = parseIPSloppy(ip);
  if (!parsed) return 'invalid';
  for (const s of special) if (cidrContains(s.cidr, ip)) return s.reason;
  if (!policy) return undefined;
  if (policy.serviceCIDRs.some((c) => cidrContains(c, ip))) return 'service-cidr';
  if (policy.allowCIDRs.some((c) => cidrContains(c, ip))) return undefined;
  // Pool ranges hold IPv4 in its ::ffff:a.b.c.d form (parsePoolEntry), as parseIPSloppy's bytes do.
  const family = bytesAreIPv4(parsed.bytes) ? 'IPv4' : 'IPv6';
  const value = bytesToBigInt(parsed.bytes);
  if (policy.poolRanges.some((r) => r.family === family && r.first <= value && value <= r.last)) return undefined;
  return 'not-allowed';
}

/** The Event message for a rejected ingress IP. */
export function rejectionMessage(ip: string, reason: LoadBalancerIPRejection): string {
  return `status.loadBalancer.ingress IP ${ip} is not programmed on this node: ${explanations[reason]}`;
}

export const rejectedLoadBalancerIPReason = 'RejectedLoadBalancerIP';
