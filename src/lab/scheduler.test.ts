import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject, Node } from '../api/types.ts';
import type { PodObj } from './pod-runner.ts';
import { pickNode } from './scheduler.ts';

const node = (name: string, o: { ready?: boolean; labels?: Record<string, string>; unschedulable?: boolean } = {}) =>
  ({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: o.labels ?? {} },
    spec: { unschedulable: o.unschedulable ?? false },
    status: { conditions: [{ type: 'Ready', status: o.ready === false ? 'Unknown' : 'True' }] },
  }) as Node & KubeObject;

const pod = (owner?: string, nodeSelector?: Record<string, string>) =>
  ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'p',
      ...(owner
        ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: owner, controller: true }] }
        : {}),
    },
    spec: { containers: [], ...(nodeSelector ? { nodeSelector } : {}) },
  }) as PodObj;

describe('lab scheduler: pickNode', () => {
  const nodes = [
    node('a', { labels: { disk: 'ssd' } }),
    node('b'),
    node('c', { ready: false }),
    node('d', { unschedulable: true }),
  ];
  it('only Ready, schedulable nodes matching the nodeSelector', () => {
    assert.equal(pickNode(pod(undefined, { disk: 'ssd' }), nodes, [{ node: 'a', owner: undefined }]), 'a');
    assert.equal(pickNode(pod(undefined, { disk: 'hdd' }), nodes, []), undefined);
    assert.equal(pickNode(pod(), [node('c', { ready: false })], []), undefined);
  });
  it('spreads an owner first, then by pod count, ties by name', () => {
    const placed = [
      { node: 'a', owner: 'rs1' },
      { node: 'b', owner: undefined },
      { node: 'b', owner: undefined },
    ];
    // b has more pods, but a already has one of rs1's.
    assert.equal(pickNode(pod('rs1'), nodes, placed), 'b');
    assert.equal(pickNode(pod('rs2'), nodes, placed), 'a');
    assert.equal(pickNode(pod(), nodes, []), 'a');
  });
});
