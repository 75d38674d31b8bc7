import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeLabClock } from '../lab/clock.ts';
import { type SyncContext, SyncRunner } from './sync-runner.ts';

function setup(opts: { fail?: () => boolean; gate?: () => boolean } = {}) {
  const clock = new FakeLabClock();
  const runs: (SyncContext & { at: number })[] = [];
  const runner = new SyncRunner(
    async (ctx) => {
      runs.push({ ...ctx, at: clock.now() });
      if (opts.fail?.()) throw new Error('boom');
    },
    { minIntervalMs: 1000, maxIntervalMs: 30_000, retryIntervalMs: 500, clock, canSync: opts.gate },
  );
  runner.start();
  return { clock, runs, runner };
}

describe('SyncRunner', () => {
  it('runs the first request at once, full', async () => {
    const { clock, runs, runner } = setup();
    runner.run();
    await clock.advance(0);
    assert.deepEqual(runs, [{ full: true, reason: 'requested', at: 0 }]);
  });

  it('coalesces a burst into one sync no sooner than minInterval', async () => {
    const { clock, runs, runner } = setup();
    runner.run();
    await clock.advance(10);
    for (let i = 0; i < 50; i++) runner.run();
    await clock.advance(500);
    assert.equal(runs.length, 1);
    await clock.advance(600);
    assert.equal(runs.length, 2);
    assert.equal(runs[1]?.at, 1000);
    assert.equal(runs[1]?.full, false, 'partial after a success');
  });

  it('resyncs every maxInterval without requests, as a full sync', async () => {
    const { clock, runs, runner } = setup();
    runner.run();
    await clock.advance(65_000);
    assert.deepEqual(
      runs.map((r) => [r.at, r.reason, r.full]),
      [
        [0, 'requested', true],
        [30_000, 'periodic', true],
        [60_000, 'periodic', true],
      ],
    );
  });

  it('retries a failure after retryInterval and makes the next sync full', async () => {
    let failures = 1;
    const { clock, runs, runner } = setup({ fail: () => failures-- > 0 });
    runner.run();
    await clock.advance(0);
    runner.run();
    await clock.advance(999);
    assert.equal(runs.length, 1, 'min interval still applies to retries');
    await clock.advance(1);
    assert.equal(runs.length, 2);
    assert.equal(runs[1]?.full, true);
    assert.equal(runner.failures, 1);
    runner.run();
    await clock.advance(1000);
    assert.equal(runs[2]?.full, false);
  });

  it('never syncs while the gate is closed, and keeps the request for when it opens', async () => {
    let open = false;
    const { clock, runs, runner } = setup({ gate: () => open });
    runner.run();
    await clock.advance(100_000);
    assert.equal(runs.length, 0);
    open = true;
    runner.run();
    await clock.advance(0);
    assert.equal(runs.length, 1);
    assert.equal(runs[0]?.full, true);
  });

  it('never overlaps syncs; a request during a sync runs after it', async () => {
    const clock = new FakeLabClock();
    let release: () => void = () => {};
    let active = 0;
    let maxActive = 0;
    let n = 0;
    const runner = new SyncRunner(
      async () => {
        n++;
        active++;
        maxActive = Math.max(maxActive, active);
        if (n === 1) await new Promise<void>((r) => (release = r));
        active--;
      },
      { minIntervalMs: 10, maxIntervalMs: 10_000, clock },
    );
    runner.start();
    runner.run();
    await clock.advance(0);
    runner.run();
    await clock.advance(100);
    assert.equal(n, 1);
    release();
    await clock.advance(100);
    assert.equal(n, 2);
    assert.equal(maxActive, 1);
    await runner.stop();
  });

  it('keeps a full sync at most maxInterval apart under steady churn', async () => {
    const { clock, runs, runner } = setup();
    // A change every 400 ms for 100 s: every sync has something to do.
    for (let t = 0; t < 100_000; t += 400) {
      runner.run();
      await clock.advance(400);
    }
    const fulls = runs.filter((r) => r.full).map((r) => r.at);
    assert.ok(runs.length > 90, `${runs.length} syncs`);
    assert.equal(fulls[0], 0);
    for (let i = 1; i < fulls.length; i++) {
      const gap = (fulls[i] ?? 0) - (fulls[i - 1] ?? 0);
      assert.ok(gap <= 30_000, `full syncs ${gap} ms apart`);
    }
    assert.ok(fulls.length >= 4, fulls.join());
    assert.ok(runs.filter((r) => !r.full).length > 80, 'the rest stay partial');
  });

  it('requestFull makes the next sync full, once', async () => {
    const { clock, runs, runner } = setup();
    runner.run();
    await clock.advance(2000);
    runner.requestFull();
    await clock.advance(2000);
    runner.run();
    await clock.advance(2000);
    assert.deepEqual(
      runs.map((r) => r.full),
      [true, true, false],
    );
  });

  it('a failed partial sync is retried at once as a full one; a failed full one after retryInterval', async () => {
    let fail = false;
    const { clock, runs, runner } = setup({ fail: () => fail });
    runner.run();
    await clock.advance(5000);
    fail = true;
    runner.run();
    await clock.advance(0);
    fail = false;
    await clock.advance(0);
    assert.deepEqual(
      runs.map((r) => [r.at, r.full, r.reason]),
      [
        [0, true, 'requested'],
        [5000, false, 'requested'],
        [5000, true, 'retry'],
      ],
    );
  });
});
