// One DNS message in, one reply out (or nothing): parse, answer from the index or the forwarder,
// encode within the transport's size limit, count.
//
// Hot path: in-zone replies to plain queries are kept encoded (answer-cache.ts) and answered by
// patching the ID, RD/CD and the question's case into a copy, reading the query in place — no
// parse, no strings, no dns-packet. The cache is tied to the index generation: any index change
// drops it, so answers are never staler than the last event.

import dnsPacket from 'dns-packet';
import { type AnswerConfig, resolve } from './answer.ts';
import { AnswerCache, type CachedReply } from './answer-cache.ts';
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
  /**
   * The asker's address, for the forwarder's per-client limit; called synchronously inside
   * handle() and only for names that go upstream (the native UDP path computes it lazily).
   */
  client?: () => string;
}

export interface HandlerOptions extends AnswerConfig {
  forwarder?: Forwarder;
  metrics?: DnsMetrics;
  /** Memoised encoded answers at most (cleared wholesale when full or stale). */
  memoSize?: number;
}

const TCP_LIMIT = 65535;
const SERVER = 'dns://';

export class DnsHandler {
  private readonly memo: AnswerCache<MetricBundle>;
  private memoGeneration = -1;
  private readonly zoneLabel: string;
  private readonly bundles = new Map<string, MetricBundle>();
  /** Replies served from the encoded-answer cache (diagnostics and tests). */
  cacheHits = 0;

  constructor(
    private readonly index: DnsIndex,
    private readonly opts: HandlerOptions,
  ) {
    this.memo = new AnswerCache(opts.memoSize ?? 100_000);
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
   * The cache probe for the common query shape (one question of class IN without compression,
   * at most an OPT), reading the packet in place. Anything unusual, or a miss, returns undefined
   * and takes the general path, which answers the same and fills the cache.
   */
  private fastPath(msg: Buffer, ctx: QueryContext, start: number): Buffer | undefined {
    const len = msg.length;
    // Every index read below is in bounds (checked against len first): `as number` instead of
    // `?? 0` keeps V8 on its fast typed-array path, several times cheaper per byte.
    if (len < 17 || (msg[2] as number) & 0xf8 || msg[4] !== 0 || msg[5] !== 1) return undefined;
    if (msg[6] !== 0 || msg[7] !== 0 || msg[8] !== 0 || msg[9] !== 0 || msg[10] !== 0 || (msg[11] as number) > 1)
      return undefined;
    if (this.memoGeneration !== this.index.generation) return undefined;
    let off = 12;
    for (;;) {
      const l = msg[off] as number;
      if (l === 0) break;
      if (l > 63) return undefined;
      off += 1 + l;
      if (off >= len) return undefined;
    }
    const nameEnd = off + 1;
    // 255 octets at most (RFC 1035 §3.1); longer ones get FORMERR from the general path.
    if (nameEnd - 12 > 255) return undefined;
    const qEnd = nameEnd + 4;
    if (qEnd > len) return undefined;
    const type = ((msg[nameEnd] as number) << 8) | (msg[nameEnd + 1] as number);
    if (msg[nameEnd + 2] !== 0 || msg[nameEnd + 3] !== 1 || type === T.AXFR || type === T.IXFR) return undefined;
    let limit = ctx.proto === 'tcp' ? TCP_LIMIT : CLASSIC_UDP_LIMIT;
    const edns = msg[11] === 1;
    if (edns) {
      if (qEnd + 11 > len || msg[qEnd] !== 0 || msg.readUInt16BE(qEnd + 1) !== T.OPT || msg[qEnd + 6] !== 0)
        return undefined;
      if (qEnd + 11 + msg.readUInt16BE(qEnd + 9) > len) return undefined;
      if (ctx.proto === 'udp')
        limit = Math.max(CLASSIC_UDP_LIMIT, Math.min(msg.readUInt16BE(qEnd + 3), MAX_UDP_PAYLOAD));
    }
    const hit = this.memo.get(msg, 12, nameEnd, type, edns);
    if (!hit) return undefined;
    const tpl = hit.wire;
    if (tpl.length > limit) return undefined;
    this.cacheHits++;
    const out = Buffer.allocUnsafe(tpl.length);
    out.set(tpl);
    out[0] = msg[0] as number;
    out[1] = msg[1] as number;
    out[2] = (tpl[2] as number) | ((msg[2] as number) & 0x01);
    out[3] = (tpl[3] as number) | ((msg[3] as number) & 0x10);
    // The client's own question bytes: 0x20 case echoed exactly.
    for (let i = 12; i < nameEnd; i++) out[i] = msg[i] as number;
    if (this.opts.metrics) this.countCached(ctx, hit, out.length, start);
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
    const r = resolve(this.index, this.opts, question.key, question.type);
    if (r.kind === 'answer') {
      const m = this.message(q, r);
      if (q.plainQuestion && question.qclass === 1) this.remember(q, m);
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
    return fwd.query(question, ctx.client?.()).then(
      (reply) => {
        const out = this.relay(q, reply.wire, limit);
        this.count(ctx, question.type, reply.rcode, 'forward', out.length, start, q.edns !== undefined);
        return out;
      },
      // Over the in-flight limits: REFUSED, as CoreDNS's forward max_concurrent answers.
      (e: unknown) =>
        this.fail(q, ctx, e instanceof ForwardError && e.code === 'busy' ? Rcode.REFUSED : Rcode.SERVFAIL, start),
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

  private remember(q: ParsedQuery, m: Message): void {
    const { question } = q;
    const nameEnd = 12 + question.wire.length;
    const edns = q.edns !== undefined;
    if (this.memo.get(question.wire, 0, question.wire.length, question.type, edns)) return;
    this.memo.put(encodeMessage(m), nameEnd, question.type, edns);
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
        const reply = await fwd.query(questionOf(target, type), ctx.client?.());
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
    this.observe(m, this.bundle(m, ctx, type, rcode, plugin, edns), size, start);
  }

  /** count() for a cache hit: the entry keeps its metric series per transport. */
  private countCached(ctx: QueryContext, hit: CachedReply<MetricBundle>, size: number, start: number): void {
    const m = this.opts.metrics;
    if (!m) return;
    const t = (ctx.proto === 'tcp' ? 2 : 0) + (ctx.family === 6 ? 1 : 0);
    let b = hit.perTransport[t];
    if (!b) {
      b = this.bundle(m, ctx, hit.type, hit.rcode, 'kubernetes', hit.edns);
      hit.perTransport[t] = b;
    }
    this.observe(m, b, size, start);
  }

  private bundle(
    m: DnsMetrics,
    ctx: QueryContext,
    type: number,
    rcode: number,
    plugin: string,
    edns: boolean,
  ): MetricBundle {
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
    return b;
  }

  private observe(m: DnsMetrics, b: MetricBundle, size: number, start: number): void {
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
