// RBAC escalation prevention through real kubectl 1.32: a ServiceAccount allowed to write Roles
// and bindings may grant only what it holds, unless it has `escalate` (roles) or `bind` (the
// role a binding names); refusals carry kube-apiserver's text.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writeKubeconfig } from '../src/apiserver/kubeconfig.ts';
import { type KubectlResult, startTestApiServer, type TestApiServer } from './helpers/apiserver.ts';

const user = 'system:serviceaccount:ns:writer';
const groups = '["system:serviceaccounts" "system:serviceaccounts:ns" "system:authenticated"]';
const held = `user "${user}" (groups=${groups}) is attempting to grant RBAC permissions not currently held:`;

describe('RBAC escalation prevention with real kubectl', () => {
  let s: TestApiServer;
  let kubeconfig = '';
  let cache = '';
  const asSA = (args: string[], input?: string) =>
    new Promise<KubectlResult>((resolve) => {
      const child = execFile(
        'kubectl',
        ['--kubeconfig', kubeconfig, '--cache-dir', cache, ...args],
        { env: { ...process.env, HOME: s.dir, KUBECONFIG: kubeconfig }, timeout: 60_000 },
        (err, stdout, stderr) => {
          const code = err ? ((err as { code?: number }).code ?? 1) : 0;
          resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
        },
      );
      child.stdin?.end(input ?? '');
    });
  const ok = async (args: string[], input?: string) => {
    const r = await asSA(args, input);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  };

  before(async () => {
    s = await startTestApiServer();
    await s.kc(['create', 'namespace', 'ns']);
    await s.kc(['-n', 'ns', 'create', 'serviceaccount', 'writer']);
    // The writer may manage Roles and RoleBindings in ns and read pods there; nothing else.
    await s.kc([
      '-n',
      'ns',
      'create',
      'role',
      'rbac-writer',
      '--verb=get,list,create,update,patch,delete',
      '--resource=roles.rbac.authorization.k8s.io,rolebindings.rbac.authorization.k8s.io',
    ]);
    await s.kc(['-n', 'ns', 'create', 'role', 'pod-reader', '--verb=get,list', '--resource=pods']);
    await s.kc([
      '-n',
      'ns',
      'create',
      'rolebinding',
      'rbac-writer',
      '--role=rbac-writer',
      '--serviceaccount=ns:writer',
    ]);
    await s.kc(['-n', 'ns', 'create', 'rolebinding', 'pod-reader', '--role=pod-reader', '--serviceaccount=ns:writer']);
    await s.kc(['-n', 'ns', 'create', 'role', 'pod-deleter', '--verb=get,delete', '--resource=pods']);
    const token = (await s.kc(['-n', 'ns', 'create', 'token', 'writer', '--duration=1h'])).trim();
    kubeconfig = join(s.dir, 'writer.kubeconfig');
    writeKubeconfig(kubeconfig, { server: s.url, token, caPem: readFileSync(join(s.dir, 'ca.crt'), 'utf8') });
    cache = mkdtempSync(join(s.dir, 'writer-cache-'));
  });
  after(async () => {
    await s.close();
  });

  it('a Role may grant what its writer holds and no more', async () => {
    await ok(['-n', 'ns', 'create', 'role', 'mine', '--verb=get', '--resource=pods']);
    const r = await asSA(['-n', 'ns', 'create', 'role', 'more', '--verb=get,delete,watch', '--resource=pods,services']);
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr.trim(),
      [
        `Error from server (Forbidden): roles.rbac.authorization.k8s.io "more" is forbidden: ${held}`,
        '{APIGroups:[""], Resources:["pods"], Verbs:["delete" "watch"]}',
        '{APIGroups:[""], Resources:["services"], Verbs:["get" "delete" "watch"]}',
      ].join('\n'),
    );
    // An update is checked the same way; the role is unchanged.
    const p = await asSA([
      '-n',
      'ns',
      'patch',
      'role',
      'mine',
      '--type=json',
      '-p',
      '[{"op":"add","path":"/rules/0/verbs/-","value":"delete"}]',
    ]);
    assert.equal(
      p.stderr.trim(),
      `Error from server (Forbidden): roles.rbac.authorization.k8s.io "mine" is forbidden: ${held}\n{APIGroups:[""], Resources:["pods"], Verbs:["delete"]}`,
    );
    assert.equal(await s.kc(['-n', 'ns', 'get', 'role', 'mine', '-o', 'jsonpath={.rules[0].verbs}']), '["get"]');
    // The writer's rules in ns are not rules elsewhere: the same Role in default is refused.
    const elsewhere = await asSA(['-n', 'default', 'create', 'role', 'mine', '--verb=get', '--resource=pods']);
    assert.match(
      elsewhere.stderr,
      /roles.rbac.authorization.k8s.io is forbidden: User .* cannot create resource "roles"/,
    );
  });

  it('`escalate` on roles lifts the check', async () => {
    await s.kc([
      '-n',
      'ns',
      'create',
      'role',
      'escalator',
      '--verb=escalate',
      '--resource=roles.rbac.authorization.k8s.io',
    ]);
    await s.kc(['-n', 'ns', 'create', 'rolebinding', 'escalator', '--role=escalator', '--serviceaccount=ns:writer']);
    await ok(['-n', 'ns', 'create', 'role', 'wide', '--verb=*', '--resource=configmaps']);
    await s.kc(['-n', 'ns', 'delete', 'rolebinding', 'escalator']);
  });

  it('a binding needs the role’s permissions or `bind` on that role', async () => {
    await ok(['-n', 'ns', 'create', 'rolebinding', 'mine', '--role=mine', '--serviceaccount=ns:other']);
    const r = await asSA([
      '-n',
      'ns',
      'create',
      'rolebinding',
      'del',
      '--role=pod-deleter',
      '--serviceaccount=ns:other',
    ]);
    assert.equal(
      r.stderr.trim(),
      `error: failed to create rolebinding: rolebindings.rbac.authorization.k8s.io "del" is forbidden: ${held}\n{APIGroups:[""], Resources:["pods"], Verbs:["delete"]}`,
    );
    const missing = await asSA(['-n', 'ns', 'create', 'rolebinding', 'x', '--role=nope', '--serviceaccount=ns:other']);
    assert.equal(
      missing.stderr.trim(),
      'error: failed to create rolebinding: roles.rbac.authorization.k8s.io "nope" not found',
    );
    // `bind`, limited to that role's name, is enough; it does not open other roles.
    await s.kc([
      '-n',
      'ns',
      'create',
      'role',
      'binder',
      '--verb=bind',
      '--resource=roles.rbac.authorization.k8s.io',
      '--resource-name=pod-deleter',
    ]);
    await s.kc(['-n', 'ns', 'create', 'rolebinding', 'binder', '--role=binder', '--serviceaccount=ns:writer']);
    await ok(['-n', 'ns', 'create', 'rolebinding', 'del', '--role=pod-deleter', '--serviceaccount=ns:other']);
    const wide = await asSA(['-n', 'ns', 'create', 'rolebinding', 'w', '--role=wide', '--serviceaccount=ns:other']);
    assert.match(
      wide.stderr,
      /rolebindings.rbac.authorization.k8s.io "w" is forbidden: user .*\n\{APIGroups:\[""\], Resources:\["configmaps"\], Verbs:\["\*"\]\}\n$/,
    );
    // Adding a subject is an update of the binding, checked again (the bind grant still holds).
    await ok([
      '-n',
      'ns',
      'patch',
      'rolebinding',
      'del',
      '--type=json',
      '-p',
      '[{"op":"add","path":"/subjects/-","value":{"kind":"ServiceAccount","name":"third","namespace":"ns"}}]',
    ]);
  });

  it('ClusterRoles, ClusterRoleBindings and aggregationRule need cluster-wide rights', async () => {
    await s.kc([
      'create',
      'clusterrole',
      'crole-writer',
      '--verb=create,update,patch',
      '--resource=clusterroles.rbac.authorization.k8s.io,clusterrolebindings.rbac.authorization.k8s.io',
    ]);
    await s.kc([
      'create',
      'clusterrolebinding',
      'crole-writer',
      '--clusterrole=crole-writer',
      '--serviceaccount=ns:writer',
    ]);
    // Pods in ns are held through a RoleBinding: not at the cluster scope.
    const cr = await asSA(['create', 'clusterrole', 'pods', '--verb=get', '--resource=pods']);
    assert.equal(
      cr.stderr.trim(),
      `Error from server (Forbidden): clusterroles.rbac.authorization.k8s.io "pods" is forbidden: ${held}\n{APIGroups:[""], Resources:["pods"], Verbs:["get"]}`,
    );
    const admin = await asSA([
      'create',
      'clusterrolebinding',
      'me-admin',
      '--clusterrole=cluster-admin',
      '--serviceaccount=ns:writer',
    ]);
    assert.equal(
      admin.stderr.trim(),
      `error: failed to create clusterrolebinding: clusterrolebindings.rbac.authorization.k8s.io "me-admin" is forbidden: ${held}\n{APIGroups:["*"], Resources:["*"], Verbs:["*"]}\n{NonResourceURLs:["*"], Verbs:["*"]}`,
    );
    const agg = await asSA(
      ['create', '-f', '-'],
      JSON.stringify({
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: { name: 'gather' },
        aggregationRule: { clusterRoleSelectors: [{ matchLabels: { gather: 'yes' } }] },
        rules: [],
      }),
    );
    assert.match(
      agg.stderr,
      /clusterroles.rbac.authorization.k8s.io "gather" is forbidden: must have cluster-admin privileges to use the aggregationRule/,
    );
  });

  it('owner references and finalizers may always change', async () => {
    await s.kc(['-n', 'ns', 'create', 'role', 'locked', '--verb=*', '--resource=configmaps']);
    await ok([
      '-n',
      'ns',
      'patch',
      'role',
      'locked',
      '--type=merge',
      '-p',
      '{"metadata":{"finalizers":["example.com/x"]}}',
    ]);
    await ok(['-n', 'ns', 'patch', 'role', 'locked', '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
    const label = await asSA(['-n', 'ns', 'label', 'role', 'locked', 'a=b']);
    assert.match(label.stderr, /roles.rbac.authorization.k8s.io "locked" is forbidden: user/);
  });
});

describe('ClusterRole aggregation with real kubectl', () => {
  let s: TestApiServer;
  before(async () => {
    s = await startTestApiServer();
  });
  after(async () => {
    await s.close();
  });
  const rulesOf = async (name: string) =>
    JSON.parse((await s.kc(['get', 'clusterrole', name, '-o', 'jsonpath={.rules}'])) || '[]') as unknown[];
  const until = async (what: () => Promise<boolean>) => {
    for (let i = 0; i < 100; i++) {
      if (await what()) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.fail('not converged in 5 s');
  };

  it('folds in the selected ClusterRoles and follows them', async () => {
    await s.kc(
      ['create', '-f', '-'],
      JSON.stringify({
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: { name: 'monitoring' },
        aggregationRule: { clusterRoleSelectors: [{ matchLabels: { 'example.com/aggregate-to-monitoring': 'true' } }] },
      }),
    );
    await s.kc(['create', 'clusterrole', 'mon-svc', '--verb=get,list', '--resource=services']);
    await s.kc(['create', 'clusterrole', 'mon-pods', '--verb=list', '--resource=pods']);
    await s.kc(['label', 'clusterrole', 'mon-svc', 'mon-pods', 'example.com/aggregate-to-monitoring=true']);
    const svc = { apiGroups: [''], resources: ['services'], verbs: ['get', 'list'] };
    const pods = { apiGroups: [''], resources: ['pods'], verbs: ['list'] };
    await until(async () => (await rulesOf('monitoring')).length === 2);
    // By name: mon-pods before mon-svc.
    assert.deepEqual(await rulesOf('monitoring'), [pods, svc]);
    // The aggregated rules authorize like any others.
    await s.kc(['-n', 'default', 'create', 'serviceaccount', 'mon']);
    await s.kc(['create', 'clusterrolebinding', 'mon', '--clusterrole=monitoring', '--serviceaccount=default:mon']);
    const token = (await s.kc(['-n', 'default', 'create', 'token', 'mon'])).trim();
    const can = async (...a: string[]) => (await s.kubectl(['--token', token, 'auth', 'can-i', ...a])).stdout.trim();
    assert.equal(await can('list', 'pods', '-A'), 'yes');
    assert.equal(await can('delete', 'pods', '-A'), 'no');
    // A change to a selected role is followed; a role unlabelled drops out.
    await s.kc([
      'patch',
      'clusterrole',
      'mon-pods',
      '--type=json',
      '-p',
      '[{"op":"add","path":"/rules/0/verbs/-","value":"watch"}]',
    ]);
    await until(async () => JSON.stringify((await rulesOf('monitoring'))[0]).includes('watch'));
    await s.kc(['label', 'clusterrole', 'mon-svc', 'example.com/aggregate-to-monitoring-']);
    await until(async () => (await rulesOf('monitoring')).length === 1);
    // Rules written by hand are put back to the aggregate.
    await s.kc(['patch', 'clusterrole', 'monitoring', '--type=merge', '-p', '{"rules":[]}']);
    await until(async () => (await rulesOf('monitoring')).length === 1);
    const managers = await s.kc([
      'get',
      'clusterrole',
      'monitoring',
      '--show-managed-fields',
      '-o',
      'jsonpath={.metadata.managedFields[*].manager}',
    ]);
    assert.match(managers, /clusterrole-aggregation-controller/);
  });
});
