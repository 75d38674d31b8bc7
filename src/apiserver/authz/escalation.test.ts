// Escalation prevention's rule arithmetic (Covers, BreakdownRule, CompactRules, CompactString)
// against the cases kube-apiserver's own tests and its refusals show.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject, PolicyRule } from '../../api/types.ts';
import {
  breakdownRule,
  compactString,
  covers,
  escalationError,
  fullAuthority,
  onlyGcFieldsChanged,
} from './escalation.ts';

const rule = (apiGroups: string[], resources: string[], verbs: string[], resourceNames?: string[]): PolicyRule => ({
  apiGroups,
  resources,
  verbs,
  ...(resourceNames ? { resourceNames } : {}),
});

describe('covers', () => {
  it('breaks rules down to one verb, resource and name each', () => {
    assert.deepEqual(breakdownRule(rule(['', 'apps'], ['pods'], ['get', 'list'], ['a'])), [
      rule([''], ['pods'], ['get'], ['a']),
      rule([''], ['pods'], ['list'], ['a']),
      rule(['apps'], ['pods'], ['get'], ['a']),
      rule(['apps'], ['pods'], ['list'], ['a']),
    ]);
    assert.deepEqual(breakdownRule({ nonResourceURLs: ['/a', '/b'], verbs: ['get'] }), [
      { nonResourceURLs: ['/a'], verbs: ['get'] },
      { nonResourceURLs: ['/b'], verbs: ['get'] },
    ]);
    // A resource rule without resources grants nothing.
    assert.deepEqual(breakdownRule(rule(['apps'], [], ['get'])), []);
  });
  it('is covered tuple by tuple, possibly by different owner rules', () => {
    const owner = [rule([''], ['pods'], ['get']), rule([''], ['pods'], ['list'])];
    assert.equal(covers(owner, [rule([''], ['pods'], ['get', 'list'])]).covered, true);
    const { covered, missing } = covers(owner, [rule([''], ['pods', 'services'], ['get', 'delete'])]);
    assert.equal(covered, false);
    assert.deepEqual(missing, [
      rule([''], ['pods'], ['delete']),
      rule([''], ['services'], ['get']),
      rule([''], ['services'], ['delete']),
    ]);
  });
  it('honours wildcards: *, */subresource, URL prefixes', () => {
    assert.equal(covers([rule(['*'], ['*'], ['*'])], [rule(['x.io'], ['things/status'], ['patch'])]).covered, true);
    assert.equal(covers([rule([''], ['*/status'], ['get'])], [rule([''], ['services/status'], ['get'])]).covered, true);
    // "*/status" is not the resource itself.
    assert.equal(covers([rule([''], ['*/status'], ['get'])], [rule([''], ['services'], ['get'])]).covered, false);
    assert.equal(
      covers([{ nonResourceURLs: ['/apis/*'], verbs: ['get'] }], [{ nonResourceURLs: ['/apis/apps'], verbs: ['get'] }])
        .covered,
      true,
    );
    // Resource rules never cover URLs and the other way round.
    assert.equal(covers([rule(['*'], ['*'], ['*'])], [{ nonResourceURLs: ['/x'], verbs: ['get'] }]).covered, false);
    assert.equal(covers([{ nonResourceURLs: ['*'], verbs: ['*'] }], [rule([''], ['pods'], ['get'])]).covered, false);
    assert.equal(
      covers([rule(['*'], ['*'], ['*']), { nonResourceURLs: ['*'], verbs: ['*'] }], fullAuthority).covered,
      true,
    );
  });
  it('resource names: a named grant is covered by a name-less owner, not the other way round', () => {
    assert.equal(covers([rule([''], ['pods'], ['get'])], [rule([''], ['pods'], ['get'], ['a'])]).covered, true);
    assert.equal(covers([rule([''], ['pods'], ['get'], ['a'])], [rule([''], ['pods'], ['get'])]).covered, false);
    assert.equal(
      covers([rule([''], ['pods'], ['get'], ['a'])], [rule([''], ['pods'], ['get'], ['a', 'b'])]).covered,
      false,
    );
  });
});

