// Forwarding for names outside the cluster zone, to the node's resolvers (resolv.conf) or to
// the ones given on the command line.
//
// What keeps it from being a cache-poisoning or amplification tool (CVE-2019-19794: predictable
// ids in miekg/dns clients; CVE-2023-30464: CoreDNS cache poisoning through loose reply matching):
// - query ids from crypto.randomInt, and a fresh socket (a fresh kernel-chosen source port) per
//   upstream query, so an off-path attacker must guess 32 bits, not 16;
// - a reply is accepted only if it comes from the server asked (address and port), is a
//   response, and carries the same id, name (case-insensitive), type and class — anything else
//   is ignored and the wait goes on until the timeout;
// - identical questions in flight share one upstream query (no birthday attack by flooding the
//   same name), and the cache is bounded in entries and in TTL;
// - upstream queries in flight are bounded globally and per client, checked *before* a query
//   goes out (like CoreDNS's forward max_concurrent, answered REFUSED): one client asking for
//   thousands of distinct names cannot open thousands of sockets or starve the others.
import { randomInt } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { connect, isIPv6, type Socket as TcpSocket } from 'node:net';
import {
  encodeMessage,
  Flag,
  MAX_UDP_PAYLOAD,
  type Question,
  Rcode,
  rcodeNames,
  readReplyHead,
  recordSpans,
} from './codec.ts';
import type { DnsMetrics } from './metrics.ts';
import { canonicalIp } from './names.ts';

export interface Upstream {
  host: string;
  port: number;
}

export interface ForwarderOptions {
  upstreams: readonly Upstream[];
  /** Per upstream attempt. */
  timeoutMs?: number;
  /** Cache entries at most (0 disables the cache). */
  cacheSize?: number;
  /** Upper bound of a positive entry's life, seconds (CoreDNS's default Corefile: `cache 30`). */
  maxTtl?: number;
  /** Upper bound of a negative entry's life, seconds. */
  maxNegativeTtl?: number;
  metrics?: DnsMetrics;
  now?: () => number;
  /** Query id source (tests observe it; production keeps crypto.randomInt). */
  randomId?: () => number;
  /** Distinct upstream queries in flight at most (joined identical questions are free). */
  maxInflight?: number;
  /** Distinct upstream queries one client may have started and not seen answered. */
  maxInflightPerClient?: number;
}

export interface ForwardReply {
  /** The upstream's reply; the id is the upstream query's, TTLs aged when cached. */
  wire: Buffer;
  rcode: number;
  cached: boolean;
}

