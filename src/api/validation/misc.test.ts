// Node, Namespace, Lease, Event and the kindStrategies registry.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultNamespace } from '../defaults/namespace.ts';
import { errorBody, type FieldError } from '../field.ts';
import { kindStrategies } from '../kinds.ts';
import { isReviewResource, resources } from '../resources.ts';
import type { Event, KubeObject, Lease, Namespace, Node } from '../types.ts';
import { validateEvent } from './event.ts';
import { validateLease } from './lease.ts';
import { validateNamespace } from './namespace.ts';
import { validateNode, validateNodeUpdate } from './node.ts';

const causes = (errs: FieldError[]): [string, string, string][] => errs.map((e) => [e.type, e.field, errorBody(e)]);

describe('Namespace', () => {
  it('defaults the name label, finalizer and phase', () => {
    const ns: Namespace = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop', labels: { team: 'a' } } };
    defaultNamespace(ns);
    assert.deepEqual(ns.metadata?.labels, { team: 'a', 'kubernetes.io/metadata.name': 'shop' });
    assert.deepEqual(ns.spec?.finalizers, ['kubernetes']);
    assert.equal(ns.status?.phase, 'Active');
    assert.deepEqual(validateNamespace(ns), []);
  });
  it('names are DNS labels (no dots)', () => {
    const ns: Namespace = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a.b' } };
    assert.deepEqual(causes(validateNamespace(ns)), [
      ['FieldValueInvalid', 'metadata.name', 'Invalid value: "a.b": must not contain dots'],
    ]);
  });
});

describe('Node', () => {
  const node = (podCIDRs: string[]): Node => ({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'node-1.example', resourceVersion: '1' },
    spec: { podCIDRs },
  });
  it('accepts one CIDR per family', () =>
    assert.deepEqual(validateNode(node(['10.244.0.0/24', 'fd00:10:244::/64'])), []));
  it('rejects two CIDRs of one family', () => {
    assert.deepEqual(causes(validateNode(node(['10.244.0.0/24', '10.245.0.0/24']))), [
      [
        'FieldValueInvalid',
        'spec.podCIDRs',
        'Invalid value: ["10.244.0.0/24","10.245.0.0/24"]: may specify no more than one CIDR for each IP family',
      ],
    ]);
  });
  it('podCIDRs are fixed once set', () => {
    assert.deepEqual(causes(validateNodeUpdate(node(['10.9.0.0/24']), node(['10.244.0.0/24']))), [
      [
        'FieldValueForbidden',
        'spec.podCIDRs',
        'Forbidden: node updates may not change podCIDR except from "" to valid',
      ],
    ]);
    assert.deepEqual(validateNodeUpdate(node(['10.9.0.0/24']), node([])), []);
  });
});

describe('Lease and Event', () => {
  it('lease durations must be positive', () => {
    const lease: Lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'svcnet-controller', namespace: 'kube-system' },
      spec: { leaseDurationSeconds: 0, leaseTransitions: -1 },
    };
    assert.deepEqual(causes(validateLease(lease)), [
      ['FieldValueInvalid', 'spec.leaseDurationSeconds', 'Invalid value: 0: must be greater than 0'],
      ['FieldValueInvalid', 'spec.leaseTransitions', 'Invalid value: -1: must be greater than or equal to 0'],
    ]);
  });
  it("an event's involved object must be in its namespace", () => {
    const ev: Event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: 'web.1', namespace: 'shop' },
      involvedObject: { kind: 'Pod', name: 'web', namespace: 'other' },
    };
    assert.deepEqual(causes(validateEvent(ev)), [
      ['FieldValueInvalid', 'involvedObject.namespace', 'Invalid value: "other": does not match event.namespace'],
    ]);
  });
});

describe('kindStrategies', () => {
  it('covers every stored resource except services', () => {
    const want = resources
      .filter((r) => !isReviewResource(r))
      .map((r) => r.resource)
      .filter((r) => r !== 'services')
      .sort();
    assert.deepEqual(Object.keys(kindStrategies).sort(), want);
  });
  it('defaults then validates through the generic interface', () => {
    const pod: KubeObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', namespace: 'default' },
      spec: { containers: [{ name: 'c', image: 'busybox:1', ports: [{ containerPort: 8080 }] }] },
    };
    kindStrategies.pods.default(pod);
    assert.deepEqual(kindStrategies.pods.validateCreate(pod), []);
    const ns: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x' } };
    kindStrategies.namespaces.default(ns);
    assert.deepEqual(kindStrategies.namespaces.validateCreate(ns), []);
  });
});
