// The API server over plain HTTP: authentication, discovery, concurrency of allocation, dry
// run, delete collections, the status subresource lifecycle and watch streams.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { httpsFetch, startTestApiServer, type TestApiServer } from './helpers/apiserver.ts';

// biome-ignore lint/suspicious/noExplicitAny: test bodies are free-form JSON
const loose = (x: unknown): any => x;
const svcPath = '/api/v1/namespaces/default/services';

function svc(name: string, extra: Record<string, unknown> = {}, labels: Record<string, string> = {}) {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, labels },
    spec: { type: 'NodePort', selector: { app: name }, ports: [{ port: 80, targetPort: 8080 }], ...extra },
  };
}

describe('apiserver over HTTP', () => {
  let s: TestApiServer;
  const post = (path: string, body: unknown, query = '') =>
    s.fetch(`${path}${query}`, {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { 'Content-Type': 'application/json' },
    });
  before(async () => {
    // A 20-revision watch window: early revisions are compacted by the time the watch test runs.
    s = await startTestApiServer({ historyLimit: 20 });
  });
  after(async () => {
    await s.close();
  });

  it('rejects requests without the bearer token with a 401 Status', async () => {
    const ca = readFileSync(join(s.dir, 'ca.crt'), 'utf8');
    const r = await httpsFetch(`${s.url}/api/v1/namespaces`, ca, { headers: { Authorization: '' } });
    assert.equal(r.status, 401);
    const body = await r.json().then(loose);
    assert.equal(body.kind, 'Status');
    assert.equal(body.reason, 'Unauthorized');
    const wrong = await httpsFetch(`${s.url}/version`, ca, { headers: { Authorization: 'Bearer nope' } });
    assert.equal(wrong.status, 401);
  });

  it('serves version, discovery and openapi v3', async () => {
    assert.equal((await (await s.fetch('/version')).json().then(loose)).major, '1');
    const v1 = await (await s.fetch('/api/v1')).json().then(loose);
    const services = v1.resources.find((r: { name: string }) => r.name === 'services');
    assert.deepEqual(services.shortNames, ['svc']);
    assert.ok(v1.resources.some((r: { name: string }) => r.name === 'services/status'));
    const groups = await (await s.fetch('/apis')).json().then(loose);
    const names = groups.groups.map((g: { name: string }) => g.name);
    for (const g of ['apps', 'discovery.k8s.io', 'coordination.k8s.io', 'metallb.io']) assert.ok(names.includes(g), g);
    const metallb = await (await s.fetch('/apis/metallb.io/v1beta2')).json().then(loose);
    assert.equal(metallb.resources[0].kind, 'BGPPeer');
    const idx = await (await s.fetch('/openapi/v3')).json().then(loose);
    const doc = await (await s.fetch(idx.paths['api/v1'].serverRelativeURL)).json().then(loose);
    const patch = doc.paths['/api/v1/namespaces/{namespace}/services/{name}'].patch;
    assert.deepEqual(patch['x-kubernetes-group-version-kind'], { group: '', version: 'v1', kind: 'Service' });
    assert.ok(patch.parameters.some((p: { name: string }) => p.name === 'fieldValidation'));
  });

  it('system namespaces and default/kubernetes exist at start', async () => {
    const ns = await (await s.fetch('/api/v1/namespaces')).json().then(loose);
    const names = ns.items.map((n: { metadata: { name: string } }) => n.metadata.name).sort();
    assert.deepEqual(names, ['default', 'kube-node-lease', 'kube-public', 'kube-system', 'metallb-system']);
    const k = await (await s.fetch(`${svcPath}/kubernetes`)).json().then(loose);
    assert.equal(k.spec.clusterIP, '10.96.0.1');
    assert.deepEqual(k.spec.ports[0].name, 'https');
  });

  it('50 parallel creates get 50 distinct ClusterIPs and nodePorts', async () => {
    const rs = await Promise.all(Array.from({ length: 50 }, (_, i) => post(svcPath, svc(`par-${i}`))));
    const bodies = await Promise.all(rs.map((r) => r.json().then(loose)));
    for (const [i, r] of rs.entries()) assert.equal(r.status, 201, JSON.stringify(bodies[i]));
    const ips = new Set(bodies.map((b) => b.spec.clusterIP));
    const ports = new Set(bodies.map((b) => b.spec.ports[0].nodePort));
    assert.equal(ips.size, 50);
    assert.equal(ports.size, 50);
    assert.ok(!ips.has('10.96.0.1'));
  });

  it('dryRun=All validates and allocates nothing', async () => {
    // 30050 is in the static band dynamic allocation avoids, so the parallel creates before cannot hold it.
    const r = await post(svcPath, svc('dry', { ports: [{ port: 80, nodePort: 30050 }] }), '?dryRun=All');
    assert.equal(r.status, 201);
    assert.equal((await s.fetch(`${svcPath}/dry`)).status, 404);
    const real = await post(svcPath, svc('wet', { ports: [{ port: 80, nodePort: 30050 }] }));
    assert.equal(real.status, 201, 'the dry-run port was not taken');
  });

  it('AlreadyExists and NotFound carry Kubernetes Status bodies', async () => {
    const dup = await post(svcPath, svc('wet'));
    assert.equal(dup.status, 409);
    const body = await dup.json().then(loose);
    assert.equal(body.reason, 'AlreadyExists');
    assert.equal(body.message, 'services "wet" already exists');
    const nf = await (await s.fetch(`${svcPath}/missing`)).json().then(loose);
    assert.equal(nf.code, 404);
    assert.equal(nf.message, 'services "missing" not found');
  });

  it('a stale resourceVersion on update is a 409 Conflict and changes nothing', async () => {
    const cur = await (await s.fetch(`${svcPath}/wet`)).json().then(loose);
    const stale = { ...cur, metadata: { ...cur.metadata, resourceVersion: '1', labels: { x: 'y' } } };
    const r = await s.fetch(`${svcPath}/wet`, {
      method: 'PUT',
      body: JSON.stringify(stale),
      headers: { 'Content-Type': 'application/json' },
    });
    assert.equal(r.status, 409);
    const body = await r.json().then(loose);
    assert.equal(
      body.message,
      'Operation cannot be fulfilled on services "wet": the object has been modified; please apply your changes to the latest version and try again',
    );
    const after = await (await s.fetch(`${svcPath}/wet`)).json().then(loose);
    assert.equal(after.metadata.resourceVersion, cur.metadata.resourceVersion);
  });

  it('deletes a collection by label (e2e 7.16) and releases allocations', async () => {
    for (const n of ['dc-1', 'dc-2', 'dc-3']) {
      const r = await post(svcPath, svc(n, {}, { group: n === 'dc-3' ? 'keep' : 'drop' }));
      assert.equal(r.status, 201);
    }
    const r = await s.fetch(`${svcPath}?labelSelector=group%3Ddrop`, { method: 'DELETE' });
    assert.equal(r.status, 200);
    const left = await (await s.fetch(`${svcPath}?labelSelector=group`)).json().then(loose);
    assert.deepEqual(
      left.items.map((i: { metadata: { name: string } }) => i.metadata.name),
      ['dc-3'],
    );
  });

  it('status subresource lifecycle (e2e 7.15): spec changes through /status are ignored', async () => {
    const created = await (
      await post(svcPath, svc('lb', { type: 'LoadBalancer', loadBalancerClass: 'example.com/internal-vip' }))
    )
      .json()
      .then(loose);
    const patch = {
      metadata: { annotations: { patchedstatus: 'true' } },
      spec: { type: 'ClusterIP' },
      status: { loadBalancer: { ingress: [{ ip: '203.0.113.1' }] } },
    };
    const r = await s.fetch(`${svcPath}/lb/status`, {
      method: 'PATCH',
      body: JSON.stringify(patch),
      headers: { 'Content-Type': 'application/merge-patch+json' },
    });
    const body = await r.json().then(loose);
    assert.equal(r.status, 200, JSON.stringify(body));
    assert.equal(body.spec.type, 'LoadBalancer');
    assert.equal(body.metadata.annotations.patchedstatus, 'true');
    assert.deepEqual(body.status.loadBalancer.ingress, [{ ip: '203.0.113.1', ipMode: 'VIP' }]);
    assert.equal(body.spec.clusterIP, created.spec.clusterIP);
  });

  it('answers Table requests with the service columns', async () => {
    const r = await s.fetch(`${svcPath}?limit=500`, {
      headers: { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' },
    });
    const t = await r.json().then(loose);
    assert.equal(t.kind, 'Table');
    assert.deepEqual(
      t.columnDefinitions.map((c: { name: string }) => c.name),
      ['Name', 'Type', 'Cluster-IP', 'External-IP', 'Port(s)', 'Age', 'Selector'],
    );
    const row = t.rows.find((x: { cells: string[] }) => x.cells[0] === 'lb');
    assert.equal(row.cells[1], 'LoadBalancer');
    assert.equal(row.cells[3], '203.0.113.1');
  });

  it('watch streams changes from a resourceVersion and reports 410 for compacted ones', async () => {
    const list = await (await s.fetch(svcPath)).json().then(loose);
    const ctrl = new AbortController();
    const res = await s.fetch(`${svcPath}?watch=true&resourceVersion=${list.metadata.resourceVersion}`, {
      signal: ctrl.signal,
    });
    const reader = res.body?.getReader();
    assert.ok(reader);
    await post(svcPath, svc('watched'));
    let text = '';
    while (!text.includes('\n')) {
      const { value } = await reader.read();
      text += new TextDecoder().decode(value);
    }
    const ev = JSON.parse(text.split('\n')[0] ?? '');
    assert.equal(ev.type, 'ADDED');
    assert.equal(ev.object.metadata.name, 'watched');
    ctrl.abort();

    const old = await (await s.fetch(`${svcPath}?watch=true&resourceVersion=2&timeoutSeconds=5`)).text();
    const gone = JSON.parse(old.trim().split('\n')[0] ?? '');
    assert.equal(gone.type, 'ERROR');
    assert.equal(gone.object.code, 410);
    assert.equal(gone.object.reason, 'Expired');
    assert.match(gone.object.message, /^too old resource version: 2 \(\d+\)$/);
  });

  it('deletes scheduled pods gracefully: deletionTimestamp first, removal with grace 0', async () => {
    const podPath = '/api/v1/namespaces/default/pods';
    const pod = (name: string, nodeName?: string) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name },
      spec: {
        ...(nodeName ? { nodeName } : {}),
        terminationGracePeriodSeconds: 7,
        containers: [{ name: 'c', image: 'svcnet/echo' }],
      },
    });
    assert.equal((await post(podPath, pod('graceful', 'node-a'))).status, 201);
    const first = await (await s.fetch(`${podPath}/graceful`, { method: 'DELETE' })).json().then(loose);
    assert.equal(first.metadata.deletionGracePeriodSeconds, 7);
    assert.ok(Date.parse(first.metadata.deletionTimestamp) > Date.now() + 4000, first.metadata.deletionTimestamp);
    assert.equal((await s.fetch(`${podPath}/graceful`)).status, 200, 'still there while terminating');
    const final = await s.fetch(`${podPath}/graceful?gracePeriodSeconds=0`, { method: 'DELETE' });
    assert.equal(final.status, 200);
    assert.equal((await s.fetch(`${podPath}/graceful`)).status, 404);
    assert.equal((await post(podPath, pod('unscheduled'))).status, 201);
    await s.fetch(`${podPath}/unscheduled`, { method: 'DELETE' });
    assert.equal((await s.fetch(`${podPath}/unscheduled`)).status, 404, 'unscheduled pods go at once');
  });

  it('rejects unknown namespaces, bad bodies and unknown media types', async () => {
    const r = await post('/api/v1/namespaces/nope/services', svc('x'));
    assert.equal(r.status, 404);
    assert.equal((await r.json().then(loose)).message, 'namespaces "nope" not found');
    const bad = await s.fetch(svcPath, {
      method: 'POST',
      body: '{not json',
      headers: { 'Content-Type': 'application/json' },
    });
    assert.equal(bad.status, 400);
    const media = await s.fetch(svcPath, { method: 'POST', body: 'x', headers: { 'Content-Type': 'text/plain' } });
    assert.equal(media.status, 415);
    const wrongKind = await post(svcPath, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' } });
    assert.equal(wrongKind.status, 400);
  });
});
