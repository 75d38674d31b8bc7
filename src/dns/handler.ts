// One DNS message in, one reply out (or nothing): parse, answer from the index or the forwarder,
// encode within the transport's size limit, count.
//
// Hot path: in-zone replies are memoised as encoded bytes after the question, keyed by
// (name, type, EDNS present) and tagged with the index generation. The question bytes are copied
// from the query (the client's case, RFC 4343 §4.1) and compression pointers in the memo point at
// offset 12, where every query's question starts — so a memoised body fits every query for the
// same name whatever its case. Any index change bumps the generation and the memo is dropped:
// answers are never staler than the last event.

import dnsPacket from 'dns-packet';
import { type AnswerConfig, type Resolution, resolve } from './answer.ts';
import {
  CLASSIC_UDP_LIMIT,
  encodeMessage,
  encodeWithLimit,
  Flag,
  MAX_UDP_PAYLOAD,
  type Message,
  type ParsedQuery,
  parseQuery,
  questionOf,
  Rcode,
  type Rr,
  rcodeNames,
  recordSpans,
  T,
  typeNames,
  udpLimit,
} from './codec.ts';
import { ForwardError, type Forwarder } from './forwarder.ts';
import type { DnsMetrics, HistogramSeries } from './metrics.ts';
import { inZone } from './names.ts';
import type { DnsIndex } from './records.ts';

export interface QueryContext {
  proto: 'udp' | 'tcp';
  family: 4 | 6;
}

export interface HandlerOptions extends AnswerConfig {
  forwarder?: Forwarder;
  metrics?: DnsMetrics;
  /** Memoised encoded answers at most (cleared wholesale when full or stale). */
  memoSize?: number;
}

interface Memo {
  /** Header flags (QR, AA, RA, rcode) without the per-query RD/CD bits. */
  flags: number;
  counts: Buffer;
  body: Buffer;
  resolution: Resolution & { kind: 'answer' };
}

const TCP_LIMIT = 65535;
const SERVER = 'dns://';

export class DnsHandler {
  private readonly memo = new Map<string, Memo>();
  private memoGeneration = -1;
  private readonly memoSize: number;
  private readonly zoneLabel: string;
  private readonly scratch = Buffer.allocUnsafe(256);
  private readonly bundles = new Map<string, MetricBundle>();

  constructor(
    private readonly index: DnsIndex,
    private readonly opts: HandlerOptions,
  ) {
    this.memoSize = opts.memoSize ?? 100_000;
    this.zoneLabel = `${index.zone}.`;
  }

  /** Returns the reply, a promise of it (forwarded names), or undefined to drop. Never throws. */
  handle(msg: Buffer, ctx: QueryContext): Buffer | undefined | Promise<Buffer | undefined> {
    const start = performance.now();
    const fast = this.fastPath(msg, ctx, start);
    if (fast) return fast;
    let parsed: ReturnType<typeof parseQuery>;
    try {
      parsed = parseQuery(msg);
    } catch {
      this.opts.metrics?.dropped.inc(['parse-exception']);
      return undefined;
    }
    if (!parsed.ok) {
      if (parsed.drop) {
        this.opts.metrics?.dropped.inc([parsed.reason]);
        return undefined;
      }
      const reply = encodeMessage({
        id: parsed.id,
        flags: Flag.QR | (parsed.flags & (0x7800 | Flag.RD)),
        rcode: parsed.rcode,
        ...(parsed.question ? { question: parsed.question } : {}),
        answers: [],
        authority: [],
        additional: [],
        ...(parsed.edns ? { opt: { udpSize: MAX_UDP_PAYLOAD } } : {}),
      });
      this.count(ctx, parsed.question?.type ?? 0, parsed.rcode, 'svcnet', reply.length, start, false);
      return reply;
    }
    const q = parsed.query;
    try {
      return this.answer(q, ctx, start);
    } catch {
      return this.fail(q, ctx, Rcode.SERVFAIL, start);
    }
  }

