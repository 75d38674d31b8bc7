import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Service } from 'kubernetes-types/core/v1.js';
import type { KubeObject, Pod } from '../api/types.ts';
import { FakeLabClock } from './clock.ts';
import {
  automountsToken,
  ProjectedServiceAccountToken,
  podServiceAccountName,
  podServiceEnv,
  podTokenExpirationSeconds,
} from './service-account.ts';

const svc = (name: string, clusterIP: string, ports: NonNullable<Service['spec']>['ports'], ns = 'default') =>
  ({ metadata: { name, namespace: ns }, spec: { clusterIP, ports } }) as Service & KubeObject;
const kubernetes = svc('kubernetes', '10.96.0.1', [{ name: 'https', port: 443, protocol: 'TCP' }]);

describe('service environment (envvars.FromServices)', () => {
  it('the kubernetes Service always, service links of the namespace unless disabled', () => {
    const own = [
      svc('my-db.v2', '10.96.0.20', [{ port: 5432 }, { name: 'metrics-port', port: 9187, protocol: 'UDP' }], 'app'),
      svc('headless', 'None', [{ port: 80 }], 'app'),
      svc('3rd', '10.96.0.30', [{ port: 80 }], 'app'),
    ];
    const pod: Pod = { metadata: { namespace: 'app' }, spec: { containers: [] } };
    const env = podServiceEnv(pod, kubernetes, own);
    assert.equal(env.KUBERNETES_SERVICE_HOST, '10.96.0.1');
    assert.equal(env.KUBERNETES_SERVICE_PORT, '443');
    assert.equal(env.KUBERNETES_SERVICE_PORT_HTTPS, '443');
    assert.equal(env.KUBERNETES_PORT, 'tcp://10.96.0.1:443');
    assert.equal(env.KUBERNETES_PORT_443_TCP_ADDR, '10.96.0.1');
    assert.equal(env.MY_DB_V2_SERVICE_PORT, '5432');
    assert.equal(env.MY_DB_V2_SERVICE_PORT_METRICS_PORT, '9187');
    assert.equal(env.MY_DB_V2_PORT_9187_UDP, 'udp://10.96.0.20:9187');
    assert.equal(env.MY_DB_V2_PORT_9187_UDP_PROTO, 'udp');
    assert.equal(env._3RD_SERVICE_HOST, '10.96.0.30');
    assert.ok(!Object.keys(env).some((k) => k.startsWith('HEADLESS')));
    const off = podServiceEnv({ ...pod, spec: { containers: [], enableServiceLinks: false } }, kubernetes, own);
    assert.deepEqual(
      Object.keys(off).filter((k) => !k.startsWith('KUBERNETES_')),
      [],
    );
    assert.equal(off.KUBERNETES_SERVICE_HOST, '10.96.0.1');
  });
});

describe('automount and ServiceAccount name', () => {
  it('pod setting, then the ServiceAccount, else true; default name', () => {
    const pod = (a?: boolean): Pod => ({
      spec: { containers: [], ...(a !== undefined ? { automountServiceAccountToken: a } : {}) },
    });
    assert.equal(automountsToken(pod(), undefined), true);
    assert.equal(automountsToken(pod(), { automountServiceAccountToken: false }), false);
    assert.equal(automountsToken(pod(true), { automountServiceAccountToken: false }), true);
    assert.equal(automountsToken(pod(false), { automountServiceAccountToken: true }), false);
    assert.equal(podServiceAccountName(pod()), 'default');
    assert.equal(podServiceAccountName({ spec: { containers: [], serviceAccount: 'old' } }), 'old');
  });
});

describe('ProjectedServiceAccountToken', () => {
  it('writes token, ca.crt and namespace; renews at 80% of the life; retries a failed renewal; removes on stop', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'svt-sa-')), 'kube-api-access');
    const clock = new FakeLabClock();
    let n = 0;
    let fail = false;
    const asked: number[] = [];
    const errors: unknown[] = [];
    const t = new ProjectedServiceAccountToken(dir, {
      namespace: 'ns',
      serviceAccount: 'sa',
      caPem: 'CA',
      clock,
      onError: (e) => errors.push(e),
      issue: async (_ns, _name, seconds) => {
        asked.push(seconds);
        if (fail) throw new Error('down');
        n++;
        return { token: `t${n}`, expiresAtMs: clock.now() + seconds * 1000 };
      },
    });
    try {
      await t.start();
      assert.deepEqual(readdirSync(dir).sort(), ['ca.crt', 'namespace', 'token']);
      assert.equal(readFileSync(join(dir, 'token'), 'utf8'), 't1');
      assert.equal(readFileSync(join(dir, 'namespace'), 'utf8'), 'ns');
      assert.equal(statSync(join(dir, 'ca.crt')).mode & 0o777, 0o644);
      assert.deepEqual(asked, [podTokenExpirationSeconds]);
      await clock.advance(0.8 * podTokenExpirationSeconds * 1000 - 1);
      await new Promise((r) => setImmediate(r));
      assert.equal(readFileSync(join(dir, 'token'), 'utf8'), 't1', 'not before 80%');
      fail = true;
      await clock.advance(1);
      await new Promise((r) => setTimeout(r, 20));
      assert.equal(errors.length, 1);
      fail = false;
      await clock.advance(10_000);
      await new Promise((r) => setTimeout(r, 20));
      assert.equal(readFileSync(join(dir, 'token'), 'utf8'), 't2', 'retried after 10 s');
      await t.stop();
      assert.throws(() => statSync(dir));
    } finally {
      rmSync(join(dir, '..'), { recursive: true, force: true });
    }
  });
});
