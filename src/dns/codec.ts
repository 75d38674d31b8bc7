// DNS wire format for the server side (RFC 1035 §4, EDNS0 RFC 6891).
//
// dns-packet decodes fine but does not compress names on encode and decodes labels as UTF-8
// without escaping, so the query side and the response side are written here:
// - parseQuery reads a query in place (compression pointers allowed, loops rejected) and keeps the
//   question's wire bytes so the reply echoes the client's case (0x20 resolvers check it);
// - encodeMessage writes a message with name compression (RFC 1035 §4.1.4), never compressing SRV
//   targets (RFC 2782) or names in unknown types (RFC 3597 §4);
// - encodeWithLimit applies the UDP size limit: additional records go first (no TC needed,
//   RFC 2181 §9), then answers, with TC set.
import { bytesAreIPv4, parseIPSloppy } from '../api/ip.ts';

export const T = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  OPT: 41,
  IXFR: 251,
  AXFR: 252,
  ANY: 255,
} as const;

export const typeNames: Record<number, string> = Object.fromEntries(Object.entries(T).map(([k, v]) => [v, k]));

export const Rcode = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  /** Extended (needs OPT): bad EDNS version (RFC 6891 §6.1.3). */
  BADVERS: 16,
} as const;

export const rcodeNames: Record<number, string> = Object.fromEntries(Object.entries(Rcode).map(([k, v]) => [v, k]));

export const Flag = {
  QR: 0x8000,
  AA: 0x0400,
  TC: 0x0200,
  RD: 0x0100,
  RA: 0x0080,
  AD: 0x0020,
  CD: 0x0010,
} as const;

export const CLASS_IN = 1;
/** The size below which no fragmentation happens on any path (DNS flag day 2020). */
export const MAX_UDP_PAYLOAD = 1232;
export const CLASSIC_UDP_LIMIT = 512;

export type RData =
  | { kind: 'ip'; ip: string }
  | { kind: 'name'; target: string }
  | { kind: 'srv'; priority: number; weight: number; port: number; target: string }
  | { kind: 'mx'; preference: number; exchange: string }
  | { kind: 'txt'; strings: string[] }
  | {
      kind: 'soa';
      mname: string;
      rname: string;
      serial: number;
      refresh: number;
      retry: number;
      expire: number;
      minimum: number;
    }
  | { kind: 'raw'; bytes: Uint8Array };

/** A resource record. `name` is presentation text (trailing dot optional); class is IN. */
export interface Rr {
  name: string;
  type: number;
  ttl: number;
  data: RData;
}

export interface Edns {
  udpSize: number;
  version: number;
  /** The DO bit (RFC 3225). */
  dnssecOk: boolean;
}

export interface Question {
  /** Uncompressed wire form of the name, as the client cased it, ending with the root byte. */
  wire: Uint8Array;
  /** Canonical key: ASCII-lowercase, no trailing dot, `\DDD` escapes for odd bytes. */
  key: string;
  type: number;
  qclass: number;
}

export interface ParsedQuery {
  id: number;
  flags: number;
  opcode: number;
  question: Question;
  /** Offset just after the question (for the in-place fast path). */
  questionEnd: number;
  /** True when the question name used no compression: bytes 12..questionEnd are reusable. */
  plainQuestion: boolean;
  edns: Edns | undefined;
}

export type ParseFailure =
  /** Too short for a header or a response: drop, nothing sensible to answer. */
  | { drop: true; reason: string }
  /** Answer with this rcode, echoing the id (and the question when it could be read). */
  | {
      drop: false;
      reason: string;
      id: number;
      flags: number;
      rcode: number;
      question?: Question;
      edns?: Edns;
    };

export type ParseResult = { ok: true; query: ParsedQuery } | ({ ok: false } & ParseFailure);

const MAX_POINTER_HOPS = 64;

