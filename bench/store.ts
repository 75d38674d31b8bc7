// Store benchmark: `node --import tsx bench/store.ts [--n 10000] [--smoke]`.
// Figures: create rate into a fresh SqliteStore vs a raw better-sqlite3 loop writing the same rows
// (same JSON, one autocommit INSERT per row, same pragmas); list of every Service; watch
// delivery latency to 100 watchers; RSS holding N Services plus N EndpointSlices of 5
// endpoints. Prints PASS/FAIL per target and always exits 0 (it measures, CI does not gate on it).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import Database from 'better-sqlite3';
import type { KubeObject } from '../src/api/types.ts';
import { SqliteStore } from '../src/store/sqlite.ts';

const args = process.argv.slice(2);
const smoke = args.includes('--smoke');
const nArg = args.indexOf('--n');
const n = smoke ? 200 : nArg >= 0 ? Number(args[nArg + 1]) : 10_000;
const watchers = 100;
const watchUpdates = smoke ? 50 : 500;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const pad = (i: number) => String(i).padStart(5, '0');
const nsOf = (i: number) => `team-${i % 20}`;

function service(i: number): KubeObject {
  const name = `svc-${pad(i)}`;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name,
      namespace: nsOf(i),
      labels: { app: name, tier: i % 3 === 0 ? 'frontend' : 'backend', 'app.kubernetes.io/part-of': `shop-${i % 7}` },
      annotations: { 'svcnet.io/owner': `team-${i % 20}@example.com` },
    },
    spec: {
      type: 'ClusterIP',
      selector: { app: name },
      clusterIP: `10.96.${(i >> 8) & 255}.${i & 255}`,
      clusterIPs: [`10.96.${(i >> 8) & 255}.${i & 255}`],
      ipFamilies: ['IPv4'],
      ipFamilyPolicy: 'SingleStack',
      sessionAffinity: 'None',
      internalTrafficPolicy: 'Cluster',
      ports: [
        { name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 },
        { name: 'metrics', protocol: 'TCP', port: 9090, targetPort: 'metrics' },
      ],
    },
    status: { loadBalancer: {} },
  };
}

function slice(i: number): KubeObject {
  const svcName = `svc-${pad(i)}`;
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: `${svcName}-abcde`,
      namespace: nsOf(i),
      labels: { 'kubernetes.io/service-name': svcName, 'endpointslice.kubernetes.io/managed-by': 'svcnet' },
    },
    addressType: 'IPv4',
    endpoints: Array.from({ length: 5 }, (_, e) => ({
      addresses: [`10.244.${((i * 5 + e) >> 8) & 255}.${(i * 5 + e) & 255}`],
      conditions: { ready: true, serving: true, terminating: false },
      nodeName: `node-${e}`,
      targetRef: { kind: 'Pod', namespace: nsOf(i), name: `${svcName}-pod-${e}` },
    })),
    ports: [
      { name: 'http', protocol: 'TCP', port: 8080 },
      { name: 'metrics', protocol: 'TCP', port: 9090 },
    ],
  };
}

