// Server-side apply with real kubectl 1.32 and over raw HTTP: managedFields per manager, the
// migration from client-side apply, conflicts answered with kube-apiserver's 409 text, forced
// takeover, creation by apply, managers of ordinary writes, and malformed apply bodies.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestApiServer, type TestApiServer } from './helpers/apiserver.ts';

interface Entry {
  manager: string;
  operation: string;
  apiVersion: string;
  fieldsV1: Record<string, unknown>;
  time?: string;
  subresource?: string;
}

function service(name: string, targetPort: number, extra = ''): string {
  return `apiVersion: v1
kind: Service
metadata:
  name: ${name}
  labels:
    app: ${name}
spec:
  selector:
    app: ${name}
  ports:
  - port: 80
    targetPort: ${targetPort}
${extra}`;
}

const svcPath = '/api/v1/namespaces/default/services';

describe('server-side apply', () => {
  let s: TestApiServer;
  const file = (name: string, text: string) => {
    const p = join(s.dir, name);
    writeFileSync(p, text);
    return p;
  };
  const managed = async (name: string): Promise<Entry[]> =>
    JSON.parse(await s.kc(['get', 'svc', name, '-o', 'json', '--show-managed-fields'])).metadata.managedFields;
  const entry = (es: Entry[], manager: string) => {
    const e = es.find((x) => x.manager === manager);
    assert.ok(e, `no managedFields entry for ${manager}: ${JSON.stringify(es)}`);
    return e;
  };
  const apply = (name: string, body: string, query: string, contentType = 'application/apply-patch+yaml') =>
    s.fetch(`${svcPath}/${name}?${query}`, { method: 'PATCH', headers: { 'Content-Type': contentType }, body });

  before(async () => {
    s = await startTestApiServer();
  });
  after(async () => {
    await s.close();
  });

  it('kubectl apply (client-side) records kubectl-client-side-apply as a real cluster does', async () => {
    await s.kc(['apply', '-f', file('web.yaml', service('web', 8080))]);
    const e = entry(await managed('web'), 'kubectl-client-side-apply');
    assert.equal(e.operation, 'Update');
    assert.equal(e.apiVersion, 'v1');
    assert.match(e.time ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.deepEqual(e.fieldsV1, {
      'f:metadata': {
        'f:annotations': { '.': {}, 'f:kubectl.kubernetes.io/last-applied-configuration': {} },
        'f:labels': { '.': {}, 'f:app': {} },
      },
      'f:spec': {
        'f:internalTrafficPolicy': {},
        'f:ports': {
          '.': {},
          'k:{"port":80,"protocol":"TCP"}': { '.': {}, 'f:port': {}, 'f:protocol': {}, 'f:targetPort': {} },
        },
        'f:selector': {},
        'f:sessionAffinity': {},
        'f:type': {},
      },
    });
  });

  it('kubectl apply --server-side takes over from client-side apply without a conflict', async () => {
    const out = await s.kc(['apply', '--server-side', '-f', file('web2.yaml', service('web', 9090))]);
    assert.match(out, /service\/web serverside-applied/);
    const es = await managed('web');
    const k = entry(es, 'kubectl');
    assert.equal(k.operation, 'Apply');
    assert.deepEqual((k.fieldsV1['f:spec'] as Record<string, unknown>)['f:ports'], {
      'k:{"port":80,"protocol":"TCP"}': { '.': {}, 'f:port': {}, 'f:targetPort': {} },
    });
    const svc = JSON.parse(await s.kc(['get', 'svc', 'web', '-o', 'json']));
    assert.equal(svc.spec.ports[0].targetPort, 9090);
  });

  it('another manager changing an owned field gets the 409 naming manager and field', async () => {
    const r = await s.kubectl([
      'apply',
      '--server-side',
      '--field-manager=flux',
      '-f',
      file('flux.yaml', service('web', 7070)),
    ]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^error: Apply failed with 1 conflict: conflict with "kubectl": \.spec\.ports\[port=80,protocol="TCP"\]\.targetPort\n/,
    );
    // Two managers, two fields: the aggregate text, managers sorted.
    await s.kc(['label', 'svc', 'web', 'tier=front']);
    const res = await apply(
      'web',
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'web', labels: { tier: 'back' } },
        spec: { ports: [{ port: 80, targetPort: 7070 }] },
      }),
      'fieldManager=flux',
    );
    assert.equal(res.status, 409);
    const st = (await res.json()) as { reason: string; message: string; details: { causes: unknown[] } };
    assert.equal(st.reason, 'Conflict');
    assert.equal(
      st.message,
      'Apply failed with 2 conflicts: conflicts with "kubectl":\n- .spec.ports[port=80,protocol="TCP"].targetPort\nconflicts with "kubectl-label" using v1:\n- .metadata.labels.tier',
    );
    assert.deepEqual(st.details.causes, [
      {
        reason: 'FieldManagerConflict',
        message: 'conflict with "kubectl"',
        field: '.spec.ports[port=80,protocol="TCP"].targetPort',
      },
      {
        reason: 'FieldManagerConflict',
        message: 'conflict with "kubectl-label" using v1',
        field: '.metadata.labels.tier',
      },
    ]);
  });

  it('--force-conflicts takes the field; the loser no longer owns it', async () => {
    await s.kc(['apply', '--server-side', '--field-manager=flux', '--force-conflicts', '-f', join(s.dir, 'flux.yaml')]);
    const es = await managed('web');
    const flux = entry(es, 'flux');
    const ports = (f: Entry) =>
      (f.fieldsV1['f:spec'] as Record<string, Record<string, Record<string, unknown>>>)['f:ports'];
    assert.ok(ports(flux)?.['k:{"port":80,"protocol":"TCP"}']?.['f:targetPort']);
    assert.equal(ports(entry(es, 'kubectl'))?.['k:{"port":80,"protocol":"TCP"}']?.['f:targetPort'], undefined);
    const svc = JSON.parse(await s.kc(['get', 'svc', 'web', '-o', 'json']));
    assert.equal(svc.spec.ports[0].targetPort, 7070);
  });

  it('fields an applier drops are removed unless another manager owns them', async () => {
    const two = service('shop', 80, '  - port: 443\n    name: tls').replace(
      '  - port: 80\n',
      '  - port: 80\n    name: web\n',
    );
    await s.kc(['apply', '--server-side', '--field-manager=gitops', '-f', file('g1.yaml', two)]);
    let svc = JSON.parse(await s.kc(['get', 'svc', 'shop', '-o', 'json']));
    assert.deepEqual(
      svc.spec.ports.map((p: { port: number }) => p.port),
      [80, 443],
    );
    await s.kc(['apply', '--server-side', '--field-manager=gitops', '-f', file('g2.yaml', service('shop', 80))]);
    svc = JSON.parse(await s.kc(['get', 'svc', 'shop', '-o', 'json']));
    assert.deepEqual(
      svc.spec.ports.map((p: { port: number }) => p.port),
      [80],
    );
    // Allocated fields belong to nobody and survive every apply.
    assert.match(svc.spec.clusterIP, /^10\./);
  });

  it('apply creates a missing object (201) and refuses malformed bodies with upstream text', async () => {
    const created = await apply(
      'made',
      'apiVersion: v1\nkind: Service\nmetadata:\n  name: made\nspec:\n  ports:\n  - port: 53\n    protocol: UDP\n',
      'fieldManager=ci',
    );
    assert.equal(created.status, 201);
    const body = (await created.json()) as { metadata: { managedFields: Entry[] }; spec: { clusterIP: string } };
    assert.deepEqual(
      body.metadata.managedFields.map((e) => [e.manager, e.operation]),
      [['ci', 'Apply']],
    );
    const cases: [string, string, string, string][] = [
      [
        'made',
        'apiVersion: v1\nkind: Service\nmetadata: {name: made}\n',
        '',
        'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
      ],
      ['made', 'kind: Pod\napiVersion: v1\n', 'fieldManager=ci', 'invalid object type: /v1, Kind=Pod'],
      [
        'made',
        '- 1\n- 2\n',
        'fieldManager=ci',
        'error decoding YAML: json: cannot unmarshal array into Go value of type map[string]interface {}',
      ],
      [
        'made',
        'metadata: {name: other}\n',
        'fieldManager=ci',
        'the name of the object (other) does not match the name on the URL (made)',
      ],
      [
        'made',
        'apiVersion: v1\nkind: Service\nmetadata:\n  name: made\n  managedFields: []\n',
        'fieldManager=ci',
        'metadata.managedFields must be nil',
      ],
      [
        'made',
        'apiVersion: v1\nkind: Service\nspec:\n  prots: []\n',
        'fieldManager=ci',
        'failed to create typed patch object (/; /v1, Kind=Service): .spec.prots: field not declared in schema',
      ],
      [
        'made',
        'apiVersion: v1\nkind: Service\nmetadata:\n  ownerReferences:\n  - name: x\n',
        'fieldManager=ci',
        'failed to create typed patch object (/; /v1, Kind=Service): .metadata.ownerReferences: element 0: associative list with keys has an element that omits all key fields ["uid"] (and doesn\'t have default values for any key fields)',
      ],
      [
        'made',
        'apiVersion: v1\nkind: Service\nspec:\n  ports:\n  - port: 1\n  - port: 1\n',
        'fieldManager=ci',
        'failed to create typed patch object (/; /v1, Kind=Service): .spec.ports: duplicate entries for key [port=1,protocol="TCP"]',
      ],
    ];
    for (const [name, text, q, msg] of cases) {
      const res = await apply(name, text, q);
      const st = (await res.json()) as { message: string; code: number };
      assert.equal(st.message, msg, text);
      assert.ok(st.code >= 400, text);
    }
    const bad = await apply('made', 'a: [', 'fieldManager=ci');
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { message: string }).message, /^error decoding YAML: /);
    const unknownType = await apply('made', '{}', '', 'application/apply-patch+cbor');
    assert.equal(unknownType.status, 415);
    // Nothing stored was lost to the refused requests.
    const still = JSON.parse(await s.kc(['get', 'svc', 'made', '-o', 'json']));
    assert.equal(still.spec.clusterIP, body.spec.clusterIP);
  });

  it('ordinary writes are owned by their managers; managedFields: [] resets them', async () => {
    await s.kc(['create', 'service', 'clusterip', 'plain', '--tcp=80:8080']);
    await s.kc(['patch', 'svc', 'plain', '-p', '{"spec":{"sessionAffinity":"ClientIP"}}']);
    const es = await managed('plain');
    assert.deepEqual(es.map((e) => e.manager).sort(), ['kubectl-create', 'kubectl-patch']);
    assert.deepEqual(
      (entry(es, 'kubectl-patch').fieldsV1['f:spec'] as Record<string, unknown>)['f:sessionAffinity'],
      {},
    );
    // The sessionAffinity kubectl-create set now belongs to kubectl-patch alone.
    assert.equal(
      (entry(es, 'kubectl-create').fieldsV1['f:spec'] as Record<string, unknown>)['f:sessionAffinity'],
      undefined,
    );
    const res = await s.fetch(`${svcPath}/plain`, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/merge-patch+json' },
      body: JSON.stringify({ metadata: { managedFields: [{}] } }),
    });
    assert.equal(res.status, 200);
    assert.equal(await managed('plain'), undefined);
  });

  it('huge or hostile managedFields in an update never break the object', async () => {
    const deep: Record<string, unknown> = {};
    let cur = deep;
    for (let i = 0; i < 200; i++) {
      const next: Record<string, unknown> = {};
      cur['f:x'] = next;
      cur = next;
    }
    for (const mf of [
      [{ manager: 'evil', operation: 'Delete', apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: {} }],
      [{ manager: 'evil', operation: 'Update', apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: deep }],
      [{ manager: 'evil', operation: 'Update', apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: { 'q:x': {} } }],
    ]) {
      const res = await s.fetch(`${svcPath}/web`, {
        method: 'PATCH',
        headers: { 'Content-Type': 'application/merge-patch+json' },
        body: JSON.stringify({ metadata: { managedFields: mf, labels: { touched: 'yes' } } }),
      });
      assert.equal(res.status, 200);
      const es = await managed('web');
      assert.ok(!es.some((e) => e.manager === 'evil'), JSON.stringify(es));
      assert.ok(es.some((e) => e.manager === 'flux'));
    }
    // Fifty valid updaters fold into "ancient-changes": at most ten Update entries remain.
    const many = Array.from({ length: 50 }, (_, i) => ({
      manager: `m${i}`,
      operation: 'Update',
      apiVersion: 'v1',
      time: `2020-01-01T00:00:${String(i % 60).padStart(2, '0')}Z`,
      fieldsType: 'FieldsV1',
      fieldsV1: { 'f:metadata': { 'f:labels': { [`f:l${i}`]: {} } } },
    }));
    const res = await s.fetch(`${svcPath}/web`, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/merge-patch+json' },
      body: JSON.stringify({ metadata: { managedFields: many, labels: { touched: 'again' } } }),
    });
    assert.equal(res.status, 200);
    const es = await managed('web');
    assert.equal(es.filter((e) => e.operation === 'Update').length, 10);
    assert.ok(es.some((e) => e.manager === 'ancient-changes'));
  });
});
