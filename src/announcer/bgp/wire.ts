// BGP-4 messages (RFC 4271 §4) with 4-octet AS numbers (RFC 6793), multiprotocol IPv6
// (RFC 4760), route refresh (RFC 2918), communities (RFC 1997) and large communities (RFC 8092).
// Symmetric: decode(encode(m)) is m. A malformed message decodes to a BGPError carrying the
// NOTIFICATION code/subcode/data RFC 4271 §6 prescribes, so the session answers it and closes
// only itself; decoding never throws anything else.
import { bigIntToIP, ipToBigInt } from '../../api/ip.ts';

export const bgpPort = 179;
export const headerLength = 19;
export const maxMessageLength = 4096;
/** RFC 6793: the 2-octet placeholder for an AS number that does not fit. */
export const asTrans = 23456;

export const MessageType = { open: 1, update: 2, notification: 3, keepalive: 4, routeRefresh: 5 } as const;

/** NOTIFICATION error codes and the subcodes used here (RFC 4271 §4.5, §6). */
export const ErrorCode = {
  header: 1,
  open: 2,
  update: 3,
  holdTimerExpired: 4,
  fsm: 5,
  cease: 6,
} as const;
export const HeaderSub = { notSynchronized: 1, badLength: 2, badType: 3 } as const;
export const OpenSub = {
  unsupportedVersion: 1,
  badPeerAS: 2,
  badBGPIdentifier: 3,
  unsupportedOptParam: 4,
  unacceptableHoldTime: 6,
} as const;
export const UpdateSub = {
  malformedAttributeList: 1,
  unrecognizedWellKnown: 2,
  missingWellKnown: 3,
  attributeFlags: 4,
  attributeLength: 5,
  invalidOrigin: 6,
  invalidNextHop: 8,
  optionalAttribute: 9,
  invalidNetwork: 10,
  malformedASPath: 11,
} as const;
/** RFC 4486 Cease subcodes. */
export const CeaseSub = { administrativeShutdown: 2, peerDeconfigured: 3, administrativeReset: 4 } as const;

export class BGPError extends Error {
  constructor(
    readonly code: number,
    readonly subcode: number,
    message: string,
    readonly data: Buffer = Buffer.alloc(0),
  ) {
    super(message);
    this.name = 'BGPError';
  }
}

export interface Capabilities {
  /** AFI/SAFI pairs (RFC 4760): "ipv4-unicast", "ipv6-unicast". */
  multiprotocol: readonly Family[];
  routeRefresh: boolean;
  /** RFC 6793: the speaker's real AS number. */
  as4?: number;
  /** Capability codes we do not interpret, kept so re-encoding is faithful. */
  other: readonly { code: number; value: Buffer }[];
}

export type Family = 'ipv4-unicast' | 'ipv6-unicast';
const familyCodes: Record<Family, [number, number]> = { 'ipv4-unicast': [1, 1], 'ipv6-unicast': [2, 1] };

export interface OpenMessage {
  type: 'open';
  version: number;
  /** The real AS (from the 4-octet capability when present). */
  as: number;
  holdTime: number;
  bgpId: string;
  capabilities: Capabilities;
}

export interface PathAttributes {
  origin?: 'igp' | 'egp' | 'incomplete';
  asPath?: readonly number[];
  nextHop?: string;
  med?: number;
  localPref?: number;
  /** RFC 1997 values as 32-bit numbers. */
  communities?: readonly number[];
  largeCommunities?: readonly [number, number, number][];
  /** RFC 4760: IPv6 reachability with its next hop. */
  mpReach?: { family: Family; nextHop: string; prefixes: readonly string[] };
  mpUnreach?: { family: Family; prefixes: readonly string[] };
}

export interface UpdateMessage {
  type: 'update';
  withdrawn: readonly string[];
  attributes: PathAttributes;
  nlri: readonly string[];
}

