import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject, Node } from '../api/types.ts';
import { podRoutes, routeChanges } from './routes.ts';

const node = (name: string, ip: string | undefined, cidr: string): Node & KubeObject => ({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name },
  spec: { podCIDR: cidr, podCIDRs: [cidr] },
  status: ip ? { addresses: [{ type: 'InternalIP', address: ip }] } : {},
});

describe('pod routes between lab nodes', () => {
  const nodes = [
    node('n2', '169.254.9.12', '10.244.1.0/24'),
    node('n1', '169.254.9.11', '10.244.0.0/24'),
    node('n3', undefined, '10.244.2.0/24'),
  ];
  it('routes every other node with an InternalIP, sorted by name', () => {
    assert.deepEqual(podRoutes(nodes, 'n1'), [{ dst: '10.244.1.0/24', via: '169.254.9.12' }]);
    assert.deepEqual(podRoutes(nodes, 'n3'), [
      { dst: '10.244.0.0/24', via: '169.254.9.11' },
      { dst: '10.244.1.0/24', via: '169.254.9.12' },
    ]);
  });
  it('replaces moved routes, removes stale ones, leaves connected and foreign routes alone', () => {
    const have = [
      { dst: '10.244.0.0/24', gateway: undefined, dev: 'br0' },
      { dst: '10.244.1.0/24', gateway: '169.254.9.99', dev: 'eth0' },
      { dst: '10.244.7.0/24', gateway: '169.254.9.17', dev: 'eth0' },
      { dst: '192.0.2.0/24', gateway: '169.254.9.1', dev: 'eth0' },
    ];
    const want = [
      { dst: '10.244.1.0/24', via: '169.254.9.12' },
      { dst: '10.244.2.0/24', via: '169.254.9.13' },
    ];
    assert.deepEqual(routeChanges(have, want, '10.244.0.0/16'), {
      replace: want,
      remove: ['10.244.7.0/24'],
    });
    const settled = [
      { dst: '10.244.1.0/24', gateway: '169.254.9.12', dev: 'eth0' },
      { dst: '10.244.2.0/24', gateway: '169.254.9.13', dev: 'eth0' },
    ];
    assert.deepEqual(routeChanges(settled, want, '10.244.0.0/16'), { replace: [], remove: [] });
  });
});
