// RBAC enforced by the API server, driven by real kubectl 1.32: ServiceAccounts, TokenRequest
// (`kubectl create token`), Roles and bindings, `kubectl auth can-i` (SelfSubjectAccessReview)
// and the 403 text kube-apiserver prints.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writeKubeconfig } from '../src/apiserver/kubeconfig.ts';
import { type KubectlResult, startTestApiServer, type TestApiServer } from './helpers/apiserver.ts';

describe('RBAC with real kubectl', () => {
  let s: TestApiServer;
  let saKubeconfig = '';
  let saCache = '';
  const asSA = (args: string[]) =>
    new Promise<KubectlResult>((resolve) => {
      execFile(
        'kubectl',
        ['--kubeconfig', saKubeconfig, '--cache-dir', saCache, ...args],
        { env: { ...process.env, HOME: s.dir, KUBECONFIG: saKubeconfig }, timeout: 60_000 },
        (err, stdout, stderr) => {
          const code = err ? ((err as { code?: number }).code ?? 1) : 0;
          resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
        },
      );
    });

  before(async () => {
    s = await startTestApiServer();
    await s.kc(['create', 'namespace', 'ns']);
    await s.kc(['-n', 'ns', 'create', 'serviceaccount', 'sa']);
    const token = (await s.kc(['-n', 'ns', 'create', 'token', 'sa', '--duration=1h'])).trim();
    saKubeconfig = join(s.dir, 'sa.kubeconfig');
    writeKubeconfig(saKubeconfig, { server: s.url, token, caPem: readFileSync(join(s.dir, 'ca.crt'), 'utf8') });
    saCache = mkdtempSync(join(s.dir, 'sa-cache-'));
  });
  after(async () => {
    await s.close();
  });

  it('refuses a ServiceAccount without bindings with kube-apiserver 403', async () => {
    const r = await asSA(['get', 'services', '-n', 'default']);
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr.trim(),
      'Error from server (Forbidden): services is forbidden: User "system:serviceaccount:ns:sa" cannot list resource "services" in API group "" in the namespace "default"',
    );
    const n = await asSA(['get', 'node', 'n1']);
    assert.match(
      n.stderr,
      /nodes "n1" is forbidden: User "system:serviceaccount:ns:sa" cannot get resource "nodes" in API group "" at the cluster scope/,
    );
    assert.equal((await asSA(['auth', 'can-i', 'list', 'services', '-n', 'default'])).stdout.trim(), 'no');
    // Discovery and self-review are every authenticated user's (system:discovery, system:basic-user).
    assert.equal((await asSA(['auth', 'can-i', 'get', '/api'])).stdout.trim(), 'yes');
  });

  it('grants exactly what a binding says: verbs, scope, subresources, names', async () => {
    await s.kc(['create', 'clusterrole', 'svc-reader', '--verb=get,list,watch', '--resource=services']);
    await s.kc([
      '-n',
      'default',
      'create',
      'rolebinding',
      'read-svc',
      '--clusterrole=svc-reader',
      '--serviceaccount=ns:sa',
    ]);
    await s.kc(['-n', 'ns', 'create', 'role', 'logs', '--verb=get', '--resource=pods/log', '--resource-name=web']);
    await s.kc(['-n', 'ns', 'create', 'rolebinding', 'logs', '--role=logs', '--serviceaccount=ns:sa']);
    const got = await asSA(['get', 'services', '-n', 'default', '-o', 'name']);
    assert.equal(got.code, 0, got.stderr);
    assert.match(got.stdout, /service\/kubernetes/);
    const can = async (...args: string[]) => (await asSA(['auth', 'can-i', ...args])).stdout.trim();
    assert.equal(await can('watch', 'services', '-n', 'default'), 'yes');
    assert.equal(await can('list', 'services', '-n', 'ns'), 'no');
    assert.equal(await can('list', 'services', '--all-namespaces'), 'no');
    assert.equal(await can('update', 'services', '-n', 'default', '--subresource=status'), 'no');
    assert.equal(await can('get', 'pods/web', '-n', 'ns', '--subresource=log'), 'yes');
    assert.equal(await can('get', 'pods/db', '-n', 'ns', '--subresource=log'), 'no');
    assert.equal(await can('get', 'pods/web', '-n', 'ns'), 'no');
    const del = await asSA(['-n', 'default', 'delete', 'service', 'kubernetes']);
    assert.match(
      del.stderr,
      /services "kubernetes" is forbidden: User "system:serviceaccount:ns:sa" cannot delete resource "services" in API group "" in the namespace "default"/,
    );
    const list = await asSA(['auth', 'can-i', '--list', '-n', 'default']);
    assert.match(list.stdout, /services\s+\[\]\s+\[\]\s+\[get list watch\]/);
    // The admin token is system:masters.
    assert.equal((await s.kc(['auth', 'can-i', '*', '*'])).trim(), 'yes');
  });

  it('validates RBAC objects and token requests as kube-apiserver does', async () => {
    const bad = await s.kubectl(['-n', 'ns', 'create', 'token', 'sa', '--duration=1m']);
    assert.match(
      bad.stderr,
      /spec\.expirationSeconds: Invalid value: 60: may not specify a duration less than 10 minutes/,
    );
    const missing = await s.kubectl(['-n', 'ns', 'create', 'token', 'nobody']);
    assert.match(missing.stderr, /serviceaccounts "nobody" not found/);
    const rule = await s.kubectl(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: { name: 'r', namespace: 'ns' },
        rules: [
          { resources: ['pods'], verbs: [] },
          { nonResourceURLs: ['/x'], verbs: ['get'] },
        ],
      }),
    );
    assert.match(rule.stderr, /rules\[0\]\.verbs: Required value: verbs must contain at least one value/);
    assert.match(
      rule.stderr,
      /rules\[0\]\.apiGroups: Required value: resource rules must supply at least one api group/,
    );
    assert.match(
      rule.stderr,
      /rules\[1\]\.nonResourceURLs: Invalid value: \[\]string\{"\/x"\}: namespaced rules cannot apply to non-resource URLs|rules\[1\]\.nonResourceURLs: Invalid value: .*namespaced rules cannot apply to non-resource URLs/,
    );
    const ref = await s.kubectl([
      '-n',
      'ns',
      'patch',
      'rolebinding',
      'logs',
      '--type=merge',
      '-p',
      '{"roleRef":{"name":"other"}}',
    ]);
    assert.match(ref.stderr, /roleRef: Invalid value: .*cannot change roleRef/);
  });

  it('a deleted ServiceAccount revokes its tokens (401)', async () => {
    await s.kc(['-n', 'ns', 'delete', 'serviceaccount', 'sa']);
    const r = await asSA(['get', 'services', '-n', 'default']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /You must be logged in to the server \(Unauthorized\)/);
    await s.kc(['-n', 'ns', 'create', 'serviceaccount', 'sa']);
    const again = await asSA(['get', 'services', '-n', 'default']);
    assert.match(again.stderr, /Unauthorized/, 'a new ServiceAccount of the same name has another uid');
  });
});
