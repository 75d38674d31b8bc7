import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { combine, noRetry, ok, retry } from './result.ts';
import { runWorkers } from './runner.ts';
import { WorkQueue } from './workqueue.ts';

describe('WorkQueue', () => {
  it('coalesces a key added many times', async () => {
    const q = new WorkQueue();
    q.add('a');
    q.add('b');
    q.add('a');
    assert.equal(q.len(), 2);
    assert.equal(await q.get(), 'a');
    assert.equal(await q.get(), 'b');
  });

  it('never hands out a key being processed; re-adds it after done()', async () => {
    const q = new WorkQueue();
    q.add('a');
    const k = await q.get();
    q.add('a'); // arrives while a worker holds it
    assert.equal(q.len(), 0);
    q.done(k as string);
    assert.equal(q.len(), 1);
    assert.equal(await q.get(), 'a');
  });

  it('backs off per key, doubling until forget()', async () => {
    const q = new WorkQueue({ baseDelayMs: 20 });
    const t0 = Date.now();
    q.addRateLimited('a');
    assert.equal(await q.get(), 'a');
    q.done('a');
    q.addRateLimited('a');
    assert.equal(await q.get(), 'a');
    assert.ok(Date.now() - t0 >= 55, 'second retry waited 40 ms after the first 20 ms');
    assert.equal(q.numRequeues('a'), 2);
    q.forget('a');
    assert.equal(q.numRequeues('a'), 0);
    q.shutDown();
    assert.equal(await q.get(), undefined);
  });
});

describe('runWorkers', () => {
  it('acts on ok, retry (bounded) and noRetry; a throw is a retry', async () => {
    const q = new WorkQueue({ baseDelayMs: 1 });
    const calls = new Map<string, number>();
    const failures: string[] = [];
    const w = runWorkers(
      q,
      async (key) => {
        const n = (calls.get(key) ?? 0) + 1;
        calls.set(key, n);
        if (key === 'flaky') return n < 3 ? retry('not yet') : ok;
        if (key === 'broken') return noRetry('bad spec');
        if (key === 'throws') throw new Error('boom');
        return ok;
      },
      { workers: 2, maxRetries: 4, onError: (k, r, again) => failures.push(`${k}:${r.kind}:${again}`) },
    );
    for (const k of ['flaky', 'broken', 'throws', 'fine']) q.add(k);
    await new Promise((r) => setTimeout(r, 200));
    await q.idle();
    q.shutDown();
    await w.stopped;
    assert.equal(calls.get('flaky'), 3);
    assert.equal(calls.get('broken'), 1);
    assert.equal(calls.get('throws'), 5, 'first try plus maxRetries');
    assert.equal(calls.get('fine'), 1);
    assert.ok(failures.includes('broken:noRetry:false'));
    assert.ok(failures.includes('throws:retry:false'));
  });

  it('combine: any retry wins; explicit delays only when all agree', () => {
    assert.equal(combine([ok, ok]).kind, 'ok');
    assert.equal(combine([ok, noRetry('x')]).kind, 'noRetry');
    const r = combine([noRetry('x'), retry('y', { afterMs: 5 })]);
    assert.deepEqual(r, { kind: 'retry', reason: 'x; y', afterMs: 5 });
    assert.equal((combine([retry('a', { afterMs: 5 }), retry('b')]) as { afterMs?: number }).afterMs, undefined);
  });
});
