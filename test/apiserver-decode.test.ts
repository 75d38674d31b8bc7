// Request decoding at the API server's edge: unknown fields pruned as kube-apiserver's typed
// decoding drops them, wrong value types and too-deep bodies answered 400, malformed URL
// escapes 400, a huge watch timeoutSeconds clamped rather than ending the watch at once; and
// the decoders (JSON, YAML, protobuf, the three patch types, apply) fuzzed through the real
// handler: never a 500, never a crash. SVCNET_API_FUZZ_N sets the run count (CI: 300 per
// decoder; the full million was run once, see the fuzz notes in docs).
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { createHandler } from '../src/apiserver/handler.ts';
import { OpenApiV3 } from '../src/apiserver/openapi.ts';
import { ApiServer } from '../src/apiserver/server.ts';
import { openStore } from '../src/store/open.ts';
import { startTestApiServer, type TestApiServer } from './helpers/apiserver.ts';

const N = Number(process.env.SVCNET_API_FUZZ_N ?? 300);
const json = { 'Content-Type': 'application/json' };
const svcPath = '/api/v1/namespaces/default/services';

describe('API request decoding', () => {
  let s: TestApiServer;
  before(async () => {
    s = await startTestApiServer();
  });
  after(async () => {
    await s.close();
  });
  const post = (path: string, body: string, headers: Record<string, string> = json) =>
    s.fetch(path, { method: 'POST', headers, body });

  it('unknown fields are pruned (with a warning), never stored', async () => {
    const r = await post(
      svcPath,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'pruned', bogus: 1 },
        spec: { ports: [{ port: 80, extra: 'x' }], made: { up: true } },
        topLevel: [1, 2],
      }),
    );
    assert.equal(r.status, 201);
    assert.ok(
      (r.headers.get('warning') ?? '').includes('unknown field \\"spec.made\\"'),
      r.headers.get('warning') ?? '',
    );
    const got = (await (await s.fetch(`${svcPath}/pruned`)).json()) as Record<string, Record<string, unknown>>;
    assert.equal(got.topLevel, undefined);
    assert.equal(got.metadata?.bogus, undefined);
    assert.equal((got.spec as Record<string, unknown>).made, undefined);
    const ports = (got.spec?.ports ?? []) as Record<string, unknown>[];
    assert.equal(ports[0]?.extra, undefined);
    // Strict still refuses them.
    const strict = await post(
      `${svcPath}?fieldValidation=Strict`,
      JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'strict' }, spec: { made: 1 } }),
    );
    assert.equal(strict.status, 400);
  });

  it('a value of the wrong type is 400 with the decoder text, not 500', async () => {
    const cases: [string, unknown][] = [
      ['metadata.labels[a]', { metadata: { name: 'l', labels: { a: { b: 1 } } } }],
      ['spec.ports[0].port', { metadata: { name: 'p' }, spec: { ports: [{ port: 'eighty' }] } }],
      ['spec.ports', { metadata: { name: 'q' }, spec: { ports: { port: 80 } } }],
      ['spec.ports[0].port', { metadata: { name: 'r' }, spec: { ports: [{ port: 1.5 }] } }],
      ['metadata', { metadata: 'x' }],
    ];
    for (const [path, body] of cases) {
      const r = await post(svcPath, JSON.stringify({ apiVersion: 'v1', kind: 'Service', ...(body as object) }));
      const st = (await r.json()) as { message: string; reason: string };
      assert.equal(r.status, 400, `${path}: ${st.message}`);
      assert.match(st.message, /^Service in version "v1" cannot be handled as a Service: json: cannot unmarshal /);
      assert.ok(st.message.includes(`Service.${path} `), st.message);
    }
  });

  it('bodies nest up to 10,000 levels; deeper is 400, in JSON, YAML and patches', async () => {
    const nest = (d: number) => `${'['.repeat(d)}${']'.repeat(d)}`;
    const ok = await post(
      svcPath,
      `{"apiVersion":"v1","kind":"Service","metadata":{"name":"deep"},"spec":{"ports":[{"port":80}]},"x":${nest(9998)}}`,
    );
    assert.equal(ok.status, 201, await ok.text());
    for (const d of [10_000, 100_000]) {
      const r = await post(svcPath, `{"apiVersion":"v1","kind":"Service","metadata":{"name":"d"},"x":${nest(d)}}`);
      assert.equal(r.status, 400);
      assert.match(((await r.json()) as { message: string }).message, /exceeded max depth/);
    }
    const yaml = await post(svcPath, `apiVersion: v1\nkind: Service\nmetadata: {name: y}\nx: ${nest(20_000)}\n`, {
      'Content-Type': 'application/yaml',
    });
    assert.equal(yaml.status, 400);
    const patch = await s.fetch(`${svcPath}/deep`, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/merge-patch+json' },
      body: `{"metadata":{"labels":${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}}}`,
    });
    assert.equal(patch.status, 400);
  });

  it('a malformed %-escape in the path is 400', async () => {
    for (const p of ['/api/v1/namespaces/%zz/services', `${svcPath}/%E0%A4%A`]) {
      const r = await s.fetch(p);
      assert.equal(r.status, 400, p);
      assert.match(((await r.json()) as { message: string }).message, /invalid URL escape/);
    }
  });

  it('a watch timeoutSeconds beyond the timer range is clamped, not expired at once', async () => {
    const ac = new AbortController();
    const r = await s.fetch(`${svcPath}?watch=true&timeoutSeconds=4294967296`, { signal: ac.signal });
    assert.equal(r.status, 200);
    const reader = r.body?.getReader();
    assert.ok(reader);
    // The ADDED events for existing Services arrive, then the stream must stay open.
    let ended = false;
    const reading = (async () => {
      for (;;) {
        const { done } = await reader.read().catch(() => ({ done: true }));
        if (done) break;
      }
      ended = true;
    })();
    await new Promise((res) => setTimeout(res, 500));
    assert.equal(ended, false, 'the watch ended at once');
    ac.abort();
    await reading;
  });
});

