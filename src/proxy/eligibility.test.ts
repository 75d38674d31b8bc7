import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  categorizeEndpoints,
  classifySource,
  decide,
  localhostNodePortsAllowed,
  resolveNodePortAddresses,
  topologyModeFromHints,
} from './eligibility.ts';
import type { EndpointInfo, NodeInfo, ServicePortInfo } from './types.ts';
import { endpointKey } from './types.ts';

const node: NodeInfo = { name: 'a', zone: 'za', ips: ['10.0.0.1', 'fd00::1'], podCIDRs: ['10.244.0.0/24'] };

function ep(ip: string, o: Partial<EndpointInfo> = {}): EndpointInfo {
  const ready = o.ready ?? true;
  return {
    key: endpointKey(ip, 80),
    ip,
    port: 80,
    ready,
    serving: o.serving ?? ready,
    terminating: o.terminating ?? false,
    nodeName: o.nodeName ?? 'b',
    zone: undefined,
    zoneHints: o.zoneHints ?? [],
    nodeHints: o.nodeHints ?? [],
    isLocal: (o.nodeName ?? 'b') === 'a',
  };
}

function svc(o: Partial<ServicePortInfo> = {}): ServicePortInfo {
  return {
    key: 'ns/s:/TCP' as never,
    service: 'ns/s' as never,
    namespace: 'ns',
    name: 's',
    portName: '',
    protocol: 'TCP',
    type: 'LoadBalancer',
    clusterIPs: ['10.96.0.1'],
    port: 80,
    nodePort: 30000,
    externalIPs: [],
    deniedExternalIPs: [],
    loadBalancerIPs: ['192.0.2.1'],
    loadBalancerSourceRanges: [],
    internalPolicyLocal: false,
    externalPolicyLocal: false,
    healthCheckNodePort: 0,
    affinityTimeoutSeconds: undefined,
    trafficDistribution: undefined,
    lbAlgorithm: 'random',
    connectRetries: 2,
    ...o,
  };
}

const ips = (v: ReturnType<typeof decide>) => (v.kind === 'endpoints' ? v.endpoints.map((e) => e.ip).sort() : v.kind);

describe('categorizeEndpoints (5.2)', () => {
  it('cluster: ready only; terminating fallback only when none is ready', () => {
    const eps = [ep('1.1.1.1'), ep('1.1.1.2', { ready: false, serving: true, terminating: true })];
    assert.deepEqual(
      categorizeEndpoints(eps, node).cluster.map((e) => e.ip),
      ['1.1.1.1'],
    );
    const term = [
      ep('1.1.1.2', { ready: false, serving: true, terminating: true }),
      ep('1.1.1.3', { ready: false, serving: false, terminating: true }),
    ];
    assert.deepEqual(
      categorizeEndpoints(term, node).cluster.map((e) => e.ip),
      ['1.1.1.2'],
    );
  });

  it('local: local ready, else local serving+terminating even if remote ones are ready', () => {
    const eps = [ep('1.1.1.1'), ep('1.1.1.2', { nodeName: 'a', ready: false, serving: true, terminating: true })];
    const c = categorizeEndpoints(eps, node);
    assert.deepEqual(
      c.local.map((e) => e.ip),
      ['1.1.1.2'],
    );
    assert.deepEqual(
      c.cluster.map((e) => e.ip),
      ['1.1.1.1'],
    );
  });

  it('neither ready nor serving: no endpoints at all', () => {
    const c = categorizeEndpoints([ep('1.1.1.1', { ready: false, serving: false })], node);
    assert.equal(c.hasAny, false);
    assert.equal(c.cluster.length, 0);
  });
});

describe('topology hints (5.21)', () => {
  it('zone hints apply only when every ready endpoint has them and one names this zone', () => {
    assert.equal(
      topologyModeFromHints([ep('1', { zoneHints: ['za'] }), ep('2', { zoneHints: ['zb'] })], node),
      'PreferSameZone',
    );
    assert.equal(topologyModeFromHints([ep('1', { zoneHints: ['za'] }), ep('2')], node), '');
    assert.equal(topologyModeFromHints([ep('1', { zoneHints: ['zb'] })], node), '');
    assert.equal(
      topologyModeFromHints([ep('1', { zoneHints: ['za'] }), ep('2', { ready: false })], node),
      'PreferSameZone',
      'unready ones do not count',
    );
  });

  it('node hints win when complete and naming this node; else zone hints', () => {
    const both = [ep('1', { zoneHints: ['za'], nodeHints: ['a'] }), ep('2', { zoneHints: ['za'], nodeHints: ['b'] })];
    assert.equal(topologyModeFromHints(both, node), 'PreferSameNode');
    assert.deepEqual(
      categorizeEndpoints(both, node).cluster.map((e) => e.ip),
      ['1'],
    );
    const otherNodes = [
      ep('1', { zoneHints: ['za'], nodeHints: ['c'] }),
      ep('2', { zoneHints: ['zb'], nodeHints: ['b'] }),
    ];
    assert.equal(topologyModeFromHints(otherNodes, node), 'PreferSameZone');
  });

  it('zone without a name never matches', () => {
    assert.equal(topologyModeFromHints([ep('1', { zoneHints: ['za'] })], { ...node, zone: '' }), '');
  });
});

