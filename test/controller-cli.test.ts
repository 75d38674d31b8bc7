// `svcnet controller --kubeconfig K` as a separate process against the API server over HTTPS,
// driven only with real kubectl: the seed's "kubectl get endpoints NAME -o yaml" shows the pods.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestApiServer, type TestApiServer } from './helpers/apiserver.ts';

const bin = join(import.meta.dirname, '..', 'bin', 'svcnet');

async function eventually(what: string, fn: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('svcnet controller against an API server', () => {
  let s: TestApiServer;
  let child: ChildProcess;
  let log = '';
  before(async () => {
    s = await startTestApiServer();
    child = spawn(bin, ['controller', '--kubeconfig', s.kubeconfig], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (d) => {
      log += String(d);
    });
    child.stderr?.on('data', (d) => {
      log += String(d);
    });
    await eventually('controllers synced', async () => log.includes('controllers synced'));
  });
  after(async () => {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    await s.close();
  });

  it('keeps Endpoints and EndpointSlices current as pods turn ready', async () => {
    await s.kc(['apply', '-f', join(import.meta.dirname, '..', 'examples', 'my-service.yaml')]);
    // The EndpointSlice controller skips pods whose Node it does not know (§4.15).
    await s.kc(['create', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-a' } }));
    for (const [name, ip] of [
      ['web-1', '10.244.0.11'],
      ['web-2', '10.244.0.12'],
    ] as const) {
      const pod = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, labels: { app: 'MyApp' } },
        spec: {
          nodeName: 'node-a',
          containers: [{ name: 'web', image: 'svcnet/echo', ports: [{ containerPort: 9376 }] }],
        },
      };
      await s.kc(['create', '-f', '-'], JSON.stringify(pod));
      const status = {
        status: { phase: 'Running', podIP: ip, podIPs: [{ ip }], conditions: [{ type: 'Ready', status: 'True' }] },
      };
      await s.kc(['patch', 'pod', name, '--subresource=status', '--type=merge', '-p', JSON.stringify(status)]);
    }
    await eventually('both endpoints', async () => {
      const r = await s.kubectl(['get', 'endpoints', 'my-service', '-o', 'yaml']);
      return r.stdout.includes('10.244.0.11') && r.stdout.includes('10.244.0.12');
    });
    const yaml = await s.kc(['get', 'endpoints', 'my-service', '-o', 'yaml']);
    assert.match(yaml, /port: 9376/);
    // The two controllers write independently: wait for the slice as well.
    await eventually('slice filled', async () => {
      const slices = await s.kc(['get', 'endpointslices', '-l', 'kubernetes.io/service-name=my-service']);
      return /IPv4\s+9376\s+10\.244\.0\.1[12],10\.244\.0\.1[12]/.test(slices);
    });

    // web-2 turns unready: it moves to notReadyAddresses.
    await s.kc([
      'patch',
      'pod',
      'web-2',
      '--subresource=status',
      '--type=merge',
      '-p',
      '{"status":{"conditions":[{"type":"Ready","status":"False"}]}}',
    ]);
    await eventually('web-2 not ready', async () => {
      const ep = JSON.parse(await s.kc(['get', 'endpoints', 'my-service', '-o', 'json']));
      const notReady = ep.subsets?.[0]?.notReadyAddresses ?? [];
      return notReady.some((a: { ip: string }) => a.ip === '10.244.0.12');
    });
  });
});