/** Reads a possibly compressed name; returns labels as raw bytes and the offset after it. */
function readName(buf: Uint8Array, start: number): { labels: Uint8Array[]; end: number; compressed: boolean } | string {
  const labels: Uint8Array[] = [];
  let off = start;
  let end = -1;
  let total = 1;
  let hops = 0;
  for (;;) {
    if (off >= buf.length) return 'name runs past the end';
    const len = buf[off] ?? 0;
    if (len === 0) {
      if (end < 0) end = off + 1;
      break;
    }
    const top = len & 0xc0;
    if (top === 0xc0) {
      if (off + 1 >= buf.length) return 'truncated pointer';
      const ptr = ((len & 0x3f) << 8) | (buf[off + 1] ?? 0);
      // Pointers must go backwards: that alone rules out loops (RFC 9267 §2).
      if (ptr >= off || ++hops > MAX_POINTER_HOPS) return 'bad compression pointer';
      if (end < 0) end = off + 2;
      off = ptr;
      continue;
    }
    if (top !== 0) return 'unknown label type';
    if (off + 1 + len > buf.length) return 'label runs past the end';
    total += len + 1;
    if (total > 255) return 'name too long';
    labels.push(buf.subarray(off + 1, off + 1 + len));
    off += 1 + len;
  }
  return { labels, end, compressed: hops > 0 };
}

/** Presentation key of raw labels: folded ASCII, `\DDD` for dots, backslashes and non-printables. */
export function labelsKey(labels: readonly Uint8Array[]): string {
  let out = '';
  for (let i = 0; i < labels.length; i++) {
    if (i > 0) out += '.';
    const l = labels[i] as Uint8Array;
    for (let j = 0; j < l.length; j++) {
      const c = l[j] ?? 0;
      if (c >= 65 && c <= 90) out += String.fromCharCode(c + 32);
      else if (c > 0x20 && c < 0x7f && c !== 0x2e && c !== 0x5c) out += String.fromCharCode(c);
      else out += `\\${String(c).padStart(3, '0')}`;
    }
  }
  return out;
}

function labelsWire(labels: readonly Uint8Array[]): Uint8Array {
  let n = 1;
  for (const l of labels) n += l.length + 1;
  const out = new Uint8Array(n);
  let o = 0;
  for (const l of labels) {
    out[o++] = l.length;
    out.set(l, o);
    o += l.length;
  }
  out[o] = 0;
  return out;
}

/**
 * Parses a query. A message that is not a plausible query (short, QR set) is dropped; other
 * malformations get FORMERR with the id echoed (RFC 1035 §4.1.1), unknown opcodes NOTIMP and a
 * bad EDNS version BADVERS (RFC 6891 §6.1.3).
 */
export function parseQuery(buf: Uint8Array): ParseResult {
  if (buf.length < 12) return { ok: false, drop: true, reason: 'short header' };
  const id = ((buf[0] ?? 0) << 8) | (buf[1] ?? 0);
  const flags = ((buf[2] ?? 0) << 8) | (buf[3] ?? 0);
  // Never answer a response: that is how reflection loops between two servers start.
  if (flags & Flag.QR) return { ok: false, drop: true, reason: 'response' };
  const opcode = (flags >> 11) & 0xf;
  const qd = ((buf[4] ?? 0) << 8) | (buf[5] ?? 0);
  const an = ((buf[6] ?? 0) << 8) | (buf[7] ?? 0);
  const ns = ((buf[8] ?? 0) << 8) | (buf[9] ?? 0);
  const ar = ((buf[10] ?? 0) << 8) | (buf[11] ?? 0);
  const fail = (rcode: number, reason: string, question?: Question, edns?: Edns): ParseResult => ({
    ok: false,
    drop: false,
    reason,
    id,
    flags,
    rcode,
    ...(question ? { question } : {}),
    ...(edns ? { edns } : {}),
  });
  if (opcode !== 0) return fail(Rcode.NOTIMP, 'opcode');
  if (qd !== 1) return fail(Rcode.FORMERR, 'qdcount');
  const name = readName(buf, 12);
  if (typeof name === 'string') return fail(Rcode.FORMERR, name);
  let off = name.end;
  if (off + 4 > buf.length) return fail(Rcode.FORMERR, 'short question');
  const type = ((buf[off] ?? 0) << 8) | (buf[off + 1] ?? 0);
  const qclass = ((buf[off + 2] ?? 0) << 8) | (buf[off + 3] ?? 0);
  off += 4;
  const questionEnd = off;
  const question: Question = {
    wire: name.compressed ? labelsWire(name.labels) : buf.subarray(12, name.end),
    key: labelsKey(name.labels),
    type,
    qclass,
  };
  // Queries carry no answers; authority is allowed (UPDATE prerequisites aside, ignored).
  if (an !== 0) return fail(Rcode.FORMERR, 'answers in query', question);
  let edns: Edns | undefined;
  for (let i = 0; i < ns + ar; i++) {
    const rrName = readName(buf, off);
    if (typeof rrName === 'string') return fail(Rcode.FORMERR, rrName, question);
    off = rrName.end;
    if (off + 10 > buf.length) return fail(Rcode.FORMERR, 'short record', question);
    const rrType = ((buf[off] ?? 0) << 8) | (buf[off + 1] ?? 0);
    const rrClass = ((buf[off + 2] ?? 0) << 8) | (buf[off + 3] ?? 0);
    const ttlHi = ((buf[off + 4] ?? 0) << 8) | (buf[off + 5] ?? 0);
    const ttlLo = ((buf[off + 6] ?? 0) << 8) | (buf[off + 7] ?? 0);
    const rdlen = ((buf[off + 8] ?? 0) << 8) | (buf[off + 9] ?? 0);
    off += 10 + rdlen;
    if (off > buf.length) return fail(Rcode.FORMERR, 'rdata runs past the end', question);
    if (rrType === T.OPT) {
      // One OPT, owned by the root, in the additional section (RFC 6891 §6.1.1).
      if (edns || i < ns || rrName.labels.length !== 0) return fail(Rcode.FORMERR, 'misplaced OPT', question);
      edns = { udpSize: rrClass, version: ttlHi & 0xff, dnssecOk: (ttlLo & 0x8000) !== 0 };
    }
  }
  if (edns && edns.version !== 0) return fail(Rcode.BADVERS, 'edns version', question, edns);
  // Trailing bytes after the counted records are tolerated: some stub resolvers pad.
  return {
    ok: true,
    query: { id, flags, opcode, question, questionEnd, plainQuestion: !name.compressed, edns },
  };
}