export class ForwardError extends Error {
  override name = 'ForwardError';
  constructor(
    readonly code: 'timeout' | 'no-upstream' | 'network' | 'closed' | 'busy',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

interface CacheEntry {
  wire: Buffer;
  rcode: number;
  ttlAts: number[];
  stored: number;
  expires: number;
}

/** Upstreams from a resolv.conf text: `nameserver` lines, port 53 (loopback stubs included). */
export function parseResolvConf(text: string): Upstream[] {
  const out: Upstream[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    const ip = m?.[1] ? canonicalIp(m[1].replace(/%.*$/, '')) : undefined;
    if (ip) out.push({ host: ip, port: 53 });
  }
  return out;
}

export function resolvConfUpstreams(path = '/etc/resolv.conf'): Upstream[] {
  try {
    return parseResolvConf(readFileSync(path, 'utf8'));
  } catch {
    return [];
  }
}

const sameHost = (a: string, b: string) =>
  (canonicalIp(a.replace(/^::ffff:/, '')) ?? a) === (canonicalIp(b.replace(/^::ffff:/, '')) ?? b);

export class Forwarder {
  readonly upstreams: readonly Upstream[];
  private readonly timeoutMs: number;
  private readonly cacheSize: number;
  private readonly maxTtl: number;
  private readonly maxNegativeTtl: number;
  private readonly now: () => number;
  private readonly randomId: () => number;
  private readonly metrics: DnsMetrics | undefined;
  private readonly inflight = new Map<string, Promise<ForwardReply>>();
  private readonly cache = new Map<string, CacheEntry>();
  private readonly open = new Set<Socket | TcpSocket>();
  private readonly maxInflight: number;
  private readonly maxInflightPerClient: number;
  private readonly perClient = new Map<string, number>();
  private closed = false;
  /** Upstream queries sent (tests check de-duplication with it). */
  sent = 0;

  constructor(opts: ForwarderOptions) {
    this.upstreams = opts.upstreams;
    this.timeoutMs = opts.timeoutMs ?? 2000;
    this.cacheSize = opts.cacheSize ?? 10_000;
    this.maxTtl = opts.maxTtl ?? 30;
    this.maxNegativeTtl = opts.maxNegativeTtl ?? 30;
    this.now = opts.now ?? Date.now;
    this.randomId = opts.randomId ?? (() => randomInt(0, 0x10000));
    this.metrics = opts.metrics;
    this.maxInflight = opts.maxInflight ?? 1000;
    this.maxInflightPerClient = opts.maxInflightPerClient ?? 100;
  }

  get cacheEntries(): number {
    return this.cache.size;
  }

  get inflightCount(): number {
    return this.inflight.size;
  }

  /**
   * Resolves a question upstream (or from the cache). Rejects with ForwardError ('busy' when
   * the in-flight limits refuse it). `client` (the asker's address) is charged for a new
   * upstream query; without one only the global limit applies.
   */
  query(q: Question, client?: string): Promise<ForwardReply> {
    if (this.closed) return Promise.reject(new ForwardError('closed', 'forwarder closed'));
    const key = `${q.key}|${q.type}|${q.qclass}`;
    const hit = this.fromCache(key);
    if (hit) return Promise.resolve(hit);
    const pending = this.inflight.get(key);
    if (pending) return pending;
    if (this.inflight.size >= this.maxInflight) return this.busy('global');
    const mine = client === undefined ? 0 : (this.perClient.get(client) ?? 0);
    if (client !== undefined && mine >= this.maxInflightPerClient) return this.busy('client');
    if (client !== undefined) this.perClient.set(client, mine + 1);
    const release = () => {
      if (client === undefined) return;
      const left = (this.perClient.get(client) ?? 1) - 1;
      if (left > 0) this.perClient.set(client, left);
      else this.perClient.delete(client);
    };
    this.metrics?.cacheMisses.inc(['dns://']);
    const p = this.fetch(q).then(
      (r) => {
        this.inflight.delete(key);
        release();
        this.store(key, r);
        return r;
      },
      (e: unknown) => {
        this.inflight.delete(key);
        release();
        throw e;
      },
    );
    this.inflight.set(key, p);
    return p;
  }

  private busy(scope: 'global' | 'client'): Promise<never> {
    this.metrics?.forwardMaxConcurrentRejects.inc([scope]);
    const limit = scope === 'global' ? this.maxInflight : this.maxInflightPerClient;
    return Promise.reject(new ForwardError('busy', `${scope} limit of ${limit} upstream queries in flight reached`));
  }

  close(): void {
    this.closed = true;
    for (const s of this.open) {
      if ('destroy' in s) s.destroy();
      else s.close();
    }
    this.open.clear();
  }

  private fromCache(key: string): ForwardReply | undefined {
    const e = this.cache.get(key);
    if (!e) return undefined;
    const now = this.now();
    if (now >= e.expires) {
      this.cache.delete(key);
      return undefined;
    }
    // Refresh recency: Map order is the eviction order.
    this.cache.delete(key);
    this.cache.set(key, e);
    const age = Math.floor((now - e.stored) / 1000);
    const wire = Buffer.from(e.wire);
    for (const at of e.ttlAts) wire.writeUInt32BE(Math.max(0, wire.readUInt32BE(at) - age), at);
    this.metrics?.cacheHits.inc([
      'dns://',
      e.rcode === Rcode.NOERROR && wire.readUInt16BE(6) > 0 ? 'success' : 'denial',
    ]);
    return { wire, rcode: e.rcode, cached: true };
  }

  private store(key: string, r: ForwardReply): void {
    if (this.cacheSize <= 0 || (r.rcode !== Rcode.NOERROR && r.rcode !== Rcode.NXDOMAIN)) return;
    if (r.wire.readUInt16BE(2) & Flag.TC) return;
    const parsed = recordSpans(r.wire);
    if (!parsed) return;
    const ttlAts = parsed.spans.filter((s) => s.type !== 41).map((s) => s.ttlAt);
    if (ttlAts.length === 0) return; // a denial without SOA says nothing about how long to keep it
    let ttl = Number.MAX_SAFE_INTEGER;
    for (const at of ttlAts) ttl = Math.min(ttl, r.wire.readUInt32BE(at));
    const positive = r.rcode === Rcode.NOERROR && parsed.counts[0] > 0;
    ttl = Math.min(ttl, positive ? this.maxTtl : this.maxNegativeTtl);
    if (ttl <= 0) return;
    while (this.cache.size >= this.cacheSize) {
      const oldest = this.cache.keys().next();
      if (oldest.done) break;
      this.cache.delete(oldest.value);
    }
    const now = this.now();
    this.cache.set(key, { wire: Buffer.from(r.wire), rcode: r.rcode, ttlAts, stored: now, expires: now + ttl * 1000 });
  }

  private async fetch(q: Question): Promise<ForwardReply> {
    if (this.upstreams.length === 0) throw new ForwardError('no-upstream', 'no upstream resolvers configured');
    let last: unknown;
    for (const up of this.upstreams) {
      const to = `${up.host}:${up.port}`;
      const id = this.randomId() & 0xffff;
      const packet = encodeMessage({
        id,
        flags: Flag.RD,
        rcode: 0,
        question: q,
        answers: [],
        authority: [],
        additional: [],
        opt: { udpSize: MAX_UDP_PAYLOAD },
      });
      this.sent++;
      this.metrics?.forwardRequests.inc([to]);
      try {
        let wire = await this.exchangeUdp(up, packet, id, q);
        if (wire.readUInt16BE(2) & Flag.TC) wire = await this.exchangeTcp(up, packet, id, q);
        const rcode = wire.readUInt16BE(2) & 0xf;
        this.metrics?.forwardResponses.inc([to, rcodeNames[rcode] ?? String(rcode)]);
        // SERVFAIL/REFUSED from one upstream: the next may do better.
        if ((rcode === Rcode.SERVFAIL || rcode === Rcode.REFUSED) && up !== this.upstreams[this.upstreams.length - 1]) {
          last = new ForwardError('network', `${to} answered ${rcodeNames[rcode]}`);
          continue;
        }
        return { wire, rcode, cached: false };
      } catch (e) {
        this.metrics?.forwardErrors.inc([to]);
        last = e;
        if (this.closed) break;
      }
    }
    throw last instanceof ForwardError ? last : new ForwardError('network', 'all upstreams failed', { cause: last });
  }

  /** Whether `msg` answers exactly the query (id, name, type, class) we sent. */
  private matches(msg: Buffer, id: number, q: Question): boolean {
    const h = readReplyHead(msg);
    return (
      h !== undefined &&
      h.id === id &&
      (h.flags & Flag.QR) !== 0 &&
      h.qdcount === 1 &&
      h.question !== undefined &&
      h.question.key === q.key &&
      h.question.type === q.type &&
      h.question.qclass === q.qclass
    );
  }

  private exchangeUdp(up: Upstream, packet: Buffer, id: number, q: Question): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const sock = createSocket(isIPv6(up.host) ? 'udp6' : 'udp4');
      this.open.add(sock);
      let done = false;
      const finish = (err: Error | undefined, msg?: Buffer) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.open.delete(sock);
        try {
          sock.close();
        } catch {
          // already closed by close()
        }
        if (err || !msg) reject(err ?? new ForwardError('network', 'no reply'));
        else resolve(msg);
      };
      const timer = setTimeout(
        () => finish(new ForwardError('timeout', `no reply from ${up.host}:${up.port} in ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
      sock.on('message', (msg, rinfo) => {
        // Spoofed or stale replies are ignored, not errors: keep waiting for the real one.
        if (rinfo.port !== up.port || !sameHost(rinfo.address, up.host)) return;
        if (!this.matches(msg, id, q)) return;
        finish(undefined, msg);
      });
      sock.on('error', (e) => finish(new ForwardError('network', e.message, { cause: e })));
      sock.on('close', () => finish(new ForwardError('closed', 'socket closed')));
      sock.send(packet, up.port, up.host, (e) => {
        if (e) finish(new ForwardError('network', e.message, { cause: e }));
      });
    });
  }

  private exchangeTcp(up: Upstream, packet: Buffer, id: number, q: Question): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const sock = connect({ host: up.host, port: up.port });
      this.open.add(sock);
      let buf = Buffer.alloc(0);
      let done = false;
      const finish = (err: Error | undefined, msg?: Buffer) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.open.delete(sock);
        sock.destroy();
        if (err || !msg) reject(err ?? new ForwardError('network', 'no reply'));
        else resolve(msg);
      };
      const timer = setTimeout(
        () => finish(new ForwardError('timeout', `no TCP reply from ${up.host}:${up.port}`)),
        this.timeoutMs,
      );
      sock.on('connect', () => {
        const framed = Buffer.allocUnsafe(packet.length + 2);
        framed.writeUInt16BE(packet.length, 0);
        packet.copy(framed, 2);
        sock.write(framed);
      });
      sock.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        while (buf.length >= 2) {
          const len = buf.readUInt16BE(0);
          if (buf.length < 2 + len) return;
          const msg = buf.subarray(2, 2 + len);
          buf = buf.subarray(2 + len);
          if (this.matches(msg, id, q)) return finish(undefined, Buffer.from(msg));
        }
      });
      sock.on('error', (e) => finish(new ForwardError('network', e.message, { cause: e })));
      sock.on('close', () => finish(new ForwardError('network', 'connection closed before a reply')));
    });
  }
}
