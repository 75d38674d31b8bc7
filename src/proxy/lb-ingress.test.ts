// status.loadBalancer.ingress checks: the pure policy, then the agent core against a real
// in-process API server (Services, IPAddressPools, Events) with a plane that records what it is
// given. Real traffic through every plane: test/proxy-churn.test.ts.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Event, KubeObject, Service } from '../api/types.ts';
import { createInProcessCluster, type InProcessCluster } from '../client/cluster.ts';
import { type Agent, startAgent } from './agent.ts';
import { checkLoadBalancerIP, type LoadBalancerIPPolicy, poolRangesOf } from './lb-ingress.ts';
import type { DataPlane } from './plane.ts';
import { loadBalancerIngressOf } from './services.ts';
import type { ProxySnapshot } from './snapshot.ts';

const policy: LoadBalancerIPPolicy = {
  allowCIDRs: ['198.51.100.0/24', '2001:db8:1::/64'],
  poolRanges: poolRangesOf([
    { spec: { addresses: ['192.0.2.0/28', '192.0.2.100-192.0.2.110', '2001:db8::/120'] } },
  ] as never),
  serviceCIDRs: ['10.96.0.0/12', 'fd00:96::/112'],
};

describe('load balancer ingress policy', () => {
  it('accepts pool and allow-listed addresses', () => {
    for (const ip of ['192.0.2.1', '192.0.2.15', '192.0.2.105', '2001:db8::ff', '198.51.100.7', '2001:db8:1::9']) {
      assert.equal(checkLoadBalancerIP(ip, policy), undefined, ip);
    }
  });
  it('refuses addresses in no pool and not allowed', () => {
    for (const ip of ['192.0.2.16', '192.0.2.111', '203.0.113.5', '2001:db8::100']) {
      assert.equal(checkLoadBalancerIP(ip, policy), 'not-allowed', ip);
    }
  });
  it('refuses special and service-CIDR addresses even when a pool or the allow-list covers them', () => {
    const wide: LoadBalancerIPPolicy = { ...policy, allowCIDRs: ['0.0.0.0/0', '::/0'] };
    const cases: [string, string][] = [
      ['127.0.0.1', 'loopback'],
      ['127.1.2.3', 'loopback'],
      ['::1', 'loopback'],
      ['::ffff:127.0.0.1', 'loopback'],
      ['169.254.169.254', 'metadata'],
      ['fd00:ec2::254', 'metadata'],
      ['169.254.10.1', 'link-local'],
      ['fe80::1', 'link-local'],
      ['0.0.0.0', 'unspecified'],
      ['::', 'unspecified'],
      ['224.0.0.251', 'multicast'],
      ['ff02::1', 'multicast'],
      ['255.255.255.255', 'broadcast'],
      ['240.0.0.1', 'reserved'],
      ['10.96.0.10', 'service-cidr'],
      ['fd00:96::a', 'service-cidr'],
      ['not-an-ip', 'invalid'],
    ];
    for (const [ip, why] of cases) assert.equal(checkLoadBalancerIP(ip, wide), why, ip);
  });
  it('without a policy only special addresses are refused', () => {
    assert.equal(checkLoadBalancerIP('203.0.113.5', undefined), undefined);
    assert.equal(checkLoadBalancerIP('127.0.0.1', undefined), 'loopback');
  });
  it('ipMode Proxy entries and hostnames are neither programmed nor reported', () => {
    const svc = {
      spec: { type: 'LoadBalancer' },
      status: { loadBalancer: { ingress: [{ hostname: 'lb.example' }, { ip: '127.0.0.1', ipMode: 'Proxy' }] } },
    } as Service;
    assert.deepEqual(loadBalancerIngressOf(svc), { accepted: [], rejected: [] });
  });
});

class RecordingPlane implements DataPlane {
  readonly name = 'recording';
  last: ProxySnapshot | undefined;
  async sync(s: ProxySnapshot): Promise<void> {
    this.last = s;
  }
  async stop(): Promise<void> {}
}

