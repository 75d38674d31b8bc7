import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Node, Service } from '../../api/types.ts';
import { finalizerKeys } from '../../api/well-known.ts';
import { svc } from '../loadbalancer/testing.ts';
import { FakeProvider } from './fake.ts';
import { eligibleNodes, nodeSetKey, shouldSyncUpdatedNode } from './nodes.ts';
import { defaultLoadBalancerName, ImplementedElsewhereError } from './provider.ts';
import { needsCleanup, needsUpdate, wantsLoadBalancer } from './service.ts';
import { type SyncDeps, syncService, updateNodes } from './sync.ts';

function node(name: string, o: { ready?: boolean; ip?: string; labels?: Record<string, string>; taint?: string } = {}) {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: o.labels ?? {} },
    spec: o.taint ? { taints: [{ key: o.taint, effect: 'NoSchedule' as const }] } : {},
    status: {
      conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True' }],
      addresses: [{ type: 'InternalIP', address: o.ip ?? '192.168.0.1' }],
    },
  } satisfies Node;
}

/** Deps that record API writes and Events in one log, in order. */
function fakeDeps(provider: FakeProvider, nodes: Node[] = [node('n1')]) {
  const log: string[] = [];
  const deps: SyncDeps = {
    clusterName: 'kubernetes',
    provider,
    own: { classless: true },
    nodes: () => eligibleNodes(nodes),
    async addFinalizer(s) {
      log.push('addFinalizer');
      const f = s.metadata?.finalizers ?? [];
      return f.includes(finalizerKeys.loadBalancerCleanup)
        ? s
        : { ...s, metadata: { ...s.metadata, finalizers: [...f, finalizerKeys.loadBalancerCleanup] } };
    },
    async removeFinalizer() {
      log.push('removeFinalizer');
    },
    async patchStatus(_s, st) {
      log.push(`status ${JSON.stringify(st.ingress ?? [])}`);
    },
    async event(_s, type, reason) {
      log.push(`${type} ${reason}`);
    },
  };
  return { deps, log };
}

const withFinalizer = (s: Service, deleting = false): Service => ({
  ...s,
  metadata: {
    ...s.metadata,
    finalizers: [finalizerKeys.loadBalancerCleanup],
    ...(deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}),
  },
});

