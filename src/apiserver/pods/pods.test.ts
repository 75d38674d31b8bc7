import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { constants, createDeflate, createInflate } from 'node:zlib';
import type { ApiError } from '../../api/status.ts';
import type { Pod } from '../../api/types.ts';
import { chooseContainer, nodeOf } from './container.ts';
import { execOptions, exitStatus } from './exec.ts';
import { podLogRequest } from './log.ts';
import { SpdySession, type SpdyStream } from './spdy.ts';
import { spdyV3Dictionary } from './spdy-dictionary.ts';

const pod = (names: string[], init: string[] = []): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web' },
  spec: { containers: names.map((name) => ({ name })), initContainers: init.map((name) => ({ name })) },
});

function refused(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (e) {
    return e as ApiError;
  }
  assert.fail('not refused');
}

describe('pod subresource requests, refused as kube-apiserver refuses them', () => {
  it('chooses the only container; asks for one among several; refuses unknown names', () => {
    assert.equal(chooseContainer(pod(['a']), undefined, 'web'), 'a');
    assert.equal(chooseContainer(pod(['a', 'b'], ['i']), 'i', 'web'), 'i');
    const e = refused(() => chooseContainer(pod(['a', 'b'], ['i']), undefined, 'web'));
    assert.equal(e.code, 400);
    assert.equal(
      e.message,
      'a container name must be specified for pod web, choose one of: [a b] or one of the init containers: [i]',
    );
    assert.equal(
      refused(() => chooseContainer(pod(['a']), 'z', 'web')).message,
      'container z is not valid for pod web',
    );
    assert.equal(refused(() => nodeOf(pod(['a']), 'web')).message, 'pod web does not have a host assigned');
  });

  it('validates PodLogOptions into one 422 with every field', () => {
    const e = refused(() => podLogRequest(new URLSearchParams('tailLines=-1&limitBytes=0&sinceSeconds=0'), 'web', 0));
    assert.equal(e.code, 422);
    assert.equal(e.status.details?.kind, 'PodLogOptions');
    assert.deepEqual(
      e.status.details?.causes?.map((c) => c.field),
      ['tailLines', 'limitBytes', 'sinceSeconds'],
    );
    assert.match(e.message, /tailLines: Invalid value: -1: must be greater than or equal to 0/);
    const both = refused(() =>
      podLogRequest(new URLSearchParams('sinceSeconds=5&sinceTime=2024-01-01T00:00:00Z'), 'web', 0),
    );
    assert.match(both.message, /at most one of `sinceTime` or `sinceSeconds` may be specified/);
    assert.equal(refused(() => podLogRequest(new URLSearchParams('tailLines=x'), 'web', 0)).code, 400);
    assert.equal(refused(() => podLogRequest(new URLSearchParams('sinceTime=yesterday'), 'web', 0)).code, 400);
    const ok = podLogRequest(
      new URLSearchParams('follow=True&timestamps=1&sinceSeconds=10&tailLines=3'),
      'web',
      60_000,
    );
    assert.deepEqual(ok, { follow: true, previous: false, timestamps: true, tailLines: 3, sinceMs: 50_000 });
  });

  it('validates PodExecOptions and words exit codes as the kubelet does', () => {
    assert.equal(
      refused(() => execOptions(new URLSearchParams('stdout=true'))).message,
      'you must specify at least 1 command',
    );
    assert.equal(
      refused(() => execOptions(new URLSearchParams('command=ls'))).message,
      'you must specify at least 1 of stdin, stdout, stderr',
    );
    assert.equal(refused(() => execOptions(new URLSearchParams('command=ls&tty=1&stderr=1'))).code, 400);
    assert.deepEqual(execOptions(new URLSearchParams('command=sh&command=-c&command=x&stdin=true&stdout=true')), {
      container: undefined,
      command: ['sh', '-c', 'x'],
      stdin: true,
      stdout: true,
      stderr: false,
      tty: false,
    });
    assert.deepEqual(exitStatus(0, ['true']), { metadata: {}, status: 'Success' });
    const failed = exitStatus(3, ['sh', '-c', 'exit 3']);
    assert.equal(failed.reason, 'NonZeroExitCode');
    assert.deepEqual(failed.details, { causes: [{ reason: 'ExitCode', message: '3' }] });
  });
});

/** The client side of SPDY/3 for the test: frames and one compression context per direction. */
class SpdyPeer {
  readonly deflate = createDeflate({ dictionary: spdyV3Dictionary });
  readonly inflate = createInflate({ dictionary: spdyV3Dictionary });
  readonly received: Buffer[] = [];

