// The server side of SPDY/3.1 as Kubernetes streams use it (moby/spdystream): the client opens
// streams with SYN_STREAM, the server answers each with SYN_REPLY, both sides send DATA and end
// their half with FIN. Header blocks are zlib-compressed with the SPDY/3 dictionary, one
// compression context per direction for the whole session (so blocks are decoded in order).
// spdystream does not enforce flow-control windows, so none are kept here; PING is echoed,
// SETTINGS and WINDOW_UPDATE are read and ignored.
//
// Frames (big-endian):
//   control: 1 | version(15) | type(16) | flags(8) | length(24) | payload
//   data:    0 | stream id(31)           | flags(8) | length(24) | payload
import { Duplex } from 'node:stream';
import { constants, createDeflate, createInflate, type Deflate, type Inflate } from 'node:zlib';
import { spdyV3Dictionary } from './spdy-dictionary.ts';

const version = 3;
const type = { synStream: 1, synReply: 2, rstStream: 3, settings: 4, ping: 6, goAway: 7, headers: 8 } as const;
const flagFin = 0x01;
/** Frames larger than this are a broken or hostile peer: the session ends (bounded memory). */
const maxFrameBytes = 1 << 20;
/** Data frames we send carry at most this much. */
const maxDataChunk = 64 * 1024;

export type SpdyHeaders = Map<string, string>;

/** One SPDY stream: what the peer sends is readable, what is written goes to the peer. */
export class SpdyStream extends Duplex {
  constructor(
    readonly id: number,
    readonly headers: SpdyHeaders,
    private readonly session: SpdySession,
  ) {
    super({ allowHalfOpen: true });
  }

  override _read(): void {}

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    for (let i = 0; i < chunk.length; i += maxDataChunk) {
      this.session.sendData(this.id, chunk.subarray(i, i + maxDataChunk), false);
    }
    cb();
  }

  override _final(cb: (e?: Error | null) => void): void {
    this.session.sendData(this.id, Buffer.alloc(0), true);
    cb();
  }

  /** Ends the stream abruptly (RST_STREAM CANCEL). */
  reset(): void {
    this.session.sendRst(this.id, 5);
    this.push(null);
    this.destroy();
  }
}

export interface SpdyTransport {
  write(frame: Buffer): void;
  close(): void;
}

async function zlibRun(z: Inflate | Deflate, input: Buffer): Promise<Buffer> {
  const out: Buffer[] = [];
  const onData = (b: Buffer) => out.push(b);
  z.on('data', onData);
  try {
    await new Promise<void>((resolve, reject) => {
      z.once('error', reject);
      z.write(input);
      z.flush(constants.Z_SYNC_FLUSH, () => {
        z.off('error', reject);
        resolve();
      });
    });
  } finally {
    z.off('data', onData);
  }
  return Buffer.concat(out);
}

function decodeHeaderBlock(b: Buffer): SpdyHeaders {
  const h: SpdyHeaders = new Map();
  let o = 0;
  const u32 = () => {
    if (o + 4 > b.length) throw new Error('spdy: truncated header block');
    const v = b.readUInt32BE(o);
    o += 4;
    return v;
  };
  const str = () => {
    const n = u32();
    if (o + n > b.length) throw new Error('spdy: truncated header block');
    const s = b.subarray(o, o + n).toString('utf8');
    o += n;
    return s;
  };
  const pairs = u32();
  for (let i = 0; i < pairs; i++) {
    const name = str().toLowerCase();
    h.set(name, str());
  }
  return h;
}

function encodeHeaderBlock(h: SpdyHeaders): Buffer {
  const parts: Buffer[] = [];
  const n = Buffer.alloc(4);
  n.writeUInt32BE(h.size);
  parts.push(n);
  for (const [k, v] of h) {
    for (const s of [k, v]) {
      const b = Buffer.from(s);
      const len = Buffer.alloc(4);
      len.writeUInt32BE(b.length);
      parts.push(len, b);
    }
  }
  return Buffer.concat(parts);
}

