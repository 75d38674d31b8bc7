// The pure authorizer against kube-apiserver's RBAC rules, and request URLs → attributes as
// RequestInfoFactory parses them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding } from '../../api/types.ts';
import { type Attributes, requestAttributes } from './attributes.ts';
import { adminUser } from './authn.ts';
import { authorize, forbiddenMessage, type Policy, ruleAllows, type UserInfo } from './rbac.ts';
import { TokenSigner } from './tokens.ts';

const attrs = (method: string, url: string): Attributes => {
  const u = new URL(url, 'http://x');
  return requestAttributes(method, u.pathname, u.searchParams);
};

describe('request attributes', () => {
  const cases: [string, string, Partial<Attributes>][] = [
    [
      'GET',
      '/api/v1/namespaces/default/services',
      { verb: 'list', resource: 'services', namespace: 'default', apiGroup: '' },
    ],
    ['GET', '/api/v1/services?watch=true', { verb: 'watch', resource: 'services', namespace: '' }],
    ['GET', '/api/v1/watch/namespaces/a/pods', { verb: 'watch', resource: 'pods', namespace: 'a' }],
    ['GET', '/api/v1/watch/namespaces/a/pods/p', { verb: 'watch', resource: 'pods', name: 'p' }],
    ['GET', '/api/v1/namespaces/a/pods/p/log', { verb: 'get', resource: 'pods', subresource: 'log', name: 'p' }],
    ['PUT', '/api/v1/namespaces/a/services/s/status', { verb: 'update', subresource: 'status', name: 's' }],
    [
      'PATCH',
      '/apis/apps/v1/namespaces/a/deployments/d/scale',
      { verb: 'patch', apiGroup: 'apps', subresource: 'scale' },
    ],
    ['DELETE', '/api/v1/namespaces/a/pods', { verb: 'deletecollection', resource: 'pods' }],
    ['DELETE', '/api/v1/namespaces/a', { verb: 'delete', resource: 'namespaces', name: 'a', namespace: 'a' }],
    [
      'PUT',
      '/api/v1/namespaces/a/finalize',
      { verb: 'update', resource: 'namespaces', name: 'a', subresource: 'finalize' },
    ],
    ['POST', '/api/v1/namespaces/a/serviceaccounts/s/token', { verb: 'create', subresource: 'token', name: 's' }],
    [
      'GET',
      '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases?fieldSelector=metadata.name%3Dn1&watch=1',
      { verb: 'watch', resource: 'leases', name: 'n1', apiGroup: 'coordination.k8s.io' },
    ],
    [
      'GET',
      '/apis/discovery.k8s.io/v1/endpointslices',
      { verb: 'list', apiGroup: 'discovery.k8s.io', apiVersion: 'v1' },
    ],
  ];
  for (const [m, u, want] of cases) {
    it(`${m} ${u}`, () => {
      const a = attrs(m, u);
      assert.equal(a.resourceRequest, true);
      for (const [k, v] of Object.entries(want)) assert.equal(a[k as keyof Attributes], v, k);
    });
  }
  it('discovery, health and openapi are non-resource requests', () => {
    for (const p of ['/api', '/api/v1', '/apis', '/apis/apps', '/apis/apps/v1', '/version', '/openapi/v3/api/v1']) {
      const a = attrs('GET', p);
      assert.equal(a.resourceRequest, false, p);
      assert.equal(a.verb, 'get');
      assert.equal(a.path, p);
    }
    assert.equal(attrs('POST', '/healthz').verb, 'post');
  });
});

const sa: UserInfo = {
  name: 'system:serviceaccount:ns:sa',
  groups: ['system:serviceaccounts', 'system:serviceaccounts:ns', 'system:authenticated'],
};

function policy(o: { crbs?: ClusterRoleBinding[]; rbs?: RoleBinding[]; crs?: ClusterRole[]; roles?: Role[] }): Policy {
  return {
    clusterRoleBindings: o.crbs ?? [],
    roleBindings: o.rbs ?? [],
    clusterRole: (n) => o.crs?.find((r) => r.metadata?.name === n),
    role: (ns, n) => o.roles?.find((r) => r.metadata?.namespace === ns && r.metadata?.name === n),
  };
}