  async compress(b: Buffer): Promise<Buffer> {
    const out: Buffer[] = [];
    const on = (d: Buffer) => out.push(d);
    this.deflate.on('data', on);
    this.deflate.write(b);
    await new Promise<void>((r) => this.deflate.flush(constants.Z_SYNC_FLUSH, () => r()));
    this.deflate.off('data', on);
    return Buffer.concat(out);
  }

  async synStream(id: number, headers: Record<string, string>, fin = false): Promise<Buffer> {
    const parts: Buffer[] = [u32(Object.keys(headers).length)];
    for (const [k, v] of Object.entries(headers))
      parts.push(u32(k.length), Buffer.from(k), u32(v.length), Buffer.from(v));
    const block = await this.compress(Buffer.concat(parts));
    return control(1, fin ? 1 : 0, Buffer.concat([u32(id), u32(0), Buffer.from([0, 0]), block]));
  }
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

function control(type: number, flags: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(0x8003, 0);
  h.writeUInt16BE(type, 2);
  h.writeUInt32BE(payload.length, 4);
  h[4] = flags;
  return Buffer.concat([h, payload]);
}

function data(id: number, body: Buffer, fin: boolean): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt32BE(id, 0);
  h.writeUInt32BE(body.length, 4);
  h[4] = fin ? 1 : 0;
  return Buffer.concat([h, body]);
}

describe('SPDY/3.1 server session', () => {
  it('opens streams with their headers, replies, carries data both ways and FIN, echoes PING', async () => {
    const peer = new SpdyPeer();
    const streams: SpdyStream[] = [];
    let closed = false;
    const s = new SpdySession({ write: (b) => void peer.received.push(b), close: () => (closed = true) }, (st) =>
      streams.push(st),
    );
    // Two streams whose header blocks share one compression context, fed a byte at a time.
    const bytes = Buffer.concat([
      await peer.synStream(1, { streamtype: 'error', port: '80', requestid: '0' }),
      await peer.synStream(3, { streamtype: 'data', port: '80', requestid: '0' }),
      data(3, Buffer.from('hello'), true),
      control(6, 0, u32(7)),
    ]);
    for (const b of bytes) s.feed(Buffer.from([b]));
    for (let i = 0; i < 50 && streams.length < 2; i++) await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(
      streams.map((x) => [x.id, Object.fromEntries(x.headers)]),
      [
        [1, { streamtype: 'error', port: '80', requestid: '0' }],
        [3, { streamtype: 'data', port: '80', requestid: '0' }],
      ],
    );
    const dataStream = streams[1] as SpdyStream;
    let got = '';
    dataStream.on('data', (b: Buffer) => {
      got += b.toString();
    });
    await new Promise((r) => dataStream.once('end', r));
    assert.equal(got, 'hello');
    dataStream.end('world');
    await new Promise((r) => setTimeout(r, 10));
    const out = Buffer.concat(peer.received);
    // SYN_REPLY ×2 (control type 2), PING echo (type 6, id 7), DATA "world", then an empty FIN.
    const frames: { control: boolean; type: number; flags: number; body: Buffer }[] = [];
    for (let o = 0; o < out.length; ) {
      const len = out.readUIntBE(o + 5, 3);
      const control = ((out[o] ?? 0) & 0x80) !== 0;
      frames.push({
        control,
        type: control ? out.readUInt16BE(o + 2) : out.readUInt32BE(o),
        flags: out[o + 4] ?? 0,
        body: out.subarray(o + 8, o + 8 + len),
      });
      o += 8 + len;
    }
    assert.deepEqual(
      frames.map((f) => [f.control, f.type, f.flags]),
      [
        [true, 2, 0],
        [true, 2, 0],
        [true, 6, 0],
        [false, 3, 0],
        [false, 3, 1],
      ],
    );
    assert.equal(frames[3]?.body.toString(), 'world');
    assert.equal(frames[2]?.body.readUInt32BE(0), 7);
    assert.equal(closed, false);
    s.close();
    assert.equal(closed, true);
  });

  it('ends the session on a frame larger than its bound', async () => {
    let closed = false;
    const s = new SpdySession({ write: () => {}, close: () => (closed = true) }, () => {});
    const h = Buffer.alloc(8);
    h.writeUInt32BE(1, 0);
    h.writeUInt32BE(0xffffff, 4);
    s.feed(h);
    for (let i = 0; i < 50 && !closed; i++) await new Promise((r) => setTimeout(r, 5));
    assert.equal(closed, true);
  });
});
