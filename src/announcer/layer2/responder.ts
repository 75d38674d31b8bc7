// The layer 2 decision for one received frame: answer it or not. Pure, so "only the owner
// answers, and only for its addresses" is a unit test.
import { arpReply, decodeArp, encodeArp } from './arp.ts';
import { decodeNS, encodeNA, naReply } from './ndp.ts';

export type FrameVerdict =
  | { kind: 'answer'; ip: string; frame: Buffer }
  | { kind: 'ignore'; ip?: string; why: 'notArp' | 'notRequest' | 'notOurs' | 'fromUs' };

export function respond(frame: Uint8Array, mac: string, announced: ReadonlySet<string>): FrameVerdict {
  const arp = decodeArp(frame);
  if (arp) {
    if (arp.op !== 'request') return { kind: 'ignore', why: 'notRequest' };
    if (!announced.has(arp.targetIP)) return { kind: 'ignore', ip: arp.targetIP, why: 'notOurs' };
    // Our own gratuitous requests come back on the socket (PACKET_OUTGOING is not filtered).
    if (arp.senderMAC === mac) return { kind: 'ignore', ip: arp.targetIP, why: 'fromUs' };
    return { kind: 'answer', ip: arp.targetIP, frame: encodeArp(arpReply(arp, mac)) };
  }
  const ns = decodeNS(frame);
  if (!ns) return { kind: 'ignore', why: 'notArp' };
  if (!announced.has(ns.target)) return { kind: 'ignore', ip: ns.target, why: 'notOurs' };
  if (ns.ethSrc === mac) return { kind: 'ignore', ip: ns.target, why: 'fromUs' };
  return { kind: 'answer', ip: ns.target, frame: encodeNA(naReply(ns, mac)) };
}