export class SpdySession {
  private buf: Buffer = Buffer.alloc(0);
  private readonly streams = new Map<number, SpdyStream>();
  private readonly inflate = createInflate({ dictionary: spdyV3Dictionary });
  private readonly deflate = createDeflate({ dictionary: spdyV3Dictionary });
  private queue: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly transport: SpdyTransport,
    private readonly onStream: (s: SpdyStream) => void,
    private readonly onClose: () => void = () => {},
  ) {}

  /** Bytes from the peer, in order. */
  feed(chunk: Buffer): void {
    if (this.closed) return;
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    this.queue = this.queue.then(() => this.drain()).catch(() => this.close());
  }

  private async drain(): Promise<void> {
    while (!this.closed && this.buf.length >= 8) {
      const len = this.buf.readUIntBE(5, 3);
      if (len > maxFrameBytes) throw new Error('spdy: frame too large');
      if (this.buf.length < 8 + len) return;
      const head = this.buf.subarray(0, 8);
      const payload = this.buf.subarray(8, 8 + len);
      this.buf = this.buf.subarray(8 + len);
      const flags = head[4] ?? 0;
      if ((head[0] ?? 0) & 0x80) await this.control(head.readUInt16BE(2), flags, payload);
      else this.data(head.readUInt32BE(0) & 0x7fffffff, flags, payload);
    }
  }

  private async control(t: number, flags: number, p: Buffer): Promise<void> {
    switch (t) {
      case type.synStream: {
        const id = p.readUInt32BE(0) & 0x7fffffff;
        const headers = decodeHeaderBlock(await zlibRun(this.inflate, p.subarray(10)));
        const s = new SpdyStream(id, headers, this);
        this.streams.set(id, s);
        if (flags & flagFin) s.push(null);
        await this.reply(id);
        this.onStream(s);
        return;
      }
      case type.headers:
      case type.synReply:
        // Keep the inflate context in step with the peer's deflate.
        await zlibRun(this.inflate, p.subarray(4));
        return;
      case type.rstStream: {
        const id = p.readUInt32BE(0) & 0x7fffffff;
        const s = this.streams.get(id);
        this.streams.delete(id);
        s?.push(null);
        s?.destroy();
        return;
      }
      case type.ping:
        this.sendControl(type.ping, 0, p);
        return;
      case type.goAway:
        this.close();
        return;
      default:
        return; // SETTINGS, WINDOW_UPDATE, NOOP
    }
  }

  private data(id: number, flags: number, p: Buffer): void {
    const s = this.streams.get(id);
    if (!s) return;
    if (p.length > 0) s.push(Buffer.from(p));
    if (flags & flagFin) s.push(null);
  }

  private async reply(id: number): Promise<void> {
    const block = await zlibRun(this.deflate, encodeHeaderBlock(new Map()));
    const p = Buffer.alloc(4);
    p.writeUInt32BE(id);
    this.sendControl(type.synReply, 0, Buffer.concat([p, block]));
  }

  private sendControl(t: number, flags: number, payload: Buffer): void {
    const h = Buffer.alloc(8);
    h.writeUInt16BE(0x8000 | version, 0);
    h.writeUInt16BE(t, 2);
    h.writeUInt32BE(payload.length, 4);
    h[4] = flags;
    this.send(Buffer.concat([h, payload]));
  }

  sendData(id: number, data: Buffer, fin: boolean): void {
    const h = Buffer.alloc(8);
    h.writeUInt32BE(id & 0x7fffffff, 0);
    h.writeUInt32BE(data.length, 4);
    h[4] = fin ? flagFin : 0;
    this.send(Buffer.concat([h, data]));
  }

  sendRst(id: number, status: number): void {
    const p = Buffer.alloc(8);
    p.writeUInt32BE(id, 0);
    p.writeUInt32BE(status, 4);
    this.sendControl(type.rstStream, 0, p);
  }

  private send(b: Buffer): void {
    if (!this.closed) this.transport.write(b);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.streams.values()) {
      s.push(null);
      s.destroy();
    }
    this.streams.clear();
    this.inflate.close();
    this.deflate.close();
    this.transport.close();
    this.onClose();
  }
}
