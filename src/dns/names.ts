// Name handling for the cluster zone. DNS names compare case-insensitively over ASCII only
// (RFC 4343 §3), so keys are lowercased with an ASCII-only fold, never toLowerCase() (which
// folds non-ASCII letters and would make distinct wire names collide).
import { formatIP, parseIPSloppy } from '../api/ip.ts';

/** ASCII-only lowercase; the wire form of a name keeps whatever case the client sent. */
export function foldCase(s: string): string {
  let out = '';
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 65 && c <= 90) {
      out += s.slice(start, i) + String.fromCharCode(c + 32);
      start = i + 1;
    }
  }
  return start === 0 ? s : out + s.slice(start);
}

/** Canonical key of a name: ASCII-lowercase, no trailing dot ("" is the root). */
export function nameKey(name: string): string {
  const n = name.endsWith('.') ? name.slice(0, -1) : name;
  return foldCase(n);
}

/** Presentation form with the trailing dot. */
export function fqdn(key: string): string {
  return key === '' ? '.' : `${key}.`;
}

/** True when `key` is `zone` or below it (both canonical keys). */
export function inZone(key: string, zone: string): boolean {
  if (zone === '') return true;
  return key === zone || (key.length > zone.length && key.endsWith(zone) && key[key.length - zone.length - 1] === '.');
}

/** Parent of a canonical key ("a.b.c" → "b.c", "c" → ""). */
export function parentOf(key: string): string {
  const i = key.indexOf('.');
  return i < 0 ? '' : key.slice(i + 1);
}

export const reverseZones = ['in-addr.arpa', 'ip6.arpa'] as const;

export function isReverse(key: string): boolean {
  return inZone(key, 'in-addr.arpa') || inZone(key, 'ip6.arpa');
}

/**
 * Reverse-lookup owner for an IP: IPv4 `d.c.b.a.in-addr.arpa`, IPv6 the 32 nibbles of the fully
 * expanded address in reverse order under ip6.arpa (RFC 3596 §2.5). An IPv4-mapped IPv6
 * address is an IPv6 address here: its PTR lives under ip6.arpa like any other.
 */
export function reverseName(ip: string): string | undefined {
  const p = parseIPSloppy(ip);
  if (!p) return undefined;
  const b = p.bytes;
  if (!p.textIsIPv6) return `${b[15]}.${b[14]}.${b[13]}.${b[12]}.in-addr.arpa`;
  const nibbles: string[] = [];
  for (let i = b.length - 1; i >= 0; i--) {
    const x = b[i] ?? 0;
    nibbles.push((x & 15).toString(16), (x >> 4).toString(16));
  }
  return `${nibbles.join('.')}.ip6.arpa`;
}

/**
 * Canonical text of an IP as CoreDNS gets it from Go's net.ParseIP(ip).String(), or undefined
 * when it is not one: leading zeros are not an address there (Go 1.17+), an IPv4-mapped form is
 * IPv4.
 */
export function canonicalIp(ip: string): string | undefined {
  const p = parseIPSloppy(ip);
  return p && !p.leadingZeros ? formatIP(p.bytes) : undefined;
}

/**
 * The label CoreDNS gives an endpoint without a hostname and the pod-record label: the IP with
 * dots (IPv4) or colons (IPv6) turned into dashes, e.g. `10-3-0-100`, `fd00--1`.
 */
export function dashedIp(ip: string): string {
  return ip.replace(/[.:]/g, '-');
}

/**
 * The IP a pod-record label stands for (kube-dns: three dashes and no `--` is IPv4, anything
 * else is IPv6 with dashes for colons). Undefined when the result is not an address.
 */
export function ipFromPodLabel(label: string): string | undefined {
  const dashes = label.split('-').length - 1;
  if (!/^[0-9a-f-]+$/.test(label)) return undefined;
  const text = dashes === 3 && !label.includes('--') ? label.replaceAll('-', '.') : label.replaceAll('-', ':');
  return canonicalIp(text);
}

/** A DNS label as Kubernetes names allow: RFC 1123 label, what every svc/ns/hostname is. */
export function isDnsLabel(s: string): boolean {
  return s.length > 0 && s.length <= 63 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(s);
}