describe('agent: ingress IPs through the shared Service conversion', () => {
  let cluster: InProcessCluster;
  let agent: Agent;
  const plane = new RecordingPlane();
  before(async () => {
    cluster = await createInProcessCluster();
    await cluster.client.create('ipaddresspools', {
      apiVersion: 'metallb.io/v1beta1',
      kind: 'IPAddressPool',
      metadata: { name: 'pool', namespace: 'metallb-system' },
      spec: { addresses: ['192.0.2.0/28'] },
    } as never);
    agent = await startAgent({
      client: cluster.client,
      nodeName: 'node-a',
      nodeIPs: ['10.0.0.10'],
      plane,
      minSyncIntervalMs: 10,
      healthz: null,
      serviceCIDRs: ['10.96.0.0/12'],
      loadBalancerIPAllowCIDRs: ['198.51.100.0/24'],
    });
    await agent.waitForSnapshot(() => true);
  });
  after(async () => {
    await agent?.stop();
    await cluster?.close();
  });

  const lbIPs = (s: ProxySnapshot) => s.services.get('default/lb:http/TCP' as never)?.loadBalancerIPs ?? [];
  const rejections = async () =>
    (await cluster.client.list<Event & KubeObject>('events', { namespace: 'default' })).items.filter(
      (e) => e.reason === 'RejectedLoadBalancerIP',
    );

  it('programs pool and allow-listed IPs only; each rejected one is a Warning Event, recorded once', async () => {
    const svc = await cluster.client.create<Service & KubeObject>('services', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { namespace: 'default', name: 'lb' },
      spec: { type: 'LoadBalancer', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
    } as never);
    const other = await cluster.client.create<Service & KubeObject>('services', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { namespace: 'default', name: 'victim' },
      spec: { ports: [{ port: 80, protocol: 'TCP' }] },
    } as never);
    const victimIP = other.spec?.clusterIP ?? '';
    const ingress = ['192.0.2.3', '198.51.100.9', '127.0.0.1', '169.254.169.254', victimIP, '203.0.113.1'];
    await cluster.client.updateStatus('services', {
      ...svc,
      status: { loadBalancer: { ingress: ingress.map((ip) => ({ ip, ipMode: 'VIP' })) } },
    } as never);
    const snap = await agent.waitForSnapshot((s) => lbIPs(s).length > 0);
    assert.deepEqual([...lbIPs(snap)], ['192.0.2.3', '198.51.100.9']);
    let evs: (Event & KubeObject)[] = [];
    for (let i = 0; i < 50 && evs.length < 4; i++) {
      evs = await rejections();
      await new Promise((r) => setTimeout(r, 20));
    }
    const msgs = evs.map((e) => e.message ?? '').sort();
    assert.equal(msgs.length, 4, msgs.join('\n'));
    assert.ok(evs.every((e) => e.type === 'Warning' && e.involvedObject?.name === 'lb'));
    assert.ok(msgs.some((m) => m.includes('127.0.0.1') && m.includes('loopback')));
    assert.ok(msgs.some((m) => m.includes('169.254.169.254') && m.includes('metadata')));
    assert.ok(msgs.some((m) => m.includes(victimIP) && m.includes('service CIDR')));
    assert.ok(msgs.some((m) => m.includes('203.0.113.1') && m.includes('--lb-ip-allow')));
    // A later change of the Service does not repeat the Events (the recorder dedupes).
    const cur = await cluster.client.get<Service & KubeObject>('services', 'default', 'lb');
    await cluster.client.update('services', {
      ...cur,
      metadata: { ...cur.metadata, labels: { touched: 'yes' } },
    } as never);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal((await rejections()).length, 4);
  });

  it('a pool created later makes its addresses programmable', async () => {
    assert.ok(!lbIPs(agent.snapshot() as ProxySnapshot).includes('203.0.113.1'));
    await cluster.client.create('ipaddresspools', {
      apiVersion: 'metallb.io/v1beta1',
      kind: 'IPAddressPool',
      metadata: { name: 'late', namespace: 'metallb-system' },
      spec: { addresses: ['203.0.113.0/30'] },
    } as never);
    const snap = await agent.waitForSnapshot((s) => lbIPs(s).includes('203.0.113.1'));
    assert.deepEqual([...lbIPs(snap)].sort(), ['192.0.2.3', '198.51.100.9', '203.0.113.1']);
  });
});
