// The DNS transports: UDP (one socket per listen address — Node 20's dgram has no working
// reusePort, so no per-core sockets) and TCP with the 2-byte length framing of RFC 1035 §4.2.2
// and the connection handling of RFC 7766 (pipelining, out-of-order replies, idle timeouts).
//
// UDP has two implementations. 'native' (Linux, the default when native/udp-batch is built): the
// addon reads up to 64 datagrams per recvmmsg into memory shared with JS, calls onNativeBatch once,
// and sends the replies written there with one sendmmsg — dgram's per-datagram syscalls, event and
// rinfo object were most of a query's cost. 'dgram': Node's own sockets, everywhere else.
//
// Bounded resources: per-client caps on TCP connections and on replies pending (forwarded
// queries waiting upstream), a global connection cap, an idle timeout, and read back-pressure
// when a client does not read its replies. A handler failure costs one reply, never the server.
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { lookup as dnsLookup, type LookupOneOptions } from 'node:dns';
import { lookup as dnsLookupAsync } from 'node:dns/promises';
import { createServer, isIP, type Server, type Socket as TcpSocket } from 'node:net';
import type { QueryContext } from './handler.ts';
import type { DnsMetrics } from './metrics.ts';
import { addressOf, NativeUdpSocket, Stat, udpNative } from './udp-native.ts';

export interface DnsHandlerLike {
  /** `msg` is the handler's to keep (the native path hands it a copy, not a view of its slots). */
  handle(msg: Buffer, ctx: QueryContext): Buffer | undefined | Promise<Buffer | undefined>;
}

/** How UDP is read and written: batched by the native addon, or Node's dgram. */
export type UdpIo = 'native' | 'dgram';

export interface Listen {
  host: string;
  /** 0: an ephemeral port, the same for UDP and TCP. */
  port: number;
}

export interface DnsServerLimits {
  tcpConnectionsPerClient: number;
  tcpConnections: number;
  /** Unanswered queries per TCP connection before reading pauses. */
  tcpPendingPerConnection: number;
  tcpIdleTimeoutMs: number;
  /** Forwarded UDP queries in flight per client address before new ones are dropped. */
  udpPendingPerClient: number;
  /** Reply bytes queued on one TCP connection before it is cut (a client that never reads). */
  tcpMaxQueuedBytes: number;
  /**
   * From a query's first byte to its last (miekg/dns's read timeout): the idle timeout alone
   * restarts with every byte, so a client dripping one byte at a time held a slot forever.
   */
  tcpMessageTimeoutMs: number;
}

export const defaultLimits: DnsServerLimits = {
  tcpConnectionsPerClient: 32,
  tcpConnections: 1024,
  tcpPendingPerConnection: 64,
  tcpIdleTimeoutMs: 10_000,
  udpPendingPerClient: 256,
  tcpMaxQueuedBytes: 1 << 20,
  tcpMessageTimeoutMs: 2_000,
};

export interface DnsServerOptions {
  listen: readonly Listen[];
  handler: DnsHandlerLike;
  limits?: Partial<DnsServerLimits>;
  metrics?: DnsMetrics;
  /** UDP socket buffer sizes (bytes): bursts beyond them are dropped by the kernel. */
  socketBufferBytes?: number;
  /** Default: 'native' on Linux when the addon is built (scripts/build-native.sh), else 'dgram'. */
  udpIo?: UdpIo;
}

const UDP4: QueryContext = { proto: 'udp', family: 4 };
const UDP6: QueryContext = { proto: 'udp', family: 6 };

/**
 * The UDP sockets' address lookup. Replies only ever go to the rinfo address of a query, an IP
 * literal, for which dgram's default (dns.lookup) still defers the send by a process.nextTick
 * and allocates per packet; answering literals synchronously sends the reply in the same turn.
 * Anything else (never reached by the server) keeps the default resolution.
 */
function literalLookup(
  address: string,
  options: LookupOneOptions | number,
  callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void,
): void {
  const fam = isIP(address);
  if (fam !== 0) {
    callback(null, address, fam);
    return;
  }
  dnsLookup(address, typeof options === 'number' ? { family: options } : options, callback);
}

interface UdpEndpoint {
  port: number;
  close(): Promise<void>;
  /** Native only: the socket, for its counters. */
  native?: NativeUdpSocket;
}

interface Bound {
  host: string;
  port: number;
  udp: UdpEndpoint;
  tcp: Server;
}

