// The workload controllers end to end: Deployment → ReplicaSet → Pod, in-process against the
// registry a real HTTPS API server serves, driven by real kubectl, with the garbage collector
// for cascading deletes. No lab runs here: helpers/kubelet.ts marks bound pods Ready.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Deployment, KubeObject, Node, Pod, ReplicaSet } from '../src/api/types.ts';
import { InProcessClient } from '../src/client/in-process.ts';
import { type GarbageCollector, startGarbageCollector } from '../src/controllers/gc/controller.ts';
import { type DeploymentController, startDeploymentController } from '../src/controllers/workloads/controller.ts';
import { safeAlphabet } from '../src/controllers/workloads/hash.ts';
import { templateHash } from '../src/controllers/workloads/templates.ts';
import { startTestApiServer, type TestApiServer } from './helpers/apiserver.ts';
import { eventually } from './helpers/eventually.ts';
import { startTestKubelet, type TestKubelet } from './helpers/kubelet.ts';

type Obj<T> = T & KubeObject;

const isReady = (p: Pod) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
const hashOf = (o: { metadata?: { labels?: Record<string, string> } }) =>
  o.metadata?.labels?.['pod-template-hash'] ?? '';
const controller = (o: KubeObject) => o.metadata.ownerReferences?.find((r) => r.controller);

