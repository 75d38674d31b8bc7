import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type EndpointInfo, endpointKey } from '../types.ts';
import { Balancer, EndpointHealth } from './balancer.ts';
import { BoundVips, FakeVipBinder, LoopbackRangeVips } from './vips.ts';

const ep = (n: number): EndpointInfo => ({
  key: endpointKey(`10.0.0.${n}`, 80),
  ip: `10.0.0.${n}`,
  port: 80,
  ready: true,
  serving: true,
  terminating: false,
  nodeName: 'a',
  zone: undefined,
  zoneHints: [],
  nodeHints: [],
  isLocal: true,
});
const eps = [ep(1), ep(2), ep(3)];

describe('Balancer', () => {
  it('round-robin cycles', () => {
    const b = new Balancer('round-robin', undefined, Math.random, () => 0);
    assert.deepEqual(
      [0, 1, 2, 3].map(() => b.pick(eps, 'c', undefined)?.ip),
      ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.1'],
    );
  });

  it('least-connections prefers the idlest endpoint', () => {
    const b = new Balancer('least-connections', undefined, Math.random, () => 0);
    b.acquire(eps[0]?.key ?? ('' as never));
    b.acquire(eps[1]?.key ?? ('' as never));
    assert.equal(b.pick(eps, 'c', undefined)?.ip, '10.0.0.3');
  });

  it('ClientIP affinity pins until the timeout, then re-picks', () => {
    let now = 0;
    let r = 0;
    const b = new Balancer(
      'random',
      10,
      () => [0, 0.9][r++ % 2] ?? 0,
      () => now,
    );
    const first = b.pick(eps, 'c1', undefined)?.ip;
    now = 9_000;
    assert.equal(b.pick(eps, 'c1', undefined)?.ip, first);
    now = 30_000;
    assert.notEqual(b.pick(eps, 'c1', undefined)?.ip, first);
    assert.equal(b.pinned('c2'), undefined);
  });

  it('skips excluded and ejected endpoints; uses ejected ones when nothing else is left', () => {
    let now = 0;
    const h = new EndpointHealth({ failuresToEject: 2, ejectMs: 1000, now: () => now });
    const b = new Balancer('round-robin', undefined, Math.random, () => now);
    assert.equal(h.failure(eps[0]?.key ?? ('' as never)), false);
    assert.equal(h.failure(eps[0]?.key ?? ('' as never)), true);
    for (let i = 0; i < 6; i++) assert.notEqual(b.pick(eps, 'c', h)?.ip, '10.0.0.1');
    assert.equal(b.pick([ep(1)], 'c', h)?.ip, '10.0.0.1', 'panic: try an ejected endpoint rather than none');
    assert.equal(b.pick(eps, 'c', h, new Set(eps.map((e) => e.key))), undefined);
    now = 1001;
    assert.equal(h.isEjected(eps[0]?.key ?? ('' as never)), false);
    assert.equal(h.failure(eps[0]?.key ?? ('' as never)), true, 'one more failure after the back-off ejects again');
  });
});

describe('VIP mapping', () => {
  it('rootless: low bits kept, collisions probe, aliases stable while the VIP exists', async () => {
    const v = new LoopbackRangeVips('127.10.0.0/16');
    await v.sync(new Set(['10.96.0.10', '10.97.0.10']));
    assert.equal(v.addressFor('10.96.0.10'), '127.10.0.10');
    assert.equal(v.addressFor('10.97.0.10'), '127.10.0.11');
    await v.sync(new Set(['10.97.0.10', '10.96.1.1']));
    assert.equal(v.addressFor('10.97.0.10'), '127.10.0.11', 'does not move');
    assert.equal(v.addressFor('10.96.0.10'), undefined);
    assert.equal(v.addressFor('10.96.1.1'), '127.10.1.1');
    assert.throws(() => new LoopbackRangeVips('10.0.0.0/16'));
  });

  it('root: VIPs are bound through the binder and removed again', async () => {
    const binder = new FakeVipBinder();
    const v = new BoundVips(binder);
    await v.sync(new Set(['10.96.0.1', 'fd00::1']));
    assert.deepEqual(await binder.list(), ['10.96.0.1', 'fd00::1']);
    assert.equal(v.addressFor('10.96.0.1'), '10.96.0.1');
    await v.sync(new Set(['fd00::1']));
    assert.deepEqual(await binder.list(), ['fd00::1']);
    await v.close();
    assert.deepEqual(await binder.list(), []);
  });
});
