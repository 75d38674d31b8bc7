// The Deployment controller end to end: in-process against the registry a real HTTPS API
// server serves, driven by real kubectl. No pod runner runs here: the test plays kubelet and
// marks pods Ready through the status subresource.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Deployment, KubeObject, Node, Pod } from '../src/api/types.ts';
import { InProcessClient } from '../src/client/in-process.ts';
import { type GarbageCollector, startGarbageCollector } from '../src/controllers/gc/controller.ts';
import { type DeploymentController, startDeploymentController } from '../src/controllers/workloads/controller.ts';
import { safeAlphabet } from '../src/controllers/workloads/hash.ts';
import { startTestApiServer, type TestApiServer } from './helpers/apiserver.ts';
import { eventually } from './helpers/eventually.ts';

type Obj<T> = T & KubeObject;

const nowISO = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const isReady = (p: Pod) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
const hashOf = (p: Pod) => p.metadata?.labels?.['pod-template-hash'] ?? '';

describe('Deployment controller with kubectl', () => {
  let s: TestApiServer;
  let client: InProcessClient;
  let ctrl: DeploymentController;
  let gc: GarbageCollector;
  const errors: unknown[] = [];

  const webPods = async (): Promise<Obj<Pod>[]> =>
    (await client.list<Obj<Pod>>('pods', { namespace: 'default', labelSelector: 'app=web' })).items.filter(
      (p) => !p.metadata.deletionTimestamp,
    );
  const markReady = async (p: Obj<Pod>) => {
    const cur = await client.get<Obj<Pod>>('pods', 'default', p.metadata.name ?? '');
    await client.updateStatus('pods', {
      ...cur,
      status: {
        ...(cur.status ?? {}),
        phase: 'Running',
        conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: nowISO() }],
      },
    });
  };
  const deployment = () => client.get<Obj<Deployment>>('deployments', 'default', 'web');
  const waitPods = (n: number, pred: (ps: Obj<Pod>[]) => boolean = () => true) =>
    eventually(`${n} web pods`, async () => {
      const ps = await webPods();
      return ps.length === n && pred(ps) ? ps : undefined;
    });

  before(async () => {
    s = await startTestApiServer();
    client = new InProcessClient(s.server.registry);
    for (const name of ['node-b', 'node-a', 'node-c']) {
      const node = await client.create<Obj<Node>>('nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name } });
      // node-c never becomes Ready: no pod may land on it.
      if (name !== 'node-c') {
        await client.updateStatus('nodes', {
          ...node,
          status: { conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady' }] },
        });
      }
    }
    ctrl = startDeploymentController(client, { onError: (e) => errors.push(e) });
    gc = startGarbageCollector(client, { onError: (e) => errors.push(e) });
    await ctrl.synced();
    await gc.synced();
  });
  after(async () => {
    await gc?.stop();
    await ctrl?.stop();
    await s?.close();
  });

  it('creates replicas with template labels, pod-template-hash, owner and round-robin nodes', async () => {
    await s.kc(['create', 'deployment', 'web', '--image=svcnet/echo', '--replicas=3']);
    const pods = await waitPods(3);
    const d = await deployment();
    const hash = hashOf(pods[0] as Pod);
    assert.ok(hash.length > 0 && hash.length <= 10 && [...hash].every((c) => safeAlphabet.includes(c)), hash);
    for (const p of pods) {
      assert.equal(hashOf(p), hash);
      assert.equal(p.metadata.labels?.app, 'web');
      assert.match(p.metadata.name ?? '', new RegExp(`^web-${hash}-[${safeAlphabet}]{5}$`));
      assert.deepEqual(p.metadata.ownerReferences, [
        {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          name: 'web',
          uid: d.metadata.uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ]);
    }
    const nodes = pods.map((p) => p.spec?.nodeName).sort();
    // Round-robin over the Ready nodes in name order; node-c is not Ready.
    assert.deepEqual(nodes, ['node-a', 'node-a', 'node-b']);
    // kubectl get pods shows them with the deployment's labels.
    const out = await s.kc(['get', 'pods', '-l', `app=web,pod-template-hash=${hash}`, '--no-headers']);
    assert.equal(out.trim().split('\n').length, 3);
  });

  it('reports status and passes kubectl rollout status once pods are Ready', async () => {
    for (const p of await webPods()) await markReady(p);
    const d = await eventually('available status', async () => {
      const x = await deployment();
      return x.status?.availableReplicas === 3 ? x : undefined;
    });
    assert.equal(d.status?.observedGeneration, d.metadata.generation);
    assert.deepEqual(
      [d.status?.replicas, d.status?.updatedReplicas, d.status?.readyReplicas, d.status?.availableReplicas],
      [3, 3, 3, 3],
    );
    const conds = Object.fromEntries((d.status?.conditions ?? []).map((c) => [c.type, `${c.status}/${c.reason}`]));
    assert.deepEqual(conds, { Available: 'True/MinimumReplicasAvailable', Progressing: 'True/NewReplicaSetAvailable' });
    const out = await s.kc(['rollout', 'status', 'deployment/web', '--timeout=10s']);
    assert.match(out, /successfully rolled out/);
    const row = await s.kc(['get', 'deployment', 'web', '--no-headers']);
    assert.match(row, /^web\s+3\/3\s+3\s+3\s/);
  });

  it('scales up and down, deleting unready pods first', async () => {
    const ready = (await webPods()).map((p) => p.metadata.name).sort();
    await s.kc(['patch', 'deployment', 'web', '--type=merge', '-p', '{"spec":{"replicas":5}}']);
    await waitPods(5);
    await s.kc(['patch', 'deployment', 'web', '--type=merge', '-p', '{"spec":{"replicas":3}}']);
    const left = await waitPods(3);
    assert.deepEqual(left.map((p) => p.metadata.name).sort(), ready);
    const events = await s.kc([
      'get',
      'events',
      '--field-selector',
      'involvedObject.kind=Deployment,involvedObject.name=web',
    ]);
    assert.match(events, /ScalingReplicaSet\s+deployment\/web\s+Scaled up replica set web-\w+ from 3 to 5/);
    assert.match(events, /Scaled down replica set web-\w+ from 5 to 3/);
  });

  it('kubectl scale deployment (the scale subresource)', async () => {
    const r = await s.kubectl(['scale', 'deployment', 'web', '--replicas=4']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /deployment\.apps\/web scaled/);
    await waitPods(4);
    // --current-replicas makes kubectl GET then PUT the Scale.
    await s.kc(['scale', 'deployment', 'web', '--current-replicas=4', '--replicas=3']);
    await waitPods(3);
    const wrong = await s.kubectl(['scale', 'deployment', 'web', '--current-replicas=7', '--replicas=2']);
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /Expected replicas to be 7, was 3/);
    const scale = JSON.parse(await s.kc(['get', '--raw', '/apis/apps/v1/namespaces/default/deployments/web/scale']));
    assert.equal(scale.kind, 'Scale');
    assert.equal(scale.spec.replicas, 3);
    assert.match(scale.status.selector, /app=web/);
  });

  it('rolls out a new template with maxSurge=1 maxUnavailable=0 as pods turn Ready', async () => {
    const before = await waitPods(3, (ps) => ps.every(isReady));
    const oldHash = hashOf(before[0] as Pod);
    await s.kc([
      'patch',
      'deployment',
      'web',
      '--type=merge',
      '-p',
      JSON.stringify({
        spec: { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } } },
      }),
    ]);
    await s.kc(['set', 'image', 'deployment/web', 'echo=svcnet/echo:v2']);
    let maxPods = 0;
    let minReady = Number.POSITIVE_INFINITY;
    const newHash = await eventually(
      'rollout to finish',
      async () => {
        const ps = await webPods();
        maxPods = Math.max(maxPods, ps.length);
        minReady = Math.min(minReady, ps.filter(isReady).length);
        // Play kubelet: one new pod turns Ready per round.
        const waiting = ps.find((p) => !isReady(p));
        if (waiting) await markReady(waiting);
        const hashes = new Set(ps.map(hashOf));
        const h = [...hashes][0];
        return ps.length === 3 && hashes.size === 1 && h !== oldHash && ps.every(isReady) ? h : undefined;
      },
      30_000,
    );
    assert.equal(maxPods, 4, 'maxSurge=1 over 3 replicas');
    assert.equal(minReady, 3, 'maxUnavailable=0');
    const d = await eventually('status after rollout', async () => {
      const x = await deployment();
      return x.status?.updatedReplicas === 3 && x.status.availableReplicas === 3 && x.status.replicas === 3
        ? x
        : undefined;
    });
    assert.ok(newHash);
    assert.equal(
      d.status?.conditions?.find((c) => c.type === 'Progressing')?.message,
      `ReplicaSet "web-${newHash}" has successfully progressed.`,
    );
    const pod = (await webPods())[0];
    assert.equal(pod?.spec?.containers[0]?.image, 'svcnet/echo:v2');
  });

  it('kubectl delete --cascade=orphan keeps the pods and drops their ownerReference', async () => {
    const before = await waitPods(3);
    await s.kc(['delete', 'deployment', 'web', '--cascade=orphan']);
    await eventually(
      'deployment gone',
      async () => (await client.list('deployments', { namespace: 'default' })).items.length === 0 || undefined,
    );
    const after = await webPods();
    assert.deepEqual(after.map((p) => p.metadata.uid).sort(), before.map((p) => p.metadata.uid).sort());
    for (const p of after) assert.deepEqual(p.metadata.ownerReferences ?? [], []);
    // Orphans are nobody's to collect: clean them up by hand.
    await s.kc(['delete', 'pods', '-l', 'app=web', '--force', '--grace-period=0']);
    await waitPods(0);
  });

  it('kubectl delete --cascade=foreground removes the pods before the Deployment', async () => {
    await s.kc(['create', 'deployment', 'web', '--image=svcnet/echo', '--replicas=2']);
    await waitPods(2);
    const seen: string[] = [];
    const w = client.watch(
      'deployments',
      {
        namespace: 'default',
        resourceVersion: (await client.list('deployments', { namespace: 'default' })).resourceVersion,
      },
      (e) => {
        if (e.type === 'MODIFIED' && e.object.metadata.deletionTimestamp)
          seen.push(`marked:${(e.object.metadata.finalizers ?? []).join(',')}`);
        if (e.type === 'DELETED') seen.push('deleted');
      },
      () => {},
    );
    // Play kubelet: pods the collector deletes are graceful (bound to a node); finish them.
    let kubelet = true;
    const finish = (async () => {
      while (kubelet) {
        const { items } = await client.list<Obj<Pod>>('pods', { namespace: 'default' });
        for (const p of items) {
          if (p.metadata.deletionTimestamp) {
            await client.delete('pods', 'default', p.metadata.name ?? '', { gracePeriodSeconds: 0 }).catch(() => {});
          }
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    try {
      await s.kc(['delete', 'deployment', 'web', '--cascade=foreground']);
      await waitPods(0);
      await eventually('deployment deleted', async () => seen.includes('deleted') || undefined);
      assert.equal(seen[0], 'marked:foregroundDeletion');
      // The Deployment went only after its pods: none is left once it is deleted.
      assert.equal((await client.list('pods', { namespace: 'default', labelSelector: 'app=web' })).items.length, 0);
    } finally {
      kubelet = false;
      await finish;
      w.stop();
    }
  });

  it('deleting the Deployment (background cascade) deletes its pods', async () => {
    await s.kc(['create', 'deployment', 'web', '--image=svcnet/echo', '--replicas=2']);
    await waitPods(2);
    await s.kc(['delete', 'deployment', 'web']);
    await waitPods(0);
    assert.deepEqual(errors, []);
  });
});