export interface NotificationMessage {
  type: 'notification';
  code: number;
  subcode: number;
  data: Buffer;
}

export type Message =
  | OpenMessage
  | UpdateMessage
  | NotificationMessage
  | { type: 'keepalive' }
  | { type: 'routeRefresh'; family: Family };

// ---- encoding --------------------------------------------------------------------------------

function frame(type: number, body: Buffer): Buffer {
  const b = Buffer.alloc(headerLength + body.length, 0xff);
  b.writeUInt16BE(headerLength + body.length, 16);
  b[18] = type;
  body.copy(b, headerLength);
  return b;
}

function ip4(text: string): Buffer {
  const v = ipToBigInt(text);
  if (v?.family !== 'IPv4') throw new Error(`not an IPv4 address: ${text}`);
  const b = Buffer.alloc(4);
  b.writeUInt32BE(Number(v.value));
  return b;
}

function ip6(text: string): Buffer {
  const v = ipToBigInt(text);
  if (v?.family !== 'IPv6') throw new Error(`not an IPv6 address: ${text}`);
  const b = Buffer.alloc(16);
  for (let i = 0; i < 16; i++) b[i] = Number((v.value >> BigInt(8 * (15 - i))) & 0xffn);
  return b;
}

/** "10.0.0.0/24" → length octet + the minimum prefix octets (RFC 4271 §4.3). */
function encodePrefix(prefix: string): Buffer {
  const [addr = '', lenText = ''] = prefix.split('/');
  const len = Number(lenText);
  const bytes = addr.includes(':') ? ip6(addr) : ip4(addr);
  if (!Number.isInteger(len) || len < 0 || len > bytes.length * 8) throw new Error(`bad prefix ${prefix}`);
  const n = Math.ceil(len / 8);
  return Buffer.concat([Buffer.from([len]), bytes.subarray(0, n)]);
}

function attr(flags: number, type: number, value: Buffer): Buffer {
  const extended = value.length > 255;
  const head = Buffer.from(
    extended ? [flags | 0x10, type, value.length >> 8, value.length & 0xff] : [flags, type, value.length],
  );
  return Buffer.concat([head, value]);
}

const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};

function encodeCapabilities(c: Capabilities): Buffer {
  const caps: Buffer[] = [];
  for (const f of c.multiprotocol) {
    const [afi, safi] = familyCodes[f];
    caps.push(Buffer.from([1, 4, afi >> 8, afi & 0xff, 0, safi]));
  }
  if (c.routeRefresh) caps.push(Buffer.from([2, 0]));
  if (c.as4 !== undefined) caps.push(Buffer.concat([Buffer.from([65, 4]), u32(c.as4)]));
  for (const o of c.other) caps.push(Buffer.concat([Buffer.from([o.code, o.value.length]), o.value]));
  if (caps.length === 0) return Buffer.alloc(0);
  const all = Buffer.concat(caps);
  // One optional parameter of type 2 (Capabilities, RFC 5492) holding them all.
  return Buffer.concat([Buffer.from([2, all.length]), all]);
}