const quantile = (sorted: readonly number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
/** RSS after full GCs, giving V8's background unmapper time to return freed pages. */
async function rssAfterGc(): Promise<number> {
  for (let r = 0; r < 3; r++) {
    gc();
    await new Promise((res) => setTimeout(res, 100));
  }
  return process.memoryUsage().rss / 2 ** 20;
}

/**
 * RSS once V8 has settled. A write burst grows the young generation to its maximum (32 MB of
 * semi-spaces here) and V8 gives it back only when its memory reducer notices the process is
 * idle, 10-20 s later; a server holding this data sits at the settled figure. Waits for that
 * (new space shrunk), at most `maxMs`.
 */
async function settledRss(maxMs: number): Promise<{ rss: number; settled: boolean; waitedMs: number }> {
  const t0 = performance.now();
  const newSpace = () => getHeapSpaceStatistics().find((x) => x.space_name === 'new_space')?.space_size ?? 0;
  let settled = newSpace() <= 4 * 2 ** 20;
  while (!settled && performance.now() - t0 < maxMs) {
    await new Promise((res) => setTimeout(res, 500));
    settled = newSpace() <= 4 * 2 ** 20;
  }
  return { rss: await rssAfterGc(), settled, waitedMs: performance.now() - t0 };
}

const fmt = (x: number, digits = 1) => x.toFixed(digits);
const verdict = (ok: boolean) => (ok ? 'PASS' : 'FAIL');

const dir = mkdtempSync(join(tmpdir(), 'svcnet-bench-store-'));
try {
  const key = (resource: string, o: KubeObject) => ({
    resource,
    namespace: o.metadata.namespace ?? '',
    name: o.metadata.name ?? '',
  });
  const store = new SqliteStore({ path: join(dir, 'store.db'), bookmarkIntervalMs: 0 });
  const raw = new Database(join(dir, 'raw.db'));
  raw.pragma('journal_mode = WAL');
  raw.pragma('synchronous = NORMAL');
  raw.exec(
    'CREATE TABLE objects (resource TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL, rv INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY (resource, namespace, name))',
  );
  const insert = raw.prepare('INSERT INTO objects (resource, namespace, name, rv, data) VALUES (?, ?, ?, ?, ?)');

  // 1. Create rate vs the raw loop, interleaved in chunks so that load from other processes on a
  // shared machine hits both sides alike. Inputs are built per chunk, outside the timings, and
  // dropped afterwards so the bench's own data does not count as store memory.
  let createMs = 0;
  let rawMs = 0;
  const chunk = 500;
  for (let c = 0; c < n; c += chunk) {
    const batch = Array.from({ length: Math.min(chunk, n - c) }, (_, i) => service(c + i));
    let t = performance.now();
    for (const s of batch) await store.create(key('services', s), s);
    createMs += performance.now() - t;
    t = performance.now();
    let rv = c;
    for (const o of batch) insert.run('services', o.metadata.namespace, o.metadata.name, ++rv, JSON.stringify(o));
    rawMs += performance.now() - t;
  }
  raw.close();
  const createRate = (n / createMs) * 1000;
  const rawRate = (n / rawMs) * 1000;

  // 2. Memory while holding N Services and N EndpointSlices of 5 endpoints, before the list and
  // watch phases below add their transient garbage to V8's high-water mark.
  for (let i = 0; i < n; i++) {
    const sl = slice(i);
    await store.create(key('endpointslices', sl), sl);
  }
  const rssBurstMb = await rssAfterGc();
  const { rss: rssMb, settled, waitedMs } = await settledRss(smoke ? 0 : 40_000);
  const heapMb = process.memoryUsage().heapUsed / 2 ** 20;

  // 3. List every Service (median of 5).
  const listTimes: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t = performance.now();
    const res = await store.list('services');
    listTimes.push(performance.now() - t);
    if (res.items.length !== n) throw new Error(`listed ${res.items.length}, expected ${n}`);
  }
  const listMs = quantile(
    listTimes.sort((a, b) => a - b),
    0.5,
  );

  // 4. Watch delivery latency: write start → handler call, per watcher.
  const started = new Map<string, number>();
  const latencies: number[] = [];
  const from = String(store.currentRevision());
  const ws = Array.from({ length: watchers }, () =>
    store.watch('services', { resourceVersion: from }, (e) => {
      const t0 = started.get(e.object.metadata.resourceVersion ?? '');
      if (t0 !== undefined) latencies.push(performance.now() - t0);
    }),
  );
  for (let u = 0; u < watchUpdates; u++) {
    const s = service(u % n);
    started.set(String(store.currentRevision() + 1), performance.now());
    await store.update(key('services', s), (o) => ({
      ...o,
      metadata: { ...o.metadata, annotations: { bump: String(u) } },
    }));
  }
  await new Promise((r) => setImmediate(r));
  for (const w of ws) w.stop();
  latencies.sort((a, b) => a - b);
  const rssAfterMb = await rssAfterGc();
  await store.close();

  const ratio = createRate / rawRate;
  const scale = n / 10_000;
  console.log(`svcnet store benchmark (n=${n}${smoke ? ', smoke' : ''}, ${watchers} watchers)`);
  console.log(`create:   ${fmt(createRate, 0)} objects/s (${fmt(createMs)} ms)`);
  console.log(`raw loop: ${fmt(rawRate, 0)} rows/s (${fmt(rawMs)} ms)`);
  console.log(`create ÷ raw = ${fmt(ratio, 2)} (target ≥ 0.5) ${verdict(ratio >= 0.5)}`);
  console.log(`list ${n}: ${fmt(listMs)} ms (target ≤ ${fmt(100 * scale, 0)} ms) ${verdict(listMs <= 100 * scale)}`);
  console.log(
    `watch latency over ${latencies.length} deliveries: p50 ${fmt(quantile(latencies, 0.5), 3)} ms, p99 ${fmt(quantile(latencies, 0.99), 3)} ms`,
  );
  console.log(
    `RSS with ${n} Services + ${n * 5} endpoints in ${n} EndpointSlices: ${fmt(rssMb)} MB ` +
      `(heap ${fmt(heapMb)} MB; ${settled ? `settled after ${fmt(waitedMs / 1000)} s idle` : 'not settled'}; target ≤ 150 MB) ${verdict(rssMb <= 150)}`,
  );
  console.log(
    `RSS right after the write burst, before V8 shrank its young generation (informational): ${fmt(rssBurstMb)} MB`,
  );
  console.log(`RSS after the list and watch phases (V8 high-water, informational): ${fmt(rssAfterMb)} MB`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
