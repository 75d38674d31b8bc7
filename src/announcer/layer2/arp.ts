// ARP over Ethernet (RFC 826) for IPv4, as whole Ethernet frames: what the packet socket reads
// and writes. Symmetric: decode(encode(x)) is x.
export const etherTypeARP = 0x0806;
export const etherTypeIPv6 = 0x86dd;
export const broadcastMAC = 'ff:ff:ff:ff:ff:ff';

export interface ArpPacket {
  /** Ethernet destination and source. */
  ethDst: string;
  ethSrc: string;
  op: 'request' | 'reply';
  senderMAC: string;
  senderIP: string;
  targetMAC: string;
  targetIP: string;
}

/** 14-byte Ethernet header + 28-byte ARP body; the minimum frame is padded by the kernel. */
export const arpFrameLength = 42;

export function macBytes(mac: string): Buffer {
  const parts = mac.split(':');
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-f]{2}$/i.test(p))) throw new Error(`bad MAC ${mac}`);
  return Buffer.from(parts.map((p) => Number.parseInt(p, 16)));
}

export function macText(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(':');
}

function ip4Bytes(ip: string): Buffer {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255))
    throw new Error(`bad IPv4 ${ip}`);
  return Buffer.from(parts);
}

export function encodeArp(p: ArpPacket): Buffer {
  const b = Buffer.alloc(arpFrameLength);
  macBytes(p.ethDst).copy(b, 0);
  macBytes(p.ethSrc).copy(b, 6);
  b.writeUInt16BE(etherTypeARP, 12);
  b.writeUInt16BE(1, 14); // hardware: Ethernet
  b.writeUInt16BE(0x0800, 16); // protocol: IPv4
  b[18] = 6;
  b[19] = 4;
  b.writeUInt16BE(p.op === 'request' ? 1 : 2, 20);
  macBytes(p.senderMAC).copy(b, 22);
  ip4Bytes(p.senderIP).copy(b, 28);
  macBytes(p.targetMAC).copy(b, 32);
  ip4Bytes(p.targetIP).copy(b, 38);
  return b;
}

/** undefined for anything that is not Ethernet/IPv4 ARP request or reply (never throws). */
export function decodeArp(b: Uint8Array): ArpPacket | undefined {
  if (b.length < arpFrameLength) return undefined;
  const v = Buffer.from(b.buffer, b.byteOffset, b.length);
  if (v.readUInt16BE(12) !== etherTypeARP) return undefined;
  if (v.readUInt16BE(14) !== 1 || v.readUInt16BE(16) !== 0x0800 || v[18] !== 6 || v[19] !== 4) return undefined;
  const op = v.readUInt16BE(20);
  if (op !== 1 && op !== 2) return undefined;
  const ip = (o: number) => `${v[o]}.${v[o + 1]}.${v[o + 2]}.${v[o + 3]}`;
  return {
    ethDst: macText(v.subarray(0, 6)),
    ethSrc: macText(v.subarray(6, 12)),
    op: op === 1 ? 'request' : 'reply',
    senderMAC: macText(v.subarray(22, 28)),
    senderIP: ip(28),
    targetMAC: macText(v.subarray(32, 38)),
    targetIP: ip(38),
  };
}

/** The reply an owner sends to a request for one of its addresses (unicast to the asker). */
export function arpReply(req: ArpPacket, mac: string): ArpPacket {
  return {
    ethDst: req.senderMAC,
    ethSrc: mac,
    op: 'reply',
    senderMAC: mac,
    senderIP: req.targetIP,
    targetMAC: req.senderMAC,
    targetIP: req.senderIP,
  };
}

/**
 * Gratuitous ARP on takeover, as MetalLB sends it: a request and a reply, both broadcast, sender
 * and target the address, so every neighbour holding the old owner's MAC updates its entry.
 */
export function gratuitousArp(ip: string, mac: string): ArpPacket[] {
  return (['request', 'reply'] as const).map((op) => ({
    ethDst: broadcastMAC,
    ethSrc: mac,
    op,
    senderMAC: mac,
    senderIP: ip,
    targetMAC: broadcastMAC,
    targetIP: ip,
  }));
}