/** `as4` says whether AS_PATH carries 4-octet numbers (both sides sent the RFC 6793 capability). */
export function encode(m: Message, as4 = true): Buffer {
  switch (m.type) {
    case 'keepalive':
      return frame(MessageType.keepalive, Buffer.alloc(0));
    case 'notification':
      return frame(MessageType.notification, Buffer.concat([Buffer.from([m.code, m.subcode]), m.data]));
    case 'routeRefresh': {
      const [afi, safi] = familyCodes[m.family];
      return frame(MessageType.routeRefresh, Buffer.from([afi >> 8, afi & 0xff, 0, safi]));
    }
    case 'open': {
      const params = encodeCapabilities(m.capabilities);
      const b = Buffer.alloc(10);
      b[0] = m.version;
      b.writeUInt16BE(m.as > 0xffff ? asTrans : m.as, 1);
      b.writeUInt16BE(m.holdTime, 3);
      ip4(m.bgpId).copy(b, 5);
      b[9] = params.length;
      return frame(MessageType.open, Buffer.concat([b, params]));
    }
    case 'update': {
      const withdrawn = Buffer.concat(m.withdrawn.map(encodePrefix));
      const a = m.attributes;
      const attrs: Buffer[] = [];
      if (a.origin) attrs.push(attr(0x40, 1, Buffer.from([['igp', 'egp', 'incomplete'].indexOf(a.origin)])));
      if (a.asPath) {
        const seg = a.asPath.length
          ? Buffer.concat([
              Buffer.from([2, a.asPath.length]),
              ...a.asPath.map((n) =>
                as4 ? u32(n) : Buffer.from([(n > 0xffff ? asTrans : n) >> 8, (n > 0xffff ? asTrans : n) & 0xff]),
              ),
            ])
          : Buffer.alloc(0);
        attrs.push(attr(0x40, 2, seg));
      }
      if (a.nextHop) attrs.push(attr(0x40, 3, ip4(a.nextHop)));
      if (a.med !== undefined) attrs.push(attr(0x80, 4, u32(a.med)));
      if (a.localPref !== undefined) attrs.push(attr(0x40, 5, u32(a.localPref)));
      if (a.communities?.length) attrs.push(attr(0xc0, 8, Buffer.concat(a.communities.map(u32))));
      if (a.mpReach) {
        const [afi, safi] = familyCodes[a.mpReach.family];
        const nh = a.mpReach.family === 'ipv6-unicast' ? ip6(a.mpReach.nextHop) : ip4(a.mpReach.nextHop);
        attrs.push(
          attr(
            0x80,
            14,
            Buffer.concat([
              Buffer.from([afi >> 8, afi & 0xff, safi, nh.length]),
              nh,
              Buffer.from([0]),
              ...a.mpReach.prefixes.map(encodePrefix),
            ]),
          ),
        );
      }
      if (a.mpUnreach) {
        const [afi, safi] = familyCodes[a.mpUnreach.family];
        attrs.push(
          attr(
            0x80,
            15,
            Buffer.concat([Buffer.from([afi >> 8, afi & 0xff, safi]), ...a.mpUnreach.prefixes.map(encodePrefix)]),
          ),
        );
      }
      if (a.largeCommunities?.length)
        attrs.push(attr(0xc0, 32, Buffer.concat(a.largeCommunities.flatMap((c) => c.map(u32)))));
      const pa = Buffer.concat(attrs);
      const nlri = Buffer.concat(m.nlri.map(encodePrefix));
      const w = Buffer.alloc(2);
      w.writeUInt16BE(withdrawn.length);
      const p = Buffer.alloc(2);
      p.writeUInt16BE(pa.length);
      return frame(MessageType.update, Buffer.concat([w, withdrawn, p, pa, nlri]));
    }
  }
}

// ---- decoding --------------------------------------------------------------------------------

/** Splits whole messages off a TCP stream; `rest` waits for more bytes. Header errors throw BGPError. */
export function split(buf: Buffer): { messages: Buffer[]; rest: Buffer } {
  const messages: Buffer[] = [];
  let o = 0;
  while (buf.length - o >= headerLength) {
    for (let i = 0; i < 16; i++)
      if (buf[o + i] !== 0xff)
        throw new BGPError(ErrorCode.header, HeaderSub.notSynchronized, 'marker is not all ones');
    const len = buf.readUInt16BE(o + 16);
    if (len < headerLength || len > maxMessageLength)
      throw new BGPError(ErrorCode.header, HeaderSub.badLength, `message length ${len}`, buf.subarray(o + 16, o + 18));
    if (buf.length - o < len) break;
    messages.push(buf.subarray(o, o + len));
    o += len;
  }
  return { messages, rest: buf.subarray(o) };
}

