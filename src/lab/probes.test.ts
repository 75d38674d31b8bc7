import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Container } from 'kubernetes-types/core/v1.js';
import type { Pod } from '../api/types.ts';
import { FakeProber, type ProbeOutcome } from '../kernel/probe.ts';
import { FakeLabClock } from './clock.ts';
import { buildCheck, ProbeWorker, probePort } from './probes.ts';

/** A check whose answers the test scripts; records the fake time of each call. */
function scripted(clock: FakeLabClock, answers: boolean[], fallback = true) {
  const at: number[] = [];
  const check = async (): Promise<ProbeOutcome> => {
    at.push(clock.now());
    const ok = answers.length ? (answers.shift() as boolean) : fallback;
    return { ok, message: ok ? '' : 'HTTP probe failed with statuscode: 500' };
  };
  return { at, check };
}

describe('ProbeWorker timing (fake clock)', () => {
  it('readiness: not ready until the first success after initialDelaySeconds, then every periodSeconds', async () => {
    const clock = new FakeLabClock();
    const { at, check } = scripted(clock, []);
    const changes: boolean[] = [];
    const w = new ProbeWorker('readiness', { initialDelaySeconds: 5, periodSeconds: 2 }, check, clock, (s) =>
      changes.push(s),
    );
    w.start();
    assert.equal(w.success(), false);
    await clock.advance(4_999);
    assert.deepEqual(at, []);
    await clock.advance(1);
    assert.deepEqual(at, [5_000]);
    assert.equal(w.success(), true);
    await clock.advance(6_000);
    assert.deepEqual(at, [5_000, 7_000, 9_000, 11_000]);
    assert.deepEqual(changes, [true]);
    w.stop();
    await clock.advance(10_000);
    assert.equal(at.length, 4);
  });

  it('flips only after failureThreshold consecutive failures and successThreshold successes', async () => {
    const clock = new FakeLabClock();
    // ok, fail, fail, ok (resets the run), fail, fail, fail → NotReady; ok → not yet; ok → Ready
    const { check } = scripted(clock, [true, false, false, true, false, false, false, true, true]);
    const seen: [number, boolean][] = [];
    const w = new ProbeWorker(
      'readiness',
      { periodSeconds: 1, failureThreshold: 3, successThreshold: 2 },
      check,
      clock,
      (s) => seen.push([clock.now(), s]),
    );
    w.start();
    await clock.advance(10_000);
    // With successThreshold 2 even the first success does not make it ready: 2 in a row do.
    assert.deepEqual(seen, [[8_000, true]]);
    assert.equal(w.success(), true);
  });

  it('liveness starts healthy and fails after failureThreshold (default 3) periods (default 10 s)', async () => {
    const clock = new FakeLabClock();
    const { at, check } = scripted(clock, [], false);
    const seen: [number, boolean][] = [];
    const w = new ProbeWorker('liveness', {}, check, clock, (s) => seen.push([clock.now(), s]));
    w.start();
    assert.equal(w.success(), true);
    await clock.advance(25_000);
    assert.deepEqual(at, [0, 10_000, 20_000]);
    assert.deepEqual(seen, [[20_000, false]]);
  });

  it('a check slower than timeoutSeconds counts as a failure', async () => {
    const clock = new FakeLabClock();
    const never = () => new Promise<ProbeOutcome>(() => {});
    const w = new ProbeWorker(
      'readiness',
      { periodSeconds: 1, failureThreshold: 1, timeoutSeconds: 1 },
      never,
      clock,
      () => {},
    );
    w.start();
    await clock.advance(5_000);
    assert.equal(w.success(), false);
    assert.match(w.lastMessage, /timed out/);
  });
});

describe('buildCheck', () => {
  const c: Container = { name: 'app', ports: [{ name: 'http', containerPort: 8080 }] };
  const pod: Pod = { metadata: { name: 'p' }, status: { podIP: '10.244.0.5' } };

  it('aims httpGet at the pod IP, resolving named ports, in the pod namespace', async () => {
    const prober = new FakeProber();
    await buildCheck({ httpGet: { path: '/healthz', port: 'http' } }, pod, c, prober, 'svn-abc-0001', {})(1000);
    await buildCheck({ tcpSocket: { port: 9000 } }, pod, c, prober, undefined, {})(1000);
    await buildCheck({ exec: { command: ['cat', '/tmp/ok'] } }, pod, c, prober, 'ns', {})(1000);
    assert.deepEqual(prober.calls, [
      { kind: 'http', netns: 'svn-abc-0001', target: 'http://10.244.0.5:8080/healthz' },
      { kind: 'tcp', netns: undefined, target: '10.244.0.5:9000' },
      { kind: 'exec', netns: 'ns', target: 'cat /tmp/ok' },
    ]);
  });

  it('an unknown named port or handler fails the probe instead of throwing', async () => {
    const prober = new FakeProber();
    const r = await buildCheck({ httpGet: { port: 'nope' } }, pod, c, prober, undefined, {})(1000);
    assert.equal(r.ok, false);
    assert.equal((await buildCheck({}, pod, c, prober, undefined, {})(1000)).ok, false);
    assert.equal(prober.calls.length, 0);
    assert.equal(probePort('8080', c), 8080);
    assert.equal(probePort(0, c), undefined);
  });
});
