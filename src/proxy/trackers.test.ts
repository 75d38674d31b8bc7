import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EndpointSlice, Service } from '../api/types.ts';
import { EndpointsChangeTracker, endpointsOfSlices } from './endpoints.ts';
import { ServiceChangeTracker, servicePortsOf } from './services.ts';
import { ProxyState } from './snapshot.ts';
import type { NodeInfo, ServicePortKey } from './types.ts';

const node: NodeInfo = { name: 'n1', zone: 'z1', ips: ['10.0.0.1'], podCIDRs: [] };

function svc(
  name: string,
  patch: Partial<NonNullable<Service['spec']>> = {},
  labels?: Record<string, string>,
): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { namespace: 'ns', name, labels, resourceVersion: String(Math.random()) },
    spec: {
      clusterIP: '10.96.0.1',
      clusterIPs: ['10.96.0.1'],
      ports: [{ name: 'http', port: 80, protocol: 'TCP' }],
      ...patch,
    },
  };
}

function slice(name: string, svcName: string, ips: string[], proto: 'TCP' | 'UDP' = 'TCP'): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    addressType: 'IPv4',
    metadata: { namespace: 'ns', name, labels: { 'kubernetes.io/service-name': svcName } },
    ports: [{ name: 'http', port: 8080, protocol: proto }],
    endpoints: ips.map((ip) => ({ addresses: [ip], nodeName: 'n1' })),
  };
}

const key = 'ns/a:http/TCP' as ServicePortKey;

describe('ServiceChangeTracker', () => {
  it('an add then delete between syncs collapses to nothing', () => {
    const t = new ServiceChangeTracker();
    const s = svc('a');
    assert.equal(t.update(undefined, s), true);
    assert.equal(t.update(s, undefined), false);
    assert.equal(t.take().size, 0);
  });

  it('an update that returns to the starting state collapses; metadata-only changes never register', () => {
    const t = new ServiceChangeTracker();
    const a = svc('a');
    const b = svc('a', { ports: [{ name: 'http', port: 81, protocol: 'TCP' }] });
    assert.equal(t.update(a, b), true);
    assert.equal(t.update(b, a), false);
    assert.equal(t.update(a, svc('a')), false, 'only resourceVersion differs');
    assert.equal(t.pendingCount(), 0);
  });

  it('keeps the first previous across several updates', () => {
    const t = new ServiceChangeTracker();
    const a = svc('a');
    t.update(a, svc('a', { ports: [{ name: 'http', port: 81, protocol: 'TCP' }] }));
    t.update(svc('a'), svc('a', { ports: [{ name: 'http', port: 82, protocol: 'TCP' }] }));
    const ch = t.take().get('ns/a' as never);
    assert.equal(ch?.previous.get(key)?.port, 80);
    assert.equal(ch?.current.get(key)?.port, 82);
  });

  it('ignores services another proxy owns, headless ones and ExternalName (5.1)', () => {
    assert.equal(servicePortsOf(svc('a', {}, { 'service.kubernetes.io/service-proxy-name': 'x' })).size, 0);
    assert.equal(servicePortsOf(svc('a', {}, { 'service.kubernetes.io/headless': '' })).size, 0);
    assert.equal(servicePortsOf(svc('a', { clusterIP: 'None', clusterIPs: ['None'] })).size, 0);
    assert.equal(servicePortsOf(svc('a', { type: 'ExternalName', clusterIP: '', clusterIPs: [] })).size, 0);
  });

  it('honours externalIPs only inside the allow-list; drops ipMode Proxy LB IPs', () => {
    const s: Service = {
      ...svc('a', { type: 'LoadBalancer', externalIPs: ['192.0.2.1', '198.51.100.1'] }),
      status: { loadBalancer: { ingress: [{ ip: '203.0.113.1' }, { ip: '203.0.113.2', ipMode: 'Proxy' } as never] } },
    };
    const p = servicePortsOf(s, { externalIPAllowCIDRs: ['192.0.2.0/24'], defaultConnectRetries: 2 }).get(key);
    assert.deepEqual(p?.externalIPs, ['192.0.2.1']);
    assert.deepEqual(p?.deniedExternalIPs, ['198.51.100.1']);
    assert.deepEqual(p?.loadBalancerIPs, ['203.0.113.1']);
  });

  it('reads lb-algorithm and connect-retries annotations, falling back on bad values', () => {
    const s = svc('a');
    s.metadata = {
      ...s.metadata,
      annotations: { 'svcnet.io/lb-algorithm': 'least-connections', 'svcnet.io/connect-retries': '5' },
    };
    const p = servicePortsOf(s).get(key);
    assert.equal(p?.lbAlgorithm, 'least-connections');
    assert.equal(p?.connectRetries, 5);
    s.metadata.annotations = { 'svcnet.io/lb-algorithm': 'fastest', 'svcnet.io/connect-retries': '-1' };
    assert.equal(servicePortsOf(s).get(key)?.lbAlgorithm, 'random');
    assert.equal(servicePortsOf(s).get(key)?.connectRetries, 2);
  });
});