/** The UDP payload limit for a reply to this query. */
export function udpLimit(edns: Edns | undefined): number {
  if (!edns) return CLASSIC_UDP_LIMIT;
  return Math.max(CLASSIC_UDP_LIMIT, Math.min(edns.udpSize, MAX_UDP_PAYLOAD));
}

// ---- encoding ----------------------------------------------------------------------------------

export interface Message {
  id: number;
  /** Header flags without the rcode; the low 4 bits of rcode are merged in. */
  flags: number;
  rcode: number;
  question?: Question;
  answers: readonly Rr[];
  authority: readonly Rr[];
  additional: readonly Rr[];
  /** Our OPT record, present iff the query had one (RFC 6891 §7). */
  opt?: { udpSize: number };
}

class Writer {
  buf: Buffer;
  off = 0;
  /** Lowercased name suffix → offset of its first label (RFC 1035 §4.1.4). */
  private readonly names = new Map<string, number>();

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }

  private ensure(n: number): void {
    if (this.off + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.off + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.off);
    this.buf = next;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.off++] = v & 0xff;
  }

  u16(v: number): void {
    this.ensure(2);
    this.buf.writeUInt16BE(v & 0xffff, this.off);
    this.off += 2;
  }

  u32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32BE(v >>> 0, this.off);
    this.off += 4;
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.off);
    this.off += b.length;
  }

  /** Records where a name's suffixes start so later names can point at them. */
  remember(key: string, at: number): void {
    const labels = splitKey(key);
    let pos = at;
    for (let i = 0; i < labels.length; i++) {
      const suffix = labels.slice(i).join('.');
      if (pos < 0x4000 && !this.names.has(suffix)) this.names.set(suffix, pos);
      pos += labelLength(labels[i] as string) + 1;
    }
  }

  name(text: string, compress: boolean): void {
    const originals = splitKey(stripDot(text));
    const labels = originals.map(foldKey);
    const positions: number[] = [];
    for (let i = 0; i < labels.length; i++) {
      if (compress) {
        const ptr = this.names.get(labels.slice(i).join('.'));
        if (ptr !== undefined) {
          this.u16(0xc000 | ptr);
          this.register(labels, positions);
          return;
        }
      }
      positions.push(this.off);
      const raw = unescapeLabel(originals[i] ?? '');
      this.u8(raw.length);
      this.bytes(raw);
    }
    this.u8(0);
    this.register(labels, positions);
  }

  /** positions[j] is where labels[j] was written; each starts the suffix labels[j..]. */
  private register(labels: readonly string[], positions: readonly number[]): void {
    for (let j = 0; j < positions.length; j++) {
      const pos = positions[j] as number;
      const suffix = labels.slice(j).join('.');
      if (pos < 0x4000 && !this.names.has(suffix)) this.names.set(suffix, pos);
    }
  }

  rr(r: Rr): void {
    this.name(r.name, true);
    this.u16(r.type);
    this.u16(CLASS_IN);
    this.u32(r.ttl);
    const lenAt = this.off;
    this.u16(0);
    const d = r.data;
    switch (d.kind) {
      case 'ip':
        this.bytes(ipBytes(d.ip));
        break;
      case 'name':
        this.name(d.target, true);
        break;
      case 'srv':
        this.u16(d.priority);
        this.u16(d.weight);
        this.u16(d.port);
        this.name(d.target, false);
        break;
      case 'mx':
        this.u16(d.preference);
        this.name(d.exchange, true);
        break;
      case 'txt':
        for (const s of d.strings) {
          const b = Buffer.from(s, 'utf8');
          // A character-string is at most 255 bytes (RFC 1035 §3.3).
          for (let i = 0; i === 0 || i < b.length; i += 255) {
            const part = b.subarray(i, i + 255);
            this.u8(part.length);
            this.bytes(part);
          }
        }
        break;
      case 'soa':
        this.name(d.mname, true);
        this.name(d.rname, true);
        this.u32(d.serial);
        this.u32(d.refresh);
        this.u32(d.retry);
        this.u32(d.expire);
        this.u32(d.minimum);
        break;
      case 'raw':
        this.bytes(d.bytes);
        break;
    }
    this.buf.writeUInt16BE(this.off - lenAt - 2, lenAt);
  }
}