/** The real handler with an in-memory request and response: fast enough to fuzz by the million. */
async function handlerHarness() {
  const store = await openStore({ kind: 'memory' });
  const server = new ApiServer({ store, token: 't', port: 0 });
  await server.initialize();
  const handle = createHandler({ registry: server.registry, openapi: new OpenApiV3(), serverAddress: '127.0.0.1:1' });
  const call = async (method: string, url: string, headers: Record<string, string>, body: Buffer) => {
    const req = Object.assign(Readable.from(body.length ? [body] : []), {
      method,
      url,
      headers,
    }) as unknown as IncomingMessage;
    let status = 0;
    let text = '';
    const emitter = new EventEmitter();
    const res = Object.assign(emitter, {
      headersSent: false,
      statusCode: 200,
      writableLength: 0,
      writeHead(code: number) {
        status = code;
        this.statusCode = code;
        this.headersSent = true;
        return this;
      },
      flushHeaders() {},
      write(chunk: string) {
        text += chunk;
        return true;
      },
      end(chunk?: string) {
        if (chunk) text += chunk;
        emitter.emit('close');
      },
      destroy() {
        emitter.emit('close');
      },
    }) as unknown as ServerResponse;
    await handle(req, res);
    return { status, text };
  };
  return { call, close: () => store.close() };
}

const validService = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'fz', labels: { app: 'a' }, annotations: { n: '1' } },
  spec: {
    type: 'NodePort',
    selector: { app: 'a' },
    ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }],
    sessionAffinity: 'ClientIP',
  },
};

/** A valid object with one subtree (chosen by a path of keys/indices) replaced by a random value. */
const mutated = fc
  .tuple(
    fc.array(
      fc.oneof(
        fc.constantFrom(
          'metadata',
          'spec',
          'ports',
          'labels',
          'selector',
          'name',
          'port',
          'type',
          'targetPort',
          'sessionAffinity',
        ),
        fc.nat(3),
      ),
      { maxLength: 4 },
    ),
    fc.jsonValue({ maxDepth: 4 }),
  )
  .map(([path, value]) => {
    const o = structuredClone(validService) as Record<string, unknown>;
    let cur: Record<string, unknown> = o;
    for (const k of path.slice(0, -1)) {
      const next = cur[String(k)];
      if (typeof next !== 'object' || next === null) break;
      cur = next as Record<string, unknown>;
    }
    cur[String(path[path.length - 1] ?? 'spec')] = value;
    return o;
  });

