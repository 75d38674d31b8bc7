// @kubernetes/client-node 1.4.0 (the official JavaScript client) against svcnet: typed list,
// an informer that sees add/update/delete and survives a 410 by relisting, and server-side apply
// (the patch type GitOps tools built on it send).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { startTestApiServer, type TestApiServer } from './helpers/apiserver.ts';

function svc(name: string): k8s.V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name },
    spec: { ports: [{ port: 80 }], selector: { app: name } },
  };
}

async function waitFor(cond: () => boolean, what: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('@kubernetes/client-node 1.4.0', () => {
  let s: TestApiServer;
  let kc: k8s.KubeConfig;
  let core: k8s.CoreV1Api;
  const requests: string[] = [];
  const lists = () =>
    requests.filter((l) => /^GET \/api\/v1\/namespaces\/default\/services(\?(?!.*watch=true)\S*)? 200/.test(l)).length;
  before(async () => {
    // A short watch timeout and a tiny history window make the informer re-watch from an
    // expired resourceVersion within the test.
    s = await startTestApiServer({ minRequestTimeoutSeconds: 0.5, historyLimit: 10, log: (l) => requests.push(l) });
    kc = new k8s.KubeConfig();
    kc.loadFromFile(s.kubeconfig);
    core = kc.makeApiClient(k8s.CoreV1Api);
  });
  after(async () => {
    await s.close();
  });

  it('creates and lists through the typed client', async () => {
    const created = await core.createNamespacedService({ namespace: 'default', body: svc('typed') });
    assert.match(created.spec?.clusterIP ?? '', /^10\./);
    const list = await core.listNamespacedService({ namespace: 'default' });
    assert.ok(list.items.some((i) => i.metadata?.name === 'typed'));
  });

  it('informer sees add, update, delete and relists after 410 Gone', async () => {
    const seen: string[] = [];
    const informer = k8s.makeInformer(kc, '/api/v1/namespaces/default/services', () =>
      core.listNamespacedService({ namespace: 'default' }),
    );
    informer.on('add', (o) => seen.push(`add:${o.metadata?.name}`));
    informer.on('update', (o) => seen.push(`update:${o.metadata?.name}`));
    informer.on('delete', (o) => seen.push(`delete:${o.metadata?.name}`));
    const errors: unknown[] = [];
    informer.on('error', (e) => errors.push(e));
    await informer.start();
    try {
      await waitFor(() => seen.includes('add:kubernetes'), 'initial list');
      await core.createNamespacedService({ namespace: 'default', body: svc('inf') });
      await waitFor(() => seen.includes('add:inf'), 'add');
      await core.patchNamespacedService(
        { namespace: 'default', name: 'inf', body: { metadata: { labels: { v: '2' } } } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
      await waitFor(() => seen.includes('update:inf'), 'update');
      await core.deleteNamespacedService({ namespace: 'default', name: 'inf' });
      await waitFor(() => seen.includes('delete:inf'), 'delete');

      // Push the global revision past the 10-event window with writes the informer does not
      // watch, and create a Service behind its back in the store: only a relist can find it.
      for (let i = 0; i < 20; i++) {
        await s.store.create(
          { resource: 'events', namespace: 'default', name: `filler-${i}` },
          {
            apiVersion: 'v1',
            kind: 'Event',
            metadata: { name: `filler-${i}`, namespace: 'default' },
            involvedObject: {},
          },
        );
      }
      const listsBefore = lists();
      // The next watch timeout makes the informer re-watch from an expired version: 410, relist.
      await waitFor(() => lists() > listsBefore, 'relist after 410');
      await core.createNamespacedService({ namespace: 'default', body: svc('after-410') });
      await waitFor(() => seen.includes('add:after-410'), 'add after relist');
      assert.deepEqual(errors, []);
    } finally {
      await informer.stop();
    }
  });

  it('server-side apply: create, conflict 409 with causes, forced takeover', async () => {
    const ssa = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.ServerSideApply);
    const body = (targetPort: number): k8s.V1Service => ({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'ssa', namespace: 'default' },
      spec: { ports: [{ port: 80, targetPort }], selector: { app: 'ssa' } },
    });
    const created = await core.patchNamespacedService(
      { namespace: 'default', name: 'ssa', body: body(8080), fieldManager: 'helm' },
      ssa,
    );
    assert.equal(created.metadata?.managedFields?.[0]?.manager, 'helm');
    assert.equal(created.metadata?.managedFields?.[0]?.operation, 'Apply');
    await assert.rejects(
      core.patchNamespacedService({ namespace: 'default', name: 'ssa', body: body(9090), fieldManager: 'flux' }, ssa),
      (e: unknown) => {
        const err = e as { code?: number; body?: string };
        assert.equal(err.code, 409);
        const st = JSON.parse(err.body ?? '{}');
        assert.equal(
          st.message,
          'Apply failed with 1 conflict: conflict with "helm": .spec.ports[port=80,protocol="TCP"].targetPort',
        );
        assert.equal(st.details.causes[0].reason, 'FieldManagerConflict');
        return true;
      },
    );
    const forced = await core.patchNamespacedService(
      { namespace: 'default', name: 'ssa', body: body(9090), fieldManager: 'flux', force: true },
      ssa,
    );
    assert.equal(forced.spec?.ports?.[0]?.targetPort, 9090);
    assert.deepEqual(forced.metadata?.managedFields?.map((m) => m.manager).sort(), ['flux', 'helm']);
  });
});