describe('service controller sync', () => {
  it('ensures: Event, finalizer before the balancer, status last', async () => {
    const p = new FakeProvider();
    const { deps, log } = fakeDeps(p, [node('n1'), node('n2', { ready: false })]);
    const out = await syncService(svc('a'), false, deps);
    assert.equal(out.op, 'ensured');
    assert.equal(out.result.kind, 'ok');
    assert.deepEqual(log, [
      'Normal EnsuringLoadBalancer',
      'addFinalizer',
      'Normal EnsuredLoadBalancer',
      'status [{"ip":"203.0.113.10","ipMode":"Proxy"}]',
    ]);
    assert.deepEqual(
      p.calls.map((c) => [c.method, c.nodes]),
      [['ensure', ['n1']]],
    );
  });

  it('does not rewrite a status that is already right', async () => {
    const p = new FakeProvider();
    const { deps, log } = fakeDeps(p);
    await syncService(svc('a'), false, deps);
    log.length = 0;
    const shown = {
      ...withFinalizer(svc('a')),
      status: { loadBalancer: { ingress: [{ ip: '203.0.113.10', ipMode: 'Proxy' as const }] } },
    };
    await syncService(shown, true, deps);
    assert.deepEqual(log, ['Normal EnsuringLoadBalancer', 'addFinalizer', 'Normal EnsuredLoadBalancer']);
  });

  it('warns when no node is eligible, and still ensures', async () => {
    const p = new FakeProvider();
    const { deps, log } = fakeDeps(p, [
      node('n1', { labels: { 'node.kubernetes.io/exclude-from-external-load-balancers': '' } }),
    ]);
    const out = await syncService(svc('a'), false, deps);
    assert.equal(out.result.kind, 'ok');
    assert.ok(log.includes('Warning UnAvailableLoadBalancer'));
    assert.deepEqual(p.calls[0]?.nodes, []);
  });

  it('a provider failure is SyncLoadBalancerFailed and a retry, with no status', async () => {
    const p = new FakeProvider();
    p.failNext('ensure', new Error('quota exceeded'));
    const { deps, log } = fakeDeps(p);
    const out = await syncService(svc('a'), false, deps);
    assert.equal(out.result.kind, 'retry');
    assert.match(
      out.result.kind === 'retry' ? out.result.reason : '',
      /failed to ensure load balancer: quota exceeded/,
    );
    assert.deepEqual(log, ['Normal EnsuringLoadBalancer', 'addFinalizer', 'Warning SyncLoadBalancerFailed']);
  });

  it('deletes a balancer before releasing the finalizer; a failed delete keeps it', async () => {
    const p = new FakeProvider();
    const { deps, log } = fakeDeps(p);
    await syncService(svc('a'), false, deps);
    log.length = 0;
    p.failNext('delete', new Error('api down'));
    const deleting = withFinalizer(svc('a'), true);
    const failed = await syncService(deleting, true, deps);
    assert.equal(failed.result.kind, 'retry');
    assert.deepEqual(log, ['Normal DeletingLoadBalancer', 'Warning SyncLoadBalancerFailed']);
    log.length = 0;
    const out = await syncService(deleting, true, deps);
    assert.equal(out.op, 'deleted');
    assert.equal(out.result.kind, 'ok');
    // No status write for a Service on its way out.
    assert.deepEqual(log, ['Normal DeletingLoadBalancer', 'removeFinalizer', 'Normal DeletedLoadBalancer']);
    assert.equal(p.balancers.size, 0);
  });

  it('a Service that stopped being a LoadBalancer is cleaned up and its status cleared', async () => {
    const p = new FakeProvider();
    const { deps, log } = fakeDeps(p);
    await syncService(svc('a'), false, deps);
    log.length = 0;
    const nowNodePort = {
      ...withFinalizer(svc('a', { type: 'NodePort' })),
      status: { loadBalancer: { ingress: [{ ip: '203.0.113.10' }] } },
    };
    const out = await syncService(nowNodePort, true, deps);
    assert.equal(out.op, 'deleted');
    assert.deepEqual(log, [
      'Normal DeletingLoadBalancer',
      'removeFinalizer',
      'Normal DeletedLoadBalancer',
      'status []',
    ]);
  });

  it('leaves a Service of another class alone: no call, no write', async () => {
    const p = new FakeProvider();
    const { deps, log } = fakeDeps(p);
    const out = await syncService(svc('a', { loadBalancerClass: 'example.com/other' }), false, deps);
    assert.equal(out.op, 'skipped');
    assert.deepEqual(log, []);
    assert.deepEqual(p.calls, []);
  });

  it('ImplementedElsewhere: no retry, no status', async () => {
    const p = new FakeProvider();
    p.failNext('ensure', new ImplementedElsewhereError());
    const { deps, log } = fakeDeps(p);
    const out = await syncService(svc('a'), false, deps);
    assert.equal(out.op, 'elsewhere');
    assert.equal(out.result.kind, 'ok');
    assert.deepEqual(log, ['Normal EnsuringLoadBalancer', 'addFinalizer']);
  });

  it('node updates: UpdatedLoadBalancer, or UpdateLoadBalancerFailed naming the hosts', async () => {
    const p = new FakeProvider();
    const { deps, log } = fakeDeps(p);
    await syncService(svc('a'), false, deps);
    log.length = 0;
    assert.equal(await updateNodes(svc('a'), [node('n1'), node('n2')], deps), true);
    p.failNext('update', new Error('boom'));
    assert.equal(await updateNodes(svc('a'), [node('n3')], deps), false);
    assert.deepEqual(log, ['Normal UpdatedLoadBalancer', 'Warning UpdateLoadBalancerFailed']);
    assert.deepEqual([...p.balancers.values()][0]?.nodes, ['n1', 'n2']);
  });
});