function stripDot(s: string): string {
  return s.endsWith('.') && !s.endsWith('\\.') ? s.slice(0, -1) : s;
}

function foldKey(text: string): string {
  return stripDot(text).replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));
}

/** Splits a presentation name on unescaped dots. */
function splitKey(key: string): string[] {
  if (key === '' || key === '.') return [];
  if (!key.includes('\\')) return key.split('.');
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < key.length; i++) {
    const c = key[i];
    if (c === '\\') {
      cur += key.slice(i, i + 2);
      i++;
    } else if (c === '.') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

function unescapeLabel(label: string): Uint8Array {
  if (!label.includes('\\')) return Buffer.from(label, 'latin1');
  const bytes: number[] = [];
  for (let i = 0; i < label.length; i++) {
    const c = label.charCodeAt(i);
    if (c === 0x5c && i + 1 < label.length) {
      const ddd = /^\d{3}/.exec(label.slice(i + 1, i + 4));
      if (ddd) {
        bytes.push(Number(ddd[0]) & 0xff);
        i += 3;
      } else {
        bytes.push(label.charCodeAt(i + 1) & 0xff);
        i += 1;
      }
    } else bytes.push(c & 0xff);
  }
  return Uint8Array.from(bytes.slice(0, 63));
}

function labelLength(label: string): number {
  return label.includes('\\') ? unescapeLabel(label).length : label.length;
}

function ipBytes(ip: string): Uint8Array {
  const p = parseIPSloppy(ip);
  if (!p) throw new Error(`not an IP address: ${ip}`);
  return bytesAreIPv4(p.bytes) ? p.bytes.slice(12) : p.bytes;
}

/** Encodes a whole message with name compression. */
export function encodeMessage(m: Message): Buffer {
  const w = new Writer(512);
  w.u16(m.id);
  w.u16((m.flags & ~0xf) | (m.rcode & 0xf));
  w.u16(m.question ? 1 : 0);
  w.u16(m.answers.length);
  w.u16(m.authority.length);
  w.u16(m.additional.length + (m.opt ? 1 : 0));
  if (m.question) {
    w.bytes(m.question.wire);
    w.remember(m.question.key, 12);
    w.u16(m.question.type);
    w.u16(m.question.qclass);
  }
  for (const r of m.answers) w.rr(r);
  for (const r of m.authority) w.rr(r);
  for (const r of m.additional) w.rr(r);
  if (m.opt) {
    w.u8(0);
    w.u16(T.OPT);
    w.u16(m.opt.udpSize);
    // Extended rcode (upper 8 bits of the 12-bit rcode), version 0, no flags.
    w.u32(((m.rcode >> 4) & 0xff) << 24);
    w.u16(0);
  }
  return w.buf.subarray(0, w.off);
}

/**
 * Encodes within `limit` bytes: drops the additional section first (no TC: it is optional data),
 * then the answer and authority sections with TC set so the client retries over TCP.
 */
export function encodeWithLimit(m: Message, limit: number): Buffer {
  const full = encodeMessage(m);
  if (full.length <= limit) return full;
  if (m.additional.length > 0) {
    const lean = encodeMessage({ ...m, additional: [] });
    if (lean.length <= limit) return lean;
  }
  return encodeMessage({ ...m, flags: m.flags | Flag.TC, answers: [], authority: [], additional: [] });
}

/** Zone-file text of a record (CoreDNS / dig style), used by tests and `svcnet` debugging. */
export function rrText(r: Rr): string {
  const owner = r.name.endsWith('.') ? r.name : `${r.name}.`;
  const dot = (s: string) => (s.endsWith('.') ? s : `${s}.`);
  const d = r.data;
  let rdata: string;
  switch (d.kind) {
    case 'ip':
      rdata = d.ip;
      break;
    case 'name':
      rdata = dot(d.target);
      break;
    case 'srv':
      rdata = `${d.priority} ${d.weight} ${d.port} ${dot(d.target)}`;
      break;
    case 'mx':
      rdata = `${d.preference} ${dot(d.exchange)}`;
      break;
    case 'txt':
      rdata = d.strings.map((s) => JSON.stringify(s)).join(' ');
      break;
    case 'soa':
      rdata = `${dot(d.mname)} ${dot(d.rname)} ${d.serial} ${d.refresh} ${d.retry} ${d.expire} ${d.minimum}`;
      break;
    case 'raw':
      rdata = `\\# ${d.bytes.length} ${Buffer.from(d.bytes).toString('hex')}`;
      break;
  }
  return `${owner}\t${r.ttl}\tIN\t${typeNames[r.type] ?? `TYPE${r.type}`}\t${rdata}`;
}

/** Uncompressed wire form of a presentation name. */
export function nameToWire(name: string): Uint8Array {
  const labels = splitKey(stripDot(name)).map(unescapeLabel);
  return labelsWire(labels);
}

/** Builds a question from presentation text (for queries svcnet sends itself). */
export function questionOf(name: string, type: number, qclass = CLASS_IN): Question {
  const wire = nameToWire(name);
  const read = readName(wire, 0);
  const key = typeof read === 'string' ? foldKey(name) : labelsKey(read.labels);
  return { wire, key, type, qclass };
}

export interface ReplyHead {
  id: number;
  flags: number;
  rcode: number;
  qdcount: number;
  question?: { key: string; type: number; qclass: number; start: number; end: number };
}

/** Header and first question of a reply (what the forwarder matches replies on). */
export function readReplyHead(buf: Uint8Array): ReplyHead | undefined {
  if (buf.length < 12) return undefined;
  const id = ((buf[0] ?? 0) << 8) | (buf[1] ?? 0);
  const flags = ((buf[2] ?? 0) << 8) | (buf[3] ?? 0);
  const qdcount = ((buf[4] ?? 0) << 8) | (buf[5] ?? 0);
  const head: ReplyHead = { id, flags, rcode: flags & 0xf, qdcount };
  if (qdcount < 1) return head;
  const n = readName(buf, 12);
  if (typeof n === 'string' || n.end + 4 > buf.length) return head;
  head.question = {
    key: labelsKey(n.labels),
    type: ((buf[n.end] ?? 0) << 8) | (buf[n.end + 1] ?? 0),
    qclass: ((buf[n.end + 2] ?? 0) << 8) | (buf[n.end + 3] ?? 0),
    start: 12,
    end: n.end,
  };
  return head;
}

export interface RecordSpan {
  start: number;
  end: number;
  type: number;
  ttlAt: number;
}

/** Offsets of every record after the question section; undefined when the message is malformed. */
export function recordSpans(buf: Uint8Array): { spans: RecordSpan[]; counts: [number, number, number] } | undefined {
  if (buf.length < 12) return undefined;
  const count = (i: number) => ((buf[i] ?? 0) << 8) | (buf[i + 1] ?? 0);
  const qd = count(4);
  const counts: [number, number, number] = [count(6), count(8), count(10)];
  let off = 12;
  for (let i = 0; i < qd; i++) {
    const n = readName(buf, off);
    if (typeof n === 'string') return undefined;
    off = n.end + 4;
  }
  const spans: RecordSpan[] = [];
  for (let i = 0; i < counts[0] + counts[1] + counts[2]; i++) {
    const start = off;
    const n = readName(buf, off);
    if (typeof n === 'string' || n.end + 10 > buf.length) return undefined;
    off = n.end;
    const type = count(off);
    const ttlAt = off + 4;
    off += 10 + count(off + 8);
    if (off > buf.length) return undefined;
    spans.push({ start, end: off, type, ttlAt });
  }
  return { spans, counts };
}
