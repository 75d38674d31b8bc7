import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Deployment, Pod } from '../../api/types.ts';
import { revisionOf, setNewReplicaSetAnnotations } from './annotations.ts';
import { canonicalJSON, computeTemplateHash, safeAlphabet } from './hash.ts';
import { resolveFenceposts, scaledValue } from './intstr.ts';
import { planDeployment } from './plan.ts';
import { replicaSetStatus } from './replicaset-plan.ts';
import type { RS } from './replicasets.ts';
import type { D, DeploymentAction } from './state.ts';
import { equalIgnoreHash, templateHash } from './templates.ts';

const T0 = Date.parse('2025-01-01T00:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

function deployment(
  o: {
    replicas?: number;
    image?: string;
    surge?: number | string;
    unavailable?: number | string;
    recreate?: boolean;
    minReadySeconds?: number;
    paused?: boolean;
    history?: number;
    deadline?: number;
  } = {},
): D {
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
      revisionHistoryLimit: o.history ?? 10,
      progressDeadlineSeconds: o.deadline ?? 600,
      ...(o.minReadySeconds ? { minReadySeconds: o.minReadySeconds } : {}),
      ...(o.paused ? { paused: true } : {}),
    },
  };
}

/**
 * A small world: the Deployment, its ReplicaSets and pods, stepped like the two controllers and
 * a kubelet would be — the Deployment plan's writes land, each ReplicaSet creates or deletes
 * pods to its size, pods created one step turn Ready the next, statuses are recomputed.
 */
class World {
  d: D;
  rss: RS[] = [];
  pods: Pod[] = [];
  now = T0;
  events: string[] = [];
  private seq = 0;

  constructor(d: D) {
    this.d = structuredClone(d);
  }

  /** Changes the spec as a user's write would: generation + 1. */
  edit(f: (d: Deployment) => void): void {
    f(this.d);
    this.d.metadata = { ...this.d.metadata, generation: (this.d.metadata.generation ?? 0) + 1 };
  }

  deploymentStep(): DeploymentAction[] {
    const podMap = new Map<string, Pod[]>();
    for (const p of this.pods) {
      const uid = p.metadata?.ownerReferences?.[0]?.uid ?? '';
      podMap.set(uid, [...(podMap.get(uid) ?? []), p]);
    }
    const plan = planDeployment({ deployment: this.d, replicaSets: this.rss, podMap, now: this.now });
    for (const a of plan.actions) {
      if (a.kind === 'createReplicaSet') {
        const uid = `rs-${++this.seq}`;
        this.rss.push({
          ...structuredClone(a.rs),
          metadata: { ...a.rs.metadata, uid, creationTimestamp: iso(this.now), generation: 1 },
          status: { replicas: 0 },
        });
      } else if (a.kind === 'updateReplicaSet') {
        this.rss = this.rss.map((rs) =>
          rs.metadata.name === a.rs.metadata.name
            ? {
                ...structuredClone(a.rs),
                metadata: { ...a.rs.metadata, uid: rs.metadata.uid, generation: (rs.metadata.generation ?? 1) + 1 },
                status: rs.status,
              }
            : rs,
        );
      } else {
        this.rss = this.rss.filter((rs) => rs.metadata.name !== a.name);
      }
      if ('event' in a && a.event) this.events.push(a.event);
    }
    this.d = plan.deployment;
    return [...plan.actions];
  }

  /** Each ReplicaSet to its size (new pods unready, newest deleted first), then statuses. */
  replicaSetStep(): void {
    for (const rs of this.rss) {
      const mine = this.pods.filter((p) => p.metadata?.ownerReferences?.[0]?.uid === rs.metadata.uid);
      const want = rs.spec?.replicas ?? 0;
      for (let i = mine.length; i < want; i++) this.pods.push(this.pod(rs));
      const extra = mine.slice(0, Math.max(0, mine.length - want)).map((p) => p.metadata?.name);
      this.pods = this.pods.filter((p) => !extra.includes(p.metadata?.name));
    }
    this.refreshStatus();
  }

  refreshStatus(): void {
    for (const rs of this.rss) {
      const mine = this.pods.filter((p) => p.metadata?.ownerReferences?.[0]?.uid === rs.metadata.uid);
      Object.assign(rs, {
        status: { ...replicaSetStatus(rs, mine, undefined, this.now), observedGeneration: rs.metadata.generation },
      });
    }
  }