describe('EndpointsChangeTracker', () => {
  it('merges slices of one service and dedupes addresses', () => {
    const eps = endpointsOfSlices(
      [slice('s1', 'a', ['10.1.0.1', '10.1.0.2']), slice('s2', 'a', ['10.1.0.2', '10.1.0.3'])],
      'n1',
    );
    assert.deepEqual(
      eps.get(key)?.map((e) => e.key),
      ['10.1.0.1:8080', '10.1.0.2:8080', '10.1.0.3:8080'],
    );
    assert.equal(eps.get(key)?.[0]?.isLocal, true);
  });

  it('collapses add+delete and changes that end where they began', () => {
    const t = new EndpointsChangeTracker('n1', () => 5);
    const s = slice('s1', 'a', ['10.1.0.1']);
    assert.equal(t.update(undefined, s), true);
    assert.equal(t.update(s, undefined), false);
    assert.equal(t.pendingCount(), 0);
    t.update(undefined, s);
    t.take();
    const s2 = slice('s1', 'a', ['10.1.0.2']);
    assert.equal(t.update(s, s2), true);
    assert.equal(t.update(s2, s), false);
  });

  it('a slice moving to another service is a delete plus an add', () => {
    const t = new EndpointsChangeTracker('n1');
    const s = slice('s1', 'a', ['10.1.0.1']);
    t.update(undefined, s);
    t.take();
    t.update(s, slice('s1', 'b', ['10.1.0.1']));
    const ch = t.take();
    assert.equal(ch.get('ns/a' as never)?.current.size, 0);
    assert.equal(ch.get('ns/b' as never)?.current.get('ns/b:http/TCP' as ServicePortKey)?.length, 1);
  });

  it('uses the slice trigger-time annotation for network programming latency', () => {
    const t = new EndpointsChangeTracker('n1', () => 999_999_999_999);
    const s = slice('s1', 'a', ['10.1.0.1']);
    s.metadata = {
      ...s.metadata,
      annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': '2024-01-01T00:00:00Z' },
    };
    t.update(undefined, s);
    assert.equal(t.take().get('ns/a' as never)?.triggerTimeMs, Date.parse('2024-01-01T00:00:00Z'));
  });
});

describe('ProxyState', () => {
  it('reports UDP newly-active service ports and stale UDP endpoints (5.25)', () => {
    const st = new ProxyState();
    const svcs = new ServiceChangeTracker();
    const eps = new EndpointsChangeTracker('n1');
    svcs.update(undefined, svc('a', { ports: [{ name: 'http', port: 53, protocol: 'UDP' }] }));
    st.apply(svcs.take(), eps.take(), true);
    const s1 = slice('s1', 'a', ['10.1.0.1', '10.1.0.2'], 'UDP');
    eps.update(undefined, s1);
    const c1 = st.apply(svcs.take(), eps.take(), false);
    assert.deepEqual(c1.newlyActiveUDP, ['ns/a:http/UDP']);
    eps.update(s1, slice('s1', 'a', ['10.1.0.2'], 'UDP'));
    const c2 = st.apply(svcs.take(), eps.take(), false);
    assert.deepEqual(c2.newlyActiveUDP, []);
    assert.deepEqual(
      c2.staleUDPEndpoints.map((s) => s.endpoint.key),
      ['10.1.0.1:8080'],
    );
    const snap = st.snapshot(node, [], true);
    assert.equal(snap.endpoints.get('ns/a:http/UDP' as ServicePortKey)?.length, 1);
    assert.ok(Object.isFrozen(snap));
  });
});