describe('Deployment → ReplicaSet → Pod with kubectl', () => {
  let s: TestApiServer;
  let client: InProcessClient;
  let ctrl: DeploymentController;
  let gc: GarbageCollector;
  let kubelet: TestKubelet;
  const errors: unknown[] = [];

  const podsOf = async (app: string): Promise<Obj<Pod>[]> =>
    (await client.list<Obj<Pod>>('pods', { namespace: 'default', labelSelector: `app=${app}` })).items.filter(
      (p) => !p.metadata.deletionTimestamp,
    );
  const replicaSetsOf = async (app: string) =>
    (await client.list<Obj<ReplicaSet>>('replicasets', { namespace: 'default', labelSelector: `app=${app}` })).items;
  const deployment = (name = 'web') => client.get<Obj<Deployment>>('deployments', 'default', name);
  const waitPods = (app: string, n: number, pred: (ps: Obj<Pod>[]) => boolean = () => true) =>
    eventually(`${n} ${app} pods`, async () => {
      const ps = await podsOf(app);
      return ps.length === n && pred(ps) ? ps : undefined;
    });
  const rolledOut = (name = 'web') =>
    eventually(`${name} rolled out`, async () => {
      const d = await deployment(name);
      const want = d.spec?.replicas ?? 1;
      const st = d.status;
      return (st?.observedGeneration ?? 0) >= (d.metadata.generation ?? 0) &&
        st?.updatedReplicas === want &&
        st.replicas === want &&
        st.availableReplicas === want
        ? d
        : undefined;
    });
  /** A Deployment created paused makes no ReplicaSet: the test lays down what it needs first. */
  const createPaused = (name: string, replicas: number) =>
    client.create<Obj<Deployment>>('deployments', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: 'default' },
      spec: {
        replicas,
        paused: true,
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: { containers: [{ name: 'echo', image: 'svcnet/echo' }] },
        },
      },
    });
  /** Watches pods of `app` and reports the extremes of (active pods, ready pods) seen. */
  const observe = async (app: string) => {
    const live = new Map<string, Pod>();
    for (const p of await podsOf(app)) live.set(p.metadata.uid ?? '', p);
    let maxPods = live.size;
    let minReady = [...live.values()].filter(isReady).length;
    let mixed = false;
    const w = client.watch<Obj<Pod>>(
      'pods',
      {
        namespace: 'default',
        labelSelector: `app=${app}`,
        resourceVersion: (await client.list('pods')).resourceVersion,
      },
      (e) => {
        const uid = e.object.metadata.uid ?? '';
        if (e.type === 'DELETED' || e.object.metadata.deletionTimestamp) live.delete(uid);
        else live.set(uid, e.object);
        const ps = [...live.values()];
        maxPods = Math.max(maxPods, ps.length);
        minReady = Math.min(minReady, ps.filter(isReady).length);
        if (new Set(ps.map(hashOf)).size > 1) mixed = true;
      },
      () => {},
    );
    return {
      stop: () => {
        w.stop();
        return { maxPods, minReady, mixed };
      },
    };
  };

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
    kubelet = startTestKubelet(client, { readyAfterMs: 50 });
    ctrl = startDeploymentController(client, { onError: (e) => errors.push(e) });
    gc = startGarbageCollector(client, { onError: (e) => errors.push(e) });
    await ctrl.synced();
    await gc.synced();
  });
  after(async () => {
    kubelet?.stop();
    await gc?.stop();
    await ctrl?.stop();
    await s?.close();
  });

  it('a Deployment owns ReplicaSet <name>-<hash>, which owns the pods, bound round-robin to Ready nodes', async () => {
    await s.kc(['create', 'deployment', 'web', '--image=svcnet/echo', '--replicas=3']);
    const pods = await waitPods('web', 3);
    const d = await rolledOut();
    const [rs, ...more] = await replicaSetsOf('web');
    assert.ok(rs);
    assert.equal(more.length, 0);
    const hash = templateHash(d);
    assert.ok(hash.length > 0 && hash.length <= 10 && [...hash].every((c) => safeAlphabet.includes(c)), hash);
    assert.equal(rs.metadata.name, `web-${hash}`);
    assert.deepEqual(rs.metadata.ownerReferences, [
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        name: 'web',
        uid: d.metadata.uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    assert.deepEqual(rs.spec?.selector, { matchLabels: { app: 'web', 'pod-template-hash': hash } });
    assert.deepEqual(rs.metadata.annotations, {
      'deployment.kubernetes.io/desired-replicas': '3',
      'deployment.kubernetes.io/max-replicas': '4',
      'deployment.kubernetes.io/revision': '1',
    });
    assert.equal(d.metadata.annotations?.['deployment.kubernetes.io/revision'], '1');
    for (const p of pods) {
      assert.equal(hashOf(p), hash);
      assert.equal(p.metadata.generateName, `web-${hash}-`);
      assert.match(p.metadata.name ?? '', new RegExp(`^web-${hash}-[${safeAlphabet}]{5}$`));
      assert.deepEqual(p.metadata.ownerReferences, [
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          name: rs.metadata.name,
          uid: rs.metadata.uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ]);
    }
    // Round-robin over the Ready nodes in name order; node-c is not Ready.
    assert.deepEqual(pods.map((p) => p.spec?.nodeName).sort(), ['node-a', 'node-a', 'node-b']);
    assert.match(await s.kc(['get', 'rs', '--no-headers']), new RegExp(`^web-${hash}\\s+3\\s+3\\s+3\\s+\\d+s\\n$`));
    assert.match(await s.kc(['get', 'deployment', 'web', '--no-headers']), /^web\s+3\/3\s+3\s+3\s/);
    const rsEvents = await s.kc(['get', 'events', '--field-selector', `involvedObject.name=web-${hash}`]);
    assert.match(rsEvents, new RegExp(`SuccessfulCreate\\s+replicaset/web-${hash}\\s+Created pod: web-${hash}-`));
  });

  it('scaling goes through the ReplicaSet, which kubectl cannot resize behind the Deployment', async () => {
    const [rs] = await replicaSetsOf('web');
    const name = rs?.metadata.name ?? '';
    await s.kc(['scale', 'deployment', 'web', '--replicas=5']);
    await waitPods('web', 5);
    await s.kc(['scale', 'deployment', 'web', '--replicas=3']);
    await waitPods('web', 3);
    const events = await s.kc([
      'get',
      'events',
      '--field-selector',
      'involvedObject.kind=Deployment,involvedObject.name=web',
    ]);
    assert.match(
      events,
      new RegExp(`ScalingReplicaSet\\s+deployment/web\\s+Scaled up replica set ${name} to 5 from 3`),
    );
    assert.match(events, new RegExp(`Scaled down replica set ${name} to 3 from 5`));
    // The scale subresource of a ReplicaSet works; its owner puts the size back.
    assert.match(await s.kc(['scale', 'rs', name, '--replicas=6']), new RegExp(`replicaset.apps/${name} scaled`));
    await eventually('size restored', async () => {
      const cur = await client.get<Obj<ReplicaSet>>('replicasets', 'default', name);
      return cur.spec?.replicas === 3 && cur.metadata.annotations?.['deployment.kubernetes.io/desired-replicas'] === '3'
        ? true
        : undefined;
    });
    await waitPods('web', 3);
  });

  it('RollingUpdate with maxSurge=1 maxUnavailable=0: a new ReplicaSet, never more than 4 pods or fewer than 3 ready', async () => {
    await s.kc([
      'patch',
      'deployment',
      'web',
      '--type=merge',
      '-p',
      JSON.stringify({ spec: { strategy: { rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } } } }),
    ]);
    await rolledOut();
    const [old] = await replicaSetsOf('web');
    const o = await observe('web');
    await s.kc(['set', 'image', 'deployment/web', 'echo=svcnet/echo:v2']);
    const d = await rolledOut();
    const seen = o.stop();
    assert.equal(seen.maxPods, 4, 'maxSurge=1 over 3 replicas');
    assert.equal(seen.minReady, 3, 'maxUnavailable=0');
    const rss = await replicaSetsOf('web');
    const fresh = rss.find((r) => r.metadata.name !== old?.metadata.name);
    assert.equal(rss.length, 2);
    assert.equal(fresh?.metadata.name, `web-${templateHash(d)}`);
    assert.deepEqual(
      rss
        .map((r) => [
          r.metadata.name === fresh?.metadata.name,
          r.spec?.replicas,
          r.metadata.annotations?.['deployment.kubernetes.io/revision'],
        ])
        .sort(),
      [
        [false, 0, '1'],
        [true, 3, '2'],
      ],
    );
    assert.equal(d.metadata.annotations?.['deployment.kubernetes.io/revision'], '2');
    assert.equal(
      d.status?.conditions?.find((c) => c.type === 'Progressing')?.message,
      `ReplicaSet "${fresh?.metadata.name}" has successfully progressed.`,
    );
    for (const p of await podsOf('web')) assert.equal(p.spec?.containers[0]?.image, 'svcnet/echo:v2');
  });

  it('Recreate: old pods are gone before new ones start', async () => {
    await s.kc(['create', 'deployment', 'rec', '--image=svcnet/echo', '--replicas=2']);
    await s.kc([
      'patch',
      'deployment',
      'rec',
      '--type=json',
      '-p',
      JSON.stringify([{ op: 'replace', path: '/spec/strategy', value: { type: 'Recreate' } }]),
    ]);
    await rolledOut('rec');
    const o = await observe('rec');
    await s.kc(['set', 'image', 'deployment/rec', 'echo=svcnet/echo:v2']);
    await rolledOut('rec');
    const seen = o.stop();
    assert.equal(seen.mixed, false, 'never old and new pods at once');
    assert.equal(seen.maxPods, 2);
  });

  it('revisionHistoryLimit keeps that many old ReplicaSets', async () => {
    await s.kc(['patch', 'deployment', 'rec', '--type=merge', '-p', '{"spec":{"revisionHistoryLimit":1}}']);
    for (const tag of ['v3', 'v4']) {
      await s.kc(['set', 'image', 'deployment/rec', `echo=svcnet/echo:${tag}`]);
      await rolledOut('rec');
    }
    const rss = await eventually('history pruned', async () => {
      const l = await replicaSetsOf('rec');
      return l.length === 2 ? l : undefined;
    });
    assert.deepEqual(rss.map((r) => r.metadata.annotations?.['deployment.kubernetes.io/revision']).sort(), ['3', '4']);
    await s.kc(['delete', 'deployment', 'rec']);
  });

  it('pods a Deployment owned directly (before ReplicaSets) are released and adopted, not replaced', async () => {
    // The old shape, laid down by hand before any ReplicaSet exists.
    await createPaused('legacy', 2);
    const d = await deployment('legacy');
    const hash = templateHash(d);
    const uids: string[] = [];
    for (const i of [1, 2]) {
      const p = await client.create<Obj<Pod>>('pods', {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name: `legacy-${hash}-old${i}`,
          namespace: 'default',
          labels: { app: 'legacy', 'pod-template-hash': hash },
          ownerReferences: [
            {
              apiVersion: 'apps/v1',
              kind: 'Deployment',
              name: 'legacy',
              uid: d.metadata.uid ?? '',
              controller: true,
              blockOwnerDeletion: true,
            },
          ],
        },
        spec: { nodeName: 'node-a', containers: [{ name: 'echo', image: 'svcnet/echo' }] },
      });
      uids.push(p.metadata.uid ?? '');
    }
    await eventually(
      'released',
      async () => (await podsOf('legacy')).every((p) => !p.metadata.ownerReferences?.length) || undefined,
    );
    await s.kc(['rollout', 'resume', 'deployment/legacy']);
    await rolledOut('legacy');
    const [rs] = await replicaSetsOf('legacy');
    const pods = await podsOf('legacy');
    assert.deepEqual(pods.map((p) => p.metadata.uid).sort(), uids.sort());
    for (const p of pods) assert.equal(controller(p)?.uid, rs?.metadata.uid);
    await s.kc(['delete', 'deployment', 'legacy']);
    await waitPods('legacy', 0);
  });

  it('a ReplicaSet of another owner under the computed name is a hash collision: collisionCount goes up', async () => {
    await createPaused('clash', 1);
    const hash = templateHash(await deployment('clash'));
    // Same name, a selector the Deployment's does not match: not adoptable, not the new ReplicaSet.
    await client.create<Obj<ReplicaSet>>('replicasets', {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: `clash-${hash}`, namespace: 'default', labels: { app: 'squatter' } },
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: 'squatter' } },
        template: {
          metadata: { labels: { app: 'squatter' } },
          spec: { containers: [{ name: 'c', image: 'svcnet/echo' }] },
        },
      },
    });
    await s.kc(['rollout', 'resume', 'deployment/clash']);
    const d = await rolledOut('clash');
    assert.equal(d.status?.collisionCount, 1);
    const [rs] = await replicaSetsOf('clash');
    assert.equal(rs?.metadata.name, `clash-${templateHash(d)}`);
    assert.notEqual(templateHash(d), hash);
    await s.kc(['delete', 'deployment', 'clash']);
    await s.kc(['delete', 'rs', `clash-${hash}`]);
  });

  it('with no schedulable node the ReplicaSet reports FailedCreate and ReplicaFailure until one is back', async () => {
    await s.kc(['cordon', 'node-a', 'node-b']);
    try {
      await s.kc(['scale', 'deployment', 'web', '--replicas=4']);
      const d = await eventually('ReplicaFailure', async () => {
        const x = await deployment();
        return x.status?.conditions?.some((c) => c.type === 'ReplicaFailure') ? x : undefined;
      });
      const failure = d.status?.conditions?.find((c) => c.type === 'ReplicaFailure');
      assert.deepEqual(
        [failure?.status, failure?.reason, failure?.message],
        ['True', 'FailedCreate', 'no schedulable Ready node to run pods on'],
      );
      const [rs] = (await replicaSetsOf('web')).filter((r) => (r.spec?.replicas ?? 0) > 0);
      const events = await s.kc(['get', 'events', '--field-selector', `involvedObject.name=${rs?.metadata.name}`]);
      assert.match(
        events,
        /Warning\s+FailedCreate\s+replicaset\/web-\w+\s+Error creating: no schedulable Ready node to run pods on/,
      );
    } finally {
      await s.kc(['uncordon', 'node-a', 'node-b']);
    }
    await waitPods('web', 4);
    const d = await rolledOut();
    await eventually('ReplicaFailure cleared', async () => {
      const x = await deployment();
      return x.status?.conditions?.some((c) => c.type === 'ReplicaFailure') ? undefined : x;
    });
    assert.ok(d);
    await s.kc(['scale', 'deployment', 'web', '--replicas=3']);
    await waitPods('web', 3);
  });

  it('kubectl delete --cascade=orphan keeps ReplicaSets and pods; a new Deployment adopts them', async () => {
    const before = await podsOf('web');
    const [rsBefore] = (await replicaSetsOf('web')).filter((r) => (r.spec?.replicas ?? 0) > 0);
    const manifest = await deployment();
    await s.kc(['delete', 'deployment', 'web', '--cascade=orphan']);
    const orphaned = await eventually('orphaned', async () => {
      const l = await replicaSetsOf('web');
      return l.every((r) => !r.metadata.ownerReferences?.length) ? l : undefined;
    });
    assert.equal(orphaned.length, 2);
    const pods = await podsOf('web');
    assert.deepEqual(pods.map((p) => p.metadata.uid).sort(), before.map((p) => p.metadata.uid).sort());
    // Pods keep their ReplicaSet: only the deleted owner's references go.
    for (const p of pods) assert.equal(controller(p)?.uid, rsBefore?.metadata.uid);
    // The same manifest again: its template is the running ReplicaSet's, so nothing is replaced.
    const again = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: manifest.spec };
    await s.kc(['create', '-f', '-'], JSON.stringify(again));
    const d = await rolledOut();
    await eventually(
      'adopted',
      async () => (await replicaSetsOf('web')).every((r) => controller(r)?.uid === d.metadata.uid) || undefined,
    );
    const after = await podsOf('web');
    assert.deepEqual(after.map((p) => p.metadata.uid).sort(), before.map((p) => p.metadata.uid).sort());
  });

  it('kubectl delete --cascade=foreground removes pods before their ReplicaSet, ReplicaSets before the Deployment', async () => {
    /** [what, uid, owner uid] in the order the watches saw them. */
    const seen: [string, string, string][] = [];
    const rv = (await client.list('deployments')).resourceVersion;
    const watches = (['deployments', 'replicasets', 'pods'] as const).map((resource) =>
      client.watch(
        resource,
        { namespace: 'default', resourceVersion: rv },
        (e) => {
          const m = e.object.metadata;
          const owner = controller(e.object)?.uid ?? '';
          if (e.type === 'MODIFIED' && m.deletionTimestamp && m.finalizers?.includes('foregroundDeletion'))
            seen.push([`marked ${resource}`, m.uid ?? '', owner]);
          if (e.type === 'DELETED') seen.push([`deleted ${resource}`, m.uid ?? '', owner]);
        },
        () => {},
      ),
    );
    try {
      const d = await deployment();
      const busy = (await replicaSetsOf('web')).find((r) => (r.spec?.replicas ?? 0) > 0);
      await s.kc(['delete', 'deployment', 'web', '--cascade=foreground']);
      await eventually('deployment deleted', async () => seen.some(([w]) => w === 'deleted deployments') || undefined);
      const at = (what: string, uid: string) => seen.findIndex(([w, u]) => w === what && u === uid);
      const trace = seen.map(([w]) => w).join(', ');
      assert.equal(at('marked deployments', d.metadata.uid ?? ''), 0, trace);
      // The ReplicaSet with pods waits for them, marked foregroundDeletion itself.
      assert.ok(at('marked replicasets', busy?.metadata.uid ?? '') > 0, trace);
      const rsGone = at('deleted replicasets', busy?.metadata.uid ?? '');
      const podsGone = seen.flatMap(([w, , owner], i) =>
        w === 'deleted pods' && owner === busy?.metadata.uid ? [i] : [],
      );
      assert.equal(podsGone.length, 3, trace);
      assert.ok(
        podsGone.every((i) => i < rsGone),
        trace,
      );
      const last = at('deleted deployments', d.metadata.uid ?? '');
      assert.ok(
        seen.every(([w], i) => !w.startsWith('deleted replicasets') || i < last),
        trace,
      );
      assert.deepEqual([(await podsOf('web')).length, (await replicaSetsOf('web')).length], [0, 0]);
    } finally {
      for (const w of watches) w.stop();
    }
  });

  it('deleting a Deployment (background cascade) deletes its ReplicaSets and pods', async () => {
    await s.kc(['create', 'deployment', 'web', '--image=svcnet/echo', '--replicas=2']);
    await waitPods('web', 2);
    await s.kc(['delete', 'deployment', 'web']);
    await waitPods('web', 0);
    await eventually('no replicasets', async () => (await replicaSetsOf('web')).length === 0 || undefined);
    assert.deepEqual(errors, []);
  });
});
