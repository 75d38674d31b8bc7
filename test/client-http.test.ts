// The HTTP transport and the informer against the real svcnet API server over HTTPS, configured
// from the kubeconfig the server writes: CRUD, Status errors, watch streams (410 as an ERROR
// event), and an informer that survives the API becoming unreachable (a TCP proxy in between
// that the test cuts and restores).
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  type ApiError,
  isAlreadyExists,
  isApiError,
  isConflict,
  isGone,
  isInvalid,
  isNotFound,
} from '../src/api/status.ts';
import type { KubeObject } from '../src/api/types.ts';
import type { ClientListOptions, WatchEvent } from '../src/client/client.ts';
import { HttpClient } from '../src/client/http.ts';
import { Informer } from '../src/client/informer.ts';
import { loadKubeconfig } from '../src/client/kubeconfig.ts';
import { startTestApiServer, type TestApiServer } from './helpers/apiserver.ts';

const svc = (name: string, labels?: Record<string, string>): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: 'default', ...(labels ? { labels } : {}) },
  spec: { selector: { app: name }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
});

async function until(what: string, pred: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Collects one watch until it closes. */
function collect(
  c: HttpClient,
  resource: string,
  opts: Parameters<HttpClient['watch']>[1],
): { events: WatchEvent[]; closed: Promise<unknown>; stop(): void } {
  const events: WatchEvent[] = [];
  let stop = () => {};
  const closed = new Promise<unknown>((resolve) => {
    stop = c.watch(
      resource,
      opts,
      (e) => events.push(e),
      (err) => resolve(err ?? 'clean'),
    ).stop;
  });
  return { events, closed, stop: () => stop() };
}

/**
 * A TCP relay between client and API server that can be cut (every connection reset, new ones
 * reset on accept: the API is unreachable) and restored, on the same port.
 */
async function tcpRelay(
  targetPort: number,
): Promise<{ port: number; cut(): void; restore(): void; close(): Promise<void> }> {
  const live = new Set<Socket>();
  let down = false;
  const server: Server = createServer((client) => {
    if (down) {
      client.resetAndDestroy();
      return;
    }
    const upstream = tcpConnect(targetPort, '127.0.0.1');
    live.add(client);
    live.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      live.delete(client);
      live.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  if (!addr || typeof addr === 'string') throw new Error('relay has no port');
  return {
    port: addr.port,
    cut() {
      down = true;
      for (const s of live) s.resetAndDestroy();
      live.clear();
    },
    restore() {
      down = false;
    },
    close() {
      for (const s of live) s.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

describe('HttpClient against the svcnet API server', () => {
  let s: TestApiServer;
  let c: HttpClient;
  before(async () => {
    s = await startTestApiServer({ historyLimit: 10 });
    c = new HttpClient(loadKubeconfig(s.kubeconfig));
  });
  after(async () => {
    c.close();
    await s.close();
  });

  it('creates, reads, lists (paged), updates, patches (3 types) and deletes', async () => {
    const created = await c.create('services', svc('crud', { tier: 'web' }));
    assert.match(String((created.spec as { clusterIP?: string }).clusterIP), /^10\./);
    const got = await c.get('services', 'default', 'crud');
    assert.equal(got.metadata.uid, created.metadata.uid);
    // Cluster-scoped and grouped resources build their URLs from the resource table.
    assert.ok((await c.get('namespaces', '', 'default')).metadata.uid);
    const pool = await c.create('ipaddresspools', {
      apiVersion: 'metallb.io/v1beta1',
      kind: 'IPAddressPool',
      metadata: { name: 'p', namespace: 'default' },
      spec: { addresses: ['192.0.2.0/28'] },
    });
    assert.equal(pool.kind, 'IPAddressPool');

    for (const n of ['crud-2', 'crud-3']) await c.create('services', svc(n, { tier: 'web' }));
    const opts: ClientListOptions = { namespace: 'default', labelSelector: 'tier=web', limit: 2 };
    const page1 = await c.list('services', opts);
    assert.equal(page1.items.length, 2);
    assert.ok(page1.continue);
    assert.equal(page1.items[0]?.kind, 'Service');
    const page2 = await c.list('services', { ...opts, continue: page1.continue });
    assert.deepEqual(
      [...page1.items, ...page2.items].map((o) => o.metadata.name),
      ['crud', 'crud-2', 'crud-3'],
    );
    assert.equal(page2.continue, undefined);

    const upd = await c.update('services', { ...got, metadata: { ...got.metadata, annotations: { a: '1' } } });
    assert.deepEqual(upd.metadata.annotations, { a: '1' });
    const merge = await c.patch('services', 'default', 'crud', 'merge', { metadata: { labels: { m: 'x' } } });
    assert.equal(merge.metadata.labels?.m, 'x');
    const strategic = await c.patch('services', 'default', 'crud', 'strategic', {
      spec: { ports: [{ name: 'https', port: 443, targetPort: 8443 }] },
    });
    // Strategic merge merges ports by their key (port): 80 stays, 443 joins.
    assert.deepEqual((strategic.spec as { ports: { port: number }[] }).ports.map((p) => p.port).sort(), [443, 80]);
    const jsonp = await c.patch('services', 'default', 'crud', 'json', [
      { op: 'add', path: '/metadata/labels/j', value: 'y' },
    ]);
    assert.equal(jsonp.metadata.labels?.j, 'y');
    const st = await c.patch(
      'services',
      'default',
      'crud',
      'merge',
      { status: { conditions: [] } },
      { subresource: 'status' },
    );
    assert.equal(st.metadata.name, 'crud');
    const dry = await c.create('services', svc('dry'), { dryRun: true });
    assert.equal(dry.metadata.name, 'dry');
    await assert.rejects(c.get('services', 'default', 'dry'), isNotFound);

    await assert.rejects(
      c.delete('services', 'default', 'crud', { preconditions: { resourceVersion: '1' } }),
      isConflict,
    );
    const del = await c.delete('services', 'default', 'crud');
    assert.equal(del.metadata.name, 'crud');
    await assert.rejects(c.get('services', 'default', 'crud'), isNotFound);
  });

  it('turns failures into Status errors: 404 message, 409 Conflict/AlreadyExists, 422 causes, 401', async () => {
    const nf = await c.get('services', 'default', 'nope').catch((e: unknown) => e);
    assert.ok(isNotFound(nf));
    assert.equal((nf as ApiError).message, 'services "nope" not found');
    assert.equal((nf as ApiError).code, 404);

    const a = await c.create('services', svc('err-a'));
    await assert.rejects(c.create('services', svc('err-a')), isAlreadyExists);
    await c.patch('services', 'default', 'err-a', 'merge', { metadata: { labels: { v: '2' } } });
    const stale = await c.update('services', a).catch((e: unknown) => e);
    assert.ok(isConflict(stale));
    assert.match((stale as ApiError).message, /the object has been modified/);

    const bad = await c
      .create('services', {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'Bad_Name', namespace: 'default' },
        spec: { ports: [{ port: 70000 }] },
      })
      .catch((e: unknown) => e);
    assert.ok(isInvalid(bad));
    const causes = (bad as ApiError).status.details?.causes ?? [];
    const fields = causes.map((x) => x.field);
    assert.ok(fields.includes('metadata.name'), JSON.stringify(causes));
    assert.ok(fields.includes('spec.ports[0].port'), JSON.stringify(causes));

    const anon = new HttpClient({ ...loadKubeconfig(s.kubeconfig), token: 'wrong' });
    try {
      const unauth = await anon.list('services').catch((e: unknown) => e);
      assert.ok(isApiError(unauth));
      assert.equal(unauth.code, 401);
    } finally {
      anon.close();
    }
  });

  it('streams watch events, bookmarks, and a clean end at timeoutSeconds', async () => {
    const start = await c.list('services', { namespace: 'default' });
    const w = collect(c, 'services', {
      namespace: 'default',
      resourceVersion: start.resourceVersion,
      allowBookmarks: true,
      timeoutSeconds: 2,
    });
    // Give the server the watch before writing (events after rv are replayed anyway).
    const x = await c.create('services', svc('watched'));
    await c.patch('services', 'default', 'watched', 'merge', { metadata: { labels: { v: '2' } } });
    await c.delete('services', 'default', 'watched');
    await until('three events', () => w.events.length >= 3);
    (s.store as unknown as { bookmarkNow(): void }).bookmarkNow();
    await until('bookmark', () => w.events.some((e) => e.type === 'BOOKMARK'));
    assert.deepEqual(
      w.events.filter((e) => e.type !== 'BOOKMARK').map((e) => [e.type, e.object.metadata.name]),
      [
        ['ADDED', 'watched'],
        ['MODIFIED', 'watched'],
        ['DELETED', 'watched'],
      ],
    );
    assert.equal(w.events[0]?.object.metadata.uid, x.metadata.uid);
    assert.equal(await w.closed, 'clean');
  });

  it('reports an expired resourceVersion as a 410 from the ERROR event', async () => {
    const first = await c.list('services');
    // historyLimit 10: twelve writes push revision `first` out of the window.
    for (let i = 0; i < 12; i++) {
      await c.create('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: `push-${i}` } });
    }
    const w = collect(c, 'services', { resourceVersion: first.resourceVersion });
    const err = await w.closed;
    assert.ok(isGone(err), String(err));
    assert.equal((err as ApiError).code, 410);
    assert.equal(w.events.length, 0);
  });

  it('reports transport failures as the network error (list and watch)', async () => {
    const relay = await tcpRelay(Number(new URL(s.url).port));
    relay.cut();
    const dead = new HttpClient({ ...loadKubeconfig(s.kubeconfig), server: `https://127.0.0.1:${relay.port}` });
    try {
      const e = await dead.list('services').catch((x: unknown) => x);
      assert.ok(!isApiError(e));
      assert.equal((e as NodeJS.ErrnoException).code, 'ECONNRESET');
      const w = collect(dead, 'services', { resourceVersion: '' });
      const err = await w.closed;
      assert.notEqual(err, 'clean');
      assert.ok(!isApiError(err));
      // And a watch cut mid-stream ends with an error, not a clean close.
      relay.restore();
      const live = collect(dead, 'services', { resourceVersion: '' });
      await until('initial ADDED events', () => live.events.length > 0);
      relay.cut();
      const cutErr = await live.closed;
      assert.notEqual(cutErr, 'clean');
    } finally {
      dead.close();
      await relay.close();
    }
  });
});

describe('Informer over HttpClient', () => {
  it('keeps its cache while the API is unreachable, backs off, and catches up by re-watching', async (t) => {
    const s = await startTestApiServer();
    const relay = await tcpRelay(Number(new URL(s.url).port));
    const direct = new HttpClient(loadKubeconfig(s.kubeconfig));
    let lists = 0;
    const viaRelay = new (class extends HttpClient {
      override list<T extends KubeObject>(resource: string, opts?: ClientListOptions) {
        lists++;
        return super.list<T>(resource, opts);
      }
    })({ ...loadKubeconfig(s.kubeconfig), server: `https://127.0.0.1:${relay.port}` });
    const failures: number[] = [];
    const inf = new Informer(viaRelay, 'services', {
      namespace: 'default',
      backoffMs: 50,
      maxBackoffMs: 400,
      onError: (e) => {
        if (!isApiError(e)) failures.push(Date.now());
      },
    });
    const changes: [string | undefined, string | undefined][] = [];
    inf.on((o, n) => changes.push([o?.metadata.name, n?.metadata.name]));
    try {
      await direct.create('services', svc('before'));
      inf.start();
      await inf.waitForSync();
      assert.ok(inf.get('default', 'before'));
      await direct.create('services', svc('live'));
      await until('live event', () => inf.get('default', 'live') !== undefined);

      relay.cut();
      const cutAt = Date.now();
      await direct.create('services', svc('during'));
      await direct.delete('services', 'default', 'before');
      await until('several failed retries', () => failures.length >= 5, 10_000);
      // The data plane keeps the last known state: nothing was deleted, nothing relisted.
      assert.deepEqual(
        inf
          .list()
          .map((o) => o.metadata.name)
          .sort(),
        ['before', 'kubernetes', 'live'],
      );
      assert.equal(lists, 1);
      const gaps = failures.slice(1).map((t, i) => t - (failures[i] ?? t));
      // Back-off grows (50 → 400 ms ceilings with equal jitter): later gaps exceed the first.
      assert.ok((gaps.at(-1) ?? 0) > (gaps[0] ?? 0), `gaps ${gaps.join(',')}`);
      assert.ok(
        gaps.every((g) => g >= 20 && g < 1000),
        `gaps ${gaps.join(',')}`,
      );

      relay.restore();
      const restoredAt = Date.now();
      await until('caught up', () => inf.get('default', 'during') !== undefined && !inf.get('default', 'before'), 5000);
      const recoveryMs = Date.now() - restoredAt;
      assert.equal(lists, 1, 'recovered by re-watching from the last resourceVersion, not by relisting');
      assert.deepEqual(changes.slice(-2), [
        [undefined, 'during'],
        ['before', undefined],
      ]);
      t.diagnostic(
        `informer outage ${restoredAt - cutAt} ms, ${failures.length} failed attempts, caught up ${recoveryMs} ms after restore`,
      );
    } finally {
      inf.stop();
      viaRelay.close();
      direct.close();
      await relay.close();
      await s.close();
    }
  });
});
