import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Allocator } from './allocator.ts';
import { type ConvergeOutcome, converge } from './converge.ts';
import { validatePoolChange } from './pool-change.ts';
import { pool, poolObj, svc } from './testing.ts';

const set = (o: ConvergeOutcome) => {
  assert.equal(o.kind, 'set', JSON.stringify(o));
  return o.kind === 'set' ? o : undefined;
};
const failure = (o: ConvergeOutcome) => {
  assert.equal(o.kind, 'clear', JSON.stringify(o));
  return o.kind === 'clear' ? o.events.map((e) => `${e.type} ${e.reason}: ${e.message}`) : [];
};

describe('LB converge', () => {
  it('allocates, announces, then keeps what the status shows', () => {
    const a = new Allocator([pool('p', ['192.0.2.10-192.0.2.11'])]);
    const first = set(converge('default/web', svc('web'), a));
    assert.deepEqual(first?.ips, ['192.0.2.10']);
    assert.equal(first?.pool, 'p');
    assert.deepEqual(first?.events, [{ type: 'Normal', reason: 'IPAllocated', message: 'Assigned IP ["192.0.2.10"]' }]);
    const again = set(converge('default/web', svc('web', { ingress: ['192.0.2.10'] }), a));
    assert.deepEqual(again?.ips, ['192.0.2.10']);
    assert.deepEqual(again?.events, []);
  });

  it('exhaustion is a Warning AllocationFailed in MetalLB words, and a retry', () => {
    const a = new Allocator([pool('p', ['192.0.2.10/32'])]);
    set(converge('default/a', svc('a'), a));
    const out = converge('default/b', svc('b'), a);
    assert.deepEqual(failure(out), [
      'Warning AllocationFailed: Failed to allocate IP for "default/b": no available IPs',
    ]);
    assert.equal(out.kind === 'clear' && out.retry, true);
  });

  it('no pools at all: pending with the same event', () => {
    assert.deepEqual(failure(converge('default/a', svc('a'), new Allocator())), [
      'Warning AllocationFailed: Failed to allocate IP for "default/a": no available IPs',
    ]);
  });

  it('honours metallb.io/loadBalancerIPs and spec.loadBalancerIP', () => {
    const a = new Allocator([pool('p', ['192.0.2.0/28', '2001:db8::/124'])]);
    const anno = svc('a', { annotations: { 'metallb.io/loadBalancerIPs': '192.0.2.7' } });
    assert.deepEqual(set(converge('default/a', anno, a))?.ips, ['192.0.2.7']);
    assert.deepEqual(set(converge('default/b', svc('b', { loadBalancerIP: '192.0.2.9' }), a))?.ips, ['192.0.2.9']);
    const dual = svc('d', {
      clusterIPs: ['10.96.0.1', 'fd00::1'],
      annotations: { 'metallb.io/loadBalancerIPs': '192.0.2.3,2001:db8::3' },
    });
    assert.deepEqual(set(converge('default/d', dual, a))?.ips, ['192.0.2.3', '2001:db8::3']);
    const taken = svc('c', { annotations: { 'metallb.io/loadBalancerIPs': '192.0.2.7' } });
    assert.match(
      failure(converge('default/c', taken, a))[0] ?? '',
      /AllocationFailed: .*existing service does not allow sharing/,
    );
    const outside = svc('e', { loadBalancerIP: '203.0.113.1' });
    assert.deepEqual(failure(converge('default/e', outside, a)), [
      'Warning AllocationFailed: Failed to allocate IP for "default/e": ["203.0.113.1"] is not allowed in config',
    ]);
    const wrongFamily = svc('f', { loadBalancerIP: '2001:db8::5' });
    assert.match(failure(converge('default/f', wrongFamily, a))[0] ?? '', /does not match the ipFamily of the service/);
    const both = svc('g', { loadBalancerIP: '192.0.2.1', annotations: { 'metallb.io/loadBalancerIPs': '192.0.2.1' } });
    assert.match(failure(converge('default/g', both, a))[0] ?? '', /LoadBalancerFailed: .*can not have both/);
  });

  it('moves a service when the requested IP or pool changes', () => {
    const a = new Allocator([pool('p', ['192.0.2.0/28']), pool('q', ['198.51.100.0/28'], { autoAssign: false })]);
    set(converge('default/a', svc('a'), a));
    const moved = svc('a', { ingress: ['192.0.2.0'], annotations: { 'metallb.io/loadBalancerIPs': '192.0.2.5' } });
    assert.deepEqual(set(converge('default/a', moved, a))?.ips, ['192.0.2.5']);
    const repooled = svc('a', { ingress: ['192.0.2.5'], annotations: { 'metallb.io/address-pool': 'q' } });
    const out = set(converge('default/a', repooled, a));
    assert.deepEqual([out?.ips, out?.pool], [['198.51.100.0'], 'q']);
    // A requested IP outside the requested pool is refused.
    const clash = svc('b', {
      annotations: { 'metallb.io/address-pool': 'q', 'metallb.io/loadBalancerIPs': '192.0.2.9' },
    });
    assert.match(failure(converge('default/b', clash, a))[0] ?? '', /not compatible with requested address pool q/);
    assert.equal(a.ipsOf('default/b'), undefined);
  });

  it('releases on delete and when the type leaves LoadBalancer; ignores other classes', () => {
    const a = new Allocator([pool('p', ['192.0.2.1/32'])]);
    set(converge('default/a', svc('a'), a));
    assert.deepEqual(converge('default/a', undefined, a), { kind: 'clear', retry: false, events: [] });
    set(converge('default/b', svc('b'), a));
    assert.deepEqual(converge('default/b', svc('b', { type: 'ClusterIP', ingress: ['192.0.2.1'] }), a), {
      kind: 'clear',
      retry: false,
      events: [],
    });
    assert.deepEqual(converge('default/c', svc('c', { loadBalancerClass: 'example.com/other' }), a), {
      kind: 'ignore',
    });
    assert.equal(a.allocations().length, 0);
    const mine = svc('d', { loadBalancerClass: 'svcnet.io/lb' });
    assert.deepEqual(set(converge('default/d', mine, a, { loadBalancerClass: 'svcnet.io/lb' }))?.ips, ['192.0.2.1']);
  });

  it('a status IP the config no longer allows is replaced, with a ClearAssignment event', () => {
    const a = new Allocator([pool('p', ['192.0.2.1/32'])]);
    const out = set(converge('default/a', svc('a', { ingress: ['203.0.113.9'] }), a));
    assert.deepEqual(out?.ips, ['192.0.2.1']);
    assert.deepEqual(
      out?.events.map((e) => e.reason),
      ['ClearAssignment', 'IPAllocated'],
    );
  });
});