const cr = (name: string, rules: PolicyRule[]): ClusterRole => ({ kind: 'ClusterRole', metadata: { name }, rules });
const role = (ns: string, name: string, rules: PolicyRule[]): Role => ({
  kind: 'Role',
  metadata: { namespace: ns, name },
  rules,
});
const rb = (
  ns: string,
  name: string,
  kind: 'Role' | 'ClusterRole',
  ref: string,
  subjects: RoleBinding['subjects'],
): RoleBinding => ({
  kind: 'RoleBinding',
  metadata: { namespace: ns, name },
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind, name: ref },
  subjects,
});
const crb = (name: string, ref: string, subjects: ClusterRoleBinding['subjects']): ClusterRoleBinding => ({
  kind: 'ClusterRoleBinding',
  metadata: { name },
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: ref },
  subjects,
});
const saSubject = [{ kind: 'ServiceAccount', name: 'sa', namespace: 'ns' }];

describe('rules', () => {
  const a = (verb: string, resource: string, sub = '', name = '', apiGroup = ''): Attributes => ({
    verb,
    resourceRequest: true,
    path: '',
    namespace: 'ns',
    apiGroup,
    apiVersion: 'v1',
    resource,
    subresource: sub,
    name,
  });
  it('matches verbs, groups, resources and subresources exactly or by *', () => {
    const r: PolicyRule = { apiGroups: [''], resources: ['services', 'pods/log'], verbs: ['get', 'list'] };
    assert.equal(ruleAllows(a('list', 'services'), r), true);
    assert.equal(ruleAllows(a('watch', 'services'), r), false, 'watch is its own verb');
    assert.equal(ruleAllows(a('get', 'services', 'status'), r), false, 'a resource does not grant its subresources');
    assert.equal(ruleAllows(a('get', 'pods', 'log'), r), true);
    assert.equal(ruleAllows(a('get', 'pods'), r), false, 'a subresource does not grant its parent');
    assert.equal(ruleAllows(a('get', 'services', '', '', 'apps'), r), false, 'other group');
    assert.equal(
      ruleAllows(a('get', 'deployments', 'scale', '', 'apps'), {
        apiGroups: ['*'],
        resources: ['*/scale'],
        verbs: ['*'],
      }),
      true,
    );
    assert.equal(
      ruleAllows(a('get', 'deployments', '', '', 'apps'), { apiGroups: ['*'], resources: ['*/scale'], verbs: ['*'] }),
      false,
    );
  });
  it('resourceNames limit to named objects (a list has no name)', () => {
    const r: PolicyRule = {
      apiGroups: [''],
      resources: ['configmaps'],
      resourceNames: ['cfg'],
      verbs: ['get', 'list'],
    };
    assert.equal(ruleAllows(a('get', 'configmaps', '', 'cfg'), r), true);
    assert.equal(ruleAllows(a('get', 'configmaps', '', 'other'), r), false);
    assert.equal(ruleAllows(a('list', 'configmaps'), r), false);
  });
  it('non-resource URLs match exactly or by a trailing *', () => {
    const n = (path: string): Attributes => ({ ...a('get', ''), resourceRequest: false, path });
    const r: PolicyRule = { nonResourceURLs: ['/healthz', '/apis/*'], verbs: ['get'] };
    assert.equal(ruleAllows(n('/healthz'), r), true);
    assert.equal(ruleAllows(n('/healthz/ping'), r), false);
    assert.equal(ruleAllows(n('/apis/apps/v1'), r), true);
    assert.equal(ruleAllows(n('/api'), r), false);
    assert.equal(ruleAllows(a('get', 'healthz'), r), false, 'URL rules never grant resources');
  });
});

