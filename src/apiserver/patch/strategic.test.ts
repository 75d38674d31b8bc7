import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ApiError, isBadRequest, isInvalid } from '../../api/status.ts';
import { applyStrategicMergePatch } from './strategic.ts';

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** encoding/json.Marshal: map keys sorted; kubectl appends a newline to the annotation. */
function goJson(v: unknown): string {
  const sort = (x: unknown): unknown =>
    Array.isArray(x)
      ? x.map(sort)
      : x && typeof x === 'object'
        ? Object.fromEntries(
            Object.keys(x)
              .sort()
              .map((k) => [k, sort((x as Record<string, unknown>)[k])]),
          )
        : x;
  return JSON.stringify(sort(v));
}

describe('applyStrategicMergePatch: kubectl apply', () => {
  // The user's manifest, first and second version: port 80 → 81 and a new label.
  const manifest = (port: number, labels: Record<string, string>) => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { annotations: {}, labels, name: 'web', namespace: 'default' },
    spec: { ports: [{ name: 'http', port, targetPort: 8080 }], selector: { app: 'web' } },
  });
  const v1 = manifest(80, { app: 'web' });
  const v2 = manifest(81, { app: 'web', tier: 'frontend' });

  const live = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: 'web',
      namespace: 'default',
      uid: 'u1',
      resourceVersion: '7',
      labels: { app: 'web' },
      annotations: { [LAST_APPLIED]: `${goJson(v1)}\n` },
    },
    spec: {
      ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 }],
      selector: { app: 'web' },
      clusterIP: '10.96.0.10',
      clusterIPs: ['10.96.0.10'],
      type: 'ClusterIP',
      sessionAffinity: 'None',
    },
    status: { loadBalancer: {} },
  };

  // What kubectl 1.32 sends on the second apply, derived by hand from CreateThreeWayMergePatch:
  // deletions (last-applied → new) give the $patch:delete for port 80 and the order list; the delta
  // (live → new, no deletions) gives the new port, the label and the new last-applied annotation.
  const patch = {
    metadata: { annotations: { [LAST_APPLIED]: `${goJson(v2)}\n` }, labels: { tier: 'frontend' } },
    spec: {
      '$setElementOrder/ports': [{ port: 81 }],
      ports: [
        { name: 'http', port: 81, targetPort: 8080 },
        { $patch: 'delete', port: 80 },
      ],
    },
  };

  it('replaces the port entry, adds the label, keeps server-set fields', () => {
    const out = applyStrategicMergePatch(live, patch, 'Service');
    assert.deepEqual(out, {
      ...live,
      metadata: {
        ...live.metadata,
        labels: { app: 'web', tier: 'frontend' },
        annotations: { [LAST_APPLIED]: `${goJson(v2)}\n` },
      },
      spec: { ...live.spec, ports: [{ name: 'http', port: 81, targetPort: 8080 }] },
    });
    assert.equal(live.spec.ports[0]?.port, 80, 'live object untouched');
  });

  it('merges a changed targetPort into the same port entry (protocol survives)', () => {
    const out = applyStrategicMergePatch(
      live,
      { spec: { '$setElementOrder/ports': [{ port: 80 }], ports: [{ port: 80, targetPort: 9090 }] } },
      'services',
    );
    assert.deepEqual((out.spec as typeof live.spec).ports, [
      { name: 'http', protocol: 'TCP', port: 80, targetPort: 9090 },
    ]);
  });
});

