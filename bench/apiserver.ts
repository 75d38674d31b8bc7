// API server benchmark: HTTP creates of N Services (keep-alive, 8 concurrent clients), LIST of
// all of them, and watch delivery to 100 HTTP watchers, each compared with the store-level create
// rate measured in the same run. Targets: ≥ 1,500 creates/s, LIST 10k ≤ 300
// ms, watch p99 ≤ 50 ms. Prints PASS/FAIL per target; always exits 0 (figures, not a test).
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiServer } from '../src/apiserver/server.ts';
import { openStore } from '../src/store/open.ts';

const smoke = process.argv.includes('--smoke');
const nArg = process.argv.indexOf('--n');
const N = nArg > 0 ? Number(process.argv[nArg + 1]) : smoke ? 200 : 10_000;
const WATCHERS = smoke ? 10 : 100;
const CONCURRENCY = 8;

function service(i: number) {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: `svc-${i}`, namespace: 'default', labels: { app: `app-${i % 100}`, bench: 'true' } },
    spec: {
      selector: { app: `app-${i % 100}` },
      ports: [
        { name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' },
        { name: 'metrics', port: 9090, targetPort: 9090, protocol: 'TCP' },
      ],
    },
  };
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

function verdict(ok: boolean): string {
  return ok ? 'PASS' : 'FAIL';
}

async function storeCreateRate(dir: string, n: number): Promise<number> {
  const store = await openStore({ kind: 'sqlite', path: join(dir, 'store-only.db') });
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    await store.create({ resource: 'services', namespace: 'default', name: `svc-${i}` }, service(i));
  }
  const rate = n / ((performance.now() - t0) / 1000);
  await store.close();
  return rate;
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'svcnet-bench-api-'));
  try {
    const storeRate = await storeCreateRate(dir, N);
    const store = await openStore({ kind: 'sqlite', path: join(dir, 'api.db') });
    const token = 'bench-token-0123456789abcdef';
    const server = new ApiServer({ store, token, host: '127.0.0.1', port: 0, serviceCIDRs: ['10.96.0.0/12'] });
    const url = new URL(await server.start());
    const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    const call = (method: string, path: string, body?: unknown, contentType = 'application/json') =>
      new Promise<{ code: number; text: string }>((resolve, reject) => {
        const data = body === undefined ? undefined : JSON.stringify(body);
        const req = request(
          {
            host: url.hostname,
            port: url.port,
            path,
            method,
            agent,
            headers: {
              Authorization: `Bearer ${token}`,
              'Content-Type': contentType,
              ...(data ? { 'Content-Length': Buffer.byteLength(data) } : {}),
            },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => resolve({ code: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
          },
        );
        req.on('error', reject);
        req.end(data);
      });

    // Creates: 8 workers pulling from a shared counter.
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < N) {
          const i = next++;
          const r = await call('POST', '/api/v1/namespaces/default/services', service(i));
          if (r.code !== 201) throw new Error(`create ${i}: ${r.code} ${r.text}`);
        }
      }),
    );
    const createRate = N / ((performance.now() - t0) / 1000);

    // LIST: best of 3 (the first warms the JIT).
    let listMs = Number.POSITIVE_INFINITY;
    for (let k = 0; k < 3; k++) {
      const l0 = performance.now();
      const r = await call('GET', '/api/v1/namespaces/default/services');
      listMs = Math.min(listMs, performance.now() - l0);
      if (r.code !== 200) throw new Error(`list: ${r.code}`);
    }

    // Watch delivery: WATCHERS HTTP watches; each update's delivery time to every watcher.
    const rv = JSON.parse((await call('GET', '/api/v1/namespaces/default/services?limit=1')).text).metadata
      .resourceVersion;
    const sent = new Map<string, number>();
    const latencies: number[] = [];
    const watchAgent = new Agent({ keepAlive: false });
    const watches = await Promise.all(
      Array.from(
        { length: WATCHERS },
        () =>
          new Promise<{ destroy(): void }>((resolve, reject) => {
            const req = request(
              {
                host: url.hostname,
                port: url.port,
                agent: watchAgent,
                path: `/api/v1/namespaces/default/services?watch=true&resourceVersion=${rv}&fieldSelector=metadata.name%3Dsvc-0`,
                headers: { Authorization: `Bearer ${token}` },
              },
              (res) => {
                let buf = '';
                res.on('data', (c: Buffer) => {
                  buf += c.toString();
                  let nl = buf.indexOf('\n');
                  while (nl >= 0) {
                    const line = buf.slice(0, nl);
                    buf = buf.slice(nl + 1);
                    const ev = JSON.parse(line);
                    const at = sent.get(ev.object?.metadata?.labels?.seq);
                    if (at !== undefined) latencies.push(performance.now() - at);
                    nl = buf.indexOf('\n');
                  }
                });
                resolve(req);
              },
            );
            req.on('error', reject);
            req.end();
          }),
      ),
    );
    const rounds = smoke ? 5 : 50;
    for (let k = 0; k < rounds; k++) {
      const seq = `s${k}`;
      sent.set(seq, performance.now());
      const r = await call(
        'PATCH',
        '/api/v1/namespaces/default/services/svc-0',
        { metadata: { labels: { seq } } },
        'application/merge-patch+json',
      );
      if (r.code !== 200) throw new Error(`patch: ${r.code} ${r.text}`);
      await new Promise((res) => setTimeout(res, 20));
    }
    await new Promise((res) => setTimeout(res, 200));
    for (const w of watches) w.destroy();
    latencies.sort((a, b) => a - b);
    const p50 = pct(latencies, 50);
    const p99 = pct(latencies, 99);

    console.log(
      `apiserver bench: N=${N} services, ${CONCURRENCY} clients, ${WATCHERS} watchers${smoke ? ' (smoke)' : ''}`,
    );
    console.log(`  store-level create     ${storeRate.toFixed(0)} services/s`);
    console.log(
      `  HTTP create            ${createRate.toFixed(0)} services/s  ratio to store ${(createRate / storeRate).toFixed(2)}  target ≥1500/s ${verdict(createRate >= 1500)}`,
    );
    console.log(`  HTTP LIST ${N}         ${listMs.toFixed(1)} ms  target ≤300 ms ${verdict(listMs <= 300)}`);
    console.log(
      `  watch delivery         p50 ${p50.toFixed(1)} ms  p99 ${p99.toFixed(1)} ms over ${latencies.length} deliveries  target p99 ≤50 ms ${verdict(p99 <= 50)}`,
    );
    agent.destroy();
    await server.stop();
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
