import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Deployment, Pod } from '../../api/types.ts';
import { canonicalJSON, computeTemplateHash, safeAlphabet } from './hash.ts';
import { resolveFenceposts, scaledValue } from './intstr.ts';
import { planDeployment, templateHash } from './plan.ts';
import { rankForDeletion } from './pods.ts';

const T0 = Date.parse('2025-01-01T00:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

function deployment(o: {
  replicas?: number;
  image?: string;
  surge?: number | string;
  unavailable?: number | string;
  recreate?: boolean;
  minReadySeconds?: number;
}): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default', uid: 'd-uid', generation: 1 },
    spec: {
      replicas: o.replicas ?? 3,
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: o.image ?? 'v1' }] } },
      strategy: o.recreate
        ? { type: 'Recreate' }
        : {
            type: 'RollingUpdate',
            rollingUpdate: { maxSurge: o.surge ?? '25%', maxUnavailable: o.unavailable ?? '25%' },
          },
      ...(o.minReadySeconds ? { minReadySeconds: o.minReadySeconds } : {}),
      progressDeadlineSeconds: 600,
    },
  };
}

let seq = 0;
function pod(hash: string, o: { ready?: boolean; readySince?: number; created?: number; node?: string } = {}): Pod {
  seq++;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `web-${hash}-${seq}`,
      namespace: 'default',
      creationTimestamp: iso(o.created ?? T0 + seq * 1000),
      labels: { app: 'web', 'pod-template-hash': hash },
    },
    spec: { containers: [], nodeName: o.node ?? 'n1' },
    status: {
      phase: 'Running',
      conditions: [
        { type: 'Ready', status: o.ready === false ? 'False' : 'True', lastTransitionTime: iso(o.readySince ?? T0) },
      ],
    },
  };
}

describe('pod-template-hash', () => {
  it('is stable, independent of key order, from the safe alphabet, at most 10 characters', () => {
    const a = computeTemplateHash({ metadata: { labels: { a: '1', b: '2' } }, spec: { x: 1 } });
    const b = computeTemplateHash({ spec: { x: 1 }, metadata: { labels: { b: '2', a: '1' } } });
    assert.equal(a, b);
    assert.ok(a.length >= 1 && a.length <= 10, a);
    for (const ch of a) assert.ok(safeAlphabet.includes(ch), a);
    assert.notEqual(computeTemplateHash({ spec: { x: 2 } }), computeTemplateHash({ spec: { x: 1 } }));
    assert.notEqual(computeTemplateHash({ spec: { x: 1 } }, 1), computeTemplateHash({ spec: { x: 1 } }));
    assert.equal(canonicalJSON({ b: [1, { d: 1, c: undefined }], a: null }), '{"a":null,"b":[1,{"d":1}]}');
  });
});

describe('maxSurge / maxUnavailable', () => {
  const cases: [number | string, number, boolean, number][] = [
    ['25%', 10, true, 3],
    ['25%', 10, false, 2],
    ['50%', 1, true, 1],
    ['50%', 1, false, 0],
    ['100%', 3, false, 3],
    [2, 10, true, 2],
    ['0%', 5, true, 0],
  ];
  for (const [v, total, up, want] of cases)
    it(`${v} of ${total} rounded ${up ? 'up' : 'down'} is ${want}`, () =>
      assert.equal(scaledValue(v, total, up), want));
  it('both zero allows one unavailable', () => {
    assert.deepEqual(resolveFenceposts(0, 0, 3), { maxSurge: 0, maxUnavailable: 1 });
    assert.deepEqual(resolveFenceposts('0%', '10%', 5), { maxSurge: 0, maxUnavailable: 1 });
  });
});

describe('planDeployment: scaling', () => {
  it('creates the missing replicas and reports status', () => {
    const d = deployment({ replicas: 3 });
    const p = planDeployment(d, [], T0);
    assert.equal(p.create, 3);
    assert.equal(p.replicaSetName, `web-${templateHash(d)}`);
    assert.equal(p.status.observedGeneration, 1);
    assert.equal(p.status.replicas, 0);
    assert.deepEqual(
      p.status.conditions?.map((c) => [c.type, c.status, c.reason]),
      [
        ['Available', 'False', 'MinimumReplicasUnavailable'],
        ['Progressing', 'True', 'ReplicaSetUpdated'],
      ],
    );
  });

  it('scales down unscheduled, then unready, then newest pods first', () => {
    const d = deployment({ replicas: 2 });
    const h = templateHash(d);
    const oldest = pod(h, { created: T0 });
    const newest = pod(h, { created: T0 + 50_000 });
    const unready = pod(h, { ready: false, created: T0 - 10_000 });
    const middle = pod(h, { created: T0 + 20_000 });
    const p = planDeployment(d, [oldest, newest, unready, middle], T0 + 60_000);
    assert.deepEqual(
      p.delete.map((x) => x.metadata?.name),
      [unready.metadata?.name, newest.metadata?.name],
    );
    const unscheduled = { ...pod(h), spec: { containers: [] } } as Pod;
    assert.equal(rankForDeletion([oldest, unscheduled])[0], unscheduled);
  });

  it('is complete when every replica is updated and available', () => {
    const d = deployment({ replicas: 2 });
    const h = templateHash(d);
    const p = planDeployment(d, [pod(h), pod(h)], T0);
    assert.equal(p.create + p.delete.length, 0);
    assert.deepEqual(
      [p.status.replicas, p.status.updatedReplicas, p.status.readyReplicas, p.status.availableReplicas],
      [2, 2, 2, 2],
    );
    const prog = p.status.conditions?.find((c) => c.type === 'Progressing');
    assert.equal(prog?.reason, 'NewReplicaSetAvailable');
    assert.equal(prog?.message, `ReplicaSet "web-${h}" has successfully progressed.`);
  });
});

