// Abuse bounded at the API server, each with a clear answer and nothing lost for others:
// a watcher that stops reading is dropped instead of buffered without limit; oversized bodies
// get 413 (never a reset), with and without Expect: 100-continue; a flood of idle connections
// against a process with few descriptors does not lock out authenticated clients.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { connect as netConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { startTestApiServer, type TestApiServer } from './helpers/apiserver.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface RawReply {
  status: number;
  body: string;
  error?: string;
}

/** One HTTPS request with full control over headers and how the body is sent. */
function raw(
  url: string,
  ca: string,
  o: { method?: string; headers?: Record<string, string | number>; body?: Buffer; chunked?: boolean },
): Promise<RawReply> {
  return new Promise((resolve) => {
    const req = request(url, { method: o.method ?? 'POST', headers: o.headers, ca }, (res) => {
      let body = '';
      res.on('data', (d) => {
        body += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', (e) => resolve({ status: res.statusCode ?? 0, body, error: e.message }));
    });
    req.on('error', (e) => resolve({ status: 0, body: '', error: (e as NodeJS.ErrnoException).code ?? e.message }));
    if (o.headers?.Expect) {
      // Body only after 100 Continue; a 413 instead means it is never sent.
      req.on('continue', () => req.end(o.body));
      req.flushHeaders();
      return;
    }
    if (o.chunked && o.body) {
      for (let i = 0; i < o.body.length; i += 64 * 1024) req.write(o.body.subarray(i, i + 64 * 1024));
      req.end();
    } else req.end(o.body);
  });
}

describe('API server limits', () => {
  let s: TestApiServer;
  before(async () => {
    s = await startTestApiServer({ maxWatchBufferBytes: 1024 * 1024 });
  });
  after(async () => {
    await s.close();
  });

  it('a watcher that stops reading is dropped once its unsent bytes pass the bound', async () => {
    const u = new URL(s.url);
    const sock = tlsConnect({ host: u.hostname, port: Number(u.port), ca: readFileSync(join(s.dir, 'ca.crt')) });
    await new Promise<void>((r) => sock.once('secureConnect', () => r()));
    sock.write(
      `GET /api/v1/namespaces/default/services?watch=true HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${s.token}\r\n\r\n`,
    );
    let received = 0;
    sock.on('data', (d: Buffer) => {
      received += d.length;
    });
    let closed = false;
    sock.on('close', () => {
      closed = true;
    });
    sock.on('error', () => {});
    await sleep(200);
    sock.pause();
    // 40 MiB of events against a 1 MiB bound (the kernel's socket buffers hold a few MiB more).
    const big = 'x'.repeat(200 * 1024);
    for (let i = 0; i < 200; i++) {
      const r = await s.fetch('/api/v1/namespaces/default/services', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: `big-${i}`, annotations: { big } },
          spec: { ports: [{ port: 80 }] },
        }),
      });
      assert.equal(r.status, 201);
    }
    sock.resume();
    const end = Date.now() + 10_000;
    while (!closed && Date.now() < end) await sleep(20);
    assert.ok(closed, 'the stalled watch is still open');
    assert.ok(received < 30 * 1024 * 1024, `the stalled watcher got ${received} bytes: it was buffered in full`);
    // Writes and other watches carry on.
    const list = await s.fetch('/api/v1/namespaces/default/services?limit=1');
    assert.equal(list.status, 200);
  });

  it('an oversized body gets 413 RequestEntityTooLarge, however it is sent', async () => {
    const url = `${s.url}/api/v1/namespaces/default/services`;
    const ca = readFileSync(join(s.dir, 'ca.crt'), 'utf8');
    const body = Buffer.alloc(4 * 1024 * 1024, 'a');
    const auth = { Authorization: `Bearer ${s.token}`, 'Content-Type': 'application/json' };
    for (const [how, o] of [
      ['whole body with Content-Length', { headers: { ...auth, 'Content-Length': body.length }, body }],
      ['chunked, no Content-Length', { headers: auth, body, chunked: true }],
      ['Expect: 100-continue', { headers: { ...auth, 'Content-Length': body.length, Expect: '100-continue' }, body }],
    ] as const) {
      const r = await raw(url, ca, o);
      assert.equal(r.status, 413, `${how}: ${r.status} ${r.error ?? ''} ${r.body.slice(0, 200)}`);
      const st = JSON.parse(r.body) as { reason: string; code: number };
      assert.equal(st.reason, 'RequestEntityTooLarge', how);
      assert.equal(st.code, 413, how);
    }
    // The server is fine afterwards.
    assert.equal((await s.fetch('/api/v1/namespaces')).status, 200);
  });
});

describe('API server under a connection flood with few descriptors', () => {
  it('authenticated requests keep succeeding while 400 idle connections pile up (ulimit -n 200)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'svcnet-flood-'));
    const bin = join(import.meta.dirname, '..', 'bin', 'svcnet');
    const child = spawn(
      'bash',
      ['-c', `ulimit -n 200 && exec "$0" apiserver --data-dir "$1" --listen 127.0.0.1:0 --store memory`, bin, dataDir],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let log = '';
    child.stdout.on('data', (d) => {
      log += d;
    });
    child.stderr.on('data', (d) => {
      log += d;
    });
    const flood: Socket[] = [];
    try {
      const end = Date.now() + 30_000;
      while (!/listening on (https:\/\/\S+)/.test(log)) {
        if (Date.now() > end || child.exitCode !== null) throw new Error(`apiserver did not start: ${log}`);
        await sleep(20);
      }
      const url = /listening on (https:\/\/\S+)/.exec(log)?.[1] ?? '';
      const { port } = new URL(url);
      const token = readFileSync(join(dataDir, 'token'), 'utf8').trim();
      const ca = readFileSync(join(dataDir, 'ca.crt'), 'utf8');
      const get = () =>
        raw(`${url}/api/v1/namespaces`, ca, { method: 'GET', headers: { Authorization: `Bearer ${token}` } });
      assert.equal((await get()).status, 200);
      for (let i = 0; i < 400; i++) {
        const c = netConnect({ host: '127.0.0.1', port: Number(port) });
        c.on('error', () => {});
        flood.push(c);
      }
      await sleep(500);
      const t0 = Date.now();
      const results: RawReply[] = [];
      for (let i = 0; i < 20; i++)
        results.push(
          await Promise.race([get(), sleep(5000).then(() => ({ status: -1, body: '', error: 'no answer in 5 s' }))]),
        );
      const ms = Date.now() - t0;
      const bad = results.filter((r) => r.status !== 200);
      console.log(`# 20 authenticated requests during a 400-connection flood took ${ms} ms, ${bad.length} failed`);
      assert.deepEqual(bad, [], 'authenticated requests failed during the flood');
      assert.equal(child.exitCode, null, `the server died: ${log}`);
    } finally {
      for (const c of flood) c.destroy();
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
