import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { inClusterConfig, KubeconfigError, loadKubeconfig, resolveClientConfig } from './kubeconfig.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');

function kubeconfig(o: {
  clusters?: Record<string, Record<string, unknown>>;
  users?: Record<string, Record<string, unknown>>;
  contexts?: Record<string, Record<string, unknown>>;
  current?: string;
}): string {
  const list = (m: Record<string, Record<string, unknown>> | undefined, field: string) =>
    Object.entries(m ?? {}).map(([name, v]) => ({ name, [field]: v }));
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: list(o.clusters, 'cluster'),
    users: list(o.users, 'user'),
    contexts: list(o.contexts, 'context'),
    'current-context': o.current ?? '',
  });
}

const codeOf = (code: string) => (e: unknown) => e instanceof KubeconfigError && e.code === code;

describe('kubeconfig loading', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'svcnet-kc-'));
    mkdirSync(join(dir, 'certs'));
    writeFileSync(join(dir, 'certs', 'ca.pem'), 'CA-FROM-FILE');
    writeFileSync(join(dir, 'certs', 'client.pem'), 'CERT-FROM-FILE');
    writeFileSync(join(dir, 'certs', 'client.key'), 'KEY-FROM-FILE');
    writeFileSync(join(dir, 'token'), 'file-token\n');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('resolves the current context: inline data, relative files, namespace', () => {
    const path = join(dir, 'a.yaml');
    writeFileSync(
      path,
      kubeconfig({
        clusters: {
          inline: { server: 'https://10.0.0.1:6443', 'certificate-authority-data': b64('CA-INLINE') },
          files: { server: 'https://files:6443', 'certificate-authority': 'certs/ca.pem', 'tls-server-name': 'api' },
          insecure: { server: 'https://x:1', 'insecure-skip-tls-verify': true },
        },
        users: {
          tok: { token: 'abc' },
          certs: { 'client-certificate': 'certs/client.pem', 'client-key': 'certs/client.key', tokenFile: 'token' },
          inline: { 'client-certificate-data': b64('CERT-INLINE'), 'client-key-data': b64('KEY-INLINE') },
          basic: { username: 'u', password: 'p' },
        },
        contexts: {
          one: { cluster: 'inline', user: 'tok', namespace: 'team' },
          two: { cluster: 'files', user: 'certs' },
          three: { cluster: 'insecure', user: 'inline' },
          four: { cluster: 'inline', user: 'basic' },
        },
        current: 'one',
      }),
    );
    assert.deepEqual(loadKubeconfig(path), {
      server: 'https://10.0.0.1:6443',
      ca: 'CA-INLINE',
      token: 'abc',
      namespace: 'team',
      context: 'one',
    });
    assert.deepEqual(loadKubeconfig(path, 'two'), {
      server: 'https://files:6443',
      ca: 'CA-FROM-FILE',
      tlsServerName: 'api',
      tokenFile: join(dir, 'token'),
      clientCert: 'CERT-FROM-FILE',
      clientKey: 'KEY-FROM-FILE',
      namespace: 'default',
      context: 'two',
    });
    const three = loadKubeconfig(path, 'three');
    assert.equal(three.insecureSkipTLSVerify, true);
    assert.equal(three.clientCert, 'CERT-INLINE');
    assert.equal(three.clientKey, 'KEY-INLINE');
    assert.deepEqual([loadKubeconfig(path, 'four').username, loadKubeconfig(path, 'four').password], ['u', 'p']);
    assert.throws(() => loadKubeconfig(path, 'nope'), codeOf('CONTEXT_NOT_FOUND'));
  });

  it('merges a $KUBECONFIG list first-wins and skips missing files', () => {
    const a = join(dir, 'm1.yaml');
    const b = join(dir, 'm2.yaml');
    writeFileSync(a, kubeconfig({ clusters: { c: { server: 'https://first:1' } }, current: 'ctx' }));
    writeFileSync(
      b,
      kubeconfig({
        clusters: { c: { server: 'https://second:1' } },
        users: { u: { token: 't' } },
        contexts: { ctx: { cluster: 'c', user: 'u' } },
        current: 'other',
      }),
    );
    const env = { KUBECONFIG: [a, join(dir, 'missing.yaml'), b].join(delimiter) };
    const cfg = loadKubeconfig(undefined, undefined, env);
    assert.equal(cfg.server, 'https://first:1');
    assert.equal(cfg.context, 'ctx');
    assert.equal(cfg.token, 't');
    // An explicit path must exist.
    assert.throws(() => loadKubeconfig(join(dir, 'missing.yaml')), codeOf('NOT_FOUND'));
  });

  it('refuses exec and auth-provider users instead of connecting anonymously', () => {
    const path = join(dir, 'exec.yaml');
    writeFileSync(
      path,
      kubeconfig({
        clusters: { c: { server: 'https://x:1' } },
        users: { e: { exec: { command: 'aws', apiVersion: 'client.authentication.k8s.io/v1beta1' } } },
        contexts: { ctx: { cluster: 'c', user: 'e' } },
        current: 'ctx',
      }),
    );
    assert.throws(() => loadKubeconfig(path), codeOf('UNSUPPORTED_AUTH'));
  });

  it('builds the in-cluster config from the service env and the service-account mount', () => {
    const sa = join(dir, 'sa');
    mkdirSync(sa);
    writeFileSync(join(sa, 'token'), 'sa-token');
    writeFileSync(join(sa, 'ca.crt'), 'SA-CA');
    writeFileSync(join(sa, 'namespace'), 'kube-system\n');
    const env = { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' };
    assert.deepEqual(inClusterConfig(env, sa), {
      server: 'https://[fd00::1]:443',
      tokenFile: join(sa, 'token'),
      ca: 'SA-CA',
      namespace: 'kube-system',
      context: 'in-cluster',
    });
    assert.equal(resolveClientConfig({}, { ...env, HOME: dir }, sa).context, 'in-cluster');
    assert.throws(() => inClusterConfig({}, sa), codeOf('NO_CONFIG'));
    assert.throws(() => resolveClientConfig({}, { HOME: join(dir, 'nohome') }, sa), codeOf('NO_CONFIG'));
  });
});
