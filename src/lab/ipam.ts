// Pod IPAM for the lab, pure: the node's pod CIDR is the node-index-th /24 (by default) of the
// cluster CIDR, like kube-controller-manager's range allocator; inside it the network address,
// the gateway (.1, the bridge) and the broadcast address are never handed out. Allocation is
// next-fit like CNI host-local: a freed IP is reused last, so a new pod does not inherit the
// IP an old pod's clients (and conntrack entries) still remember.

import { bigIntToIP, canonicalIP, formatIP, ipToBigInt, parseCIDRSloppy } from '../api/ip.ts';

export type IpamErrorCode = 'IPAM_INVALID' | 'IPAM_EXHAUSTED' | 'IPAM_NOT_IN_RANGE' | 'IPAM_IN_USE';

export class IpamError extends Error {
  readonly code: IpamErrorCode;
  constructor(code: IpamErrorCode, message: string) {
    super(message);
    this.name = 'IpamError';
    this.code = code;
  }
}

/** An IPv4 address as an integer; the lab writes its addresses canonically, so nothing else is accepted. */
export function ipv4ToInt(ip: string): number {
  const p = ipToBigInt(ip);
  if (p?.family !== 'IPv4' || canonicalIP(ip) !== ip) {
    throw new IpamError('IPAM_INVALID', `not an IPv4 address: "${ip}"`);
  }
  return Number(p.value);
}

export function intToIpv4(n: number): string {
  return bigIntToIP('IPv4', BigInt(n));
}

export interface Cidr4 {
  /** Network address as an integer. */
  base: number;
  bits: number;
  size: number;
}

export function parseCidr4(cidr: string): Cidr4 {
  const c = parseCIDRSloppy(cidr);
  if (c?.bits !== 32 || c.leadingZeros) throw new IpamError('IPAM_INVALID', `not an IPv4 CIDR: "${cidr}"`);
  const base = Number(ipToBigInt(formatIP(c.network))?.value ?? 0n);
  return { base, bits: c.prefix, size: 2 ** (32 - c.prefix) };
}

export function formatCidr4(c: Cidr4): string {
  return `${intToIpv4(c.base)}/${c.bits}`;
}

/** The index-th subnet of `maskSize` bits inside the cluster CIDR (node podCIDR). */
export function nodePodCIDR(clusterCIDR: string, index: number, maskSize = 24): string {
  const c = parseCidr4(clusterCIDR);
  if (maskSize < c.bits || maskSize > 30) {
    throw new IpamError('IPAM_INVALID', `node mask /${maskSize} does not fit in ${clusterCIDR}`);
  }
  const sub = 2 ** (32 - maskSize);
  if (!Number.isInteger(index) || index < 0 || index >= c.size / sub) {
    throw new IpamError('IPAM_EXHAUSTED', `no node CIDR number ${index} in ${clusterCIDR} with /${maskSize}`);
  }
  return formatCidr4({ base: c.base + index * sub, bits: maskSize, size: sub });
}

export class PodIPAM {
  readonly cidr: Cidr4;
  private readonly byKey = new Map<string, number>();
  private readonly used = new Set<number>();
  private next: number;
  private readonly first: number;
  private readonly last: number;

  /**
   * `gateway: false` hands out every host address (the rootless loopback range has no
   * bridge); otherwise the first host address is the gateway and never allocated.
   */
  constructor(cidr: string, opts: { gateway?: boolean } = {}) {
    this.cidr = parseCidr4(cidr);
    if (this.cidr.bits > 30) throw new IpamError('IPAM_INVALID', `${cidr} is too small for pods`);
    this.first = this.cidr.base + 1 + (opts.gateway === false ? 0 : 1);
    this.last = this.cidr.base + this.cidr.size - 2;
    this.next = this.first;
  }

  /** The bridge's address (.1). */
  gateway(): string {
    return intToIpv4(this.cidr.base + 1);
  }

  prefixLength(): number {
    return this.cidr.bits;
  }

  /** Idempotent per key. */
  allocate(key: string): string {
    const have = this.byKey.get(key);
    if (have !== undefined) return intToIpv4(have);
    const span = this.last - this.first + 1;
    for (let i = 0; i < span; i++) {
      const n = this.first + ((this.next - this.first + i) % span);
      if (this.used.has(n)) continue;
      this.used.add(n);
      this.byKey.set(key, n);
      this.next = n + 1 > this.last ? this.first : n + 1;
      return intToIpv4(n);
    }
    throw new IpamError('IPAM_EXHAUSTED', `no free pod IP in ${formatCidr4(this.cidr)}`);
  }

  /** Claims a specific IP (rebuilding state after a restart). */
  reserve(key: string, ip: string): void {
    const n = ipv4ToInt(ip);
    if (n < this.first || n > this.last) {
      throw new IpamError('IPAM_NOT_IN_RANGE', `${ip} is not a pod address of ${formatCidr4(this.cidr)}`);
    }
    const owner = [...this.byKey].find(([, v]) => v === n)?.[0];
    if (owner !== undefined && owner !== key) throw new IpamError('IPAM_IN_USE', `${ip} is in use by ${owner}`);
    this.release(key);
    this.used.add(n);
    this.byKey.set(key, n);
  }

  release(key: string): void {
    const n = this.byKey.get(key);
    if (n === undefined) return;
    this.byKey.delete(key);
    this.used.delete(n);
  }

  get(key: string): string | undefined {
    const n = this.byKey.get(key);
    return n === undefined ? undefined : intToIpv4(n);
  }

  inUse(): number {
    return this.used.size;
  }

  capacity(): number {
    return this.last - this.first + 1;
  }
}

/**
 * The rootless fallback's pod range: a /16 of 127.0.0.0/8 picked by `seed` (a hash byte), so
 * two labs on one machine rarely share it. 127.0.0.0/16 (the host's own 127.0.0.1) is never
 * picked.
 */
export function loopbackPodCIDR(seed: number): string {
  const second = 1 + (Math.abs(Math.trunc(seed)) % 254);
  return `127.${second}.0.0/16`;
}