export class DnsServer {
  private readonly limits: DnsServerLimits;
  private readonly bound: Bound[] = [];
  private readonly tcpPerClient = new Map<string, number>();
  private readonly udpPending = new Map<string, number>();
  private readonly conns = new Set<TcpSocket>();
  /** The UDP implementation in use. */
  readonly udpIo: UdpIo;

  constructor(private readonly opts: DnsServerOptions) {
    this.limits = { ...defaultLimits, ...opts.limits };
    const native = udpNative();
    if (opts.udpIo === 'native' && !native.ok)
      throw Object.assign(new Error(`udpIo 'native' unavailable: ${native.reason}`), {
        code: 'ERR_DNS_UDP_NATIVE_UNAVAILABLE',
      });
    this.udpIo = opts.udpIo ?? (native.ok ? 'native' : 'dgram');
  }

  /** Binds every listen address; resolves to the bound addresses (ports filled in). */
  async start(): Promise<Listen[]> {
    try {
      for (const l of this.opts.listen) this.bound.push(await this.bindOne(l));
    } catch (e) {
      await this.stop();
      throw e;
    }
    return this.addresses();
  }

  addresses(): Listen[] {
    return this.bound.map((b) => ({ host: b.host, port: b.port }));
  }

  get tcpConnectionCount(): number {
    return this.conns.size;
  }

  /** Native UDP only (else undefined): the addon's counters, summed over the listen addresses. */
  udpNativeStats(): Record<keyof typeof Stat, number> | undefined {
    if (this.udpIo !== 'native') return undefined;
    const sum = Object.fromEntries(Object.keys(Stat).map((k) => [k, 0])) as Record<keyof typeof Stat, number>;
    for (const b of this.bound) {
      const st = b.udp.native?.stats;
      if (st) for (const [k, i] of Object.entries(Stat) as [keyof typeof Stat, number][]) sum[k] += st[i] ?? 0;
    }
    return sum;
  }

  async stop(): Promise<void> {
    for (const c of this.conns) c.destroy();
    this.conns.clear();
    const all = this.bound.splice(0);
    await Promise.all(
      all.map(
        (b) =>
          new Promise<void>((resolve) => {
            let n = 2;
            const one = () => {
              if (--n === 0) resolve();
            };
            b.udp.close().then(one, one);
            b.tcp.close(() => one());
          }),
      ),
    );
  }

