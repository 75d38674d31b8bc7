import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isSelectorError } from '../labels/errors.ts';
import { isBadRequest } from '../status.ts';
import { fieldsOf, supportedFieldLabels } from './getters.ts';
import {
  escapeValue,
  fieldSelectorFromSet,
  parseFieldSelector,
  unescapeValue,
  unsupportedFieldError,
} from './selector.ts';

function failure(fn: () => unknown): { message: string; code: string } {
  try {
    fn();
  } catch (e) {
    assert.ok(isSelectorError(e), String(e));
    assert.ok(isBadRequest(e));
    return { message: e.message, code: e.selectorCode };
  }
  assert.fail('expected an error');
}

const pod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web-1', namespace: 'shop' },
  spec: { nodeName: 'node-a', restartPolicy: 'Always', schedulerName: 'default-scheduler', hostNetwork: true },
  status: { phase: 'Running', podIPs: [{ ip: '10.0.0.5' }, { ip: 'fd00::5' }] },
};

describe('parseFieldSelector', () => {
  const cases: [string, string][] = [
    ['', ''],
    ['a=b', 'a=b'],
    ['a==b', 'a=b'],
    ['a!=b', 'a!=b'],
    ['b=1,a=2', 'a=2,b=1'],
    ['a=', 'a='],
    ['a=b,', 'a=b'],
    ['a=x\\,y', 'a=x\\,y'],
    ['a=x\\=y\\\\z', 'a=x\\=y\\\\z'],
    ['a.b.c=d e', 'a.b.c=d e'],
  ];
  for (const [input, canonical] of cases) {
    it(`${JSON.stringify(input)} → ${JSON.stringify(canonical)}`, () => {
      assert.equal(parseFieldSelector(input).toString(), canonical);
    });
  }

  it('unescapes values', () => {
    const s = parseFieldSelector('a=x\\,y\\=z\\\\');
    assert.deepEqual(s.requirements(), [{ field: 'a', operator: '=', value: 'x,y=z\\' }]);
    assert.equal(s.requiresExactMatch('a'), 'x,y=z\\');
  });

  it('splits at the first operator: the key takes no escapes', () => {
    assert.deepEqual(parseFieldSelector('a!=\\=b').requirements(), [{ field: 'a', operator: '!=', value: '=b' }]);
    assert.equal(
      failure(() => parseFieldSelector('a!==b')).message,
      'invalid field selector: unescaped character in value: 61',
    );
  });

  const errors: [string, string, string][] = [
    ['abc', "invalid selector: 'abc'; can't understand 'abc'", 'InvalidFieldSelector'],
    ['a=b,c', "invalid selector: 'a=b,c'; can't understand 'c'", 'InvalidFieldSelector'],
    ['a=b\\', 'invalid field selector: invalid escape sequence: \\', 'InvalidFieldSelector'],
    ['a=b\\x', 'invalid field selector: invalid escape sequence: \\x', 'InvalidFieldSelector'],
    ['a=b=c', 'invalid field selector: unescaped character in value: 61', 'InvalidFieldSelector'],
  ];
  for (const [input, message, code] of errors) {
    it(`rejects ${JSON.stringify(input)}`, () =>
      assert.deepEqual(
        failure(() => parseFieldSelector(input)),
        { message, code },
      ));
  }

  it('with a resource, rejects labels the resource does not support', () => {
    assert.deepEqual(
      failure(() => parseFieldSelector('spec.foo=bar', 'pods')),
      {
        message: 'field label not supported: spec.foo',
        code: 'FieldLabelNotSupported',
      },
    );
    assert.equal(
      failure(() => parseFieldSelector('metadata.namespace=x', 'nodes')).message,
      'field label not supported: metadata.namespace',
    );
    assert.equal(
      failure(() => parseFieldSelector('spec.type=x', 'endpoints')).message,
      'field label not supported: spec.type',
    );
    assert.equal(unsupportedFieldError('x').status.code, 400);
  });

  it('rewrites the legacy pod label spec.host to spec.nodeName', () => {
    const s = parseFieldSelector('spec.host=node-a', 'pods');
    assert.equal(s.toString(), 'spec.nodeName=node-a');
    assert.ok(s.matches(pod));
  });
});

describe('FieldSelector.matches', () => {
  const cases: [string, object, boolean][] = [
    ['metadata.name=web-1', pod, true],
    ['metadata.name!=web-1', pod, false],
    ['metadata.namespace=shop,spec.nodeName=node-a', pod, true],
    ['spec.nodeName=', pod, false],
    ['spec.nodeName=', { ...pod, spec: {} }, true],
    ['status.podIP=10.0.0.5', pod, true],
    ['status.phase=Running', pod, true],
    ['spec.hostNetwork=true', pod, true],
    ['spec.hostNetwork=false', { ...pod, spec: {} }, true],
    ['spec.schedulerName=default-scheduler', pod, true],
    ['spec.serviceAccountName!=x', pod, true],
    [
      'spec.clusterIP=None',
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { clusterIP: 'None' } },
      true,
    ],
    ['spec.type=ClusterIP', { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: {} }, false],
    [
      'spec.unschedulable=true',
      { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n' }, spec: { unschedulable: true } },
      true,
    ],
    ['spec.unschedulable=false', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n' } }, true],
    [
      'status.phase=Active',
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'n' }, status: { phase: 'Active' } },
      true,
    ],
    [
      'involvedObject.kind=Pod,involvedObject.name=web-1,reason=Killing,source=kubelet,type=Normal',
      {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name: 'e', namespace: 'shop' },
        involvedObject: { kind: 'Pod', name: 'web-1', namespace: 'shop', uid: 'u' },
        reason: 'Killing',
        source: { component: 'kubelet' },
        type: 'Normal',
      },
      true,
    ],
    ['metadata.name=x', { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'x' } }, true],
    ['metadata.name=p', { apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: { name: 'p' } }, true],
    ['spec.nodeName=node-a', { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'x' } }, false],
    ['spec.nodeName!=node-a', { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'x' } }, true],
  ];
  for (const [sel, obj, want] of cases) {
    it(`${sel} → ${want}`, () => assert.equal(parseFieldSelector(sel).matches(obj), want));
  }

  it('fieldsOf and supportedFieldLabels agree', () => {
    assert.deepEqual(Object.keys(fieldsOf('pods', pod)).sort(), supportedFieldLabels('pods').sort());
    assert.deepEqual(supportedFieldLabels('leases'), ['metadata.name', 'metadata.namespace']);
  });

  it('fieldSelectorFromSet', () => {
    const s = fieldSelectorFromSet({ 'spec.nodeName': 'node-a', 'metadata.name': 'web-1' });
    assert.equal(s.toString(), 'metadata.name=web-1,spec.nodeName=node-a');
    assert.ok(s.matches(pod));
    assert.ok(parseFieldSelector('').empty());
  });
});

describe('escaping properties', () => {
  it('unescape(escape(s)) === s', () => {
    fc.assert(fc.property(fc.string(), (s) => assert.equal(unescapeValue(escapeValue(s)), s)));
  });
  it('a term built with escapeValue parses back to the same value', () => {
    fc.assert(
      fc.property(fc.string(), (v) => {
        const s = parseFieldSelector(`metadata.name=${escapeValue(v)}`);
        assert.deepEqual(s.requirements(), [{ field: 'metadata.name', operator: '=', value: v }]);
        assert.ok(s.matchesFields({ 'metadata.name': v }));
      }),
    );
  });
});