describe('applyStrategicMergePatch: directives', () => {
  const pod = () => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', finalizers: ['a', 'b'], ownerReferences: [{ uid: 'u1', kind: 'X', name: 'x' }] },
    spec: {
      containers: [
        { name: 'app', image: 'app:1', env: [{ name: 'A', value: '1' }], ports: [{ containerPort: 80 }] },
        { name: 'side', image: 'side:1' },
      ],
      tolerations: [{ key: 'k1' }],
      nodeName: 'n1',
    },
  });
  type P = ReturnType<typeof pod>;
  const smp = (patch: unknown) => applyStrategicMergePatch(pod(), patch, 'Pod') as unknown as P;

  it('merges containers by name and nested env by name', () => {
    const out = smp({ spec: { containers: [{ name: 'app', env: [{ name: 'B', value: '2' }] }] } });
    assert.deepEqual(out.spec.containers[0], {
      name: 'app',
      image: 'app:1',
      // Upstream's mergeSortedSlice puts patch items whose position the live list does not know
      // ahead of the server-only ones.
      env: [
        { name: 'B', value: '2' },
        { name: 'A', value: '1' },
      ],
      ports: [{ containerPort: 80 }],
    });
    assert.equal(out.spec.containers.length, 2);
  });

  it('puts new merge-list items first without $setElementOrder, as upstream does', () => {
    const out = smp({ spec: { containers: [{ name: 'new', image: 'n' }] } });
    assert.deepEqual(
      out.spec.containers.map((c) => c.name),
      ['new', 'app', 'side'],
    );
    const ordered = smp({
      spec: {
        '$setElementOrder/containers': [{ name: 'app' }, { name: 'side' }, { name: 'new' }],
        containers: [{ name: 'new', image: 'n' }],
      },
    });
    assert.deepEqual(
      ordered.spec.containers.map((c) => c.name),
      ['app', 'side', 'new'],
    );
  });

  it('orders a merged list by $setElementOrder', () => {
    const out = smp({
      spec: {
        '$setElementOrder/containers': [{ name: 'side' }, { name: 'app' }],
        containers: [{ name: 'app', image: 'app:2' }],
      },
    });
    assert.deepEqual(
      out.spec.containers.map((c) => `${c.name}=${c.image}`),
      ['side=side:1', 'app=app:2'],
    );
  });

  it('replaces lists without a merge strategy', () => {
    const out = smp({ spec: { tolerations: [{ key: 'k2' }] } });
    assert.deepEqual(out.spec.tolerations, [{ key: 'k2' }]);
  });

  it('deletes a key on null and a list item on $patch: delete', () => {
    const out = smp({ spec: { nodeName: null, containers: [{ name: 'side', $patch: 'delete' }] } });
    assert.equal(out.spec.nodeName, undefined);
    assert.deepEqual(
      out.spec.containers.map((c) => c.name),
      ['app'],
    );
  });

  it('replaces a whole list with $patch: replace and a map with $patch: replace', () => {
    const out = smp({
      metadata: { ownerReferences: [{ $patch: 'replace' }, { uid: 'u2', kind: 'Y', name: 'y' }] },
      spec: { containers: [{ name: 'only', image: 'o' }, { $patch: 'replace' }] },
    });
    assert.deepEqual(out.metadata.ownerReferences, [{ uid: 'u2', kind: 'Y', name: 'y' }]);
    assert.deepEqual(out.spec.containers, [{ name: 'only', image: 'o' }]);
    const replaced = smp({ spec: { $patch: 'replace', containers: [{ name: 'z', image: 'z' }] } });
    assert.deepEqual(replaced.spec, { containers: [{ name: 'z', image: 'z' }] });
    const deleted = smp({ spec: { $patch: 'delete' } });
    assert.deepEqual(deleted.spec, {});
  });

  it('merges primitive lists with merge strategy and deletes via $deleteFromPrimitiveList', () => {
    const out = smp({ metadata: { finalizers: ['c', 'a'], '$deleteFromPrimitiveList/finalizers': ['b'] } });
    assert.deepEqual(out.metadata.finalizers, ['c', 'a']);
  });

  it('clears fields not listed in $retainKeys (Deployment strategy)', () => {
    const deploy = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'd' },
      spec: { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1 } }, replicas: 1 },
    };
    const out = applyStrategicMergePatch(
      deploy,
      { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate' } } },
      'Deployment',
    );
    assert.deepEqual(out.spec, { strategy: { type: 'Recreate' }, replicas: 1 });
    assert.throws(
      () =>
        applyStrategicMergePatch(
          deploy,
          { spec: { strategy: { $retainKeys: ['type'], rollingUpdate: {} } } },
          'Deployment',
        ),
      (e: ApiError) => isBadRequest(e) && e.message === 'invalid patch format of retainKeys',
    );
  });

  it('merges maps key by key (labels, selector)', () => {
    const out = smp({ metadata: { labels: { a: '1' } } });
    assert.deepEqual((out.metadata as Record<string, unknown>).labels, { a: '1' });
  });

  it('gives MetalLB CRDs merge-patch semantics (lists replaced)', () => {
    const pool = {
      apiVersion: 'metallb.io/v1beta1',
      kind: 'IPAddressPool',
      metadata: { name: 'p' },
      spec: { addresses: ['a'] },
    };
    const out = applyStrategicMergePatch(pool, { spec: { addresses: ['b'] } }, 'ipaddresspools');
    assert.deepEqual(out.spec, { addresses: ['b'] });
  });
});

describe('applyStrategicMergePatch: errors as the apiserver reports them', () => {
  const svc = { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { ports: [{ port: 80 }] } };

  it('400 (upstream: 500) for a merge-list item without its merge key, with upstream text', () => {
    assert.throws(
      () => applyStrategicMergePatch(svc, { spec: { ports: [{ name: 'x' }] } }, 'Service'),
      (e: ApiError) => isBadRequest(e) && e.message === 'map: map[name:x] does not contain declared merge key: port',
    );
  });

  it('400 for malformed directive keys and non-object patches', () => {
    assert.throws(
      () => applyStrategicMergePatch(svc, { spec: { '$setElementOrder-ports': [] } }, 'Service'),
      (e: ApiError) => isBadRequest(e) && e.message === 'invalid patch format of setElementOrder list',
    );
    assert.throws(
      () => applyStrategicMergePatch(svc, [], 'Service'),
      (e: ApiError) =>
        isBadRequest(e) && e.message === 'json: cannot unmarshal array into Go value of type map[string]interface {}',
    );
  });

  it('422 for lists of lists', () => {
    assert.throws(() => applyStrategicMergePatch(svc, { spec: { ports: [[1]] } }, 'Service'), isInvalid);
  });

  it('400 (upstream: 500) for unknown $patch values', () => {
    assert.throws(
      () => applyStrategicMergePatch(svc, { spec: { $patch: 'frob' } }, 'Service'),
      (e: ApiError) => isBadRequest(e) && e.message.includes('unknown patch type: frob in map: map[$patch:frob]'),
    );
  });
});
