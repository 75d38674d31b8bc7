import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isGone } from '../api/status.ts';
import type { KubeObject } from '../api/types.ts';
import type { Client, ClientListOptions, ClientWatchOptions, WatchEvent } from './client.ts';
import { createInProcessCluster } from './cluster.ts';
import { Informer, type InformerClock, realClock } from './informer.ts';

type Change = [string, string | undefined, string | undefined];

/** Records handler calls as [kind, old name@rv, new name@rv]. */
function recorder(): { changes: Change[]; handler: (o: KubeObject | undefined, n: KubeObject | undefined) => void } {
  const changes: Change[] = [];
  const id = (o: KubeObject | undefined) => (o ? `${o.metadata.name}@${o.metadata.resourceVersion}` : undefined);
  return {
    changes,
    handler: (o, n) => changes.push([o && n ? 'update' : o ? 'delete' : 'add', id(o), id(n)]),
  };
}

async function until(what: string, pred: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const svc = (name: string, labels?: Record<string, string>): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: 'default', ...(labels ? { labels } : {}) },
  spec: { ports: [{ port: 80 }] },
});

const ns = (name: string): KubeObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });

/**
 * A real client with two switches the tests need: `down` makes every call fail as an
 * unreachable API would (ECONNREFUSED) and ends open watches with that error; `holdWatches`
 * parks watch calls until released (so writes can happen while the informer is not watching).
 * It also counts lists, to tell a relist from a re-watch.
 */
class SwitchableClient implements Client {
  down = false;
  lists = 0;
  watches: ClientWatchOptions[] = [];
  private held: (() => void)[] = [];
  private holding = false;
  private open = new Set<(err: unknown) => void>();

  constructor(private readonly inner: Client) {}

  get heldCount(): number {
    return this.held.length;
  }
  holdWatches(): void {
    this.holding = true;
  }
  releaseWatches(): void {
    this.holding = false;
    const held = this.held;
    this.held = [];
    for (const go of held) go();
  }
  cut(): void {
    this.down = true;
    const open = [...this.open];
    this.open.clear();
    for (const fail of open) fail(refused());
  }

  private check(): void {
    if (this.down) throw refused();
  }

  async get<T extends KubeObject>(resource: string, namespace: string, name: string): Promise<T> {
    this.check();
    return this.inner.get<T>(resource, namespace, name);
  }
  async list<T extends KubeObject>(resource: string, opts?: ClientListOptions) {
    this.lists++;
    this.check();
    return this.inner.list<T>(resource, opts);
  }
  async create<T extends KubeObject>(resource: string, obj: T): Promise<T> {
    return this.inner.create(resource, obj);
  }
  async update<T extends KubeObject>(resource: string, obj: T): Promise<T> {
    return this.inner.update(resource, obj);
  }
  async updateStatus<T extends KubeObject>(resource: string, obj: T): Promise<T> {
    return this.inner.updateStatus(resource, obj);
  }
  async patch<T extends KubeObject>(
    resource: string,
    namespace: string,
    name: string,
    type: 'merge' | 'strategic' | 'json',
    patch: unknown,
  ): Promise<T> {
    return this.inner.patch<T>(resource, namespace, name, type, patch);
  }
  async delete<T extends KubeObject>(resource: string, namespace: string, name: string): Promise<T> {
    return this.inner.delete<T>(resource, namespace, name);
  }
  watch<T extends KubeObject>(
    resource: string,
    opts: ClientWatchOptions,
    onEvent: (e: WatchEvent<T>) => void,
    onClose: (err?: unknown) => void,
  ) {
    let stopped = false;
    let inner: { stop(): void } | undefined;
    const fail = (err: unknown) => {
      if (stopped) return;
      stopped = true;
      inner?.stop();
      queueMicrotask(() => onClose(err));
    };
    const go = () => {
      if (stopped) return;
      if (this.down) return fail(refused());
      this.watches.push(opts);
      this.open.add(fail);
      inner = this.inner.watch<T>(resource, opts, onEvent, (err) => {
        this.open.delete(fail);
        if (!stopped) onClose(err);
      });
    };
    if (this.holding) this.held.push(go);
    else go();
    return {
      stop: () => {
        stopped = true;
        this.open.delete(fail);
        inner?.stop();
      },
    };
  }
}

function refused(): Error {
  return Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), { code: 'ECONNREFUSED' });
}

