// Who the API server thinks you are, through real kubectl 1.32: `kubectl auth whoami`
// (SelfSubjectReview), and impersonation (`--as`, `--as-group`) authorized as the verb
// `impersonate`, with the request then authorized as the impersonated user.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestApiServer, type TestApiServer } from './helpers/apiserver.ts';

describe('whoami and impersonation with real kubectl', () => {
  let s: TestApiServer;
  let token = '';
  const asSA = (args: string[]) => s.kubectl(['--token', token, ...args]);
  before(async () => {
    s = await startTestApiServer();
    await s.kc(['create', 'namespace', 'ns']);
    await s.kc(['-n', 'ns', 'create', 'serviceaccount', 'sa']);
    token = (await s.kc(['-n', 'ns', 'create', 'token', 'sa'])).trim();
  });
  after(async () => {
    await s.close();
  });

  it('kubectl auth whoami names the user and its groups', async () => {
    const admin = await s.kc(['auth', 'whoami', '-o', 'json']);
    assert.deepEqual(JSON.parse(admin).status.userInfo, {
      username: 'svcnet-admin',
      groups: ['system:masters', 'system:authenticated'],
    });
    const sa = await asSA(['auth', 'whoami']);
    assert.equal(sa.code, 0, sa.stderr);
    assert.match(sa.stdout, /Username\s+system:serviceaccount:ns:sa/);
    assert.match(sa.stdout, /Groups\s+\[system:serviceaccounts system:serviceaccounts:ns system:authenticated\]/);
  });

  it('--as runs the request as that user, once impersonate is granted', async () => {
    const who = JSON.parse(await s.kc(['auth', 'whoami', '--as=jane', '--as-group=devs', '-o', 'json']));
    assert.deepEqual(who.status.userInfo, { username: 'jane', groups: ['devs', 'system:authenticated'] });
    const saWho = JSON.parse(await s.kc(['auth', 'whoami', '--as=system:serviceaccount:ns:sa', '-o', 'json']));
    assert.deepEqual(saWho.status.userInfo.groups, [
      'system:serviceaccounts',
      'system:serviceaccounts:ns',
      'system:authenticated',
    ]);
    // The impersonated user's rights, not the admin's.
    const denied = await s.kubectl(['get', 'services', '--as=jane']);
    assert.equal(
      denied.stderr.trim(),
      'Error from server (Forbidden): services is forbidden: User "jane" cannot list resource "services" in API group "" in the namespace "default"',
    );
    assert.equal((await s.kubectl(['auth', 'can-i', 'list', 'services', '--as=jane'])).stdout.trim(), 'no');

    const refused = await asSA(['get', 'services', '--as=jane']);
    assert.equal(
      refused.stderr.trim(),
      'Error from server (Forbidden): users "jane" is forbidden: User "system:serviceaccount:ns:sa" cannot impersonate resource "users" in API group "" at the cluster scope',
    );
    await s.kc([
      'create',
      'clusterrole',
      'impersonate-jane',
      '--verb=impersonate',
      '--resource=users',
      '--resource-name=jane',
    ]);
    await s.kc([
      'create',
      'clusterrolebinding',
      'impersonate-jane',
      '--clusterrole=impersonate-jane',
      '--serviceaccount=ns:sa',
    ]);
    await s.kc(['create', 'clusterrole', 'svc-reader', '--verb=list', '--resource=services']);
    await s.kc(['create', 'clusterrolebinding', 'jane-reads', '--clusterrole=svc-reader', '--user=jane']);
    const asJane = await asSA(['get', 'services', '--as=jane', '-o', 'name']);
    assert.equal(asJane.code, 0, asJane.stderr);
    assert.match(asJane.stdout, /service\/kubernetes/);
    // Groups are identities of their own.
    const group = await asSA(['get', 'services', '--as=jane', '--as-group=admins']);
    assert.equal(
      group.stderr.trim(),
      'Error from server (Forbidden): groups "admins" is forbidden: User "system:serviceaccount:ns:sa" cannot impersonate resource "groups" in API group "" at the cluster scope',
    );
    const sa = await asSA(['get', 'services', '--as=system:serviceaccount:kube-system:x']);
    assert.match(
      sa.stderr,
      /serviceaccounts "x" is forbidden: User "system:serviceaccount:ns:sa" cannot impersonate resource "serviceaccounts" in API group "" in the namespace "kube-system"/,
    );
  });
});
