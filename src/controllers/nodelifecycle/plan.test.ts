import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Node, Pod } from '../../api/types.ts';
import { desiredTaints, observe, podNotReadyStatus, unknownConditions } from './plan.ts';

const node = (status: string, heartbeat = 't0', taints: { key: string; effect: string }[] = []): Node => ({
  metadata: { name: 'n' },
  spec: { taints },
  status: { conditions: [{ type: 'Ready', status, lastHeartbeatTime: heartbeat, lastTransitionTime: 't0' }] },
});

describe('node lifecycle plan', () => {
  it('a probe is a heartbeat or lease renewal this controller saw change', () => {
    const h0 = observe(undefined, node('True'), 'r0', 1000);
    assert.equal(h0.probeTimestamp, 1000);
    assert.equal(observe(h0, node('True'), 'r0', 5000).probeTimestamp, 1000);
    assert.equal(observe(h0, node('True'), 'r1', 5000).probeTimestamp, 5000);
    assert.equal(observe(h0, node('True', 't1'), 'r0', 6000).probeTimestamp, 6000);
  });
  it('silent nodes get every kubelet condition Unknown, once', () => {
    const c = unknownConditions(node('True'), 'now');
    assert.deepEqual(
      c?.map((x) => [x.type, x.status, x.reason]),
      [
        ['Ready', 'Unknown', 'NodeStatusUnknown'],
        ['MemoryPressure', 'Unknown', 'NodeStatusUnknown'],
        ['DiskPressure', 'Unknown', 'NodeStatusUnknown'],
        ['PIDPressure', 'Unknown', 'NodeStatusUnknown'],
      ],
    );
    assert.equal(c?.[0]?.lastHeartbeatTime, 't0', 'the last heartbeat stays');
    assert.equal(unknownConditions({ ...node('True'), status: { conditions: c ?? [] } }, 'later'), undefined);
  });
  it('taints follow Ready: unreachable for Unknown, not-ready for False, none for True', () => {
    assert.deepEqual(desiredTaints(node('Unknown'), 'now'), [
      { key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule' },
      { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute', timeAdded: 'now' },
    ]);
    const t = desiredTaints(
      node('False', 't0', [
        { key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule' },
        { key: 'x', effect: 'NoSchedule' },
      ]),
      'now',
    );
    assert.deepEqual(
      t?.map((x) => x.key),
      ['x', 'node.kubernetes.io/not-ready', 'node.kubernetes.io/not-ready'],
    );
    assert.deepEqual(
      desiredTaints(node('True', 't0', [{ key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule' }]), 'now'),
      [],
    );
    assert.equal(desiredTaints(node('True'), 'now'), undefined);
  });
  it('marks only Ready pods not Ready', () => {
    const pod = (s: string): Pod => ({
      status: {
        conditions: [
          { type: 'Ready', status: s },
          { type: 'PodScheduled', status: 'True' },
        ],
      },
    });
    assert.deepEqual(podNotReadyStatus(pod('True'), 'now')?.conditions, [
      { type: 'Ready', status: 'False', lastTransitionTime: 'now' },
      { type: 'PodScheduled', status: 'True' },
    ]);
    assert.equal(podNotReadyStatus(pod('False'), 'now'), undefined);
  });
});
