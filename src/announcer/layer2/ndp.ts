// IPv6 neighbour discovery (RFC 4861): neighbour solicitations in, neighbour advertisements out,
// as whole Ethernet frames with the ICMPv6 checksum over the IPv6 pseudo-header (RFC 8200 8.1).
import { bigIntToBytes, bytesToBigInt, formatIP, parseIPSloppy } from '../../api/ip.ts';
import { etherTypeIPv6, macBytes, macText } from './arp.ts';

const icmpv6 = 58;
const typeNS = 135;
const typeNA = 136;
const optSourceLL = 1;
const optTargetLL = 2;

export interface NeighborSolicitation {
  ethSrc: string;
  srcIP: string;
  dstIP: string;
  target: string;
  /** The asker's link-layer address option, when present (absent from DAD probes). */
  sourceMAC?: string;
}

export interface NeighborAdvertisement {
  ethDst: string;
  ethSrc: string;
  srcIP: string;
  dstIP: string;
  target: string;
  solicited: boolean;
  override: boolean;
  targetMAC: string;
}

function ip6(text: string): Buffer {
  const p = parseIPSloppy(text);
  if (p?.bytes.length !== 16 || text.indexOf(':') < 0) throw new Error(`bad IPv6 ${text}`);
  return Buffer.from(p.bytes);
}

function ip6Text(b: Uint8Array): string {
  return formatIP(bigIntToBytes(bytesToBigInt(b)));
}