describe('planDeployment: rolling update', () => {
  /** Runs the rollout to completion, marking created pods ready one step later. */
  function rollout(d: Deployment, start: Pod[], maxSteps = 20) {
    let pods = start;
    const h = templateHash(d);
    const trace: { total: number; available: number; newPods: number }[] = [];
    for (let step = 0; step < maxSteps; step++) {
      const plan = planDeployment(d, pods, T0 + step * 1000);
      const gone = new Set(plan.delete);
      // Pods created last step become ready now.
      pods = pods.filter((p) => !gone.has(p)).map((p) => p);
      for (let i = 0; i < plan.create; i++) pods.push(pod(h, { ready: false }));
      trace.push({
        total: pods.length,
        available: pods.filter((p) => p.status?.conditions?.[0]?.status === 'True').length,
        newPods: pods.filter((p) => p.metadata?.labels?.['pod-template-hash'] === h).length,
      });
      if (
        plan.create === 0 &&
        plan.delete.length === 0 &&
        pods.every((p) => p.status?.conditions?.[0]?.status === 'True')
      )
        return { pods, trace, final: plan };
      pods = pods.map((p) =>
        p.status?.conditions?.[0]?.status === 'False'
          ? {
              ...p,
              status: {
                phase: 'Running',
                conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: iso(T0) }],
              },
            }
          : p,
      );
    }
    throw new Error(`rollout did not finish: ${JSON.stringify(trace)}`);
  }

  it('maxSurge=1 maxUnavailable=0: never below 3 available, never above 4 pods', () => {
    const d = deployment({ replicas: 3, surge: 1, unavailable: 0, image: 'v2' });
    const old = [pod('old'), pod('old'), pod('old')];
    const { pods, trace, final } = rollout(d, old);
    for (const t of trace) {
      assert.ok(t.total <= 4 && t.available >= 3, JSON.stringify(trace));
    }
    assert.equal(pods.length, 3);
    assert.ok(pods.every((p) => p.metadata?.labels?.['pod-template-hash'] === templateHash(d)));
    assert.equal(final.status.conditions?.find((c) => c.type === 'Progressing')?.reason, 'NewReplicaSetAvailable');
  });

  it('maxSurge=1 maxUnavailable=0, first step: one new pod, no old pod deleted', () => {
    const d = deployment({ replicas: 3, surge: 1, unavailable: 0, image: 'v2' });
    const p = planDeployment(d, [pod('old'), pod('old'), pod('old')], T0);
    assert.equal(p.create, 1);
    assert.deepEqual(p.delete, []);
    // While the new pod is unready nothing more happens.
    const waiting = planDeployment(d, [pod('old'), pod('old'), pod('old'), pod(templateHash(d), { ready: false })], T0);
    assert.equal(waiting.create + waiting.delete.length, 0);
    // Once it is ready, one old pod goes.
    const next = planDeployment(d, [pod('old'), pod('old'), pod('old'), pod(templateHash(d))], T0);
    assert.equal(next.create, 0);
    assert.equal(next.delete.length, 1);
    assert.equal(next.delete[0]?.metadata?.labels?.['pod-template-hash'], 'old');
  });

  it('maxSurge=0 maxUnavailable=1: deletes an old pod before creating', () => {
    const d = deployment({ replicas: 3, surge: 0, unavailable: 1, image: 'v2' });
    const p = planDeployment(d, [pod('old'), pod('old'), pod('old')], T0);
    assert.equal(p.create, 0);
    assert.equal(p.delete.length, 1);
    const { trace } = rollout(d, [pod('old'), pod('old'), pod('old')]);
    for (const t of trace) assert.ok(t.total <= 3 && t.available >= 2, JSON.stringify(trace));
  });

  it('unready old pods are cleaned up first', () => {
    const d = deployment({ replicas: 2, surge: 0, unavailable: 1, image: 'v2' });
    const sick = pod('old', { ready: false });
    const p = planDeployment(d, [pod('old'), sick], T0);
    assert.deepEqual(
      p.delete.map((x) => x.metadata?.name),
      [sick.metadata?.name],
    );
  });

  it('minReadySeconds: ready pods count as available only later, and a requeue is asked for', () => {
    const d = deployment({ replicas: 1, surge: 1, unavailable: 0, image: 'v2', minReadySeconds: 10 });
    const fresh = pod(templateHash(d), { readySince: T0 });
    const early = planDeployment(d, [pod('old', { readySince: T0 - 60_000 }), fresh], T0 + 4000);
    assert.deepEqual(early.delete, []);
    assert.equal(early.requeueAfterMs, 6000);
    const late = planDeployment(d, [pod('old', { readySince: T0 - 60_000 }), fresh], T0 + 10_000);
    assert.equal(late.delete.length, 1);
  });

  it('Recreate: all old pods go before any new one is created', () => {
    const d = deployment({ replicas: 2, recreate: true, image: 'v2' });
    const first = planDeployment(d, [pod('old'), pod('old')], T0);
    assert.deepEqual([first.create, first.delete.length], [0, 2]);
    const second = planDeployment(d, [], T0);
    assert.equal(second.create, 2);
  });
});
