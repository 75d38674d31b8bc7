import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { LogQuery } from '../apiserver/pods/kubelet.ts';
import { CriLogWriter } from '../kernel/cri-log.ts';
import { streamLogs } from './logs.ts';

const dir = mkdtempSync(join(tmpdir(), 'svcnet-logs-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const t0 = Date.UTC(2024, 5, 1, 12, 0, 0);
const q = (o: Partial<LogQuery> = {}): LogQuery => ({ follow: false, timestamps: false, ...o });

async function read(file: string, query: LogQuery, running = () => false, signal = new AbortController().signal) {
  const out: Buffer[] = [];
  await streamLogs({ file, running }, query, { write: async (b) => void out.push(b) }, signal);
  return Buffer.concat(out).toString();
}

function fixture(name: string): string {
  const f = join(dir, name);
  let now = t0;
  const w = new CriLogWriter(f, { now: () => now });
  for (let i = 0; i < 5; i++) {
    now = t0 + i * 1000;
    w.write('stdout', Buffer.from(`out ${i}\n`));
  }
  w.write('stderr', Buffer.from('no newline'));
  w.close();
  return f;
}

describe('container logs as the kubelet serves them', () => {
  const f = fixture('fixed.log');

  it('prints contents, joins partial records without a newline', async () => {
    assert.equal(await read(f, q()), 'out 0\nout 1\nout 2\nout 3\nout 4\nno newline');
  });

  it('tailLines counts records from the end; 0 prints nothing', async () => {
    assert.equal(await read(f, q({ tailLines: 2 })), 'out 4\nno newline');
    assert.equal(await read(f, q({ tailLines: 0 })), '');
    assert.equal((await read(f, q({ tailLines: 100 }))).split('\n').length, 6);
  });

  it('sinceMs keeps records at or after the time; timestamps prefix each record', async () => {
    assert.equal(await read(f, q({ sinceMs: t0 + 3000 })), 'out 3\nout 4\nno newline');
    const stamped = await read(f, q({ tailLines: 1, timestamps: true }));
    assert.equal(stamped, '2024-06-01T12:00:04.000000001Z no newline');
  });

  it('limitBytes cuts the output, mid-record if need be', async () => {
    assert.equal(await read(f, q({ limitBytes: 9 })), 'out 0\nout');
  });

  it('a missing file is empty, not an error', async () => {
    assert.equal(await read(join(dir, 'absent.log'), q()), '');
  });

  it('follow streams new records, across a rotation, and ends once the container stops', async () => {
    const file = join(dir, 'follow.log');
    let w = new CriLogWriter(file);
    w.write('stdout', Buffer.from('first\n'));
    let running = true;
    const got: string[] = [];
    const done = streamLogs(
      { file, running: () => running },
      q({ follow: true }),
      { write: async (b) => void got.push(b.toString()) },
      new AbortController().signal,
    );
    const until = async (text: string) => {
      for (let i = 0; i < 250 && !got.join('').includes(text); i++) await new Promise((r) => setTimeout(r, 20));
      assert.ok(got.join('').includes(text), got.join(''));
    };
    await until('first\n');
    w.write('stdout', Buffer.from('second\n'));
    await until('second\n');
    // Rotation as the writer does it: rename, then a new file.
    w.close();
    renameSync(file, `${file}.1`);
    w = new CriLogWriter(file);
    w.write('stdout', Buffer.from('third\n'));
    await until('third\n');
    running = false;
    w.write('stdout', Buffer.from('last\n'));
    w.close();
    await done;
    assert.equal(got.join(''), 'first\nsecond\nthird\nlast\n');
  });

  it('follow ends when the reader goes away', async () => {
    // The container keeps running: only the reader leaving ends the stream, once it has read.
    const ac = new AbortController();
    const out: Buffer[] = [];
    await streamLogs(
      { file: f, running: () => true },
      q({ follow: true }),
      {
        write: async (b) => {
          out.push(b);
          ac.abort();
        },
      },
      ac.signal,
    );
    assert.match(Buffer.concat(out).toString(), /^out 0\n/);
  });
});