  /**
   * The memo probe for the common query shape (one plain question of class IN, at most an OPT),
   * reading the name in place into a scratch buffer: no objects allocated but the key string.
   * Anything unusual returns undefined and takes the general path, which answers the same.
   */
  private fastPath(msg: Buffer, ctx: QueryContext, start: number): Buffer | undefined {
    const len = msg.length;
    if (len < 17 || (msg[2] ?? 0xff) & 0xf8 || msg[4] !== 0 || msg[5] !== 1) return undefined;
    if (msg[6] !== 0 || msg[7] !== 0 || msg[8] !== 0 || msg[9] !== 0 || msg[10] !== 0 || (msg[11] ?? 2) > 1)
      return undefined;
    const scratch = this.scratch;
    let off = 12;
    let k = 0;
    for (;;) {
      const l = msg[off] ?? 0xff;
      if (l === 0) break;
      if (l > 63 || off + 1 + l >= len || k + l + 1 > 254) return undefined;
      if (k > 0) scratch[k++] = 0x2e;
      for (let i = off + 1; i <= off + l; i++) {
        let c = msg[i] ?? 0;
        if (c >= 65 && c <= 90) c += 32;
        else if (c <= 0x20 || c >= 0x7f || c === 0x2e || c === 0x5c) return undefined;
        scratch[k++] = c;
      }
      off += 1 + l;
    }
    const qEnd = off + 5;
    if (qEnd > len) return undefined;
    const type = msg.readUInt16BE(off + 1);
    if (msg.readUInt16BE(off + 3) !== 1 || type === T.AXFR || type === T.IXFR) return undefined;
    let limit = ctx.proto === 'tcp' ? TCP_LIMIT : CLASSIC_UDP_LIMIT;
    const edns = msg[11] === 1;
    if (edns) {
      if (qEnd + 11 > len || msg[qEnd] !== 0 || msg.readUInt16BE(qEnd + 1) !== T.OPT || msg[qEnd + 6] !== 0)
        return undefined;
      if (qEnd + 11 + msg.readUInt16BE(qEnd + 9) > len) return undefined;
      if (ctx.proto === 'udp')
        limit = Math.max(CLASSIC_UDP_LIMIT, Math.min(msg.readUInt16BE(qEnd + 3), MAX_UDP_PAYLOAD));
    }
    if (this.memoGeneration !== this.index.generation) return undefined;
    const hit = this.memo.get(`${scratch.toString('latin1', 0, k)}\x00${type}\x00${edns ? 1 : 0}`);
    if (!hit || qEnd + hit.body.length > limit) return undefined;
    const out = Buffer.allocUnsafe(qEnd + hit.body.length);
    out[0] = msg[0] ?? 0;
    out[1] = msg[1] ?? 0;
    out.writeUInt16BE(hit.flags | (msg.readUInt16BE(2) & (Flag.RD | Flag.CD)), 2);
    hit.counts.copy(out, 4);
    msg.copy(out, 12, 12, qEnd);
    hit.body.copy(out, qEnd);
    this.count(ctx, type, hit.flags & 0xf, 'kubernetes', out.length, start, edns);
    return out;
  }

  private answer(q: ParsedQuery, ctx: QueryContext, start: number): Buffer | Promise<Buffer | undefined> {
    const { question } = q;
    if (question.qclass !== 1 && question.qclass !== 255) return this.fail(q, ctx, Rcode.REFUSED, start);
    if (question.type === T.AXFR || question.type === T.IXFR) return this.fail(q, ctx, Rcode.REFUSED, start);
    const limit = ctx.proto === 'tcp' ? TCP_LIMIT : udpLimit(q.edns);
    if (this.memoGeneration !== this.index.generation) {
      this.memo.clear();
      this.memoGeneration = this.index.generation;
    }
    const memoKey = q.plainQuestion ? `${question.key}\x00${question.type}\x00${q.edns ? 1 : 0}` : undefined;
    const hit = memoKey === undefined ? undefined : this.memo.get(memoKey);
    if (hit && 12 + (q.questionEnd - 12) + hit.body.length <= limit) {
      const out = this.fromMemo(q, hit);
      this.count(ctx, question.type, hit.flags & 0xf, 'kubernetes', out.length, start, q.edns !== undefined);
      return out;
    }
    const r = hit?.resolution ?? resolve(this.index, this.opts, question.key, question.type);
    if (r.kind === 'answer') {
      const m = this.message(q, r);
      if (memoKey !== undefined && !hit) this.remember(memoKey, q, m);
      const out = encodeWithLimit(m, limit);
      this.count(ctx, question.type, r.rcode, 'kubernetes', out.length, start, q.edns !== undefined);
      return out;
    }
    const fwd = this.opts.forwarder;
    if (r.kind === 'chase') return this.chase(q, ctx, r.prefix, r.target, r.type, limit, start);
    if (!fwd) {
      // Not recursive without upstreams; a reverse name we do not hold is simply unknown.
      const rcode = inZone(question.key, 'arpa') ? Rcode.NXDOMAIN : Rcode.REFUSED;
      return this.fail(q, ctx, rcode, start);
    }
    return fwd.query(question).then(
      (reply) => {
        const out = this.relay(q, reply.wire, limit);
        this.count(ctx, question.type, reply.rcode, 'forward', out.length, start, q.edns !== undefined);
        return out;
      },
      () => this.fail(q, ctx, Rcode.SERVFAIL, start),
    );
  }

