// Endpoint propagation benchmark: `node --import tsx bench/endpoints.ts [--services 1000]
// [--pods 10] [--changes 200] [--smoke]`.
// An in-process control plane holds N Services × M ready pods with the EndpointSlice controller
// running. Figures: the time from a pod's readiness change (just before its updateStatus call)
// to the EndpointSlice showing the new condition, seen through an independent informer (p50/p99 over sequential changes); then the CPU the process
// spends while 20 pods/s flip readiness for 10 s (the process also hosts the API server, the
// store and this driver, so the figure is an upper bound for the controller). Prints PASS/FAIL
// against p99 ≤ 100 ms and always exits 0.
import { performance } from 'node:perf_hooks';
import type { EndpointSlice, KubeObject, Pod, Service } from '../src/api/types.ts';
import { createInProcessCluster } from '../src/client/cluster.ts';
import { Informer } from '../src/client/informer.ts';
import { startEndpointSliceController } from '../src/controllers/endpointslice/controller.ts';

const args = process.argv.slice(2);
const smoke = args.includes('--smoke');
const num = (flag: string, full: number, small: number) => {
  const i = args.indexOf(flag);
  return i >= 0 ? Number(args[i + 1]) : smoke ? small : full;
};
const nServices = num('--services', 1000, 20);
const podsPer = num('--pods', 10, 10);
const nChanges = num('--changes', 200, 50);
const churnPerSec = 20;
const churnSeconds = num('--churn-seconds', 10, 2);
const ns = 'default';

type Obj<T> = T & KubeObject;

const svcName = (i: number) => `svc-${String(i).padStart(4, '0')}`;
const podName = (i: number, j: number) => `${svcName(i)}-pod-${j}`;
const podIP = (i: number, j: number) => {
  const n = i * podsPer + j + 1;
  return `10.${100 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`;
};

function readyStatus(ip: string, ready: boolean): Pod['status'] {
  return {
    phase: 'Running',
    podIP: ip,
    podIPs: [{ ip }],
    conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: new Date().toISOString() }],
  };
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

async function main(): Promise<void> {
  const cluster = await createInProcessCluster();
  const { client } = cluster;
  const t0 = performance.now();
  await client.create('nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-a' } });
  const pods = new Map<string, Obj<Pod>>();
  for (let i = 0; i < nServices; i++) {
    const svc: Obj<Service> = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: svcName(i), namespace: ns },
      spec: { selector: { app: svcName(i) }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
    };
    await client.create('services', svc);
    for (let j = 0; j < podsPer; j++) {
      const created = await client.create<Obj<Pod>>('pods', {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: podName(i, j), namespace: ns, labels: { app: svcName(i) } },
        spec: { nodeName: 'node-a', containers: [{ name: 'c', image: 'svcnet/echo' }] },
      });
      pods.set(
        podName(i, j),
        await client.updateStatus('pods', { ...created, status: readyStatus(podIP(i, j), true) }),
      );
    }
  }
  const setupMs = performance.now() - t0;

  // The observer: an independent informer, as kube-proxy would watch slices.
  const waiters = new Map<string, { want: boolean; resolve: () => void }>();
  const observer = new Informer<Obj<EndpointSlice>>(client, 'endpointslices');
  observer.on((_old, cur) => {
    if (!cur || waiters.size === 0) return;
    for (const ep of cur.endpoints ?? []) {
      const name = ep.targetRef?.name ?? '';
      const w = waiters.get(name);
      if (w && ep.conditions?.ready === w.want) {
        waiters.delete(name);
        w.resolve();
      }
    }
  });
  observer.start();
  await observer.waitForSync();

  const t1 = performance.now();
  const ctl = startEndpointSliceController(client);
  await ctl.idle();
  // Wait until every slice is filled (idle() can return between a write and its echo).
  for (;;) {
    const full = observer.list().filter((s) => (s.endpoints ?? []).length === podsPer).length;
    if (full >= nServices) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const initialSyncMs = performance.now() - t1;

  let rnd = 42;
  const random = () => {
    rnd = (rnd * 1103515245 + 12345) & 0x7fffffff;
    return rnd / 0x80000000;
  };

  async function flip(): Promise<{ name: string; want: boolean; seen: Promise<void>; started: number }> {
    const i = Math.floor(random() * nServices);
    const j = Math.floor(random() * podsPer);
    const name = podName(i, j);
    const cur = pods.get(name) as Obj<Pod>;
    const want = cur.status?.conditions?.[0]?.status !== 'True';
    const seen = new Promise<void>((resolve) => waiters.set(name, { want, resolve }));
    const started = performance.now();
    pods.set(name, await client.updateStatus('pods', { ...cur, status: readyStatus(podIP(i, j), want) }));
    return { name, want, seen, started };
  }

  // Sequential changes: pure propagation latency.
  const latencies: number[] = [];
  for (let k = 0; k < nChanges; k++) {
    const f = await flip();
    await f.seen;
    latencies.push(performance.now() - f.started);
  }
  latencies.sort((a, b) => a - b);

  // Churn: 20 flips per second; CPU over the window plus the drain.
  const churnLat: number[] = [];
  const cpu0 = process.cpuUsage();
  const w0 = performance.now();
  const inflight: Promise<void>[] = [];
  for (let k = 0; k < churnPerSec * churnSeconds; k++) {
    const due = w0 + (k * 1000) / churnPerSec;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const f = await flip();
    inflight.push(f.seen.then(() => void churnLat.push(performance.now() - f.started)));
  }
  await Promise.all(inflight);
  await ctl.idle();
  const wallMs = performance.now() - w0;
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  churnLat.sort((a, b) => a - b);

  await ctl.stop();
  observer.stop();
  await cluster.close();

  const p50 = percentile(latencies, 50);
  const p99 = percentile(latencies, 99);
  const f = (n: number) => n.toFixed(1);
  console.log(`endpoint propagation: ${nServices} Services × ${podsPer} pods${smoke ? ' (smoke)' : ''}`);
  console.log(`  setup (API writes)              ${f(setupMs)} ms`);
  console.log(`  initial sync to all slices      ${f(initialSyncMs)} ms`);
  console.log(
    `  readiness → slice, sequential   p50 ${f(p50)} ms  p99 ${f(p99)} ms  max ${f(latencies.at(-1) ?? 0)} ms  (n=${latencies.length})`,
  );
  console.log(
    `  readiness → slice, under churn  p50 ${f(percentile(churnLat, 50))} ms  p99 ${f(percentile(churnLat, 99))} ms  (n=${churnLat.length})`,
  );
  console.log(
    `  CPU while churning ${churnPerSec} pods/s for ${churnSeconds} s: ${f(cpuMs)} ms over ${f(wallMs)} ms = ${f((100 * cpuMs) / wallMs)}% of one core (whole process)`,
  );
  console.log(`  ${p99 <= 100 ? 'PASS' : 'FAIL'} p99 ≤ 100 ms (${f(p99)} ms)`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(0);
  },
);