describe('the refusal text', () => {
  const sa = {
    name: 'system:serviceaccount:rbac:privesc',
    groups: ['system:serviceaccounts', 'system:serviceaccounts:rbac', 'system:authenticated'],
  };
  it('reads as kube-apiserver prints it', () => {
    const owner = [rule(['rbac.authorization.k8s.io'], ['roles'], ['update', 'patch'])];
    const msg = escalationError(sa, owner, [
      rule(['rbac.authorization.k8s.io'], ['roles'], ['update', 'patch', 'delete']),
    ]);
    assert.equal(
      msg,
      'user "system:serviceaccount:rbac:privesc" (groups=["system:serviceaccounts" "system:serviceaccounts:rbac" "system:authenticated"]) is attempting to grant RBAC permissions not currently held:\n{APIGroups:["rbac.authorization.k8s.io"], Resources:["roles"], Verbs:["delete"]}',
    );
    assert.equal(escalationError(sa, owner, [rule(['rbac.authorization.k8s.io'], ['roles'], ['patch'])]), undefined);
  });
  it('merges verbs of one resource, keeps named and URL rules apart, sorts the lines', () => {
    const msg = escalationError(
      { name: 'u', groups: [] },
      [],
      [
        rule(['apps'], ['deployments'], ['get', 'delete']),
        rule([''], ['pods'], ['get'], ['web']),
        { nonResourceURLs: ['/metrics'], verbs: ['get'] },
        rule([''], ['pods'], ['list']),
      ],
    );
    assert.equal(
      msg,
      [
        'user "u" (groups=[]) is attempting to grant RBAC permissions not currently held:',
        '{APIGroups:[""], Resources:["pods"], ResourceNames:["web"], Verbs:["get"]}',
        '{APIGroups:[""], Resources:["pods"], Verbs:["list"]}',
        '{APIGroups:["apps"], Resources:["deployments"], Verbs:["get" "delete"]}',
        '{NonResourceURLs:["/metrics"], Verbs:["get"]}',
      ].join('\n'),
    );
  });
  it('names the bindings whose role could not be read', () => {
    const one = escalationError({ name: 'u', groups: [] }, [], [rule([''], ['pods'], ['get'])], ['x not found']);
    assert.match(one ?? '', /Verbs:\["get"\]\}; resolution errors: \[x not found\]$/);
    const two = escalationError({ name: 'u', groups: [] }, [], [rule([''], ['pods'], ['get'])], ['a', 'b']);
    assert.match(two ?? '', /; resolution errors: \[\[a, b\]\]$/);
  });
  it('quotes as Go does', () => {
    assert.equal(
      compactString(rule([''], ['a"b'], ['get\n'])),
      '{APIGroups:[""], Resources:["a\\"b"], Verbs:["get\\n"]}',
    );
  });
});

describe('onlyGcFieldsChanged', () => {
  const role = (meta: Record<string, unknown>, rules: PolicyRule[] = []): KubeObject => ({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: 'r', namespace: 'ns', uid: 'u', ...meta },
    rules,
  });
  it('owner references, finalizers and managed fields only', () => {
    assert.equal(onlyGcFieldsChanged(role({ finalizers: ['x'] }), role({})), true);
    assert.equal(
      onlyGcFieldsChanged(
        role({ ownerReferences: [{ apiVersion: 'v1', kind: 'X', name: 'x', uid: 'o' }] }),
        role({ ownerReferences: [] }),
      ),
      true,
    );
    assert.equal(onlyGcFieldsChanged(role({ labels: { a: 'b' } }), role({})), false);
    assert.equal(onlyGcFieldsChanged(role({}, [rule([''], ['pods'], ['get'])]), role({})), false);
  });
});