function checksum(src: Buffer, dst: Buffer, icmp: Buffer): number {
  const pseudo = Buffer.alloc(40);
  src.copy(pseudo, 0);
  dst.copy(pseudo, 16);
  pseudo.writeUInt32BE(icmp.length, 32);
  pseudo[39] = icmpv6;
  let sum = 0;
  for (const part of [pseudo, icmp])
    for (let i = 0; i < part.length; i += 2) sum += (part[i] ?? 0) * 256 + (part[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function frame(ethDst: string, ethSrc: string, src: string, dst: string, icmp: Buffer): Buffer {
  const s = ip6(src);
  const d = ip6(dst);
  icmp.writeUInt16BE(0, 2);
  icmp.writeUInt16BE(checksum(s, d, icmp), 2);
  const b = Buffer.alloc(14 + 40 + icmp.length);
  macBytes(ethDst).copy(b, 0);
  macBytes(ethSrc).copy(b, 6);
  b.writeUInt16BE(etherTypeIPv6, 12);
  b.writeUInt32BE(0x60000000, 14);
  b.writeUInt16BE(icmp.length, 18);
  b[20] = icmpv6;
  b[21] = 255; // RFC 4861 7.1.2: receivers drop NDP with a hop limit other than 255.
  s.copy(b, 22);
  d.copy(b, 38);
  icmp.copy(b, 54);
  return b;
}

export function encodeNA(na: NeighborAdvertisement): Buffer {
  const icmp = Buffer.alloc(32);
  icmp[0] = typeNA;
  icmp.writeUInt32BE((na.solicited ? 0x40000000 : 0) | (na.override ? 0x20000000 : 0), 4);
  ip6(na.target).copy(icmp, 8);
  icmp[24] = optTargetLL;
  icmp[25] = 1;
  macBytes(na.targetMAC).copy(icmp, 26);
  return frame(na.ethDst, na.ethSrc, na.srcIP, na.dstIP, icmp);
}

export function encodeNS(ns: NeighborSolicitation): Buffer {
  const icmp = Buffer.alloc(ns.sourceMAC ? 32 : 24);
  icmp[0] = typeNS;
  ip6(ns.target).copy(icmp, 8);
  if (ns.sourceMAC) {
    icmp[24] = optSourceLL;
    icmp[25] = 1;
    macBytes(ns.sourceMAC).copy(icmp, 26);
  }
  return frame('33:33:ff:00:00:01', ns.ethSrc, ns.srcIP, ns.dstIP, icmp);
}

interface Icmp6 {
  ethDst: string;
  ethSrc: string;
  src: string;
  dst: string;
  body: Buffer;
}

function decodeIcmp6(b: Uint8Array): Icmp6 | undefined {
  if (b.length < 54 + 24) return undefined;
  const v = Buffer.from(b.buffer, b.byteOffset, b.length);
  if (v.readUInt16BE(12) !== etherTypeIPv6 || (v[14] ?? 0) >> 4 !== 6) return undefined;
  if (v[20] !== icmpv6 || v[21] !== 255) return undefined;
  const len = v.readUInt16BE(18);
  if (54 + len > v.length || len < 24) return undefined;
  const body = Buffer.from(v.subarray(54, 54 + len));
  const src = Buffer.from(v.subarray(22, 38));
  const dst = Buffer.from(v.subarray(38, 54));
  if (checksum(src, dst, body) !== 0) return undefined;
  return {
    ethDst: macText(v.subarray(0, 6)),
    ethSrc: macText(v.subarray(6, 12)),
    src: ip6Text(src),
    dst: ip6Text(dst),
    body,
  };
}

function options(body: Buffer, from: number): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  for (let o = from; o + 2 <= body.length; ) {
    const len = (body[o + 1] ?? 0) * 8;
    if (len === 0 || o + len > body.length) break;
    out.set(body[o] ?? 0, body.subarray(o + 2, o + len));
    o += len;
  }
  return out;
}

/** undefined for anything but a valid NS (RFC 4861 7.1.1 checks we can make). */
export function decodeNS(b: Uint8Array): NeighborSolicitation | undefined {
  const m = decodeIcmp6(b);
  if (!m || m.body[0] !== typeNS || m.body[1] !== 0) return undefined;
  const target = ip6Text(m.body.subarray(8, 24));
  const ll = options(m.body, 24).get(optSourceLL);
  return {
    ethSrc: m.ethSrc,
    srcIP: m.src,
    dstIP: m.dst,
    target,
    ...(ll && ll.length >= 6 ? { sourceMAC: macText(ll.subarray(0, 6)) } : {}),
  };
}

export function decodeNA(b: Uint8Array): NeighborAdvertisement | undefined {
  const m = decodeIcmp6(b);
  if (!m || m.body[0] !== typeNA || m.body[1] !== 0) return undefined;
  const flags = m.body.readUInt32BE(4);
  const ll = options(m.body, 24).get(optTargetLL);
  return {
    ethDst: m.ethDst,
    ethSrc: m.ethSrc,
    srcIP: m.src,
    dstIP: m.dst,
    target: ip6Text(m.body.subarray(8, 24)),
    solicited: (flags & 0x40000000) !== 0,
    override: (flags & 0x20000000) !== 0,
    targetMAC: ll && ll.length >= 6 ? macText(ll.subarray(0, 6)) : '',
  };
}

/** The answer to a solicitation for one of our addresses, or undefined (DAD probes from :: go to all nodes). */
export function naReply(ns: NeighborSolicitation, mac: string): NeighborAdvertisement {
  const dad = ns.srcIP === '::';
  return {
    ethDst: dad ? '33:33:00:00:00:01' : (ns.sourceMAC ?? ns.ethSrc),
    ethSrc: mac,
    srcIP: ns.target,
    dstIP: dad ? 'ff02::1' : ns.srcIP,
    target: ns.target,
    solicited: !dad,
    override: true,
    targetMAC: mac,
  };
}

/** Unsolicited NA to all nodes on takeover (RFC 4861 7.2.6), override set so caches switch. */
export function unsolicitedNA(ip: string, mac: string): NeighborAdvertisement {
  return {
    ethDst: '33:33:00:00:00:01',
    ethSrc: mac,
    srcIP: ip,
    dstIP: 'ff02::1',
    target: ip,
    solicited: false,
    override: true,
    targetMAC: mac,
  };
}
