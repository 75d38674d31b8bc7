// The rootless fallback, which needs no privileges: no namespaces, each pod on its own
// 127.x.y.z, probes over plain sockets, `svcnet exec` runs on the host.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createInProcessCluster, type InProcessCluster } from '../src/client/cluster.ts';
import { execInPod } from '../src/lab/exec.ts';
import { type PodObj, PodRunner } from '../src/lab/pod-runner.ts';
import { LabTopology } from '../src/lab/topology.ts';

describe('lab, rootless: pods on loopback addresses', () => {
  let cluster: InProcessCluster;
  let runner: PodRunner;
  let dataDir: string;
  const errors: string[] = [];

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'svt-rootless-'));
    cluster = await createInProcessCluster();
    runner = new PodRunner({
      client: cluster.client,
      topology: new LabTopology({ dataDir, mode: 'rootless' }),
      nodeName: 'lab-node',
      dataDir,
      onError: (e, where) => errors.push(`${where}: ${String(e)}`),
    });
    await runner.start();
  });

  after(async () => {
    await runner?.stop();
    await cluster?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('two echo pods on one port each get their own 127.x address, become Ready and answer', async () => {
    for (const name of ['r-0', 'r-1']) {
      await cluster.client.create('pods', {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, namespace: 'default' },
        spec: {
          nodeName: 'lab-node',
          containers: [
            {
              name: 'echo',
              image: 'svcnet/echo:1.0',
              readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
              livenessProbe: { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 1 },
            },
          ],
        },
      });
    }
    const end = Date.now() + 30_000;
    let pods: PodObj[] = [];
    while (Date.now() < end) {
      pods = await Promise.all(['r-0', 'r-1'].map((n) => cluster.client.get<PodObj>('pods', 'default', n)));
      if (pods.every((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const ips = pods.map((p) => p.status?.podIP ?? '');
    assert.equal(new Set(ips).size, 2);
    for (const [i, ip] of ips.entries()) {
      assert.match(ip, /^127\.\d+\.\d+\.\d+$/);
      assert.equal(await (await fetch(`http://${ip}:8080/hostname`)).text(), `r-${i}`);
    }
    const r = await execInPod({
      client: cluster.client,
      namespace: 'default',
      pod: 'r-0',
      argv: [
        process.execPath,
        '-e',
        `fetch('http://${ips[1]}:8080/hostname').then(r=>r.text()).then(t=>process.stdout.write(t))`,
      ],
      stdio: 'pipe',
    });
    assert.equal(r.stdout, 'r-1');
    assert.equal(pods[0]?.status?.containerStatuses?.[0]?.restartCount, 0);
    assert.deepEqual(errors, []);
  });
});
