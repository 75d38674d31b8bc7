import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Pod } from '../../api/types.ts';
import { planClaims } from './claim.ts';
import { podsToDelete } from './pods.ts';
import {
  burstReplicas,
  manageReplicas,
  replicaSetStatus,
  slowStartBatches,
  statusNeedsWrite,
} from './replicaset-plan.ts';
import type { RS } from './replicasets.ts';
import { podFromTemplate } from './templates.ts';

const T0 = Date.parse('2025-01-01T00:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

function rs(replicas: number, o: { minReadySeconds?: number } = {}): RS {
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name: 'web-abc', namespace: 'default', uid: 'rs-uid', generation: 2 },
    spec: {
      replicas,
      minReadySeconds: o.minReadySeconds ?? 0,
      selector: { matchLabels: { app: 'web', 'pod-template-hash': 'abc' } },
      template: {
        metadata: { labels: { app: 'web', 'pod-template-hash': 'abc' }, annotations: { a: '1' } },
        spec: { containers: [{ name: 'c', image: 'v1' }] },
      },
    },
    status: { replicas: 0, observedGeneration: 1 },
  };
}

let seq = 0;
function pod(
  o: {
    node?: string;
    phase?: string;
    ready?: boolean;
    readySince?: number;
    created?: number;
    restarts?: number;
    cost?: string;
    labels?: Record<string, string>;
    owner?: string;
  } = {},
): Pod {
  seq++;
  return {
    metadata: {
      name: `p${seq}`,
      uid: `u${String(seq).padStart(3, '0')}`,
      creationTimestamp: iso(o.created ?? T0),
      labels: o.labels ?? { app: 'web', 'pod-template-hash': 'abc' },
      ...(o.cost ? { annotations: { 'controller.kubernetes.io/pod-deletion-cost': o.cost } } : {}),
      ...(o.owner !== undefined
        ? {
            ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'x', uid: o.owner, controller: true }],
          }
        : {}),
    },
    spec: { containers: [], nodeName: o.node ?? 'n1' },
    status: {
      phase: o.phase ?? 'Running',
      conditions: [
        {
          type: 'Ready',
          status: o.ready === false ? 'False' : 'True',
          lastTransitionTime: iso(o.readySince ?? T0),
        },
      ],
      containerStatuses: [{ name: 'c', image: 'v1', imageID: '', ready: true, restartCount: o.restarts ?? 0 }],
    },
  } as Pod;
}

const names = (ps: readonly Pod[]) => ps.map((p) => p.metadata?.name);
const now = T0 + 3600_000;

describe('ReplicaSet: which pods go first', () => {
  it('unscheduled, then Pending < Unknown < Running, then not ready', () => {
    const running = pod();
    const unscheduled = pod({ node: '' });
    const pending = pod({ phase: 'Pending' });
    const unknown = pod({ phase: 'Unknown' });
    const unready = pod({ ready: false });
    const all = [running, unready, unknown, pending, unscheduled];
    assert.deepEqual(names(podsToDelete(all, [], 4, now)), names([unscheduled, pending, unknown, unready]));
  });

  it('lower pod-deletion-cost first, then pods on nodes crowded with related pods', () => {
    const cheap = pod({ cost: '-5' });
    const dear = pod({ cost: '100' });
    assert.deepEqual(names(podsToDelete([dear, cheap], [], 1, now)), names([cheap]));
    const alone = pod({ node: 'n2' });
    const crowded = pod({ node: 'n1' });
    const related = [crowded, pod({ node: 'n1' }), pod({ node: 'n1' }), alone];
    assert.deepEqual(names(podsToDelete([alone, crowded], related, 1, now)), names([crowded]));
  });

  it('ready for less time first — in powers of two of age, then by uid — then more restarts, then newer', () => {
    const longReady = pod({ readySince: T0 });
    const justReady = pod({ readySince: now - 1000 });
    assert.deepEqual(names(podsToDelete([longReady, justReady], [], 1, now)), names([justReady]));
    // 60 s and 61 s old fall into the same power of two: the lower uid goes.
    const a = pod({ readySince: now - 61_000 });
    const b = pod({ readySince: now - 60_000 });
    assert.deepEqual(names(podsToDelete([b, a], [], 1, now)), names([a]));
    const flaky = pod({ restarts: 4 });
    const steady = pod();
    assert.deepEqual(names(podsToDelete([steady, flaky], [], 1, now)), names([flaky]));
  });

  it('deleting all of them needs no ranking', () => {
    const ps = [pod(), pod()];
    assert.deepEqual(podsToDelete(ps, [], 5, now), ps);
  });
});