describe('validatePoolChange', () => {
  const old = poolObj('p', ['192.0.2.0/28']);
  const live = [
    { service: 'default/a', ips: ['192.0.2.1'] },
    { service: 'default/b', ips: ['192.0.2.14'] },
    { service: 'other/c', ips: ['198.51.100.1'] },
  ];

  it('allows changes that keep every live address', () => {
    assert.deepEqual(validatePoolChange(old, poolObj('p', ['192.0.2.0/24']), live), []);
    assert.deepEqual(validatePoolChange(old, poolObj('p', ['192.0.2.1-192.0.2.14']), live), []);
  });

  it('refuses shrinking below a live address, naming the service', () => {
    const errs = validatePoolChange(old, poolObj('p', ['192.0.2.0-192.0.2.7']), live);
    assert.equal(errs.length, 1);
    assert.equal(errs[0]?.field, 'spec.addresses');
    assert.equal(
      errs[0]?.detail,
      'new config not compatible with assigned IPs: service "default/b" cannot own "192.0.2.14" under new config',
    );
  });

  it('refuses deleting a pool in use unless another pool holds the addresses', () => {
    assert.equal(validatePoolChange(old, undefined, live).length, 2);
    assert.deepEqual(validatePoolChange(old, undefined, live, { otherPools: [poolObj('wide', ['192.0.2.0/24'])] }), []);
  });

  it('refuses restricting the pool away from a live service', () => {
    const restricted = poolObj('p', ['192.0.2.0/28'], { serviceAllocation: { namespaces: ['other'] } });
    const withLabels = live.map((l) => ({ ...l, labels: {} }));
    assert.equal(validatePoolChange(old, restricted, withLabels).length, 2);
    const buggy = poolObj('p', ['192.0.2.0/28'], { avoidBuggyIPs: true });
    assert.deepEqual(validatePoolChange(old, buggy, [{ service: 'default/z', ips: ['192.0.2.0'] }]).length, 1);
  });
});
