import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeSpawner } from '../kernel/process.ts';
import { FakeLabClock } from './clock.ts';
import { type ContainerDeps, ContainerRunner } from './container.ts';

function setup(restartPolicy: ContainerDeps['restartPolicy'] = 'Always') {
  const clock = new FakeLabClock();
  const spawner = new FakeSpawner();
  const c = new ContainerRunner(
    { name: 'main', image: 'x' },
    { argv: ['/bin/app'], env: {}, logDir: '/nonexistent' },
    {
      spawner,
      clock,
      backoff: { initialMs: 10_000, maxMs: 40_000, resetMs: 600_000 },
      restartPolicy,
      probes: () => ({}),
      onChange: () => {},
      graceMs: 30_000,
      podLabel: 'p_default(uid)',
    },
  );
  return { clock, spawner, c };
}

describe('ContainerRunner restarts (fake clock)', () => {
  it('Always: first restart at once, then 10 s, 20 s, 40 s, capped at 40 s (CrashLoopBackOff)', async () => {
    const { clock, spawner, c } = setup();
    c.start();
    const startTimes: number[] = [];
    for (let i = 0; i < 6; i++) {
      startTimes.push(clock.now());
      spawner.spawned[i]?.exit({ code: 1, signal: null });
      await clock.advance(0);
      if (i >= 1) assert.equal(c.status().state?.waiting?.reason, 'CrashLoopBackOff');
      while (spawner.spawned.length === i + 1) await clock.advance(1_000);
    }
    assert.deepEqual(startTimes, [0, 0, 10_000, 30_000, 70_000, 110_000]);
    assert.equal(c.status().restartCount, 6);
    assert.equal(c.status().lastState?.terminated?.exitCode, 1);
  });

  it('a run longer than the back-off restarts at once; OnFailure stops on exit 0; Never never restarts', async () => {
    const a = setup();
    a.c.start();
    a.spawner.spawned[0]?.exit({ code: 1, signal: null });
    await a.clock.advance(0);
    await a.clock.advance(15_000); // second run lives 15 s > 10 s back-off
    a.spawner.spawned[1]?.exit({ code: 1, signal: null });
    await a.clock.advance(0);
    assert.equal(a.spawner.spawned.length, 3);

    const b = setup('OnFailure');
    b.c.start();
    b.spawner.spawned[0]?.exit({ code: 0, signal: null });
    await b.clock.advance(60_000);
    assert.equal(b.spawner.spawned.length, 1);
    assert.equal(b.c.status().state?.terminated?.reason, 'Completed');

    const n = setup('Never');
    n.c.start();
    n.spawner.spawned[0]?.exit({ code: 2, signal: null });
    await n.clock.advance(60_000);
    assert.equal(n.spawner.spawned.length, 1);
    assert.equal(n.c.status().state?.terminated?.exitCode, 2);
  });

  it('stop: SIGTERM, then SIGKILL when the grace period ends; no restart afterwards', async () => {
    const { clock, spawner, c } = setup();
    c.start();
    const done = c.stop(5_000);
    await clock.advance(4_999);
    assert.deepEqual(spawner.spawned[0]?.signals, ['SIGTERM']);
    await clock.advance(1);
    await done;
    assert.deepEqual(spawner.spawned[0]?.signals, ['SIGTERM', 'SIGKILL']);
    assert.equal(c.status().state?.terminated?.exitCode, 137);
    await clock.advance(60_000);
    assert.equal(spawner.spawned.length, 1);
  });
});