describe('ReplicaSet: manageReplicas', () => {
  it('creates what is missing, at most burstReplicas, in doubling batches', () => {
    assert.deepEqual(manageReplicas(rs(3), [pod()], [], now), { create: 2, delete: [] });
    assert.equal(manageReplicas(rs(2000), [], [], now).create, burstReplicas);
    assert.deepEqual(slowStartBatches(10), [1, 2, 4, 3]);
    assert.deepEqual(slowStartBatches(0), []);
  });

  it('deletes the surplus', () => {
    const unready = pod({ ready: false });
    const m = manageReplicas(rs(1), [pod(), unready], [], now);
    assert.deepEqual([m.create, names(m.delete)], [0, names([unready])]);
  });
});

describe('ReplicaSet: claims', () => {
  const matches = (p: Pod) => p.metadata?.labels?.app === 'web';
  it('owns its matching pods, adopts matching orphans, releases its non-matching pods, leaves others alone', () => {
    const mine = pod({ owner: 'rs-uid' });
    const orphan = pod();
    const strayed = pod({ owner: 'rs-uid', labels: { app: 'other' } });
    const theirs = pod({ owner: 'other-uid' });
    const foreign = pod({ labels: { app: 'db' } });
    const plan = planClaims({ uid: 'rs-uid', deleting: false }, matches, [mine, orphan, strayed, theirs, foreign]);
    assert.deepEqual(
      [names(plan.owned), names(plan.adopt), names(plan.release)],
      [names([mine]), names([orphan]), names([strayed])],
    );
  });

  it('an owner being deleted neither adopts nor releases', () => {
    const plan = planClaims({ uid: 'rs-uid', deleting: true }, matches, [pod(), pod({ owner: 'rs-uid', labels: {} })]);
    assert.deepEqual([plan.adopt.length, plan.release.length], [0, 0]);
  });
});

describe('ReplicaSet: status', () => {
  it('counts replicas, fully labeled, ready and available (minReadySeconds)', () => {
    const r = rs(3, { minReadySeconds: 30 });
    const s = replicaSetStatus(
      r,
      [
        pod({ readySince: now - 60_000 }),
        pod({ readySince: now - 5000 }),
        pod({ ready: false, labels: { app: 'web' } }),
      ],
      undefined,
      now,
    );
    assert.deepEqual([s.replicas, s.fullyLabeledReplicas, s.readyReplicas, s.availableReplicas], [3, 2, 2, 1]);
    assert.ok(statusNeedsWrite(r, s));
  });

  it('ReplicaFailure while creating fails, gone once a sync succeeds', () => {
    const r = rs(2);
    const failing = replicaSetStatus(r, [], 'pods "x" is forbidden: quota', now);
    assert.deepEqual(failing.conditions, [
      {
        type: 'ReplicaFailure',
        status: 'True',
        reason: 'FailedCreate',
        message: 'pods "x" is forbidden: quota',
        lastTransitionTime: iso(now),
      },
    ]);
    const healed = replicaSetStatus({ ...r, status: failing }, [], undefined, now);
    assert.equal(healed.conditions, undefined);
  });

  it('nothing to write in the steady state', () => {
    const r = rs(1);
    const p = pod();
    const s = replicaSetStatus(r, [p], undefined, now);
    const steady: RS = { ...r, status: { ...s, observedGeneration: 2 } };
    assert.equal(statusNeedsWrite(steady, replicaSetStatus(steady, [p], undefined, now)), false);
  });
});

describe('ReplicaSet: pods from the template', () => {
  it('carry the template labels and annotations, generateName and the controller reference', () => {
    const p = podFromTemplate(rs(1), 'n2');
    assert.deepEqual(p.metadata, {
      generateName: 'web-abc-',
      namespace: 'default',
      labels: { app: 'web', 'pod-template-hash': 'abc' },
      annotations: { a: '1' },
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          name: 'web-abc',
          uid: 'rs-uid',
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    });
    assert.equal(p.spec?.nodeName, 'n2');
    assert.equal(podFromTemplate(rs(1), undefined).spec?.nodeName, undefined);
  });
});
