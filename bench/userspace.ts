// Userspace data plane vs HAProxy 2.6 (nbthread 1, mode tcp), same loopback path, same run:
//   - bulk throughput through the proxy (iperf3 when installed, else a Node bulk sender),
//   - connections/s with a 1-byte request and a 1-byte response,
//   - p99 latency of those connections (connect → response).
// Every party is its own process (backend, proxy, load generator), so the proxy under test has
// a core to itself as HAProxy does. Targets (issue 5): throughput ≥ 1.0×, conn/s ≥ 0.9×, p99 ≤
// 1.5× HAProxy. Prints PASS/FAIL per target, a skip line when haproxy is missing; exits 0.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EndpointSlice, Service } from '../src/api/types.ts';
import { EndpointsChangeTracker } from '../src/proxy/endpoints.ts';
import { ServiceChangeTracker } from '../src/proxy/services.ts';
import { emptyChanges, ProxyState } from '../src/proxy/snapshot.ts';
import { UserspacePlane } from '../src/proxy/userspace/plane.ts';
import { LoopbackRangeVips } from '../src/proxy/userspace/vips.ts';

const self = fileURLToPath(import.meta.url);
const args = process.argv.slice(2);
const role = args[args.indexOf('--role') + 1];
const smoke = args.includes('--smoke');

function which(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

// ---- roles ------------------------------------------------------------------------------------

/** 1-byte request → 1-byte response; and a sink/source for the bulk test without iperf3. */
async function backend(): Promise<void> {
  const rr = createServer({ noDelay: true }, (s) => {
    s.on('data', () => s.write('y'));
    s.on('error', () => {});
  });
  const bulk = createServer((s) => {
    s.on('data', () => {});
    s.on('error', () => {});
  });
  await new Promise<void>((r) => rr.listen(0, '127.0.0.1', 4096, r));
  await new Promise<void>((r) => bulk.listen(0, '127.0.0.1', 4096, r));
  process.stdout.write(
    `${JSON.stringify({ rr: (rr.address() as { port: number }).port, bulk: (bulk.address() as { port: number }).port })}\n`,
  );
}

/** The svcnet userspace plane serving two ClusterIP Services through the agent's real types. */
async function svcnet(targets: { rr: number; bulk: number; iperf: number }): Promise<void> {
  const st = new ServiceChangeTracker();
  const et = new EndpointsChangeTracker('bench');
  const targetsList = [
    ['rr', '10.96.0.10', targets.rr],
    ['bulk', '10.96.0.11', targets.bulk],
    ['iperf', '10.96.0.12', targets.iperf],
  ] as const;
  for (const [name, ip, port] of targetsList) {
    const svc: Service = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { namespace: 'bench', name },
      spec: { clusterIP: ip, clusterIPs: [ip], ports: [{ name: 'p', port: 15000, protocol: 'TCP' }] },
    };
    // Loopback endpoints are fine here: the snapshot is built directly, not through the API.
    const slice: EndpointSlice = {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      addressType: 'IPv4',
      metadata: { namespace: 'bench', name, labels: { 'kubernetes.io/service-name': name } },
      ports: [{ name: 'p', port, protocol: 'TCP' }],
      endpoints: [{ addresses: ['127.0.0.1'], nodeName: 'bench' }],
    };
    st.update(undefined, svc);
    et.update(undefined, slice);
  }
  const state = new ProxyState();
  state.apply(st.take(), et.take(), true);
  const snap = state.snapshot({ name: 'bench', zone: '', ips: [], podCIDRs: [] }, [], false);
  const vips = new LoopbackRangeVips(`127.${20 + (process.pid % 200)}.0.0/16`);
  const plane = new UserspacePlane({ vips, onError: (e, l) => process.stderr.write(`${l}: ${String(e)}\n`) });
  await plane.sync(snap, emptyChanges);
  // A clean exit on SIGTERM lets `--cpu-prof` write its profile.
  process.once('SIGTERM', () => process.exit(0));
  const addr = (ip: string) => vips.addressFor(ip) ?? '';
  process.stdout.write(
    `${JSON.stringify({ rr: addr('10.96.0.10'), bulk: addr('10.96.0.11'), iperf: addr('10.96.0.12'), port: 15000 })}\n`,
  );
}

