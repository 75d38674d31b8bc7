// endpointInfo: the compact shape every EndpointInfo the agent holds is built in.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { EndpointSlice } from '../api/types.ts';
import { endpointInfo, endpointsOfSlices } from './endpoints.ts';
import { endpointKey } from './types.ts';

const base = { port: 8080, ready: true, serving: true, terminating: false, zone: undefined, isLocal: false };

function slice(name: string, ips: string[], hints?: { forZones?: { name: string }[] }): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    addressType: 'IPv4',
    metadata: { namespace: 'ns', name, labels: { 'kubernetes.io/service-name': name } },
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: ips.map((ip) => ({ addresses: [ip], nodeName: 'ip-10-0-1-23', zone: 'eu-west-1a', hints })),
  };
}

describe('endpointInfo', () => {
  it('keys as endpointKey does (IPv4 and IPv6), frozen', () => {
    for (const ip of ['10.244.0.7', 'fd44::7']) {
      const e = endpointInfo({ ...base, ip, nodeName: 'n1' });
      assert.equal(e.key, endpointKey(ip, 8080));
      assert.ok(Object.isFrozen(e));
    }
  });

  it('shares hint lists: one empty list, one list per distinct content', () => {
    const a = endpointInfo({ ...base, ip: '10.0.0.1', nodeName: 'n1' });
    const b = endpointInfo({ ...base, ip: '10.0.0.2', nodeName: 'n1', zoneHints: [], nodeHints: [] });
    assert.equal(a.zoneHints, b.nodeHints);
    assert.ok(Object.isFrozen(a.zoneHints));
    const z1 = endpointInfo({ ...base, ip: '10.0.0.3', nodeName: 'n1', zoneHints: ['za', 'zb'] });
    const z2 = endpointInfo({ ...base, ip: '10.0.0.4', nodeName: 'n1', zoneHints: ['za', 'zb'] });
    assert.equal(z1.zoneHints, z2.zoneHints);
    assert.deepEqual(z1.zoneHints, ['za', 'zb']);
    assert.ok(Object.isFrozen(z1.zoneHints));
    // Names joined with NUL would collide with a name holding one: still two different lists.
    const nul = endpointInfo({ ...base, ip: '10.0.0.5', nodeName: 'n1', zoneHints: ['za\u0000zb'] });
    assert.deepEqual(nul.zoneHints, ['za\u0000zb']);
    assert.deepEqual(endpointInfo({ ...base, ip: '10.0.0.6', nodeName: 'n1', zoneHints: ['za', 'zb'] }).zoneHints, [
      'za',
      'zb',
    ]);
  });

  it('a caller mutating its hint list afterwards does not change the endpoint', () => {
    const hints = ['zc'];
    const e = endpointInfo({ ...base, ip: '10.0.0.7', nodeName: 'n1', zoneHints: hints });
    hints.push('zd');
    assert.deepEqual(e.zoneHints, ['zc']);
  });

  it('50,000 endpoints from slices retain under 275 bytes each (hint lists shared, flat keys)', () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const n = 50_000;
    const slices = Array.from({ length: n / 5 }, (_, i) =>
      slice(
        `s${i}`,
        Array.from(
          { length: 5 },
          (_, j) => `10.${245 + ((i * 5 + j) >> 16)}.${((i * 5 + j) >> 8) & 255}.${(i * 5 + j) & 255}`,
        ),
        { forZones: [{ name: 'eu-west-1a' }] },
      ),
    );
    gc();
    const before = process.memoryUsage().heapUsed;
    const held = slices.map((s) => endpointsOfSlices([s], 'other-node'));
    gc();
    const perEndpoint = (process.memoryUsage().heapUsed - before) / n;
    assert.equal(held.length, n / 5);
    // ~230 B: the object (112 B), its key (~40 B), its share of a 5-endpoint list and of a small
    // Map. Two new hint lists per endpoint and a rope key made it ~325 B.
    assert.ok(perEndpoint < 275, `${perEndpoint.toFixed(0)} B per endpoint`);
  });
});