  private baseFlags(q: ParsedQuery, aa: boolean): number {
    return Flag.QR | (aa ? Flag.AA : 0) | (this.opts.forwarder ? Flag.RA : 0) | (q.flags & (Flag.RD | Flag.CD));
  }

  private message(
    q: ParsedQuery,
    r: { rcode: number; aa: boolean; answers: Rr[]; authority: Rr[]; additional: Rr[] },
  ): Message {
    return {
      id: q.id,
      flags: this.baseFlags(q, r.aa),
      rcode: r.rcode,
      question: q.question,
      answers: r.answers,
      authority: r.authority,
      additional: r.additional,
      ...(q.edns ? { opt: { udpSize: MAX_UDP_PAYLOAD } } : {}),
    };
  }

  private remember(key: string, q: ParsedQuery, m: Message): void {
    const full = encodeMessage(m);
    if (this.memo.size >= this.memoSize) this.memo.clear();
    const qEnd = q.questionEnd;
    this.memo.set(key, {
      flags: full.readUInt16BE(2) & ~(Flag.RD | Flag.CD),
      counts: Buffer.from(full.subarray(4, 12)),
      body: Buffer.from(full.subarray(qEnd)),
      resolution: {
        kind: 'answer',
        rcode: m.rcode,
        aa: (m.flags & Flag.AA) !== 0,
        answers: [...m.answers],
        authority: [...m.authority],
        additional: [...m.additional],
      },
    });
  }

  private fromMemo(q: ParsedQuery, memo: Memo): Buffer {
    const qEnd = q.questionEnd;
    const out = Buffer.allocUnsafe(qEnd + memo.body.length);
    out.writeUInt16BE(q.id, 0);
    out.writeUInt16BE(memo.flags | (q.flags & (Flag.RD | Flag.CD)), 2);
    memo.counts.copy(out, 4);
    // The query's own question bytes: ids and 0x20 case echoed exactly.
    out.set(q.question.wire, 12);
    out.writeUInt16BE(q.question.type, qEnd - 4);
    out.writeUInt16BE(q.question.qclass, qEnd - 2);
    memo.body.copy(out, qEnd);
    return out;
  }

  private fail(q: ParsedQuery, ctx: QueryContext, rcode: number, start: number): Buffer {
    const out = encodeMessage(this.message(q, { rcode, aa: false, answers: [], authority: [], additional: [] }));
    this.count(
      ctx,
      q.question.type,
      rcode,
      rcode === Rcode.SERVFAIL ? 'forward' : 'svcnet',
      out.length,
      start,
      q.edns !== undefined,
    );
    return out;
  }

  /** ExternalName → out-of-zone target: the CNAME plus whatever the upstream says about it. */
  private async chase(
    q: ParsedQuery,
    ctx: QueryContext,
    prefix: Rr[],
    target: string,
    type: number,
    limit: number,
    start: number,
  ): Promise<Buffer> {
    let answers = prefix;
    let rcode: number = Rcode.NOERROR;
    const fwd = this.opts.forwarder;
    if (fwd) {
      try {
        const reply = await fwd.query(questionOf(target, type));
        const chased = chasedRecords(reply.wire);
        answers = [...prefix, ...chased];
        if (reply.rcode === Rcode.NXDOMAIN) rcode = Rcode.NXDOMAIN;
      } catch (e) {
        // The CNAME alone is a correct answer: the client's resolver can chase it itself.
        if (!(e instanceof ForwardError)) throw e;
      }
    }
    const out = encodeWithLimit(this.message(q, { rcode, aa: true, answers, authority: [], additional: [] }), limit);
    this.count(ctx, q.question.type, rcode, 'kubernetes', out.length, start, q.edns !== undefined);
    return out;
  }

