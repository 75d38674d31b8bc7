import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../../api/types.ts';
import { type GcObject, planCollection } from './plan.ts';

const obj = (resource: string, name: string, meta: Record<string, unknown> = {}): GcObject => ({
  resource,
  obj: { apiVersion: 'v1', kind: 'X', metadata: { name, namespace: 'ns', uid: `uid-${name}`, ...meta } } as KubeObject,
});
const ref = (name: string, block = true) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  name,
  uid: `uid-${name}`,
  blockOwnerDeletion: block,
});

describe('garbage collector plan', () => {
  it('foreground: deletes dependents, keeps the finalizer while a blocking one remains', () => {
    const owner = obj('deployments', 'd', { deletionTimestamp: 'now', finalizers: ['foregroundDeletion'] });
    const pod = obj('pods', 'p', { ownerReferences: [ref('d')] });
    const acts = planCollection([owner, pod]);
    assert.deepEqual(
      acts.map((a) => `${a.kind}:${a.target.name}`),
      ['delete:p'],
    );
    const gone = planCollection([owner]);
    assert.deepEqual(
      gone.map((a) => `${a.kind}:${a.target.name}`),
      ['removeFinalizer:d'],
    );
    const nonBlocking = planCollection([
      owner,
      obj('pods', 'q', { ownerReferences: [ref('d', false)], deletionTimestamp: 'now' }),
    ]);
    assert.deepEqual(
      nonBlocking.map((a) => `${a.kind}:${a.target.name}`),
      ['removeFinalizer:d'],
    );
  });

  it('orphan: drops the owner from dependents first, then the finalizer', () => {
    const owner = obj('deployments', 'd', { deletionTimestamp: 'now', finalizers: ['orphan'] });
    const pod = obj('pods', 'p', { ownerReferences: [ref('d')] });
    assert.deepEqual(
      planCollection([owner, pod]).map((a) => a.kind),
      ['dropOwners'],
    );
    assert.deepEqual(
      planCollection([owner]).map((a) => a.kind),
      ['removeFinalizer'],
    );
  });

  it('background: all owners missing deletes; some missing drops only those (after a live check)', () => {
    const lone = obj('pods', 'p', { ownerReferences: [ref('gone')] });
    const mixed = obj('pods', 'q', { ownerReferences: [ref('gone'), ref('d')] });
    const acts = planCollection([obj('deployments', 'd'), lone, mixed]);
    assert.deepEqual(
      acts.map((a) => `${a.kind}:${a.target.name}`),
      ['deleteIfOwnersGone:p', 'dropIfOwnersGone:q'],
    );
  });
});