describe('service controller rules', () => {
  const own = { classless: true, loadBalancerClass: 'svcnet.io/fake' };
  it('owns class-less Services and its own class only', () => {
    assert.equal(wantsLoadBalancer(svc('a'), own), true);
    assert.equal(wantsLoadBalancer(svc('a', { loadBalancerClass: 'svcnet.io/fake' }), own), true);
    assert.equal(wantsLoadBalancer(svc('a', { loadBalancerClass: 'svcnet.io/ipam' }), own), false);
    assert.equal(wantsLoadBalancer(svc('a'), { classless: false, loadBalancerClass: 'svcnet.io/fake' }), false);
    assert.equal(wantsLoadBalancer(svc('a', { type: 'ClusterIP' }), own), false);
  });
  it('cleanup needs our finalizer', () => {
    assert.equal(needsCleanup(svc('a', { type: 'ClusterIP' }), own), false);
    assert.equal(needsCleanup(withFinalizer(svc('a', { type: 'ClusterIP' })), own), true);
    assert.equal(needsCleanup(withFinalizer(svc('a'), true), own), true);
    assert.equal(needsCleanup(withFinalizer(svc('a')), own), false);
  });
  it('needsUpdate: status and finalizer writes are no reason, spec changes are, with the CCM Events', () => {
    const a = svc('a');
    const statusOnly = { ...withFinalizer(a), status: { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } } };
    assert.deepEqual(needsUpdate(a, statusOnly, own), { update: false, events: [] });
    assert.deepEqual(needsUpdate(a, svc('a', { type: 'NodePort' }), own), {
      update: true,
      events: [{ type: 'Normal', reason: 'Type', message: 'LoadBalancer -> NodePort' }],
    });
    assert.equal(needsUpdate(a, svc('a', { ports: [81] }), own).update, true);
    assert.equal(needsUpdate(a, svc('a', { etp: 'Local' }), own).update, true);
    assert.equal(needsUpdate(a, svc('a', { annotations: { x: 'y' } }), own).update, true);
    assert.equal(needsUpdate(a, svc('a', { loadBalancerIP: '1.1.1.1' }), own).events[0]?.reason, 'LoadbalancerIP');
    assert.equal(needsUpdate(svc('a', { type: 'NodePort' }), svc('a', { type: 'ClusterIP' }), own).update, false);
  });
  it('node set: Ready, not excluded, not being autoscaled away; IPs count', () => {
    const ns = [
      node('b', { ip: '10.0.0.2' }),
      node('a', { ip: '10.0.0.1' }),
      node('c', { ready: false }),
      node('d', { labels: { 'node.kubernetes.io/exclude-from-external-load-balancers': 'true' } }),
      node('e', { taint: 'ToBeDeletedByClusterAutoscaler' }),
    ];
    assert.equal(nodeSetKey(eligibleNodes(ns)), 'a=10.0.0.1@,b=10.0.0.2@');
    assert.equal(shouldSyncUpdatedNode(node('a'), node('a', { ready: false })), true);
    assert.equal(shouldSyncUpdatedNode(node('a'), node('a', { ip: '10.9.9.9' })), true);
    assert.equal(shouldSyncUpdatedNode(node('a'), node('a', { labels: { other: 'x' } })), false);
  });
  it('default balancer name: a + UID without dashes, 32 characters', () => {
    const s = { ...svc('a'), metadata: { name: 'a', uid: '12345678-1234-1234-1234-1234567890ab' } };
    assert.equal(defaultLoadBalancerName(s), 'a123456781234123412341234567890a');
    assert.equal(defaultLoadBalancerName(s).length, 32);
  });
});
