import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CriLogWriter, maxRecordBytes, parseCriLine, rfc3339Nano } from './cri-log.ts';

const dir = mkdtempSync(join(tmpdir(), 'svcnet-cri-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function records(file: string) {
  return readFileSync(file)
    .toString('latin1')
    .split('\n')
    .filter(Boolean)
    .map((l) => parseCriLine(Buffer.from(l, 'latin1')));
}

describe('CRI log format', () => {
  it('prints times as Go RFC3339Nano (no trailing zeros) and keeps them increasing', () => {
    assert.equal(rfc3339Nano(Date.UTC(2024, 0, 2, 3, 4, 5, 670)), '2024-01-02T03:04:05.67Z');
    assert.equal(rfc3339Nano(Date.UTC(2024, 0, 2, 3, 4, 5, 0)), '2024-01-02T03:04:05Z');
    assert.equal(rfc3339Nano(Date.UTC(2024, 0, 2, 3, 4, 5, 1), 2), '2024-01-02T03:04:05.001000002Z');
    const f = join(dir, 'order.log');
    const w = new CriLogWriter(f, { now: () => 1_000 });
    w.write('stdout', Buffer.from('a\nb\n'));
    w.close();
    const [a, b] = records(f);
    // One millisecond, two records: the second a nanosecond later.
    assert.equal(a?.time, '1970-01-01T00:00:01Z');
    assert.equal(b?.time, '1970-01-01T00:00:01.000000001Z');
  });

  it('writes full lines as F, both streams in arrival order, an unterminated tail as P', () => {
    const f = join(dir, 'basic.log');
    const w = new CriLogWriter(f, { now: () => Date.UTC(2024, 0, 1) });
    w.write('stdout', Buffer.from('one\ntw'));
    w.write('stderr', Buffer.from('oops\n'));
    w.write('stdout', Buffer.from('o\nthree'));
    w.close();
    const r = records(f);
    assert.deepEqual(
      r.map((x) => [x?.stream, x?.partial, x?.content.toString()]),
      [
        ['stdout', false, 'one'],
        ['stderr', false, 'oops'],
        ['stdout', false, 'two'],
        ['stdout', true, 'three'],
      ],
    );
  });

  it('cuts lines longer than 16 KiB into P records that join back to the line', () => {
    const f = join(dir, 'long.log');
    const w = new CriLogWriter(f);
    const line = 'y'.repeat(maxRecordBytes * 2 + 100);
    w.write('stdout', Buffer.from(`${line}\n`));
    w.close();
    const r = records(f);
    assert.deepEqual(
      r.map((x) => x?.partial),
      [true, true, false],
    );
    assert.equal(r.map((x) => x?.content.toString()).join(''), line);
  });

  it('rotates to <file>.1 past the size limit, one old file at most', () => {
    const f = join(dir, 'rot.log');
    const w = new CriLogWriter(f, { maxFileBytes: 200 });
    for (let i = 0; i < 30; i++) w.write('stdout', Buffer.from(`line ${i}\n`));
    w.close();
    assert.ok(existsSync(`${f}.1`));
    assert.ok(readFileSync(f).length <= 200);
    const last = records(f).at(-1);
    assert.equal(last?.content.toString(), 'line 29');
  });

  it('rejects lines that are not CRI records', () => {
    assert.equal(parseCriLine(Buffer.from('plain text')), undefined);
    assert.equal(parseCriLine(Buffer.from('notatime stdout F x')), undefined);
    assert.equal(parseCriLine(Buffer.from('2024-01-01T00:00:00Z stdin F x')), undefined);
  });
});