/** Closed-loop connection load: `concurrency` workers, each connect → 1 byte → 1 byte → close. */
async function load(host: string, port: number, ms: number, concurrency: number): Promise<void> {
  const lat: number[] = [];
  let errors = 0;
  const end = performance.now() + ms;
  const one = () =>
    new Promise<void>((resolve) => {
      const t0 = performance.now();
      const s: Socket = connect({ host, port, noDelay: true });
      s.once('connect', () => s.write('x'));
      s.once('data', () => {
        lat.push(performance.now() - t0);
        s.destroy();
        resolve();
      });
      s.once('error', () => {
        errors++;
        s.destroy();
        resolve();
      });
    });
  const worker = async () => {
    while (performance.now() < end) await one();
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  const pct = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? Number.NaN;
  process.stdout.write(`${JSON.stringify({ rate: lat.length / seconds, p50: pct(0.5), p99: pct(0.99), errors })}\n`);
  if (lat.length === 0) process.stderr.write(`load: no connection to ${host}:${port} succeeded (${errors} errors)\n`);
}

/** Bulk sender for machines without iperf3: bytes/s pushed through the proxy into a sink. */
async function bulkSend(host: string, port: number, ms: number): Promise<void> {
  const chunk = Buffer.alloc(128 * 1024, 7);
  const s = connect({ host, port });
  await new Promise((r) => s.once('connect', r));
  let bytes = 0;
  const t0 = performance.now();
  const end = t0 + ms;
  await new Promise<void>((resolve) => {
    const pump = () => {
      while (performance.now() < end) {
        bytes += chunk.length;
        if (!s.write(chunk)) {
          s.once('drain', pump);
          return;
        }
      }
      s.end(() => resolve());
    };
    pump();
  });
  const seconds = (performance.now() - t0) / 1000;
  s.destroy();
  process.stdout.write(`${JSON.stringify({ bitsPerSecond: (bytes * 8) / seconds })}\n`);
}

// ---- orchestration ----------------------------------------------------------------------------

function start(cmd: string, argv: string[]): { child: ChildProcess; line: Promise<string> } {
  const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = new Promise<string>((resolve, reject) => {
    let buf = '';
    child.stdout?.on('data', (d) => {
      buf += d;
      const i = buf.indexOf('\n');
      if (i >= 0) resolve(buf.slice(0, i));
    });
    child.once('exit', (code) => reject(new Error(`${cmd} exited (${code}) before reporting`)));
  });
  return { child, line };
}

function nodeRole(roleArgs: string[]) {
  return start(process.execPath, ['--import', 'tsx', self, '--role', ...roleArgs]);
}

async function runOnce<T>(roleArgs: string[]): Promise<T> {
  const { child, line } = nodeRole(roleArgs);
  const out = JSON.parse(await line) as T;
  await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
  return out;
}

async function iperf(host: string, port: number, seconds: number): Promise<number> {
  const out = execFileSync('iperf3', ['-c', host, '-p', String(port), '-t', String(seconds), '-J'], {
    encoding: 'utf8',
    timeout: (seconds + 20) * 1000,
  });
  const j = JSON.parse(out) as { end?: { sum_received?: { bits_per_second?: number } } };
  return j.end?.sum_received?.bits_per_second ?? Number.NaN;
}

interface Figures {
  bulkBps: number;
  rate: number;
  p99: number;
  p50: number;
  errors: number;
}

async function measure(
  host: { rr: string; bulk: string; iperf: string },
  port: number,
  opts: { useIperf: boolean; seconds: number; concurrency: number },
): Promise<Figures> {
  const bulkBps = opts.useIperf
    ? await iperf(host.iperf, port, opts.seconds)
    : (await runOnce<{ bitsPerSecond: number }>(['bulk-send', host.bulk, String(port), String(opts.seconds * 1000)]))
        .bitsPerSecond;
  // Warm-up so neither proxy pays for first-use costs (JIT, socket caches) in the figures.
  await runOnce(['load', host.rr, String(port), '300', String(opts.concurrency)]);
  const l = await runOnce<{ rate: number; p50: number; p99: number; errors: number }>([
    'load',
    host.rr,
    String(port),
    String(opts.seconds * 1000),
    String(opts.concurrency),
  ]);
  return { bulkBps, rate: l.rate, p50: l.p50, p99: l.p99, errors: l.errors };
}

function haproxyConfig(port: number, rr: number, bulk: number, iperfPort: number): string {
  const listen = (name: string, bindPort: number, target: number, host: string) =>
    `listen ${name}\n  bind ${host}:${bindPort}\n  server s1 127.0.0.1:${target}\n`;
  return [
    'global',
    '  nbthread 1',
    '  maxconn 4000',
    'defaults',
    '  mode tcp',
    '  timeout connect 5s',
    '  timeout client 60s',
    '  timeout server 60s',
    listen('rr', port, rr, '127.0.0.2'),
    listen('bulk', port, bulk, '127.0.0.3'),
    listen('iperf', port, iperfPort, '127.0.0.4'),
  ].join('\n');
}

async function main(): Promise<void> {
  if (!which('haproxy')) {
    console.log('userspace bench: SKIP — haproxy not installed (Debian package `haproxy`)');
    return;
  }
  const useIperf = which('iperf3');
  const seconds = smoke ? 1 : 5;
  const concurrency = smoke ? 8 : 32;
  const dir = mkdtempSync(join(tmpdir(), 'svcnet-bench-us-'));
  const children: ChildProcess[] = [];
  try {
    const be = nodeRole(['backend']);
    children.push(be.child);
    const ports = JSON.parse(await be.line) as { rr: number; bulk: number };
    let iperfPort = 0;
    if (useIperf) {
      iperfPort = await freePort();
      const ip = spawn('iperf3', ['-s', '-B', '127.0.0.1', '-p', String(iperfPort)], { stdio: 'ignore' });
      children.push(ip);
      await new Promise((r) => setTimeout(r, 300));
    }

    const hport = await freePort();
    const cfg = join(dir, 'haproxy.cfg');
    writeFileSync(cfg, haproxyConfig(hport, ports.rr, ports.bulk, iperfPort));
    const hap = spawn('haproxy', ['-db', '-f', cfg], { stdio: ['ignore', 'ignore', 'inherit'] });
    children.push(hap);
    await new Promise((r) => setTimeout(r, 500));
    if (hap.exitCode !== null) {
      console.log(`userspace bench: SKIP — haproxy exited (${hap.exitCode}) at start-up`);
      return;
    }

    const sv = nodeRole(['svcnet', String(ports.rr), String(ports.bulk), String(iperfPort)]);
    children.push(sv.child);
    const svAddr = JSON.parse(await sv.line) as { rr: string; bulk: string; iperf: string; port: number };

    const opts = { useIperf, seconds, concurrency };
    const h = await measure({ rr: '127.0.0.2', bulk: '127.0.0.3', iperf: '127.0.0.4' }, hport, opts);
    const s = await measure(svAddr, svAddr.port, opts);

    const gbit = (b: number) => `${(b / 1e9).toFixed(2)} Gbit/s`;
    const tput = s.bulkBps / h.bulkBps;
    const rate = s.rate / h.rate;
    const p99 = s.p99 / h.p99;
    const v = (ok: boolean) => (ok ? 'PASS' : 'FAIL');
    console.log(
      `userspace bench (${smoke ? 'smoke' : 'full'}; ${seconds}s per figure, ${concurrency} concurrent, bulk via ${useIperf ? 'iperf3' : 'node sender'})`,
    );
    console.log(
      `  HAProxy (nbthread 1): ${gbit(h.bulkBps)}, ${h.rate.toFixed(0)} conn/s, p50 ${h.p50.toFixed(2)} ms, p99 ${h.p99.toFixed(2)} ms, errors ${h.errors}`,
    );
    console.log(
      `  svcnet userspace:     ${gbit(s.bulkBps)}, ${s.rate.toFixed(0)} conn/s, p50 ${s.p50.toFixed(2)} ms, p99 ${s.p99.toFixed(2)} ms, errors ${s.errors}`,
    );
    console.log(`  throughput  ${tput.toFixed(2)}× HAProxy (target ≥ 1.0×)  ${v(tput >= 1.0)}`);
    console.log(`  conn/s      ${rate.toFixed(2)}× HAProxy (target ≥ 0.9×)  ${v(rate >= 0.9)}`);
    console.log(`  p99 latency ${p99.toFixed(2)}× HAProxy (target ≤ 1.5×)  ${v(p99 <= 1.5)}`);
  } finally {
    for (const c of children) c.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

if (role === 'backend') await backend();
else if (role === 'svcnet') {
  await svcnet({ rr: Number(args[2]), bulk: Number(args[3]), iperf: Number(args[4]) });
} else if (role === 'load') await load(args[2] ?? '', Number(args[3]), Number(args[4]), Number(args[5]));
else if (role === 'bulk-send') await bulkSend(args[2] ?? '', Number(args[3]), Number(args[4]));
else await main();
