import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ctx, dryRun, harness, svcOf, throwsApi } from './testing.ts';

const port = [{ port: 80 }];

describe('cluster IP allocation', () => {
  it('2.11 clusterIP always equals clusterIPs[0]', () => {
    const h = harness({ serviceCIDRs: ['10.0.0.0/24', 'fd00::/120'] });
    const s = h.create('a', { ports: port, ipFamilyPolicy: 'RequireDualStack' });
    assert.equal(s.spec?.clusterIP, s.spec?.clusterIPs?.[0]);
    assert.ok(h.ip('IPv4').has(s.spec?.clusterIPs?.[0] ?? ''));
    assert.ok(h.ip('IPv6').has(s.spec?.clusterIPs?.[1] ?? ''));
  });

  it('3.2 the network and broadcast addresses are never handed out', () => {
    const h = harness({ serviceCIDRs: ['10.0.0.0/29'] });
    const got = [1, 2, 3, 4, 5, 6].map((i) => h.create(`s${i}`, { ports: port }).spec?.clusterIP);
    assert.deepEqual([...got].sort(), ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6']);
  });

  it('3.4/3.5 automatic allocation comes from the upper band', () => {
    const h = harness();
    assert.equal(h.create('a', { ports: port }).spec?.clusterIP, '10.0.0.17');
  });

  it('3.6 a user-chosen IP in the static band is accepted', () => {
    const h = harness();
    const s = h.create('dns', { ports: port, clusterIP: '10.0.0.10' });
    assert.deepEqual(s.spec?.clusterIPs, ['10.0.0.10']);
    assert.ok(h.ip().has('10.0.0.10'));
  });

  it('3.7 a user-chosen IP outside the range is 422 with the CIDR in the text', () => {
    const h = harness({ serviceCIDRs: ['10.96.0.0/12'] });
    throwsApi(
      () => h.create('a', { ports: port, clusterIP: '192.168.0.1', clusterIPs: ['192.168.0.1'] }),
      422,
      'Service "a" is invalid: spec.clusterIPs[0]: Invalid value: "192.168.0.1": failed to allocate IP 192.168.0.1: the provided IP (192.168.0.1) is not in the valid range. The range of valid IPs is 10.96.0.0/12',
      'spec.clusterIPs[0]',
    );
  });

  it('3.8 a taken IP is 422 "provided IP is already allocated"', () => {
    const h = harness();
    h.create('a', { ports: port, clusterIP: '10.0.0.50' });
    throwsApi(
      () => h.create('b', { ports: port, clusterIP: '10.0.0.50' }),
      422,
      'Service "b" is invalid: spec.clusterIPs[0]: Invalid value: "10.0.0.50": failed to allocate IP 10.0.0.50: provided IP is already allocated',
    );
  });

  it('3.9 a full range is 500 "failed to allocate a serviceIP: range is full"', () => {
    const h = harness({ serviceCIDRs: ['10.0.0.0/30'] });
    h.create('a', { ports: port });
    h.create('b', { ports: port });
    const e = throwsApi(
      () => h.create('c', { ports: port }),
      500,
      'Internal error occurred: failed to allocate a serviceIP: range is full',
    );
    assert.equal(e.status.reason, 'InternalError');
  });

  it('3.10 dry-run checks the range only, allocates nothing and returns a placeholder', () => {
    const h = harness();
    h.create('a', { ports: port, clusterIP: '10.0.0.50' });
    const s = h.create('b', { ports: port, clusterIP: '10.0.0.50' }, dryRun);
    assert.equal(s.spec?.clusterIP, '10.0.0.50');
    const auto = h.create('c', { ports: port }, dryRun);
    assert.equal(auto.spec?.clusterIP, '10.0.0.0');
    assert.deepEqual(auto.spec?.ipFamilies, ['IPv4']);
    assert.equal(h.ip().used(), 1);
    throwsApi(() => h.create('d', { ports: port, clusterIP: '10.9.0.1' }, dryRun), 422, /not in the valid range/);
  });

  it('3.11 a failed node-port step releases the cluster IPs of the same request', () => {
    const h = harness({ serviceCIDRs: ['10.0.0.0/24', 'fd00::/120'] });
    h.create('a', { type: 'NodePort', ports: [{ port: 80, nodePort: 30080 }] });
    const used4 = h.ip('IPv4').used();
    const used6 = h.ip('IPv6').used();
    throwsApi(
      () =>
        h.create('b', {
          type: 'NodePort',
          ipFamilyPolicy: 'RequireDualStack',
          ports: [{ port: 80, nodePort: 30080 }],
        }),
      422,
      /provided port is already allocated/,
    );
    assert.equal(h.ip('IPv4').used(), used4);
    assert.equal(h.ip('IPv6').used(), used6);
  });

  it('3.11 revert after a failed store write releases IPs and ports', () => {
    const h = harness();
    const svc = svcOf('a', { type: 'LoadBalancer', externalTrafficPolicy: 'Local', ports: [{ port: 80 }] });
    const txn = h.begin.create(svc, ctx);
    assert.equal(h.ip().used(), 1);
    assert.equal(h.ports.used(), 2);
    txn.revert();
    assert.equal(h.ip().used(), 0);
    assert.equal(h.ports.used(), 0);
  });

  it('3.12 dual-stack upgrade allocates only the secondary, which the user may name', () => {
    const h = harness({ serviceCIDRs: ['10.0.0.0/24', 'fd00::/120'] });
    const old = h.create('a', { ports: port });
    const s = h.update(old, (x) => {
      x.spec!.ipFamilyPolicy = 'RequireDualStack';
      x.spec!.clusterIPs = [old.spec!.clusterIP!, 'fd00::42'];
    });
    assert.deepEqual(s.spec?.clusterIPs, [old.spec?.clusterIP, 'fd00::42']);
    assert.deepEqual(s.spec?.ipFamilies, ['IPv4', 'IPv6']);
    assert.equal(h.ip('IPv4').used(), 1);
    assert.ok(h.ip('IPv6').has('fd00::42'));
    const auto = h.update(h.create('b', { ports: port }), (x) => {
      x.spec!.ipFamilyPolicy = 'PreferDualStack';
    });
    assert.equal(auto.spec?.clusterIPs?.length, 2);
    assert.equal(h.ip('IPv6').used(), 2);
  });

  it('3.12 downgrade releases only the secondary, after commit', () => {
    const h = harness({ serviceCIDRs: ['10.0.0.0/24', 'fd00::/120'] });
    const old = h.create('a', { ports: port, ipFamilyPolicy: 'RequireDualStack' });
    const v6 = old.spec?.clusterIPs?.[1] ?? '';
    const next = structuredClone(old);
    next.spec!.ipFamilyPolicy = 'SingleStack';
    const txn = h.begin.update(next, old);
    assert.ok(h.ip('IPv6').has(v6), 'not released before commit');
    txn.revert();
    assert.ok(h.ip('IPv6').has(v6), 'revert keeps it');
    const txn2 = h.begin.update(structuredClone(next), old);
    txn2.commit();
    assert.ok(!h.ip('IPv6').has(v6));
    assert.ok(h.ip('IPv4').has(old.spec?.clusterIP ?? ''));
  });

  it('3.13 delete releases cluster IPs, node ports and the health-check port', () => {
    const h = harness({ serviceCIDRs: ['10.0.0.0/24', 'fd00::/120'] });
    const s = h.create('a', {
      type: 'LoadBalancer',
      externalTrafficPolicy: 'Local',
      ipFamilyPolicy: 'RequireDualStack',
      ports: [
        { port: 80, name: 'http' },
        { port: 443, name: 'https' },
      ],
    });
    assert.equal(h.ports.used(), 3);
    h.strategy.afterDelete?.(structuredClone(s), dryRun);
    assert.equal(h.ports.used(), 3, 'dry-run delete releases nothing');
    h.strategy.afterDelete?.(s, ctx);
    assert.equal(h.ip('IPv4').used() + h.ip('IPv6').used() + h.ports.used(), 0);
  });

  it('headless and ExternalName services get no cluster IP', () => {
    const h = harness();
    assert.deepEqual(h.create('h', { clusterIP: 'None', selector: { a: 'b' } }).spec?.clusterIPs, ['None']);
    assert.equal(h.create('e', { type: 'ExternalName', externalName: 'x.example' }).spec?.clusterIP, undefined);
    assert.equal(h.ip().used(), 0);
  });

  it('50 creates get 50 distinct IPs and node ports', () => {
    const h = harness({ serviceCIDRs: ['10.96.0.0/16'], rng: (n) => Math.floor(Math.random() * n) });
    const ips = new Set<string>();
    const ports = new Set<number>();
    for (let i = 0; i < 50; i++) {
      const s = h.create(`s${i}`, { type: 'NodePort', ports: [{ port: 80 }] });
      ips.add(s.spec?.clusterIP ?? '');
      ports.add(s.spec?.ports?.[0]?.nodePort ?? 0);
    }
    assert.equal(ips.size, 50);
    assert.equal(ports.size, 50);
    assert.equal(h.ip().used(), 50);
    assert.equal(h.ports.used(), 50);
  });
});