  /** An upstream reply rewritten for our client: its id, its question case, its size limit. */
  private relay(q: ParsedQuery, upstream: Buffer, limit: number): Buffer {
    let out = Buffer.from(upstream);
    out.writeUInt16BE(q.id, 0);
    const flags = out.readUInt16BE(2);
    out.writeUInt16BE((flags & ~(Flag.RD | Flag.CD)) | Flag.QR | (q.flags & (Flag.RD | Flag.CD)), 2);
    const qLen = q.question.wire.length;
    // Same name case-insensitively, so the same length unless the upstream compressed it.
    if (out.length >= 12 + qLen && out[12 + qLen - 1] === 0 && out.readUInt16BE(4) === 1) out.set(q.question.wire, 12);
    if (!q.edns) {
      // No OPT in a reply to a query without one (RFC 6891 §7); only a trailing OPT can be cut
      // without moving anything a compression pointer might target.
      const spans = recordSpans(out);
      const last = spans?.spans[spans.spans.length - 1];
      if (spans && last && last.type === T.OPT && last.end === out.length && spans.counts[2] > 0) {
        out = out.subarray(0, last.start);
        out.writeUInt16BE(spans.counts[2] - 1, 10);
      }
    }
    if (out.length <= limit) return out;
    return encodeMessage({
      id: q.id,
      flags: (out.readUInt16BE(2) & ~0xf) | Flag.TC,
      rcode: out.readUInt16BE(2) & 0xf,
      question: q.question,
      answers: [],
      authority: [],
      additional: [],
      ...(q.edns ? { opt: { udpSize: MAX_UDP_PAYLOAD } } : {}),
    });
  }

  private count(
    ctx: QueryContext,
    type: number,
    rcode: number,
    plugin: string,
    size: number,
    start: number,
    edns: boolean,
  ): void {
    const m = this.opts.metrics;
    if (!m) return;
    const key = `${ctx.proto}${ctx.family}${edns ? 'e' : ''}|${type}|${rcode}|${plugin}`;
    let b = this.bundles.get(key);
    if (!b) {
      const t = typeNames[type] ?? 'other';
      const z = this.zoneLabel;
      b = {
        requests: m.requests.series([SERVER, z, ctx.proto, String(ctx.family), t]),
        responses: m.responses.series([SERVER, z, rcodeNames[rcode] ?? String(rcode), plugin]),
        duration: m.duration.seriesOf([SERVER, z, t]),
        requestSize: m.requestSize.seriesOf([SERVER, z, ctx.proto]),
        responseSize: m.responseSize.seriesOf([SERVER, z, ctx.proto]),
        advertised: ctx.proto === 'tcp' ? 65535 : edns ? MAX_UDP_PAYLOAD : CLASSIC_UDP_LIMIT,
      };
      this.bundles.set(key, b);
    }
    b.requests.v++;
    b.responses.v++;
    m.duration.observeSeries(b.duration, (performance.now() - start) / 1000);
    m.requestSize.observeSeries(b.requestSize, b.advertised);
    m.responseSize.observeSeries(b.responseSize, size);
  }
}

interface MetricBundle {
  requests: { v: number };
  responses: { v: number };
  duration: HistogramSeries;
  requestSize: HistogramSeries;
  responseSize: HistogramSeries;
  advertised: number;
}

/** Answer records of an upstream reply, as records we can re-encode (common types only). */
export function chasedRecords(wire: Buffer): Rr[] {
  let decoded: ReturnType<typeof dnsPacket.decode>;
  try {
    decoded = dnsPacket.decode(wire);
  } catch {
    return [];
  }
  const out: Rr[] = [];
  for (const a of decoded.answers ?? []) {
    if (a.type === 'OPT') continue;
    const ttl = a.ttl ?? 0;
    switch (a.type) {
      case 'A':
        out.push({ name: a.name, type: T.A, ttl, data: { kind: 'ip', ip: a.data } });
        break;
      case 'AAAA':
        out.push({ name: a.name, type: T.AAAA, ttl, data: { kind: 'ip', ip: a.data } });
        break;
      case 'CNAME':
        out.push({ name: a.name, type: T.CNAME, ttl, data: { kind: 'name', target: a.data } });
        break;
      case 'PTR':
        out.push({ name: a.name, type: T.PTR, ttl, data: { kind: 'name', target: a.data } });
        break;
      case 'TXT': {
        const parts = Array.isArray(a.data) ? a.data : [a.data];
        out.push({ name: a.name, type: T.TXT, ttl, data: { kind: 'txt', strings: parts.map((p) => p.toString()) } });
        break;
      }
      case 'SRV':
        out.push({
          name: a.name,
          type: T.SRV,
          ttl,
          data: {
            kind: 'srv',
            priority: a.data.priority ?? 0,
            weight: a.data.weight ?? 0,
            port: a.data.port,
            target: a.data.target,
          },
        });
        break;
      case 'MX':
        out.push({
          name: a.name,
          type: T.MX,
          ttl,
          data: { kind: 'mx', preference: a.data.preference ?? 0, exchange: a.data.exchange },
        });
        break;
      default:
        break;
    }
  }
  return out;
}