  private async bindOne(l: Listen): Promise<Bound> {
    const family = l.host.includes(':') ? 6 : 4;
    // The addon binds IP literals only; a name is resolved once here, as dgram would.
    const host =
      this.udpIo === 'native' && isIP(l.host) === 0 ? (await dnsLookupAsync(l.host, { family })).address : l.host;
    // With port 0 the kernel picks the TCP port (a free one: autobind skips ports held by
    // connections and TIME_WAIT, which an explicit bind would collide with), and UDP asks for the
    // same one, which another UDP socket may hold: retry with a new pair a few times.
    for (let attempt = 0; ; attempt++) {
      const tcp = createServer({ noDelay: true }, (s) => this.onConnection(s, family));
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen({ host: l.host, port: l.port, exclusive: true }, () => {
          tcp.off('error', reject);
          resolve();
        });
      });
      const port = (tcp.address() as { port: number }).port;
      let udp: UdpEndpoint;
      try {
        udp =
          this.udpIo === 'native'
            ? this.openNative(host, port, family)
            : await this.openDgram({ host: l.host, port }, family);
      } catch (e) {
        await new Promise<void>((resolve) => tcp.close(() => resolve()));
        if (l.port === 0 && attempt < 5 && (e as NodeJS.ErrnoException).code === 'EADDRINUSE') continue;
        throw e;
      }
      tcp.maxConnections = this.limits.tcpConnections;
      tcp.on('drop', () => this.opts.metrics?.tcpRejected.inc(['global']));
      return { host: l.host, port, udp, tcp };
    }
  }

  private async openDgram(l: Listen, family: 4 | 6): Promise<UdpEndpoint> {
    const udp = createSocket({
      type: family === 6 ? 'udp6' : 'udp4',
      lookup: literalLookup,
      ...(this.opts.socketBufferBytes
        ? { recvBufferSize: this.opts.socketBufferBytes, sendBufferSize: this.opts.socketBufferBytes }
        : {}),
    });
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind({ address: l.host, port: l.port, exclusive: true }, () => {
        udp.off('error', reject);
        resolve();
      });
    });
    udp.on('message', (msg, rinfo) => this.onUdp(udp, msg, rinfo, family));
    // ICMP port unreachable from a vanished client surfaces here; it must not kill the server.
    udp.on('error', () => this.opts.metrics?.dropped.inc(['udp-socket-error']));
    return {
      port: udp.address().port,
      close: () =>
        new Promise<void>((resolve) => {
          try {
            udp.close(() => resolve());
          } catch {
            resolve();
          }
        }),
    };
  }

  /** Binds synchronously (errors are thrown with their errno code, e.g. EADDRINUSE). */
  private openNative(host: string, port: number, family: 4 | 6): UdpEndpoint {
    const native = udpNative();
    if (!native.ok) throw new Error(native.reason);
    // One context per socket: the slot being handled names the client, read only when the
    // handler forwards (the address as text costs, most queries never need it).
    let slot = 0;
    const ctx: QueryContext = {
      ...(family === 4 ? UDP4 : UDP6),
      client: () => addressOf(sock.source(slot), sock.layout),
    };
    // The addon's counters, copied into the metrics as deltas whenever one that means a loss moves.
    const seen = new Float64Array(native.addon.layout.statCount);
    const sync = () => {
      const m = this.opts.metrics;
      if (!m) return;
      const st = sock.stats;
      const delta = (k: number) => {
        const d = (st[k] ?? 0) - (seen[k] ?? 0);
        seen[k] = st[k] ?? 0;
        return d;
      };
      const oversized = delta(Stat.truncated);
      const full = delta(Stat.queueFull);
      const errors = delta(Stat.sendErrors) + delta(Stat.recvErrors);
      if (oversized) m.dropped.inc(['udp-oversized'], oversized);
      if (full) m.dropped.inc(['udp-send-queue-full'], full);
      if (errors) m.dropped.inc(['udp-socket-error'], errors);
    };
    const sock: NativeUdpSocket = new NativeUdpSocket(
      native.addon,
      host,
      port,
      this.opts.socketBufferBytes ?? 0,
      (n) =>
        this.onNativeBatch(sock, n, ctx, sync, (i) => {
          slot = i;
        }),
      sync,
    );
    return {
      port: sock.port,
      native: sock,
      close: async () => {
        sock.close();
        sync();
      },
    };
  }

  private run(msg: Buffer, ctx: QueryContext): Buffer | undefined | Promise<Buffer | undefined> {
    try {
      return this.opts.handler.handle(msg, ctx);
    } catch {
      this.opts.metrics?.dropped.inc(['handler-exception']);
      return undefined;
    }
  }

  private onUdp(sock: Socket, msg: Buffer, rinfo: RemoteInfo, family: 4 | 6): void {
    const r = this.run(msg, { ...(family === 4 ? UDP4 : UDP6), client: () => rinfo.address });
    if (!(r instanceof Promise)) {
      // No callback: send errors surface as the socket's error event, counted there. Without
      // one, Node tries a synchronous sendmsg first (uv_udp_try_send) and only queues — keeping
      // `out` referenced by its send request — when the socket buffer is full.
      if (r) sock.send(r, rinfo.port, rinfo.address);
      return;
    }
    this.later(rinfo.address, r, (out) => sock.send(out, rinfo.port, rinfo.address));
  }

  /**
   * One batch from the addon: queries in slots 0..n-1. Synchronous replies are copied into the
   * out slots and leave in one sendmmsg when this returns; forwarded ones are sent on their own.
   */
  private onNativeBatch(
    sock: NativeUdpSocket,
    n: number,
    ctx: QueryContext,
    sync: () => void,
    setSlot: (i: number) => void,
  ): void {
    const { u8, lens, outLens } = sock;
    const { offIn, inSlot, offOut, outSlot } = sock.layout;
    for (let i = 0; i < n; i++) {
      const len = lens[i] as number;
      if (len < 0) continue; // larger than a slot: dropped, counted by the addon
      // A copy, not a view: the slot is overwritten by the next batch, and a handler may keep parts
      // of the query (the parsed question) until a forwarded answer comes back.
      const at = offIn + i * inSlot;
      const msg = Buffer.allocUnsafe(len);
      for (let j = 0; j < len; j++) msg[j] = u8[at + j] as number;
      setSlot(i);
      const r = this.run(msg, ctx);
      if (r instanceof Promise) {
        const to = sock.source(i);
        // The client's address as text is only needed here, for the per-client cap.
        this.later(addressOf(to, sock.layout), r, (out) => {
          if (sock.sendTo(out, to) !== 0) sync();
        });
      } else if (r) {
        if (r.length <= outSlot) {
          u8.set(r, offOut + i * outSlot);
          outLens[i] = r.length;
        } else if (!sock.closed && sock.sendTo(r, sock.source(i)) !== 0) sync();
      }
    }
  }

  /** A forwarded query's reply: sent when it comes, within the per-client cap on pending ones. */
  private later(client: string, r: Promise<Buffer | undefined>, send: (out: Buffer) => void): void {
    const n = this.udpPending.get(client) ?? 0;
    if (n >= this.limits.udpPendingPerClient) {
      // Over the cap the reply is dropped (the client retries); the query itself may still
      // complete upstream and warm the cache.
      this.opts.metrics?.dropped.inc(['udp-pending-limit']);
      r.catch(() => {});
      return;
    }
    this.udpPending.set(client, n + 1);
    r.then(
      (out) => {
        if (!out) return;
        try {
          send(out);
        } catch {
          // The socket was closed (server stopped) while the query was upstream.
          this.opts.metrics?.dropped.inc(['udp-socket-error']);
        }
      },
      () => {},
    ).finally(() => {
      const left = (this.udpPending.get(client) ?? 1) - 1;
      if (left > 0) this.udpPending.set(client, left);
      else this.udpPending.delete(client);
    });
  }

  private onConnection(s: TcpSocket, family: 4 | 6): void {
    const client = s.remoteAddress ?? '?';
    const n = this.tcpPerClient.get(client) ?? 0;
    if (n >= this.limits.tcpConnectionsPerClient) {
      this.opts.metrics?.tcpRejected.inc(['per-client']);
      s.destroy();
      return;
    }
    this.tcpPerClient.set(client, n + 1);
    this.conns.add(s);
    s.setTimeout(this.limits.tcpIdleTimeoutMs, () => s.destroy());
    let buf: Buffer = Buffer.alloc(0);
    let pending = 0;
    let closed = false;
    const ctx: QueryContext = { proto: 'tcp', family, client: () => client };
    let deadline: NodeJS.Timeout | undefined;
    const write = (out: Buffer | undefined) => {
      if (closed || !out) return;
      const framed = Buffer.allocUnsafe(out.length + 2);
      framed.writeUInt16BE(out.length, 0);
      out.copy(framed, 2);
      s.write(framed);
      if (s.writableLength > this.limits.tcpMaxQueuedBytes) s.destroy();
    };
    const cap = this.limits.tcpPendingPerConnection;
    // Frames are taken from `buf` only while fewer than `cap` replies are pending; past that
    // the socket is paused, so pipelined queries wait in kernel buffers (back-pressure, no loss).
    const pump = () => {
      while (!closed && pending < cap && buf.length >= 2) {
        const len = buf.readUInt16BE(0);
        if (len === 0) {
          s.destroy();
          return;
        }
        if (buf.length < 2 + len) break;
        const msg = buf.subarray(2, 2 + len);
        buf = buf.subarray(2 + len);
        const r = this.run(msg, ctx);
        if (r instanceof Promise) {
          pending++;
          r.then(write, () => {}).finally(settle);
        } else write(r);
      }
      if (pending >= cap) s.pause();
      else if (s.isPaused()) s.resume();
      // Waiting on the client for the rest of a message: it has tcpMessageTimeoutMs from the
      // message's first byte. Frames we hold back ourselves (at the cap) do not count.
      const partial = buf.length > 0 && (buf.length < 2 || buf.length < 2 + buf.readUInt16BE(0));
      if (partial && pending < cap) {
        deadline ??= setTimeout(() => {
          this.opts.metrics?.dropped.inc(['tcp-message-timeout']);
          s.destroy();
        }, this.limits.tcpMessageTimeoutMs);
      } else if (deadline) {
        clearTimeout(deadline);
        deadline = undefined;
      }
    };
    const settle = () => {
      pending--;
      pump();
    };
    s.on('data', (d: Buffer) => {
      buf = buf.length === 0 ? d : Buffer.concat([buf, d]);
      pump();
    });
    s.on('error', () => {});
    s.on('close', () => {
      closed = true;
      if (deadline) clearTimeout(deadline);
      this.conns.delete(s);
      const left = (this.tcpPerClient.get(client) ?? 1) - 1;
      if (left > 0) this.tcpPerClient.set(client, left);
      else this.tcpPerClient.delete(client);
    });
  }
}
