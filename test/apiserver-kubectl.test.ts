// Real kubectl 1.32 against a real svcnet API server: the commands users type, with the output
// a real cluster prints.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestApiServer, type TestApiServer } from './helpers/apiserver.ts';

const examples = join(import.meta.dirname, '..', 'examples');

function columns(line: string): string[] {
  return line.trim().split(/\s{2,}/);
}

function rowOf(out: string, name: string): string[] {
  const line = out.split('\n').find((l) => l.startsWith(`${name} `));
  assert.ok(line, `no row for ${name} in:\n${out}`);
  return columns(line);
}

describe('kubectl against svcnet apiserver', () => {
  let s: TestApiServer;
  before(async () => {
    s = await startTestApiServer();
  });
  after(async () => {
    await s.close();
  });

  it('applies the seed manifests and prints the real columns', async () => {
    for (const f of ['my-nodeport-service.yaml', 'db-mariadb-slave-lb.yaml', 'my-service.yaml']) {
      const out = await s.kc(['apply', '-f', join(examples, f)]);
      assert.match(out, /created/);
    }
    const out = await s.kc(['get', 'svc']);
    const header = out.split('\n')[0] ?? '';
    assert.deepEqual(columns(header), ['NAME', 'TYPE', 'CLUSTER-IP', 'EXTERNAL-IP', 'PORT(S)', 'AGE']);
    const np = rowOf(out, 'my-nodeport-service');
    assert.equal(np[1], 'NodePort');
    assert.match(np[2] ?? '', /^10\.(9[6-9]|10[0-9]|11[01])\.\d+\.\d+$/);
    assert.equal(np[3], '<none>');
    assert.equal(np[4], '80:30036/TCP');
    const lb = rowOf(out, 'db-mariadb-slave-lb');
    assert.equal(lb[1], 'LoadBalancer');
    assert.equal(lb[3], '<pending>');
    assert.match(lb[4] ?? '', /^3306:3\d{4}\/TCP$/);
    const cl = rowOf(out, 'my-service');
    assert.deepEqual(cl.slice(1, 2), ['ClusterIP']);
    assert.equal(cl[4], '80/TCP');
    const k = rowOf(out, 'kubernetes');
    assert.deepEqual(k.slice(1, 5), ['ClusterIP', '10.96.0.1', '<none>', '443/TCP']);

    const wide = await s.kc(['get', 'svc', '-o', 'wide']);
    assert.deepEqual(columns(wide.split('\n')[0] ?? ''), [
      'NAME',
      'TYPE',
      'CLUSTER-IP',
      'EXTERNAL-IP',
      'PORT(S)',
      'AGE',
      'SELECTOR',
    ]);
    assert.equal(rowOf(wide, 'db-mariadb-slave-lb')[6], 'app=mariadb,component=slave,release=db');
  });

  it('re-applies a modified manifest (strategic merge patch) keeping allocated values', async () => {
    const before = JSON.parse(await s.kc(['get', 'svc', 'db-mariadb-slave-lb', '-o', 'json']));
    const file = join(s.dir, 'db-modified.yaml');
    const text = readFileSync(join(examples, 'db-mariadb-slave-lb.yaml'), 'utf8')
      .replace('name: db-mariadb-slave-lb', 'name: db-mariadb-slave-lb\n  labels:\n    tier: db')
      .replace(
        '  selector:',
        '  - name: metrics\n    port: 9104\n    protocol: TCP\n    targetPort: 9104\n  selector:',
      );
    writeFileSync(file, text);
    const out = await s.kc(['apply', '-f', file]);
    assert.match(out, /configured/);
    const svc = JSON.parse(await s.kc(['get', 'svc', 'db-mariadb-slave-lb', '-o', 'json']));
    assert.equal(svc.metadata.labels.tier, 'db');
    assert.equal(svc.spec.clusterIP, before.spec.clusterIP);
    assert.equal(svc.spec.ports.length, 2);
    assert.equal(svc.spec.ports[0].nodePort, before.spec.ports[0].nodePort, 'allocated nodePort kept on re-apply');
    assert.ok(svc.spec.ports[1].nodePort >= 30000);
    // Applying the same file again changes nothing.
    assert.match(await s.kc(['apply', '-f', file]), /unchanged/);
  });

  it('kubectl create service nodeport (protobuf body) allocates a node port', async () => {
    const out = await s.kc(['create', 'service', 'nodeport', 'my-np', '--tcp=80:8080']);
    assert.match(out, /service\/my-np created/);
    const svc = JSON.parse(await s.kc(['get', 'svc', 'my-np', '-o', 'json']));
    assert.equal(svc.spec.type, 'NodePort');
    assert.equal(svc.spec.ports[0].targetPort, 8080);
    assert.ok(svc.spec.ports[0].nodePort >= 30000 && svc.spec.ports[0].nodePort <= 32767);
    assert.deepEqual(svc.spec.selector, { app: 'my-np' });
  });

  it('kubectl expose deployment FOO --type=LoadBalancer', async () => {
    await s.kc(['create', 'deployment', 'foo', '--image=svcnet/echo', '--replicas=2']);
    const out = await s.kc(['expose', 'deployment', 'foo', '--type=LoadBalancer', '--port=1234', '--target-port=1234']);
    assert.match(out, /service\/foo exposed/);
    const svc = JSON.parse(await s.kc(['get', 'svc', 'foo', '-o', 'json']));
    assert.equal(svc.spec.type, 'LoadBalancer');
    assert.deepEqual(svc.spec.selector, { app: 'foo' });
    assert.equal(svc.spec.ports[0].port, 1234);
    assert.equal(svc.spec.allocateLoadBalancerNodePorts, true);
    assert.equal(svc.spec.externalTrafficPolicy, 'Cluster');
    const deps = await s.kc(['get', 'deploy']);
    assert.deepEqual(columns(deps.split('\n')[0] ?? ''), ['NAME', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'AGE']);
  });

  it('kubectl patch with strategic, merge and json patches', async () => {
    await s.kc(['patch', 'svc', 'my-service', '-p', '{"metadata":{"labels":{"a":"1"}}}']);
    await s.kc(['patch', 'svc', 'my-service', '--type=merge', '-p', '{"metadata":{"labels":{"b":"2"}}}']);
    await s.kc([
      'patch',
      'svc',
      'my-service',
      '--type=json',
      '-p',
      '[{"op":"replace","path":"/spec/ports/0/port","value":81}]',
    ]);
    const svc = JSON.parse(await s.kc(['get', 'svc', 'my-service', '-o', 'json']));
    assert.deepEqual(svc.metadata.labels, { a: '1', b: '2' });
    assert.equal(svc.spec.ports[0].port, 81);
    const bad = await s.kubectl([
      'patch',
      'svc',
      'my-service',
      '--type=merge',
      '-p',
      '{"spec":{"ports":[{"port":0}]}}',
    ]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /spec\.ports\[0\]\.port: Invalid value: 0: must be between 1 and 65535, inclusive/);
    const again = JSON.parse(await s.kc(['get', 'svc', 'my-service', '-o', 'json']));
    assert.equal(again.spec.ports[0].port, 81, 'a rejected patch changes nothing');
  });

  it('nodePort collisions, then delete frees the port for reuse', async () => {
    const clash = join(s.dir, 'clash.yaml');
    writeFileSync(
      clash,
      readFileSync(join(examples, 'my-nodeport-service.yaml'), 'utf8').replace(
        'name: my-nodeport-service',
        'name: clash',
      ),
    );
    const r = await s.kubectl(['apply', '-f', clash]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /spec\.ports\[0\]\.nodePort: Invalid value: 30036: provided port is already allocated/);
    assert.match(await s.kc(['delete', 'svc', 'my-nodeport-service']), /service "my-nodeport-service" deleted/);
    assert.match(await s.kc(['apply', '-f', clash]), /service\/clash created/);
  });

  it('kubectl get -w sees changes', async () => {
    const child = spawn(
      'kubectl',
      ['--kubeconfig', s.kubeconfig, '--cache-dir', join(s.dir, 'watch-cache'), 'get', 'svc', '-w'],
      {
        env: { ...process.env, HOME: s.dir },
      },
    );
    let out = '';
    child.stdout.on('data', (d) => {
      out += String(d);
    });
    try {
      await waitFor(() => out.includes('kubernetes'), 'initial list');
      await s.kc(['create', 'service', 'clusterip', 'watched', '--tcp=5678:8080']);
      await waitFor(() => /watched\s+ClusterIP\s+10\.\S+\s+<none>\s+5678\/TCP/.test(out), 'watch event row');
    } finally {
      child.kill();
    }
  });

  it('kubectl describe service shows the service', async () => {
    const out = await s.kc(['describe', 'service', 'my-service']);
    assert.match(out, /Name:\s+my-service/);
    assert.match(out, /Namespace:\s+default/);
    assert.match(out, /Selector:\s+app=MyApp/);
    assert.match(out, /Type:\s+ClusterIP/);
    assert.match(out, /IP:\s+10\./);
    assert.match(out, /TargetPort:\s+9376\/TCP/);
  });

  it('Endpoints lifecycle (e2e 7.14) and kubectl get endpoints -o yaml', async () => {
    const ep = {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: 'manual', labels: { test: 'lifecycle' } },
      subsets: [{ addresses: [{ ip: '10.0.0.24' }], ports: [{ name: 'http', port: 80 }] }],
    };
    await s.kc(['create', '-f', '-'], JSON.stringify(ep));
    const yaml = await s.kc(['get', 'endpoints', 'manual', '-o', 'yaml']);
    assert.match(yaml, /ip: 10\.0\.0\.24/);
    assert.match(yaml, /protocol: TCP/, 'port protocol defaulted');
    const table = await s.kc(['get', 'ep', 'manual']);
    assert.equal(rowOf(table, 'manual')[1], '10.0.0.24:80');
    await s.kc([
      'patch',
      'ep',
      'manual',
      '-p',
      '{"subsets":[{"addresses":[{"ip":"10.0.0.25"}],"ports":[{"name":"http-test","port":8080}]}]}',
    ]);
    assert.equal(rowOf(await s.kc(['get', 'ep', 'manual']), 'manual')[1], '10.0.0.25:8080');
    const loop = await s.kubectl([
      'patch',
      'ep',
      'manual',
      '--type=merge',
      '-p',
      '{"subsets":[{"addresses":[{"ip":"127.0.0.1"}]}]}',
    ]);
    assert.match(loop.stderr, /may not be in the loopback range \(127\.0\.0\.0\/8, ::1\/128\)/);
    await s.kc(['delete', 'endpoints', '-l', 'test=lifecycle']);
    const gone = await s.kubectl(['get', 'ep', 'manual']);
    assert.match(gone.stderr, /endpoints "manual" not found/);
  });
});

async function waitFor(cond: () => boolean, what: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
