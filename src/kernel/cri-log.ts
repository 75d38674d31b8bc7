// Container logs in the CRI format containerd and CRI-O write and the kubelet reads:
//   <RFC3339Nano time> <stdout|stderr> <F|P> <content>\n
// F closes a line; P is a piece of a longer line (containerd cuts lines at 16 KiB) or the
// unterminated tail a stream ended with. Readers join P pieces without adding a newline.
import { closeSync, openSync, renameSync, statSync, writeSync } from 'node:fs';

export type LogStream = 'stdout' | 'stderr';

/** containerd's maximum line size: longer lines become several P records. */
export const maxRecordBytes = 16 * 1024;

export interface CriRecord {
  /** Milliseconds since the epoch (the file holds nanoseconds; readers need no more). */
  timeMs: number;
  /** The time exactly as written, for output with timestamps. */
  time: string;
  stream: LogStream;
  partial: boolean;
  content: Buffer;
}

/** RFC3339Nano as Go prints it: fractional seconds without trailing zeros. */
export function rfc3339Nano(ms: number, subMsNanos = 0): string {
  const iso = new Date(ms).toISOString(); // 2024-01-02T03:04:05.678Z
  const frac = `${iso.slice(20, 23)}${String(subMsNanos).padStart(6, '0')}`.replace(/0+$/, '');
  return `${iso.slice(0, 19)}${frac ? `.${frac}` : ''}Z`;
}

const recordPattern = /^(\S+) (stdout|stderr) ([FP])(?:[:\w]*)? ?/;

/** One line of a CRI log file (without its newline); undefined when it is not one. */
export function parseCriLine(line: Buffer): CriRecord | undefined {
  const head = line.subarray(0, 64).toString('latin1');
  const m = recordPattern.exec(head);
  if (!m) return undefined;
  const timeMs = Date.parse(m[1] ?? '');
  if (Number.isNaN(timeMs)) return undefined;
  return {
    timeMs,
    time: m[1] ?? '',
    stream: m[2] as LogStream,
    partial: m[3] === 'P',
    content: line.subarray(m[0].length),
  };
}

export interface CriLogWriterOptions {
  /** Rotate when the file grows past this (kubelet's containerLogMaxSize, 10 MiB). */
  maxFileBytes?: number;
  now?: () => number;
}

/**
 * Appends a container's two output streams to one CRI log file. Writes are synchronous so the
 * records of both streams keep the order they arrived in. When the file passes maxFileBytes it
 * is renamed to `<file>.1` (replacing an older one) and a new file starts: at most two files
 * per container run, as bounded as the kubelet's rotation.
 */
export class CriLogWriter {
  private fd: number;
  private size: number;
  private readonly pending: Record<LogStream, Buffer[]> = { stdout: [], stderr: [] };
  private readonly pendingBytes: Record<LogStream, number> = { stdout: 0, stderr: 0 };
  private readonly maxFileBytes: number;
  private readonly now: () => number;
  private lastMs = 0;
  private seq = 0;
  private closed = false;

  constructor(
    readonly path: string,
    opts: CriLogWriterOptions = {},
  ) {
    this.maxFileBytes = opts.maxFileBytes ?? 10 * 1024 * 1024;
    this.now = opts.now ?? Date.now;
    this.fd = openSync(path, 'a', 0o600);
    this.size = statSync(path).size;
  }

  /** Output after close() (a forked helper still writing) is dropped. */
  write(stream: LogStream, chunk: Buffer): void {
    if (this.closed) return;
    let rest = chunk;
    for (;;) {
      const nl = rest.indexOf(0x0a);
      if (nl < 0) break;
      this.take(stream, rest.subarray(0, nl));
      this.flush(stream, false);
      rest = rest.subarray(nl + 1);
    }
    if (rest.length > 0) this.take(stream, rest);
  }

  /** The stream ended: an unterminated tail is written as a partial record. */
  end(stream: LogStream): void {
    if (!this.closed && this.pendingBytes[stream] > 0) this.flush(stream, true);
  }

  close(): void {
    if (this.closed) return;
    this.end('stdout');
    this.end('stderr');
    this.closed = true;
    closeSync(this.fd);
  }

  private take(stream: LogStream, piece: Buffer): void {
    let p = piece;
    while (this.pendingBytes[stream] + p.length > maxRecordBytes) {
      const room = maxRecordBytes - this.pendingBytes[stream];
      this.pending[stream].push(Buffer.from(p.subarray(0, room)));
      this.pendingBytes[stream] += room;
      this.flush(stream, true);
      p = p.subarray(room);
    }
    if (p.length > 0) {
      this.pending[stream].push(Buffer.from(p));
      this.pendingBytes[stream] += p.length;
    }
  }

  private flush(stream: LogStream, partial: boolean): void {
    const content = Buffer.concat(this.pending[stream]);
    this.pending[stream] = [];
    this.pendingBytes[stream] = 0;
    const rec = Buffer.concat([
      Buffer.from(`${this.stamp()} ${stream} ${partial ? 'P' : 'F'} `),
      content,
      Buffer.from('\n'),
    ]);
    if (this.size > 0 && this.size + rec.length > this.maxFileBytes) this.rotate();
    writeSync(this.fd, rec);
    this.size += rec.length;
  }

  /** Strictly increasing times, so records written in one millisecond keep their order. */
  private stamp(): string {
    const ms = this.now();
    if (ms > this.lastMs) {
      this.lastMs = ms;
      this.seq = 0;
    } else this.seq++;
    return rfc3339Nano(this.lastMs, Math.min(this.seq, 999_999));
  }

  private rotate(): void {
    closeSync(this.fd);
    renameSync(this.path, `${this.path}.1`);
    this.fd = openSync(this.path, 'a', 0o600);
    this.size = 0;
  }
}