describe('authorize', () => {
  const reader = cr('svc-reader', [{ apiGroups: [''], resources: ['services'], verbs: ['get', 'list', 'watch'] }]);
  const list = attrs('GET', '/api/v1/namespaces/default/services');
  it('denies by default with kube-apiserver message', () => {
    const d = authorize(sa, list, policy({}));
    assert.deepEqual(d, { allowed: false, reason: '' });
    assert.equal(
      forbiddenMessage(sa, list),
      'User "system:serviceaccount:ns:sa" cannot list resource "services" in API group "" in the namespace "default"',
    );
    assert.equal(
      forbiddenMessage(sa, attrs('GET', '/api/v1/nodes')),
      'User "system:serviceaccount:ns:sa" cannot list resource "nodes" in API group "" at the cluster scope',
    );
    assert.equal(
      forbiddenMessage(sa, attrs('GET', '/metrics')),
      'User "system:serviceaccount:ns:sa" cannot get path "/metrics"',
    );
    assert.equal(
      forbiddenMessage(sa, attrs('PUT', '/api/v1/namespaces/a/services/s/status')),
      'User "system:serviceaccount:ns:sa" cannot update resource "services/status" in API group "" in the namespace "a"',
    );
  });
  it('a ClusterRoleBinding grants everywhere, to the ServiceAccount or its groups', () => {
    const p = policy({ crs: [reader], crbs: [crb('b', 'svc-reader', saSubject)] });
    const d = authorize(sa, list, p);
    assert.equal(d.allowed, true);
    assert.equal(
      d.reason,
      'RBAC: allowed by ClusterRoleBinding "b" of ClusterRole "svc-reader" to ServiceAccount "sa/ns"',
    );
    assert.equal(authorize(sa, attrs('GET', '/api/v1/services'), p).allowed, true);
    assert.equal(authorize(sa, attrs('DELETE', '/api/v1/namespaces/default/services/x'), p).allowed, false);
    const byGroup = policy({
      crs: [reader],
      crbs: [crb('b', 'svc-reader', [{ kind: 'Group', name: 'system:serviceaccounts:ns' }])],
    });
    assert.equal(authorize(sa, list, byGroup).allowed, true);
    const other = policy({
      crs: [reader],
      crbs: [crb('b', 'svc-reader', [{ kind: 'ServiceAccount', name: 'sa', namespace: 'x' }])],
    });
    assert.equal(authorize(sa, list, other).allowed, false, 'same name, other namespace');
    const user = policy({
      crs: [reader],
      crbs: [crb('b', 'svc-reader', [{ kind: 'User', name: 'system:serviceaccount:ns:sa' }])],
    });
    assert.equal(authorize(sa, list, user).allowed, true, 'a ServiceAccount is also its user name');
  });
  it('a RoleBinding grants only in its namespace, a ClusterRole or a Role of that namespace', () => {
    const p = policy({
      crs: [reader],
      roles: [role('default', 'r', [{ apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['*'] }])],
      rbs: [
        rb('default', 'b1', 'ClusterRole', 'svc-reader', [{ kind: 'ServiceAccount', name: 'sa', namespace: 'ns' }]),
        rb('default', 'b2', 'Role', 'r', saSubject),
      ],
    });
    assert.equal(authorize(sa, list, p).allowed, true);
    assert.equal(authorize(sa, attrs('GET', '/api/v1/namespaces/other/services'), p).allowed, false);
    assert.equal(authorize(sa, attrs('GET', '/api/v1/services'), p).allowed, false, 'all namespaces is cluster scope');
    assert.equal(
      authorize(sa, attrs('POST', '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices'), p).allowed,
      true,
    );
    // A ServiceAccount subject without a namespace means the binding's own namespace.
    const local = policy({
      crs: [reader],
      rbs: [rb('ns', 'b', 'ClusterRole', 'svc-reader', [{ kind: 'ServiceAccount', name: 'sa' }])],
    });
    assert.equal(authorize(sa, attrs('GET', '/api/v1/namespaces/ns/services'), local).allowed, true);
  });
  it('a binding to a missing role denies, naming it in the reason', () => {
    const d = authorize(sa, list, policy({ crbs: [crb('b', 'gone', saSubject)] }));
    assert.deepEqual(d, { allowed: false, reason: 'RBAC: clusterrole.rbac.authorization.k8s.io "gone" not found' });
  });
  it('system:masters may do anything', () => {
    assert.equal(authorize(adminUser, attrs('DELETE', '/api/v1/nodes/x'), policy({})).allowed, true);
  });
});

describe('ServiceAccount tokens', () => {
  const signer = new TokenSigner('secret-one');
  it('verify what this signer issued, until expiry', () => {
    const now = Date.UTC(2026, 0, 1);
    const { token, claims } = signer.issue({ namespace: 'ns', name: 'sa', uid: 'u1', expirationSeconds: 600, now });
    assert.equal(claims.sub, 'system:serviceaccount:ns:sa');
    assert.deepEqual(signer.verify(token, now + 1000)?.['kubernetes.io'], {
      namespace: 'ns',
      serviceaccount: { name: 'sa', uid: 'u1' },
    });
    assert.equal(signer.verify(token, now + 600_000), undefined, 'expired');
    assert.equal(new TokenSigner('secret-two').verify(token, now), undefined, 'other key');
    const [h, b, s] = token.split('.');
    const forged = Buffer.from(JSON.stringify({ ...claims, sub: 'system:serviceaccount:kube-system:admin' })).toString(
      'base64url',
    );
    assert.equal(signer.verify(`${h}.${forged}.${s}`, now), undefined, 'tampered body');
    assert.equal(signer.verify(`${h}.${b}.`, now), undefined);
    assert.equal(signer.verify('not-a-jwt', now), undefined);
    const other = signer.issue({ namespace: 'ns', name: 'sa', uid: 'u1', audiences: ['vault'], now });
    assert.equal(signer.verify(other.token, now), undefined, 'audience not the API server');
  });
});