function familyOf(afi: number, safi: number): Family | undefined {
  if (afi === 1 && safi === 1) return 'ipv4-unicast';
  if (afi === 2 && safi === 1) return 'ipv6-unicast';
  return undefined;
}

function decodePrefixes(b: Buffer, v6: boolean, sub: number): string[] {
  const out: string[] = [];
  const width = v6 ? 16 : 4;
  for (let o = 0; o < b.length; ) {
    const len = b[o] ?? 0;
    const n = Math.ceil(len / 8);
    if (len > width * 8 || o + 1 + n > b.length) throw new BGPError(ErrorCode.update, sub, `bad prefix length ${len}`);
    const bytes = Buffer.alloc(width);
    b.copy(bytes, 0, o + 1, o + 1 + n);
    let v = 0n;
    for (const x of bytes) v = (v << 8n) | BigInt(x);
    out.push(`${bigIntToIP(v6 ? 'IPv6' : 'IPv4', v)}/${len}`);
    o += 1 + n;
  }
  return out;
}

const ipText = (b: Buffer): string => {
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  return bigIntToIP(b.length === 16 ? 'IPv6' : 'IPv4', v);
};

function decodeOpen(body: Buffer): OpenMessage {
  if (body.length < 10) throw new BGPError(ErrorCode.header, HeaderSub.badLength, 'OPEN too short');
  const version = body[0] ?? 0;
  if (version !== 4)
    throw new BGPError(ErrorCode.open, OpenSub.unsupportedVersion, `version ${version}`, Buffer.from([0, 4]));
  const as2 = body.readUInt16BE(1);
  const holdTime = body.readUInt16BE(3);
  if (holdTime === 1 || holdTime === 2)
    throw new BGPError(ErrorCode.open, OpenSub.unacceptableHoldTime, `hold time ${holdTime}`);
  const bgpId = ipText(body.subarray(5, 9));
  const plen = body[9] ?? 0;
  if (10 + plen !== body.length) throw new BGPError(ErrorCode.open, 0, 'optional parameters length mismatch');
  const caps: {
    multiprotocol: Family[];
    routeRefresh: boolean;
    as4?: number;
    other: { code: number; value: Buffer }[];
  } = {
    multiprotocol: [],
    routeRefresh: false,
    other: [],
  };
  for (let o = 10; o < body.length; ) {
    const type = body[o] ?? 0;
    const len = body[o + 1] ?? 0;
    if (o + 2 + len > body.length) throw new BGPError(ErrorCode.open, 0, 'optional parameter overruns the message');
    if (type !== 2) throw new BGPError(ErrorCode.open, OpenSub.unsupportedOptParam, `optional parameter ${type}`);
    const p = body.subarray(o + 2, o + 2 + len);
    for (let c = 0; c < p.length; ) {
      const code = p[c] ?? 0;
      const clen = p[c + 1] ?? 0;
      if (c + 2 + clen > p.length) throw new BGPError(ErrorCode.open, 0, 'capability overruns its parameter');
      const v = p.subarray(c + 2, c + 2 + clen);
      if (code === 1 && clen === 4) {
        const f = familyOf(v.readUInt16BE(0), v[3] ?? 0);
        if (f) caps.multiprotocol.push(f);
        else caps.other.push({ code, value: Buffer.from(v) });
      } else if (code === 2 && clen === 0) caps.routeRefresh = true;
      else if (code === 65 && clen === 4) caps.as4 = v.readUInt32BE(0);
      else caps.other.push({ code, value: Buffer.from(v) });
      c += 2 + clen;
    }
    o += 2 + len;
  }
  if (bgpId === '0.0.0.0') throw new BGPError(ErrorCode.open, OpenSub.badBGPIdentifier, 'BGP identifier 0.0.0.0');
  return { type: 'open', version, as: caps.as4 ?? as2, holdTime, bgpId, capabilities: caps };
}