describe('Informer over the in-process cluster', () => {
  it('lists, then delivers adds, updates and deletes as (old, new); late handlers get replays', async () => {
    const c = await createInProcessCluster();
    const inf = new Informer(c.client, 'services', { namespace: 'default' });
    try {
      await c.client.create('services', svc('a'));
      const early = recorder();
      inf.on(early.handler);
      inf.start();
      await inf.waitForSync();
      assert.ok(inf.hasSynced());
      // default/kubernetes exists from initialization.
      assert.deepEqual(
        inf
          .list()
          .map((s) => s.metadata.name)
          .sort(),
        ['a', 'kubernetes'],
      );
      assert.deepEqual(
        early.changes.map((x) => x[0]),
        ['add', 'add'],
      );
      const listRv = inf.lastResourceVersion();
      assert.ok(Number(listRv) > 0);

      const b = await c.client.create('services', svc('b'));
      const b2 = await c.client.patch('services', 'default', 'b', 'merge', { metadata: { labels: { x: 'y' } } });
      await c.client.delete('services', 'default', 'a');
      await until('delete of a', () => early.changes.length === 5);
      assert.deepEqual(early.changes.slice(2), [
        ['add', undefined, `b@${b.metadata.resourceVersion}`],
        ['update', `b@${b.metadata.resourceVersion}`, `b@${b2.metadata.resourceVersion}`],
        ['delete', early.changes.find((x) => x[2]?.startsWith('a@'))?.[2], undefined],
      ]);
      assert.equal(inf.get('default', 'a'), undefined);
      assert.deepEqual(inf.get('default', 'b')?.metadata.labels, { x: 'y' });
      assert.ok(Number(inf.lastResourceVersion()) > Number(listRv));

      const late = recorder();
      inf.on(late.handler);
      assert.deepEqual(late.changes.map((x) => x[0]).sort(), ['add', 'add']);
      assert.deepEqual(late.changes.map((x) => x[2]?.split('@')[0]).sort(), ['b', 'kubernetes']);
      // And from then on it gets live events like everyone else.
      await c.client.delete('services', 'default', 'b');
      await until('late handler sees delete', () => late.changes.length === 3);
      assert.equal(late.changes[2]?.[0], 'delete');
    } finally {
      inf.stop();
      await c.close();
    }
  });

  it('pages the initial list (limit + continue) and honours the label selector', async () => {
    const c = await createInProcessCluster();
    const sw = new SwitchableClient(c.client);
    const inf = new Informer(sw, 'services', { labelSelector: 'app=web', pageSize: 2 });
    try {
      for (let i = 0; i < 5; i++) await c.client.create('services', svc(`w${i}`, { app: 'web' }));
      await c.client.create('services', svc('other', { app: 'db' }));
      inf.start();
      await inf.waitForSync();
      assert.equal(sw.lists, 3, 'five matches in pages of two');
      assert.deepEqual(
        inf
          .list()
          .map((s) => s.metadata.name)
          .sort(),
        ['w0', 'w1', 'w2', 'w3', 'w4'],
      );
      // An object that stops matching leaves the cache (the watch sends DELETED).
      const r = recorder();
      inf.on(r.handler);
      await c.client.patch('services', 'default', 'w0', 'merge', { metadata: { labels: { app: 'x' } } });
      await until('w0 leaves', () => inf.get('default', 'w0') === undefined);
      assert.equal(r.changes.at(-1)?.[0], 'delete');
    } finally {
      inf.stop();
      await c.close();
    }
  });

  it('re-watches after a clean close without relisting, and relists on 410 with the missed diff', async () => {
    const c = await createInProcessCluster({ store: { kind: 'memory', historyLimit: 5 } });
    const sw = new SwitchableClient(c.client);
    const errors: unknown[] = [];
    const inf = new Informer(sw, 'services', {
      namespace: 'default',
      watchTimeoutSeconds: 1,
      onError: (e) => errors.push(e),
    });
    try {
      await c.client.create('services', svc('keep'));
      await c.client.create('services', svc('change'));
      await c.client.create('services', svc('gone'));
      const r = recorder();
      inf.on(r.handler);
      inf.start();
      await inf.waitForSync();
      assert.equal(sw.lists, 1);
      const synced = r.changes.length;

      // Clean close (timeoutSeconds) → re-watch from the last resourceVersion, no relist.
      await until('second watch', () => sw.watches.length >= 2, 3000);
      assert.equal(sw.lists, 1, 'a clean close must not relist');
      assert.equal(sw.watches[1]?.resourceVersion, sw.watches[0]?.resourceVersion);
      assert.equal(sw.watches[1]?.allowBookmarks, true);

      // Writes the informer cannot see (its next watch is held), then push the history window
      // past its resourceVersion with writes to another resource.
      sw.holdWatches();
      const watchesBefore = sw.watches.length;
      await until('watch to time out', () => sw.heldCount === 1, 3000);
      const changed = await c.client.patch('services', 'default', 'change', 'merge', {
        metadata: { labels: { v: '2' } },
      });
      await c.client.delete('services', 'default', 'gone');
      const added = await c.client.create('services', svc('new'));
      for (let i = 0; i < 6; i++) await c.client.create('namespaces', ns(`push-${i}`));
      const gonePrev = r.changes.find((x) => x[2]?.startsWith('gone@'))?.[2];
      const changePrev = r.changes.find((x) => x[2]?.startsWith('change@'))?.[2];
      sw.releaseWatches();

      await until('relist', () => sw.lists === 2);
      await until('diff delivered', () => r.changes.length === synced + 3);
      assert.ok(errors.some(isGone), 'the watch saw 410');
      assert.equal(sw.watches.length, watchesBefore + 2, 'one 410 watch, then one from the relist');
      assert.deepEqual(
        r.changes.slice(synced).sort((x, y) => String(x).localeCompare(String(y))),
        [
          ['add', undefined, `new@${added.metadata.resourceVersion}`],
          ['delete', gonePrev, undefined],
          ['update', changePrev, `change@${changed.metadata.resourceVersion}`],
        ].sort((x, y) => String(x).localeCompare(String(y))),
      );
      assert.deepEqual(
        inf
          .list()
          .map((s) => s.metadata.name)
          .sort(),
        ['change', 'keep', 'kubernetes', 'new'],
      );
      assert.equal(inf.lastResourceVersion(), String(c.store.currentRevision()));
      // And the informer is live again.
      await c.client.delete('services', 'default', 'keep');
      await until('live after relist', () => inf.get('default', 'keep') === undefined);
    } finally {
      inf.stop();
      await c.close();
    }
  });

  it('keeps its cache while the API is unreachable and resumes by re-watching, not relisting', async () => {
    const c = await createInProcessCluster();
    const sw = new SwitchableClient(c.client);
    const inf = new Informer(sw, 'services', { namespace: 'default', backoffMs: 20, maxBackoffMs: 100 });
    try {
      await c.client.create('services', svc('a'));
      inf.start();
      await inf.waitForSync();
      const r = recorder();
      inf.on(r.handler);
      const watches = sw.watches.length;
      sw.cut();
      await new Promise((res) => setTimeout(res, 300));
      assert.deepEqual(
        inf
          .list()
          .map((s) => s.metadata.name)
          .sort(),
        ['a', 'kubernetes'],
        'cache kept',
      );
      assert.equal(r.changes.length, 2, 'no deletes while unreachable');
      const b = await c.client.create('services', svc('b'));
      sw.down = false;
      await until('b arrives', () => inf.get('default', 'b') !== undefined);
      assert.equal(sw.lists, 1, 'recovery re-watches from the last resourceVersion');
      assert.ok(sw.watches.length > watches);
      assert.deepEqual(r.changes.at(-1), ['add', undefined, `b@${b.metadata.resourceVersion}`]);
    } finally {
      inf.stop();
      await c.close();
    }
  });

  it('retries a failed first list with doubling, jittered, capped back-off', async () => {
    const c = await createInProcessCluster();
    const sw = new SwitchableClient(c.client);
    sw.down = true;
    const delays: number[] = [];
    let pending: (() => void) | undefined;
    const clock: InformerClock = {
      ...realClock,
      random: () => 0.5,
      setTimeout: (fn, ms) => {
        delays.push(ms);
        pending = fn;
        return delays.length;
      },
      clearTimeout: () => {
        pending = undefined;
      },
    };
    const inf = new Informer(sw, 'services', { clock, backoffMs: 200, maxBackoffMs: 10_000 });
    try {
      inf.start();
      for (let i = 0; i < 8; i++) {
        await until(`retry ${i}`, () => delays.length === i + 1);
        if (i === 7) break;
        const fn = pending;
        pending = undefined;
        fn?.();
      }
      // Ceiling doubles 200 → 10 000 (capped); jitter 0.5 lands on 3/4 of it.
      assert.deepEqual(delays, [150, 300, 600, 1200, 2400, 4800, 7500, 7500]);
      assert.equal(inf.hasSynced(), false);
      sw.down = false;
      const fn = pending;
      pending = undefined;
      fn?.();
      await inf.waitForSync();
      assert.ok(inf.get('default', 'kubernetes'));
    } finally {
      inf.stop();
      await c.close();
    }
  });

  it('stop() ends everything and rejects pending waitForSync', async () => {
    const c = await createInProcessCluster();
    const sw = new SwitchableClient(c.client);
    sw.down = true;
    const inf = new Informer(sw, 'services', { backoffMs: 10_000 });
    inf.start();
    const wait = inf.waitForSync();
    await until('first list attempt', () => sw.lists === 1);
    inf.stop();
    await assert.rejects(wait, /stopped before it synced/);
    sw.down = false;
    // Nothing runs after stop: no further lists, no watches.
    await new Promise((res) => setTimeout(res, 50));
    assert.equal(sw.lists, 1);
    assert.equal(sw.watches.length, 0);
    await c.close();
  });

  it('a handler that throws does not break the others', async () => {
    const c = await createInProcessCluster();
    const errs: unknown[] = [];
    const inf = new Informer(c.client, 'services', { namespace: 'default', onError: (e) => errs.push(e) });
    try {
      inf.on(() => {
        throw new Error('boom');
      });
      const r = recorder();
      inf.on(r.handler);
      inf.start();
      await inf.waitForSync();
      await c.client.create('services', svc('x'));
      await until('x seen', () => r.changes.length === 2);
      assert.equal(errs.length, 2);
    } finally {
      inf.stop();
      await c.close();
    }
  });
});
