// Query parameters as kube-apiserver decodes them, over real HTTP: Go's bool conversion for watch
// (Python's watch=True), strconv errors for integers, and the options validation messages; and the
// namespaces a fresh cluster has (metallb-system, so MetalLB manifests apply unchanged).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestApiServer, type TestApiServer } from './helpers/apiserver.ts';

const svcPath = '/api/v1/namespaces/default/services';

describe('query parameters', () => {
  let s: TestApiServer;
  before(async () => {
    s = await startTestApiServer();
  });
  after(async () => {
    await s.close();
  });

  /** The first line of a watch, or the list kind when the server answered a list. */
  async function firstLine(query: string): Promise<string> {
    const ctl = new AbortController();
    const res = await s.fetch(`${svcPath}?${query}`, { signal: ctl.signal });
    assert.equal(res.status, 200);
    const reader = res.body?.getReader();
    assert.ok(reader);
    let text = '';
    while (!text.includes('\n')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += Buffer.from(value).toString();
    }
    ctl.abort();
    return text.split('\n')[0] ?? '';
  }

  it('watch is true for every value but 0 and false, in any case', async () => {
    for (const v of ['true', 'True', 'TRUE', '1', 't', 'yes', '']) {
      const line = await firstLine(`watch=${v}&timeoutSeconds=1`);
      assert.equal(JSON.parse(line).type, 'ADDED', `watch=${v}`);
    }
    for (const v of ['false', 'False', 'FALSE', '0']) {
      const line = await firstLine(`watch=${v}`);
      assert.equal(JSON.parse(line).kind, 'ServiceList', `watch=${v}`);
    }
  });

  it('integers are parsed with strconv.ParseInt and refused with its text', async () => {
    for (const [q, msg] of [
      ['limit=abc', 'strconv.ParseInt: parsing "abc": invalid syntax'],
      ['limit=99999999999999999999', 'strconv.ParseInt: parsing "99999999999999999999": value out of range'],
      ['watch=1&timeoutSeconds=1.5', 'strconv.ParseInt: parsing "1.5": invalid syntax'],
    ] as const) {
      const res = await s.fetch(`${svcPath}?${q}`);
      assert.equal(res.status, 400, q);
      const st = (await res.json()) as { reason: string; message: string };
      assert.equal(st.reason, 'BadRequest');
      assert.equal(st.message, msg);
    }
  });

  it('option values are validated as the options kind, 422', async () => {
    const post = (q: string) =>
      s.fetch(`${svcPath}?${q}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: 'q' },
          spec: { ports: [{ port: 80 }] },
        }),
      });
    const cases: [string, string][] = [
      [
        'dryRun=Some',
        'CreateOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: []string{"Some"}: supported values: "All"',
      ],
      [
        'fieldValidation=Loose',
        'CreateOptions.meta.k8s.io "" is invalid: fieldValidation: Unsupported value: "Loose": supported values: "", "Ignore", "Strict", "Warn"',
      ],
      [
        `fieldManager=${'m'.repeat(129)}`,
        'CreateOptions.meta.k8s.io "" is invalid: fieldManager: Too long: may not be more than 128 bytes',
      ],
      [
        'fieldManager=a%07b',
        'CreateOptions.meta.k8s.io "" is invalid: fieldManager: Invalid value: "a\\ab": invalid character U+0007 (at position 1)',
      ],
    ];
    for (const [q, msg] of cases) {
      const res = await post(q);
      assert.equal(res.status, 422, q);
      assert.equal(((await res.json()) as { message: string }).message, msg);
    }
    const patch = await s.fetch(`${svcPath}/kubernetes?force=true`, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/merge-patch+json' },
      body: '{}',
    });
    assert.equal(patch.status, 422);
    assert.equal(
      ((await patch.json()) as { message: string }).message,
      'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch',
    );
    const del = await s.fetch(`${svcPath}/kubernetes?propagationPolicy=Eventually`, { method: 'DELETE' });
    assert.equal(del.status, 422);
    assert.equal(
      ((await del.json()) as { message: string }).message,
      'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: "Eventually": supported values: "Foreground", "Background", "Orphan", "nil"',
    );
  });

  it('a fresh cluster has metallb-system, labelled as MetalLB creates it', async () => {
    const ns = JSON.parse(await s.kc(['get', 'namespace', 'metallb-system', '-o', 'json']));
    assert.equal(ns.metadata.labels['pod-security.kubernetes.io/enforce'], 'privileged');
    const out = await s.kc(['apply', '-f', join(import.meta.dirname, '..', 'examples', 'lab-pool.yaml')]);
    assert.match(out, /ipaddresspool.metallb.io\/lab-pool created/);
  });
});