function decodeUpdate(body: Buffer, as4: boolean): UpdateMessage {
  const bad = (msg: string) => new BGPError(ErrorCode.update, UpdateSub.malformedAttributeList, msg);
  if (body.length < 4) throw bad('UPDATE too short');
  const wlen = body.readUInt16BE(0);
  if (2 + wlen + 2 > body.length) throw bad('withdrawn routes overrun the message');
  const withdrawn = decodePrefixes(body.subarray(2, 2 + wlen), false, UpdateSub.malformedAttributeList);
  const plen = body.readUInt16BE(2 + wlen);
  const start = 4 + wlen;
  if (start + plen > body.length) throw bad('path attributes overrun the message');
  const a: {
    -readonly [K in keyof PathAttributes]: PathAttributes[K];
  } = {};
  const seen = new Set<number>();
  for (let o = start; o < start + plen; ) {
    if (o + 3 > start + plen) throw bad('truncated attribute header');
    const flags = body[o] ?? 0;
    const type = body[o + 1] ?? 0;
    const ext = (flags & 0x10) !== 0;
    if (ext && o + 4 > start + plen) throw bad('truncated attribute header');
    const len = ext ? body.readUInt16BE(o + 2) : (body[o + 2] ?? 0);
    const vo = o + (ext ? 4 : 3);
    if (vo + len > start + plen)
      throw new BGPError(
        ErrorCode.update,
        UpdateSub.attributeLength,
        `attribute ${type} overruns`,
        body.subarray(o, Math.min(vo + len, body.length)),
      );
    const v = body.subarray(vo, vo + len);
    if (seen.has(type)) throw bad(`attribute ${type} twice`);
    seen.add(type);
    const wantLen = (n: number) => {
      if (len !== n)
        throw new BGPError(
          ErrorCode.update,
          UpdateSub.attributeLength,
          `attribute ${type} length ${len}`,
          body.subarray(o, vo + len),
        );
    };
    switch (type) {
      case 1: {
        wantLen(1);
        const origin = (['igp', 'egp', 'incomplete'] as const)[v[0] ?? 9];
        if (!origin)
          throw new BGPError(ErrorCode.update, UpdateSub.invalidOrigin, `origin ${v[0]}`, body.subarray(o, vo + len));
        a.origin = origin;
        break;
      }
      case 2: {
        const path: number[] = [];
        const w = as4 ? 4 : 2;
        for (let s = 0; s < v.length; ) {
          const count = v[s + 1] ?? 0;
          if (s + 2 + count * w > v.length || ![1, 2].includes(v[s] ?? 0))
            throw new BGPError(ErrorCode.update, UpdateSub.malformedASPath, 'malformed AS_PATH');
          for (let i = 0; i < count; i++)
            path.push(as4 ? v.readUInt32BE(s + 2 + i * 4) : v.readUInt16BE(s + 2 + i * 2));
          s += 2 + count * w;
        }
        a.asPath = path;
        break;
      }
      case 3:
        wantLen(4);
        a.nextHop = ipText(v);
        break;
      case 4:
        wantLen(4);
        a.med = v.readUInt32BE(0);
        break;
      case 5:
        wantLen(4);
        a.localPref = v.readUInt32BE(0);
        break;
      case 8:
        if (len % 4 !== 0) wantLen(len - (len % 4));
        a.communities = Array.from({ length: len / 4 }, (_, i) => v.readUInt32BE(i * 4));
        break;
      case 32:
        if (len % 12 !== 0) wantLen(len - (len % 12));
        a.largeCommunities = Array.from(
          { length: len / 12 },
          (_, i) =>
            [v.readUInt32BE(i * 12), v.readUInt32BE(i * 12 + 4), v.readUInt32BE(i * 12 + 8)] as [
              number,
              number,
              number,
            ],
        );
        break;
      case 14: {
        if (len < 5) throw new BGPError(ErrorCode.update, UpdateSub.optionalAttribute, 'MP_REACH_NLRI too short');
        const f = familyOf(v.readUInt16BE(0), v[2] ?? 0);
        const nhLen = v[3] ?? 0;
        if (!f || 4 + nhLen + 1 > len)
          throw new BGPError(ErrorCode.update, UpdateSub.optionalAttribute, 'bad MP_REACH_NLRI');
        // An IPv6 next hop may carry a link-local address after the global one (32 octets).
        const nh = v.subarray(4, 4 + Math.min(nhLen, f === 'ipv6-unicast' ? 16 : 4));
        a.mpReach = {
          family: f,
          nextHop: ipText(Buffer.from(nh)),
          prefixes: decodePrefixes(v.subarray(5 + nhLen), f === 'ipv6-unicast', UpdateSub.optionalAttribute),
        };
        break;
      }
      case 15: {
        const f = len >= 3 ? familyOf(v.readUInt16BE(0), v[2] ?? 0) : undefined;
        if (!f) throw new BGPError(ErrorCode.update, UpdateSub.optionalAttribute, 'bad MP_UNREACH_NLRI');
        a.mpUnreach = {
          family: f,
          prefixes: decodePrefixes(v.subarray(3), f === 'ipv6-unicast', UpdateSub.optionalAttribute),
        };
        break;
      }
      default:
        // An unknown well-known (non-optional) attribute is an error; unknown optional ones are ignored.
        if ((flags & 0x80) === 0)
          throw new BGPError(
            ErrorCode.update,
            UpdateSub.unrecognizedWellKnown,
            `attribute ${type}`,
            body.subarray(o, vo + len),
          );
    }
    o = vo + len;
  }
  const nlri = decodePrefixes(body.subarray(start + plen), false, UpdateSub.invalidNetwork);
  if (nlri.length > 0) {
    const missing = a.origin === undefined ? 1 : a.asPath === undefined ? 2 : a.nextHop === undefined ? 3 : 0;
    if (missing)
      throw new BGPError(
        ErrorCode.update,
        UpdateSub.missingWellKnown,
        `missing attribute ${missing}`,
        Buffer.from([missing]),
      );
  }
  return { type: 'update', withdrawn, attributes: a, nlri };
}

