// A store whose revision went back (a memory store restarted, a database restored from a
// backup) under clients that remember a newer resourceVersion: the API server refuses reads at
// revisions it never reached as kube-apiserver does (504 "Too large resource version", in the
// watch stream as an ERROR event), and an informer relists, so objects the store no longer has
// leave its cache instead of being served forever.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { isTooLargeResourceVersion } from '../src/api/status.ts';
import type { KubeObject } from '../src/api/types.ts';
import { generateToken } from '../src/apiserver/auth.ts';
import { ApiServer } from '../src/apiserver/server.ts';
import { ensureServingCert } from '../src/apiserver/tls.ts';
import { HttpClient } from '../src/client/http.ts';
import { Informer } from '../src/client/informer.ts';
import { openStore } from '../src/store/open.ts';
import type { Store } from '../src/store/store.ts';
import { httpsFetch } from './helpers/apiserver.ts';
import { eventually } from './helpers/eventually.ts';

const dir = mkdtempSync(join(tmpdir(), 'svcnet-went-back-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const tls = ensureServingCert(dir, ['127.0.0.1']);
const token = generateToken();

/** An API server on a fresh memory store; `port` 0 the first time, then the same port again. */
async function serve(port: number): Promise<{ server: ApiServer; store: Store; port: number }> {
  const store = await openStore({ kind: 'memory' });
  const server = new ApiServer({ store, token, tls, host: '127.0.0.1', port });
  const url = await server.start();
  return { server, store, port: Number(new URL(url).port) };
}

const svc = (name: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: 'default' },
  spec: { ports: [{ port: 80 }] },
});

describe('the store went back under running clients', () => {
  it('list and watch at a revision never reached are 504 Too large resource version', async () => {
    const a = await serve(0);
    try {
      const base = `https://127.0.0.1:${a.port}`;
      const headers = { Authorization: `Bearer ${token}` };
      const cur = a.store.currentRevision();
      const list = await httpsFetch(`${base}/api/v1/services?resourceVersion=${cur + 100}`, tls.ca, { headers });
      assert.equal(list.status, 504);
      const st = (await list.json()) as { reason: string; message: string; details: { causes: { reason: string }[] } };
      assert.equal(st.reason, 'Timeout');
      assert.equal(st.message, `Timeout: Too large resource version: ${cur + 100}, current: ${cur}`);
      assert.equal(st.details.causes[0]?.reason, 'ResourceVersionTooLarge');
      const watch = await httpsFetch(`${base}/api/v1/services?watch=1&resourceVersion=${cur + 100}`, tls.ca, {
        headers,
      });
      assert.equal(watch.status, 200);
      const lines = (await watch.text()).trim().split('\n');
      assert.equal(lines.length, 1);
      const ev = JSON.parse(lines[0] ?? '') as { type: string; object: { code: number; reason: string } };
      assert.equal(ev.type, 'ERROR');
      assert.equal(ev.object.code, 504);
      // At or below the current revision both are served.
      assert.equal(
        (await httpsFetch(`${base}/api/v1/services?resourceVersion=${cur}`, tls.ca, { headers })).status,
        200,
      );
    } finally {
      await a.server.stop();
      await a.store.close();
    }
  });

  it('an informer relists after the API server restarts on an empty memory store', async () => {
    let a = await serve(0);
    const client = new HttpClient({ server: `https://127.0.0.1:${a.port}`, token, ca: tls.ca });
    const errors: unknown[] = [];
    const inf = new Informer(client, 'services', {
      namespace: 'default',
      backoffMs: 50,
      maxBackoffMs: 200,
      onError: (e) => errors.push(e),
    });
    try {
      // Push the revision well past what a fresh store reaches with the same few writes.
      for (let i = 0; i < 30; i++) await client.create('services', svc(`old-${i}`));
      const ghost = await client.create('services', svc('same-name'));
      inf.start();
      await inf.waitForSync();
      assert.ok(inf.get('default', 'old-29'));
      const rvBefore = Number(inf.lastResourceVersion());

      await a.server.stop();
      await a.store.close();
      a = await serve(a.port);
      assert.ok(a.store.currentRevision() < rvBefore, 'the new store starts behind the informer');
      const reborn = await client.create('services', svc('same-name'));

      await eventually(
        'the ghosts to leave the cache',
        async () => (inf.get('default', 'old-29') ? undefined : true),
        5000,
      );
      assert.ok(errors.some(isTooLargeResourceVersion), 'the re-watch was refused as too large');
      assert.deepEqual(
        inf
          .list()
          .map((s) => s.metadata.name)
          .sort(),
        ['kubernetes', 'same-name'],
      );
      // Same name, new object: the cache holds the new one, whatever its number.
      assert.notEqual(reborn.metadata.uid, ghost.metadata.uid);
      assert.equal(inf.get('default', 'same-name')?.metadata.uid, reborn.metadata.uid);
      // And it is live on the new store.
      await client.create('services', svc('after'));
      await eventually('the informer to see a new write', async () => inf.get('default', 'after'), 5000);
    } finally {
      inf.stop();
      client.close();
      await a.server.stop();
      await a.store.close();
    }
  });
});