  /** The kubelet: every pod turns Ready. */
  readyAll(): void {
    this.pods = this.pods.map((p) => (readyOf(p) ? p : { ...p, status: readyStatus(this.now) }));
    this.refreshStatus();
  }

  private pod(rs: RS): Pod {
    return {
      metadata: {
        name: `${rs.metadata.name}-${++this.seq}`,
        namespace: 'default',
        uid: `pod-${this.seq}`,
        creationTimestamp: iso(this.now),
        labels: rs.spec?.template?.metadata?.labels ?? {},
        ownerReferences: [
          {
            apiVersion: 'apps/v1',
            kind: 'ReplicaSet',
            name: rs.metadata.name ?? '',
            uid: rs.metadata.uid ?? '',
            controller: true,
          },
        ],
      },
      spec: { containers: [], nodeName: 'n1' },
      status: { phase: 'Pending' },
    };
  }

  /** Steps until nothing is written any more; pods turn Ready one step after they appear. */
  settle(check: (w: World) => void = () => {}, maxSteps = 40): number {
    for (let step = 0; step < maxSteps; step++) {
      this.now += 1000;
      const acts = this.deploymentStep();
      this.replicaSetStep();
      check(this);
      if (acts.length === 0 && this.pods.every((p) => readyOf(p))) {
        const again = this.deploymentStep();
        if (again.length === 0) return step;
      }
      this.readyAll();
      check(this);
    }
    throw new Error(`did not settle: ${JSON.stringify(this.rss.map((r) => [r.metadata.name, r.spec?.replicas]))}`);
  }

  cond(type: string) {
    return this.d.status?.conditions?.find((c) => c.type === type);
  }

  byName(name: string): RS | undefined {
    return this.rss.find((r) => r.metadata.name === name);
  }
}

