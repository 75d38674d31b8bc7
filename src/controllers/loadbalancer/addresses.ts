// Addresses as 128-bit integers (IPv4 held in its ::ffff:a.b.c.d form, as Go's net.IP and
// api/validation/metallb.ts parsePoolEntry do), so pools, ranges and iteration are plain bigint
// arithmetic for both families.
import { bigIntToBytes, bytesAreIPv4, bytesToBigInt, formatIP, type IPFamily, parseIPSloppy } from '../../api/ip.ts';

export type { IPFamily };

export interface Addr {
  readonly family: IPFamily;
  readonly value: bigint;
}

/** Parses an IPv4 or IPv6 address; undefined when it is not one. */
export function parseAddr(text: string): Addr | undefined {
  const p = parseIPSloppy(text.trim());
  if (!p) return undefined;
  return { family: bytesAreIPv4(p.bytes) ? 'IPv4' : 'IPv6', value: bytesToBigInt(p.bytes) };
}

/** Canonical text (Go's net.IP.String()); also the key allocations are indexed by. */
export function formatAddr(a: Addr | bigint): string {
  return formatIP(bigIntToBytes(typeof a === 'bigint' ? a : a.value));
}

export function familyOfValue(v: bigint): IPFamily {
  // The ::ffff:0:0/96 prefix of the mapped form (bytesToBigInt of an IPv4 address).
  return v >> 32n === 0xffffn ? 'IPv4' : 'IPv6';
}

/**
 * IPv4 addresses ending in .0 or .255 confuse the smurf protection of some CPE firmwares, which
 * then drop traffic to them (MetalLB's avoidBuggyIPs).
 */
export function isBuggyIP(a: Addr): boolean {
  if (a.family !== 'IPv4') return false;
  const last = a.value & 0xffn;
  return last === 0n || last === 255n;
}

/** Go's %q of a []net.IP, the form MetalLB's messages use: ["192.0.2.1" "2001:db8::1"]. */
export function quoteIPs(ips: readonly Addr[]): string {
  return `[${ips.map((ip) => JSON.stringify(formatAddr(ip))).join(' ')}]`;
}