/** One whole message (from split()). Throws only BGPError. */
export function decode(msg: Buffer, as4 = true): Message {
  if (msg.length < headerLength) throw new BGPError(ErrorCode.header, HeaderSub.badLength, 'short message');
  const type = msg[18] ?? 0;
  const body = msg.subarray(headerLength, msg.readUInt16BE(16));
  const badLen = () =>
    new BGPError(ErrorCode.header, HeaderSub.badLength, `bad length for type ${type}`, msg.subarray(16, 18));
  switch (type) {
    case MessageType.open:
      return decodeOpen(body);
    case MessageType.update:
      return decodeUpdate(body, as4);
    case MessageType.notification:
      if (body.length < 2) throw badLen();
      return { type: 'notification', code: body[0] ?? 0, subcode: body[1] ?? 0, data: Buffer.from(body.subarray(2)) };
    case MessageType.keepalive:
      if (body.length !== 0) throw badLen();
      return { type: 'keepalive' };
    case MessageType.routeRefresh: {
      if (body.length !== 4) throw badLen();
      const f = familyOf(body.readUInt16BE(0), body[3] ?? 0);
      // RFC 2918: a refresh for a family not negotiated is ignored; surface it as ipv4 never.
      if (!f) throw new BGPError(ErrorCode.header, HeaderSub.badType, 'route refresh for an unknown family');
      return { type: 'routeRefresh', family: f };
    }
    default:
      throw new BGPError(ErrorCode.header, HeaderSub.badType, `message type ${type}`, Buffer.from([type]));
  }
}

/** The NOTIFICATION that answers a decoding error. */
export function notificationFor(e: BGPError): NotificationMessage {
  return { type: 'notification', code: e.code, subcode: e.subcode, data: e.data };
}
