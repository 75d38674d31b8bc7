// The service controller against the real apiserver registry (in-process, memory store) with
// the fake provider: finalizer and deletion, node-set changes, retries with back-off, Events,
// and ownership by loadBalancerClass side by side with the MetalLB-style IPAM.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { KubeObject, Node, Service } from '../src/api/types.ts';
import { finalizerKeys, loadBalancerClasses } from '../src/api/well-known.ts';
import { createInProcessCluster, type InProcessCluster } from '../src/client/cluster.ts';
import { type ServiceController, startServiceController } from '../src/controllers/lbprovider/controller.ts';
import { FakeProvider } from '../src/controllers/lbprovider/fake.ts';
import {
  type LoadBalancerController,
  startLoadBalancerController,
} from '../src/controllers/loadbalancer/controller.ts';
import { eventually } from './helpers/eventually.ts';

type Svc = Service & KubeObject;

describe('service controller with a provider', () => {
  let c: InProcessCluster;
  let ctrl: ServiceController;
  let ipam: LoadBalancerController;
  const provider = new FakeProvider();
  const errors: unknown[] = [];

  const createNode = async (name: string, ip: string) => {
    await c.client.create<Node & KubeObject>('nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name } });
    await setNode(name, { ready: true, ip });
  };
  const setNode = async (name: string, o: { ready: boolean; ip: string }) => {
    await c.client.patch(
      'nodes',
      '',
      name,
      'merge',
      {
        status: {
          conditions: [{ type: 'Ready', status: o.ready ? 'True' : 'False' }],
          addresses: [{ type: 'InternalIP', address: o.ip }],
        },
      },
      { subresource: 'status' },
    );
  };
  const createSvc = (name: string, cls?: string) =>
    c.client.create<Svc>('services', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: 'default' },
      spec: {
        type: 'LoadBalancer',
        selector: { app: name },
        ports: [{ port: 80, protocol: 'TCP' }],
        ...(cls ? { loadBalancerClass: cls } : {}),
      },
    });
  const getSvc = (name: string) => c.client.get<Svc>('services', 'default', name);
  const reasons = async (name: string) =>
    (await c.client.list<KubeObject>('events', { namespace: 'default' })).items
      .filter((e) => (e.involvedObject as { name?: string }).name === name)
      .map((e) => e.reason as string);
  const ingressIP = (s: Svc) => s.status?.loadBalancer?.ingress?.[0]?.ip;

  before(async () => {
    c = await createInProcessCluster();
    await c.client.create('ipaddresspools', {
      apiVersion: 'metallb.io/v1beta1',
      kind: 'IPAddressPool',
      metadata: { name: 'p', namespace: 'metallb-system' },
      spec: { addresses: ['192.0.2.10-192.0.2.19'] },
    } as KubeObject);
    await createNode('n1', '10.0.0.1');
    await createNode('n2', '10.0.0.2');
    ctrl = startServiceController(c.client, {
      provider,
      own: { classless: true, loadBalancerClass: loadBalancerClasses.provider('fake') },
      minRetryDelayMs: 50,
      maxRetryDelayMs: 400,
      onError: (e) => errors.push(e),
    });
    ipam = startLoadBalancerController(c.client, { loadBalancerClass: loadBalancerClasses.ipam, classless: false });
    await Promise.all([ctrl.synced(), ipam.synced()]);
  });
  after(async () => {
    await ctrl?.stop();
    await ipam?.stop();
    await c?.close();
  });

  it('ensures a balancer, adds the finalizer and publishes the status', async () => {
    await createSvc('web');
    const s = await eventually('web status', async () => {
      const s = await getSvc('web');
      return ingressIP(s) ? s : undefined;
    });
    assert.match(ingressIP(s) ?? '', /^203\.0\.113\./);
    assert.equal(s.status?.loadBalancer?.ingress?.[0]?.ipMode, 'Proxy');
    assert.deepEqual(s.metadata.finalizers, [finalizerKeys.loadBalancerCleanup]);
    const lb = [...provider.balancers.values()].find((b) => b.service === 'default/web');
    assert.deepEqual(lb?.nodes, ['n1', 'n2']);
    await eventually('events', async () => {
      const r = await reasons('web');
      return r.includes('EnsuredLoadBalancer') ? r : undefined;
    });
    // Events list by name, not time: compare as a set.
    assert.deepEqual((await reasons('web')).sort(), ['EnsuredLoadBalancer', 'EnsuringLoadBalancer']);
  });

  it('follows the node set: NotReady, excluded and re-addressed nodes', async () => {
    const lbNodes = () => [...provider.balancers.values()].find((b) => b.service === 'default/web')?.nodes.join(',');
    await setNode('n2', { ready: false, ip: '10.0.0.2' });
    await eventually('n2 out', async () => (lbNodes() === 'n1' ? true : undefined));
    await setNode('n2', { ready: true, ip: '10.0.0.2' });
    await eventually('n2 back', async () => (lbNodes() === 'n1,n2' ? true : undefined));
    await c.client.patch('nodes', '', 'n1', 'merge', {
      metadata: { labels: { 'node.kubernetes.io/exclude-from-external-load-balancers': '' } },
    });
    await eventually('n1 excluded', async () => (lbNodes() === 'n2' ? true : undefined));
    const before = provider.calls.filter((x) => x.method === 'update').length;
    await setNode('n2', { ready: true, ip: '10.0.0.22' });
    await eventually('update on IP change', async () =>
      provider.calls.filter((x) => x.method === 'update').length > before ? true : undefined,
    );
    assert.ok((await reasons('web')).includes('UpdatedLoadBalancer'));
    await c.client.patch('nodes', '', 'n1', 'merge', {
      metadata: { labels: { 'node.kubernetes.io/exclude-from-external-load-balancers': null } },
    });
    await eventually('n1 back', async () => (lbNodes() === 'n1,n2' ? true : undefined));
  });

  it('retries a failing provider with back-off and says so in Events', async () => {
    provider.failNext('ensure', new Error('quota exceeded'), 3);
    const t0 = Date.now();
    await createSvc('flaky');
    const s = await eventually('flaky status', async () => {
      const s = await getSvc('flaky');
      return ingressIP(s) ? s : undefined;
    });
    // 50 + 100 + 200 ms of back-off at least.
    assert.ok(Date.now() - t0 >= 350, `${Date.now() - t0} ms`);
    assert.ok(ingressIP(s));
    await eventually('failure events', async () => {
      const r = await reasons('flaky');
      return r.includes('SyncLoadBalancerFailed') && r.includes('EnsuredLoadBalancer') ? r : undefined;
    });
    const ev = (await c.client.list<KubeObject>('events', { namespace: 'default' })).items.find(
      (e) => e.reason === 'SyncLoadBalancerFailed',
    );
    assert.equal(ev?.message, 'Error syncing load balancer: failed to ensure load balancer: quota exceeded');
    assert.equal(ev?.count, 3);
  });

  it('a delete waits for the balancer to go, then the finalizer is released', async () => {
    provider.failNext('delete', new Error('api down'), 2);
    await c.client.delete('services', 'default', 'flaky');
    const marked = await getSvc('flaky');
    assert.ok(marked.metadata.deletionTimestamp, 'held by the finalizer');
    await eventually('flaky gone', async () => {
      try {
        await getSvc('flaky');
        return undefined;
      } catch (e) {
        return (e as { code?: number }).code === 404 ? true : undefined;
      }
    });
    assert.equal(
      [...provider.balancers.values()].some((b) => b.service === 'default/flaky'),
      false,
    );
    assert.equal(provider.calls.filter((x) => x.method === 'delete' && x.service === 'default/flaky').length, 3);
  });

  it('LoadBalancer → ClusterIP deletes the balancer and drops the finalizer', async () => {
    await c.client.patch('services', 'default', 'web', 'merge', { spec: { type: 'ClusterIP' } });
    const s = await eventually('web cleaned', async () => {
      const s = await getSvc('web');
      return s.metadata.finalizers?.length ? undefined : s;
    });
    assert.equal(ingressIP(s), undefined);
    assert.equal(
      [...provider.balancers.values()].some((b) => b.service === 'default/web'),
      false,
    );
    assert.ok((await reasons('web')).includes('DeletedLoadBalancer'));
  });

  it('side by side by class: the IPAM serves its class, the provider never touches it', async () => {
    await createSvc('pooled', loadBalancerClasses.ipam);
    await createSvc('foreign', 'example.com/elsewhere');
    const s = await eventually('pooled IP', async () => {
      const s = await getSvc('pooled');
      return ingressIP(s) ? s : undefined;
    });
    assert.equal(ingressIP(s), '192.0.2.10');
    assert.equal(s.metadata.finalizers, undefined);
    await ctrl.idle();
    const f = await getSvc('foreign');
    assert.equal(ingressIP(f), undefined);
    assert.equal(f.metadata.finalizers, undefined);
    assert.equal(
      provider.calls.some((x) => x.service === 'default/pooled' || x.service === 'default/foreign'),
      false,
    );
    // A class-less Service is the provider's, and the IPAM leaves it alone.
    await createSvc('mine');
    const m = await eventually('mine IP', async () => {
      const m = await getSvc('mine');
      return ingressIP(m) ? m : undefined;
    });
    assert.match(ingressIP(m) ?? '', /^203\.0\.113\./);
    // Only the failures the test injected were reported.
    assert.deepEqual(
      errors.map(String).filter((e) => !/quota exceeded|api down/.test(e)),
      [],
    );
  });
});