describe('decide', () => {
  const eps = [ep('10.244.0.5', { nodeName: 'a' }), ep('10.244.1.5')];

  it('REJECT without usable endpoints, for every destination', () => {
    for (const d of ['clusterIP', 'externalIP', 'loadBalancer', 'nodePort'] as const) {
      assert.equal(decide(svc(), [], d, '1.2.3.4', node).kind, 'REJECT');
    }
  });

  it('ITP Local: local set; DROP when only remote endpoints exist (5.11)', () => {
    assert.deepEqual(ips(decide(svc({ internalPolicyLocal: true }), eps, 'clusterIP', '10.244.0.9', node)), [
      '10.244.0.5',
    ]);
    assert.equal(
      decide(svc({ internalPolicyLocal: true }), [eps[1] as EndpointInfo], 'clusterIP', '10.244.0.9', node).kind,
      'DROP',
    );
  });

  it('ClusterIP masquerade: only sources outside the pod CIDR, or all with --masquerade-all (5.6)', () => {
    const v1 = decide(svc(), eps, 'clusterIP', '10.244.0.9', node);
    const v2 = decide(svc(), eps, 'clusterIP', '203.0.113.1', node);
    const v3 = decide(svc(), eps, 'clusterIP', '10.244.0.9', node, { masqueradeAll: true });
    assert.equal(v1.kind === 'endpoints' && v1.masquerade, false);
    assert.equal(v2.kind === 'endpoints' && v2.masquerade, true);
    assert.equal(v3.kind === 'endpoints' && v3.masquerade, true);
  });

  it('ETP Local: pod → cluster unmasqueraded, node → cluster masqueraded, external → local kept (5.7)', () => {
    const s = svc({ externalPolicyLocal: true });
    const pod = decide(s, eps, 'loadBalancer', '10.244.0.9', node);
    const fromNode = decide(s, eps, 'nodePort', '10.0.0.1', node);
    const ext = decide(s, eps, 'externalIP', '203.0.113.1', node);
    assert.deepEqual([ips(pod), pod.kind === 'endpoints' && pod.masquerade], [['10.244.0.5', '10.244.1.5'], false]);
    assert.deepEqual(
      [ips(fromNode), fromNode.kind === 'endpoints' && fromNode.masquerade],
      [['10.244.0.5', '10.244.1.5'], true],
    );
    assert.deepEqual([ips(ext), ext.kind === 'endpoints' && ext.masquerade], [['10.244.0.5'], false]);
    assert.equal(decide(s, [eps[1] as EndpointInfo], 'loadBalancer', '203.0.113.1', node).kind, 'DROP');
    assert.deepEqual(
      ips(decide(s, eps, 'clusterIP', '203.0.113.1', node)),
      ['10.244.0.5', '10.244.1.5'],
      'ETP does not touch ClusterIP',
    );
  });

  it('loadBalancerSourceRanges: LB IPs only, never NodePorts; the node in range admits LB-IP sources (5.12)', () => {
    const s = svc({ loadBalancerSourceRanges: ['198.51.100.0/24'] });
    assert.equal(decide(s, eps, 'loadBalancer', '203.0.113.1', node).kind, 'DROP');
    assert.equal(decide(s, eps, 'loadBalancer', '198.51.100.7', node).kind, 'endpoints');
    assert.equal(decide(s, eps, 'nodePort', '203.0.113.1', node).kind, 'endpoints');
    const withNode = svc({ loadBalancerSourceRanges: ['10.0.0.0/24'] });
    assert.equal(decide(withNode, eps, 'loadBalancer', '192.0.2.1', node).kind, 'endpoints');
    assert.equal(decide(s, eps, 'loadBalancer', '192.0.2.1', node).kind, 'DROP');
  });

  it('classifies sources: pod CIDR, node addresses and loopback, the rest external', () => {
    assert.equal(classifySource('10.244.0.3', node), 'pod');
    assert.equal(classifySource('fd00::1', node), 'node');
    assert.equal(classifySource('127.3.4.5', node), 'node');
    assert.equal(classifySource('::1', node), 'node');
    assert.equal(classifySource('8.8.8.8', node), 'external');
  });
});

describe('--nodeport-addresses', () => {
  const ipsN = ['192.168.1.5', '10.0.0.1', 'fd00::1', '2001:db8::1', '127.0.0.1'];
  it('empty: every non-loopback node address', () => {
    assert.deepEqual(resolveNodePortAddresses([], ipsN), ['192.168.1.5', '10.0.0.1', 'fd00::1', '2001:db8::1']);
  });
  it('primary: the first address of each family', () => {
    assert.deepEqual(resolveNodePortAddresses(['primary'], ipsN), ['192.168.1.5', 'fd00::1']);
  });
  it('CIDRs: the node addresses inside them', () => {
    assert.deepEqual(resolveNodePortAddresses(['10.0.0.0/8', '2001:db8::/32'], ipsN), ['10.0.0.1', '2001:db8::1']);
  });
  it('localhost NodePorts only when unset or loopback is covered', () => {
    assert.equal(localhostNodePortsAllowed([]), true);
    assert.equal(localhostNodePortsAllowed(['10.0.0.0/8']), false);
    assert.equal(localhostNodePortsAllowed(['primary']), false);
    assert.equal(localhostNodePortsAllowed(['127.0.0.0/8']), true);
  });
});