const readyStatus = (now: number): Pod['status'] => ({
  phase: 'Running',
  conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: iso(now) }],
});
const readyOf = (p: Pod) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

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

  it('templates compare ignoring the hash label, nulls and empty lists and maps', () => {
    const t = deployment().spec?.template;
    const back = {
      metadata: { creationTimestamp: null, labels: { app: 'web', 'pod-template-hash': 'abc' } },
      spec: { containers: [{ name: 'c', image: 'v1', resources: {}, env: [] }] },
    } as unknown as typeof t;
    assert.ok(equalIgnoreHash(t, back));
    assert.ok(!equalIgnoreHash(t, deployment({ image: 'v2' }).spec?.template));
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

describe('planDeployment: a new Deployment', () => {
  it('creates ReplicaSet <name>-<hash> at full size, with revision 1 and the replicas annotations', () => {
    const d = deployment({ replicas: 3 });
    const p = planDeployment({ deployment: d, replicaSets: [], podMap: new Map(), now: T0 });
    assert.equal(p.actions.length, 1);
    const a = p.actions[0];
    assert.equal(a?.kind, 'createReplicaSet');
    if (a?.kind !== 'createReplicaSet') return;
    const hash = templateHash(d);
    assert.equal(a.rs.metadata.name, `web-${hash}`);
    assert.equal(a.rs.spec?.replicas, 3);
    assert.deepEqual(a.rs.spec?.selector, { matchLabels: { app: 'web', 'pod-template-hash': hash } });
    assert.deepEqual(a.rs.metadata.labels, { app: 'web', 'pod-template-hash': hash });
    assert.deepEqual(a.rs.metadata.annotations, {
      'deployment.kubernetes.io/revision': '1',
      'deployment.kubernetes.io/desired-replicas': '3',
      'deployment.kubernetes.io/max-replicas': '4',
    });
    assert.deepEqual(a.rs.metadata.ownerReferences, [
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        name: 'web',
        uid: 'd-uid',
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    assert.equal(a.event, `Scaled up replica set web-${hash} to 3`);
    assert.equal(p.deployment.metadata.annotations?.['deployment.kubernetes.io/revision'], '1');
    assert.ok(p.changed);
    assert.deepEqual(
      p.deployment.status?.conditions?.map((c) => [c.type, c.status, c.reason, c.message]),
      [
        ['Progressing', 'True', 'NewReplicaSetCreated', `Created new replica set "web-${hash}"`],
        ['Available', 'False', 'MinimumReplicasUnavailable', 'Deployment does not have minimum availability.'],
      ],
    );
  });

  it('reaches NewReplicaSetAvailable with Available listed first, as a cluster shows them', () => {
    const w = new World(deployment({ replicas: 3 }));
    w.settle();
    const s = w.d.status;
    assert.deepEqual(
      [s?.observedGeneration, s?.replicas, s?.updatedReplicas, s?.readyReplicas, s?.availableReplicas],
      [1, 3, 3, 3, 3],
    );
    assert.deepEqual(
      s?.conditions?.map((c) => [c.type, c.status, c.reason]),
      [
        ['Available', 'True', 'MinimumReplicasAvailable'],
        ['Progressing', 'True', 'NewReplicaSetAvailable'],
      ],
    );
    assert.equal(w.cond('Progressing')?.message, `ReplicaSet "web-${templateHash(w.d)}" has successfully progressed.`);
  });

  it('without a progress deadline reports no Progressing condition', () => {
    const w = new World(deployment({ deadline: 2 ** 31 - 1 }));
    w.settle();
    assert.deepEqual(
      w.d.status?.conditions?.map((c) => c.type),
      ['Available'],
    );
  });
});

describe('planDeployment: rolling update', () => {
  const rollout = (o: Parameters<typeof deployment>[0]) => {
    const w = new World(deployment(o));
    w.settle();
    w.edit((d) => {
      const c = d.spec?.template.spec?.containers[0];
      if (c) c.image = 'v2';
    });
    return w;
  };

  /** Settles the rollout, returning the most pods and the fewest available ones seen. */
  const extremes = (w: World) => {
    let maxPods = 0;
    let minAvailable = Number.POSITIVE_INFINITY;
    w.settle((x) => {
      maxPods = Math.max(maxPods, x.pods.length);
      minAvailable = Math.min(minAvailable, x.pods.filter(readyOf).length);
    });
    return { maxPods, minAvailable };
  };

  it('maxSurge=1 maxUnavailable=0: never above 4 pods, never below 3 available', () => {
    const w = rollout({ replicas: 3, surge: 1, unavailable: 0 });
    const { maxPods, minAvailable } = extremes(w);
    assert.equal(maxPods, 4);
    assert.equal(minAvailable, 3);
    const newName = `web-${templateHash(w.d)}`;
    assert.deepEqual(
      w.rss.map((r) => [r.metadata.name === newName ? 'new' : 'old', r.spec?.replicas, revisionOf(r)]),
      [
        ['old', 0, 1],
        ['new', 3, 2],
      ],
    );
    assert.equal(w.d.metadata.annotations?.['deployment.kubernetes.io/revision'], '2');
    assert.equal(w.cond('Progressing')?.reason, 'NewReplicaSetAvailable');
    assert.ok(w.events.includes(`Scaled up replica set ${newName} to 1`), w.events.join('\n'));
    assert.ok(
      w.events.some((e) => /^Scaled down replica set web-\w+ to 2 from 3$/.test(e)),
      w.events.join('\n'),
    );
  });

  it('maxSurge=0 maxUnavailable=1: scales the old ReplicaSet down before the new one up', () => {
    const w = rollout({ replicas: 3, surge: 0, unavailable: 1 });
    const first = w.deploymentStep();
    // This step only creates the new ReplicaSet at 0; nothing can surge.
    assert.deepEqual(
      first.map((a) => a.kind),
      ['createReplicaSet', 'updateReplicaSet'],
    );
    assert.equal(first[0]?.kind === 'createReplicaSet' && first[0].rs.spec?.replicas, 0);
    const { maxPods, minAvailable } = extremes(w);
    assert.ok(maxPods <= 3, String(maxPods));
    assert.ok(minAvailable >= 2, String(minAvailable));
  });

  it('25%/25% of 10: at most 13 pods, at least 8 available', () => {
    const w = rollout({ replicas: 10 });
    const { maxPods, minAvailable } = extremes(w);
    assert.equal(maxPods, 13);
    assert.ok(minAvailable >= 8, String(minAvailable));
  });

  it('unavailable new pods hold the old ReplicaSet back', () => {
    const w = rollout({ replicas: 2, surge: 1, unavailable: 0 });
    w.now += 1000;
    w.deploymentStep();
    w.replicaSetStep();
    // The new pod never turns Ready (crash loop): nothing more may be scaled down.
    for (let i = 0; i < 5; i++) {
      w.now += 1000;
      const acts = w.deploymentStep();
      assert.deepEqual(
        acts.filter((a) => a.kind === 'updateReplicaSet'),
        [],
      );
      w.replicaSetStep();
    }
    assert.equal(w.pods.filter(readyOf).length, 2);
    assert.equal(w.cond('Progressing')?.reason, 'ReplicaSetUpdated');
  });

  it('a stuck rollout times out after progressDeadlineSeconds, and asks to be synced then', () => {
    const w = rollout({ replicas: 1, surge: 1, unavailable: 0, deadline: 30 });
    w.now += 1000;
    w.deploymentStep();
    w.replicaSetStep();
    // The new pod appearing is progress; from then on it never turns Ready.
    w.now += 1000;
    w.deploymentStep();
    w.now += 1000;
    const p = planDeployment({ deployment: w.d, replicaSets: w.rss, podMap: new Map(), now: w.now });
    // Nothing to write: look again when the deadline passes, plus a second.
    assert.equal(p.changed, false);
    assert.ok(
      p.requeueAfterMs !== undefined && p.requeueAfterMs > 28_000 && p.requeueAfterMs <= 31_000,
      String(p.requeueAfterMs),
    );
    w.now += 31_000;
    w.deploymentStep();
    const c = w.cond('Progressing');
    assert.deepEqual(
      [c?.status, c?.reason, c?.message],
      ['False', 'ProgressDeadlineExceeded', `ReplicaSet "web-${templateHash(w.d)}" has timed out progressing.`],
    );
  });

  it('revisionHistoryLimit keeps that many old ReplicaSets, deleting the oldest revisions', () => {
    const w = new World(deployment({ replicas: 1, history: 2 }));
    w.settle();
    for (const image of ['v2', 'v3', 'v4', 'v5']) {
      w.edit((d) => {
        const c = d.spec?.template.spec?.containers[0];
        if (c) c.image = image;
      });
      w.settle();
    }
    assert.deepEqual(w.rss.map((r) => revisionOf(r)).sort(), [3, 4, 5]);
  });

  it('rolling back to an old template reuses its ReplicaSet with the next revision and a history', () => {
    const w = rollout({ replicas: 2 });
    w.settle();
    const oldName = `web-${computeTemplateHash(deployment().spec?.template)}`;
    w.edit((d) => {
      const c = d.spec?.template.spec?.containers[0];
      if (c) c.image = 'v1';
    });
    w.settle();
    const back = w.byName(oldName);
    assert.equal(back?.spec?.replicas, 2);
    assert.equal(back?.metadata.annotations?.['deployment.kubernetes.io/revision'], '3');
    assert.equal(back?.metadata.annotations?.['deployment.kubernetes.io/revision-history'], '1');
    assert.equal(w.rss.length, 2);
  });
});

describe('planDeployment: scaling', () => {
  it('scales the only active ReplicaSet and records the event', () => {
    const w = new World(deployment({ replicas: 3 }));
    w.settle();
    w.edit((d) => {
      if (d.spec) d.spec.replicas = 5;
    });
    w.settle();
    assert.deepEqual(w.events.slice(-1), [`Scaled up replica set web-${templateHash(w.d)} to 5 from 3`]);
    assert.equal(w.rss[0]?.metadata.annotations?.['deployment.kubernetes.io/desired-replicas'], '5');
  });

  it('a scaling event mid-rollout spreads the new replicas proportionally', () => {
    // Upstream's example: 10 replicas, maxSurge 3, maxUnavailable 2; old RS at 8, new at 5.
    const d = deployment({ replicas: 10, surge: 3, unavailable: 2, image: 'v2' });
    const ann = { 'deployment.kubernetes.io/desired-replicas': '10', 'deployment.kubernetes.io/max-replicas': '13' };
    const rs = (name: string, replicas: number, image: string, created: number, revision: string): RS => ({
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name,
        namespace: 'default',
        uid: name,
        creationTimestamp: iso(created),
        annotations: { ...ann, 'deployment.kubernetes.io/revision': revision },
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'd-uid', controller: true }],
      },
      spec: {
        replicas,
        selector: { matchLabels: { app: 'web' } },
        template: deployment({ image }).spec?.template ?? {},
      },
      status: { replicas, availableReplicas: replicas, readyReplicas: replicas },
    });
    const old = rs('web-old', 8, 'v1', T0, '1');
    const cur = rs('web-new', 5, 'v2', T0 + 1000, '2');
    if (d.spec) d.spec.replicas = 20;
    d.metadata.annotations = { 'deployment.kubernetes.io/revision': '2' };
    const p = planDeployment({ deployment: d, replicaSets: [old, cur], podMap: new Map(), now: T0 + 5000 });
    const sizes = Object.fromEntries(
      p.actions.flatMap((a) => (a.kind === 'updateReplicaSet' ? [[a.rs.metadata.name, a.rs.spec?.replicas]] : [])),
    );
    assert.deepEqual(sizes, { 'web-old': 14, 'web-new': 9 });
    assert.deepEqual(
      p.actions.map((a) => ('event' in a ? a.event : '')),
      ['Scaled up replica set web-old to 14 from 8', 'Scaled up replica set web-new to 9 from 5'],
    );
  });

  it('paused: no new ReplicaSet for a new template, Progressing Unknown DeploymentPaused; resumed rolls out', () => {
    const w = new World(deployment({ replicas: 2 }));
    w.settle();
    w.edit((d) => {
      if (d.spec) d.spec.paused = true;
    });
    w.settle();
    w.edit((d) => {
      const c = d.spec?.template.spec?.containers[0];
      if (c) c.image = 'v2';
    });
    w.settle();
    assert.equal(w.rss.length, 1);
    assert.deepEqual(
      [w.cond('Progressing')?.status, w.cond('Progressing')?.reason, w.cond('Progressing')?.message],
      ['Unknown', 'DeploymentPaused', 'Deployment is paused'],
    );
    w.edit((d) => {
      if (d.spec) d.spec.paused = false;
    });
    w.now += 1000;
    w.deploymentStep();
    assert.equal(w.rss.length, 2);
    w.settle();
    assert.equal(w.cond('Progressing')?.reason, 'NewReplicaSetAvailable');
  });
});

describe('planDeployment: Recreate', () => {
  it('scales old ReplicaSets to 0 and waits for their pods before creating the new one', () => {
    const w = new World(deployment({ replicas: 2, recreate: true }));
    w.settle();
    w.edit((d) => {
      const c = d.spec?.template.spec?.containers[0];
      if (c) c.image = 'v2';
    });
    w.now += 1000;
    const first = w.deploymentStep();
    assert.deepEqual(
      first.map((a) => [a.kind, a.kind === 'updateReplicaSet' ? a.rs.spec?.replicas : undefined]),
      [['updateReplicaSet', 0]],
    );
    // The old ReplicaSet still reports its pods: nothing new yet.
    assert.deepEqual(w.deploymentStep(), []);
    w.replicaSetStep();
    w.now += 1000;
    const next = w.deploymentStep();
    assert.deepEqual(
      next.map((a) => a.kind),
      ['createReplicaSet'],
    );
    assert.equal(next[0]?.kind === 'createReplicaSet' && next[0].rs.spec?.replicas, 2);
  });
});

describe('revision annotations', () => {
  it('revision-history keeps older revisions, within 2000 characters', () => {
    const d = deployment();
    const rs: RS = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: 'x', annotations: { 'deployment.kubernetes.io/revision': '3' } },
    };
    setNewReplicaSetAnnotations(d, rs, '7', true);
    assert.equal(rs.metadata.annotations?.['deployment.kubernetes.io/revision-history'], '3');
    setNewReplicaSetAnnotations(d, rs, '9', true);
    assert.equal(rs.metadata.annotations?.['deployment.kubernetes.io/revision-history'], '3,7');
    const long = Array.from({ length: 600 }, (_, i) => String(i)).join(',');
    const big: RS = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: 'y',
        annotations: { 'deployment.kubernetes.io/revision': '1000', 'deployment.kubernetes.io/revision-history': long },
      },
    };
    setNewReplicaSetAnnotations(d, big, '1001', true);
    const h = big.metadata.annotations?.['deployment.kubernetes.io/revision-history'] ?? '';
    assert.ok(h.length <= 2000 && h.endsWith(',1000'), String(h.length));
    // A revision that is not a number stops the update, as upstream.
    const bad: RS = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: 'z', annotations: { 'deployment.kubernetes.io/revision': 'x' } },
    };
    assert.equal(setNewReplicaSetAnnotations(d, bad, '2', true), false);
  });

  it("copies the Deployment's annotations to the new ReplicaSet, but not the rollout or kubectl ones", () => {
    const d = deployment();
    d.metadata.annotations = {
      'kubernetes.io/change-cause': 'set image',
      'kubectl.kubernetes.io/last-applied-configuration': '{}',
      'deployment.kubernetes.io/revision': '4',
    };
    const rs: RS = { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'x' } };
    setNewReplicaSetAnnotations(d, rs, '5', false);
    assert.deepEqual(rs.metadata.annotations, {
      'kubernetes.io/change-cause': 'set image',
      'deployment.kubernetes.io/revision': '5',
      'deployment.kubernetes.io/desired-replicas': '3',
      'deployment.kubernetes.io/max-replicas': '4',
    });
  });
});