describe('API decoders fuzzed through the real handler: never 500', () => {
  let h: Awaited<ReturnType<typeof handlerHarness>>;
  before(async () => {
    h = await handlerHarness();
    await h.call('POST', svcPath, json, Buffer.from(JSON.stringify(validService)));
  });
  after(async () => {
    await h.close();
  });
  const never500 = async (method: string, url: string, ct: string, body: Buffer) => {
    const r = await h.call(method, url, { 'content-type': ct }, body);
    if (r.status >= 500 || r.status === 0) {
      throw new Error(
        `${method} ${url} (${ct}) → ${r.status}: ${r.text.slice(0, 300)}\nbody: ${body.toString('utf8').slice(0, 300)}`,
      );
    }
  };
  const run = (p: fc.IAsyncPropertyWithHooks<never> | fc.IAsyncProperty<never>) => fc.assert(p, { numRuns: N });

  it('JSON bodies: random values and mutated Services (create and update)', async () => {
    await run(
      fc.asyncProperty(fc.oneof(fc.jsonValue({ maxDepth: 6 }), mutated), fc.boolean(), async (v, update) => {
        const body = Buffer.from(JSON.stringify(v) ?? 'null');
        await never500(update ? 'PUT' : 'POST', update ? `${svcPath}/fz` : svcPath, 'application/json', body);
      }) as never,
    );
  });

  it('raw bytes as JSON, YAML and protobuf', async () => {
    await run(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }),
          fc.string({ maxLength: 300 }).map((s) => new TextEncoder().encode(s)),
        ),
        fc.constantFrom('application/json', 'application/yaml', 'application/vnd.kubernetes.protobuf'),
        async (bytes, ct) => never500('POST', svcPath, ct, Buffer.from(bytes)),
      ) as never,
    );
  });

  it('protobuf: a real envelope with random bytes spliced in', async () => {
    const magic = Buffer.from([0x6b, 0x38, 0x73, 0x00]);
    await run(
      fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), async (bytes) =>
        never500('POST', svcPath, 'application/vnd.kubernetes.protobuf', Buffer.concat([magic, Buffer.from(bytes)])),
      ) as never,
    );
  });

  it('patches: merge, strategic and JSON patch documents, and apply', async () => {
    const op = fc.record({
      op: fc.constantFrom('add', 'remove', 'replace', 'move', 'copy', 'test', 'bogus'),
      path: fc.oneof(
        fc.constantFrom('/spec/ports/0', '/metadata/labels/x', '/spec/ports/-', '/', '', '/spec/~2'),
        fc.string(),
      ),
      from: fc.constantFrom('/spec', '/metadata/labels', '/nope'),
      value: fc.jsonValue({ maxDepth: 3 }),
    });
    await run(
      fc.asyncProperty(
        fc.oneof(
          fc.tuple(
            fc.constant('application/json-patch+json'),
            fc.oneof(fc.array(op, { maxLength: 4 }), fc.jsonValue()),
          ),
          fc.tuple(
            fc.constantFrom('application/merge-patch+json', 'application/strategic-merge-patch+json'),
            fc.oneof(fc.jsonValue({ maxDepth: 5 }), mutated),
          ),
          fc.tuple(fc.constant('application/apply-patch+yaml'), fc.oneof(fc.jsonValue({ maxDepth: 5 }), mutated)),
        ),
        async ([ct, doc]) => {
          const url = ct.startsWith('application/apply') ? `${svcPath}/fz?fieldManager=fuzz` : `${svcPath}/fz`;
          await never500('PATCH', url, ct, Buffer.from(JSON.stringify(doc) ?? 'null'));
        },
      ) as never,
    );
  });
});
