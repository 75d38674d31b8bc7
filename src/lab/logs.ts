// Reading a lab container's logs as the kubelet serves them: the CRI records of the run's file
// (and of its rotated predecessor), filtered by sinceTime, cut to the last tailLines records,
// optionally prefixed with their timestamps, limited to limitBytes, and — with follow — new
// records as the container writes them, until it stops or the reader goes away.
import { rmSync } from 'node:fs';
import { type FileHandle, open, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { LogQuery, LogSink } from '../apiserver/pods/kubelet.ts';
import { type CriRecord, parseCriLine } from '../kernel/cri-log.ts';

/** kubelet's layout under /var/log/pods: <ns>_<pod>_<uid>/<container>/<restartCount>.log */
export function containerLogDir(dataDir: string, namespace: string, pod: string, uid: string, container: string) {
  return join(dataDir, 'logs', `${namespace}_${pod}_${uid}`, container);
}

export function runLogFile(dir: string, restartCount: number): string {
  return join(dir, `${restartCount}.log`);
}

/** Removes every log of a pod (all its containers and runs). */
export async function dropPodLogs(dataDir: string, namespace: string, pod: string, uid: string): Promise<void> {
  await rm(dirname(containerLogDir(dataDir, namespace, pod, uid, 'x')), { recursive: true, force: true });
}

/** Removes an old run's log (and its rotated half). */
export function dropRunLog(dir: string, restartCount: number): void {
  const f = runLogFile(dir, restartCount);
  rmSync(f, { force: true });
  rmSync(`${f}.1`, { force: true });
}

export interface LogSource {
  /** The run's log file; `<file>.1` is read first when rotation left one. */
  file: string;
  /** While true, follow waits for more; once false, follow ends after what is written. */
  running(): boolean;
}

const pollMs = 100;

function render(r: CriRecord, q: LogQuery): Buffer {
  const parts: Buffer[] = [];
  if (q.timestamps) parts.push(Buffer.from(`${r.time} `));
  parts.push(r.content);
  if (!r.partial) parts.push(Buffer.from('\n'));
  return Buffer.concat(parts);
}

async function readAll(path: string): Promise<Buffer> {
  try {
    const fh = await open(path, 'r');
    try {
      return await fh.readFile();
    } finally {
      await fh.close();
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return Buffer.alloc(0);
    throw e;
  }
}

/** Splits complete lines off `buf`; returns them and the unterminated rest. */
function lines(buf: Buffer): { complete: Buffer[]; rest: Buffer } {
  const complete: Buffer[] = [];
  let start = 0;
  for (;;) {
    const nl = buf.indexOf(0x0a, start);
    if (nl < 0) break;
    complete.push(buf.subarray(start, nl));
    start = nl + 1;
  }
  return { complete, rest: buf.subarray(start) };
}

class Emitter {
  private sent = 0;
  done = false;
  constructor(
    private readonly sink: LogSink,
    private readonly q: LogQuery,
  ) {}

  async record(line: Buffer): Promise<void> {
    if (this.done) return;
    const r = parseCriLine(line);
    if (!r) return;
    if (this.q.sinceMs !== undefined && r.timeMs < this.q.sinceMs) return;
    let out = render(r, this.q);
    if (this.q.limitBytes !== undefined) {
      const room = this.q.limitBytes - this.sent;
      if (out.length >= room) {
        out = out.subarray(0, room);
        this.done = true;
      }
    }
    this.sent += out.length;
    if (out.length > 0) await this.sink.write(out);
  }
}

/**
 * Streams the logs of one container run to `sink`. Resolves when everything asked for is
 * written: at once without follow; with follow, once the container has stopped and its last
 * records are out, or when `signal` aborts.
 */
export async function streamLogs(src: LogSource, q: LogQuery, sink: LogSink, signal: AbortSignal): Promise<void> {
  const emit = new Emitter(sink, q);
  // What is there now: the rotated file, then the current one, read through once.
  const rotated = await readAll(`${src.file}.1`);
  let fh: FileHandle | undefined;
  try {
    fh = await open(src.file, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const current = fh ? await fh.readFile() : Buffer.alloc(0);
  let offset = current.length;
  const first = lines(Buffer.concat([rotated, current]));
  let all = first.complete;
  if (q.tailLines !== undefined) all = q.tailLines === 0 ? [] : all.slice(-q.tailLines);
  for (const l of all) {
    if (emit.done || signal.aborted) break;
    await emit.record(l);
  }
  let rest: Buffer = Buffer.from(first.rest);
  try {
    if (!q.follow) return;
    let ino = fh ? (await fh.stat()).ino : -1;
    while (!emit.done && !signal.aborted) {
      const wasRunning = src.running();
      const chunk = fh ? await readFrom(fh, offset) : Buffer.alloc(0);
      offset += chunk.length;
      if (chunk.length > 0) {
        const got = lines(Buffer.concat([rest, chunk]));
        rest = Buffer.from(got.rest);
        for (const l of got.complete) await emit.record(l);
        continue;
      }
      // Rotation renamed our file away: the new one starts at 0 (what was left in the old file
      // has been read through our open handle above).
      const now = await stat(src.file).catch(() => undefined);
      if (now && now.ino !== ino) {
        await fh?.close();
        fh = await open(src.file, 'r');
        ino = now.ino;
        offset = 0;
        continue;
      }
      if (!wasRunning) return;
      await sleep(pollMs, signal);
    }
  } finally {
    await fh?.close();
  }
}

async function readFrom(fh: FileHandle, offset: number): Promise<Buffer> {
  const { size } = await fh.stat();
  if (size <= offset) return Buffer.alloc(0);
  const buf = Buffer.alloc(Math.min(size - offset, 1 << 20));
  const { bytesRead } = await fh.read(buf, 0, buf.length, offset);
  return buf.subarray(0, bytesRead);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
