// Userspace data plane vs HAProxy 2.6 (nbthread 1, mode tcp), same loopback path, same run:
//   - bulk throughput through the proxy (iperf3 when installed, else a Node bulk sender),
//   - connections/s with a 1-byte request and a 1-byte response,
//   - p99 latency of those connections (connect → response).
// Every party is its own process (backend, proxy, load generator). By default the proxy under
// test (HAProxy or svcnet) is pinned to CPU 1 and everything else to CPU 0 (taskset), so each
// proxy really gets one core, as `nbthread 1` means: unpinned on a small machine the proxies
// compete with the load generator for cores, and Node's GC helper threads could use a second
// core HAProxy is denied. `--shared` runs unpinned (every process on every core). Rounds
// alternate which proxy goes first and figures are medians; the proxies' CPU time per
// connection is printed beside them, so headroom is visible even where the load side caps the
// rate. Targets: throughput ≥ 1.0×, conn/s ≥ 0.9×, p99 ≤ 1.5× HAProxy. Prints
// PASS/FAIL per target, a skip line when haproxy is missing; exits 0.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EndpointSlice, Service } from '../src/api/types.ts';
import { EndpointsChangeTracker } from '../src/proxy/endpoints.ts';
import { ServiceChangeTracker } from '../src/proxy/services.ts';
import { emptyChanges, ProxyState } from '../src/proxy/snapshot.ts';
import { UserspacePlane } from '../src/proxy/userspace/plane.ts';
import { tcpRelayAddon } from '../src/proxy/userspace/tcp-relay-addon.ts';
import { LoopbackRangeVips } from '../src/proxy/userspace/vips.ts';

const self = fileURLToPath(import.meta.url);
const args = process.argv.slice(2);
const role = args[args.indexOf('--role') + 1];
const smoke = args.includes('--smoke');
/** `--cpu-prof DIR`: the svcnet proxy writes a V8 CPU profile there (open in Chrome DevTools). */
const profDir = args.includes('--cpu-prof') ? args[args.indexOf('--cpu-prof') + 1] : undefined;

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
  const cpu0 = process.cpuUsage();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const cpu = process.cpuUsage(cpu0);
  const seconds = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  const pct = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? Number.NaN;
  process.stdout.write(
    `${JSON.stringify({ rate: lat.length / seconds, p50: pct(0.5), p99: pct(0.99), errors, count: lat.length, cpuUs: (cpu.user + cpu.system) / lat.length })}\n`,
  );
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

/** `pin`: a `taskset -c N` prefix (it execs node, so the child's pid is node's). */
function nodeRole(roleArgs: string[], nodeArgs: string[] = [], pin: string[] = []) {
  const argv = [...nodeArgs, '--import', 'tsx', self, '--role', ...roleArgs];
  return pin.length > 0
    ? start(pin[0] ?? 'taskset', [...pin.slice(1), process.execPath, ...argv])
    : start(process.execPath, argv);
}

async function runOnce<T>(roleArgs: string[], pin: string[] = []): Promise<T> {
  const { child, line } = nodeRole(roleArgs, [], pin);
  const out = JSON.parse(await line) as T;
  await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
  return out;
}

async function iperf(host: string, port: number, seconds: number, pin: string[]): Promise<number> {
  // -O 1: the first second (slow start) is left out for both proxies alike.
  const out = execFileSync(
    pin[0] ?? 'iperf3',
    [
      ...pin.slice(1),
      ...(pin.length > 0 ? ['iperf3'] : []),
      '-c',
      host,
      '-p',
      String(port),
      '-t',
      String(seconds),
      '-O',
      '1',
      '-J',
    ],
    { encoding: 'utf8', timeout: (seconds + 20) * 1000 },
  );
  const j = JSON.parse(out) as { end?: { sum_received?: { bits_per_second?: number } } };
  return j.end?.sum_received?.bits_per_second ?? Number.NaN;
}

interface Figures {
  bulkBps: number;
  rate: number;
  p99: number;
  p50: number;
  errors: number;
  /** CPU time (user + system) the proxy process spent per proxied connection, in µs. */
  cpuPerConnUs: number;
  /** Share of one core the proxy used during the connection run. */
  cpuBusy: number;
  /** CPU time per connection of the load generator (client side), in µs. */
  loadCpuUs: number;
}

/** utime + stime of a process in clock ticks (USER_HZ, 100 on Linux). */
function cpuTicks(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]);
  } catch {
    return Number.NaN;
  }
}

interface Target {
  name: string;
  host: { rr: string; bulk: string; iperf: string };
  port: number;
  pid: number | undefined;
}

async function measure(
  t: Target,
  opts: { useIperf: boolean; seconds: number; concurrency: number; pin: string[] },
): Promise<Figures> {
  const bulkBps = opts.useIperf
    ? await iperf(t.host.iperf, t.port, opts.seconds, opts.pin)
    : (
        await runOnce<{ bitsPerSecond: number }>(
          ['bulk-send', t.host.bulk, String(t.port), String(opts.seconds * 1000)],
          opts.pin,
        )
      ).bitsPerSecond;
  // Warm-up so neither proxy pays for first-use costs (JIT, socket caches) in the figures.
  await runOnce(['load', t.host.rr, String(t.port), '300', String(opts.concurrency)], opts.pin);
  const c0 = cpuTicks(t.pid);
  const l = await runOnce<{ rate: number; p50: number; p99: number; errors: number; count: number; cpuUs: number }>(
    ['load', t.host.rr, String(t.port), String(opts.seconds * 1000), String(opts.concurrency)],
    opts.pin,
  );
  const ticks = cpuTicks(t.pid) - c0;
  const cpuPerConnUs = (ticks * 10_000) / l.count;
  const cpuBusy = ticks / 100 / opts.seconds;
  return { ...l, bulkBps, cpuPerConnUs, cpuBusy, loadCpuUs: l.cpuUs };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] ?? Number.NaN) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
}

function medianFigures(fs: Figures[]): Figures {
  const m = (k: keyof Figures) => median(fs.map((f) => f[k]));
  return {
    bulkBps: m('bulkBps'),
    rate: m('rate'),
    p50: m('p50'),
    p99: m('p99'),
    errors: fs.reduce((a, f) => a + f.errors, 0),
    cpuPerConnUs: m('cpuPerConnUs'),
    cpuBusy: m('cpuBusy'),
    loadCpuUs: m('loadCpuUs'),
  };
}

function haproxyConfig(port: number, rr: number, bulk: number, iperfPort: number): string {
  // The same three backends svcnet gets, no health checks (svcnet's passive health costs nothing
  // on the happy path), one thread like svcnet's one event loop.
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

function flag(name: string, dflt: number): number {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
}

async function main(): Promise<void> {
  if (!which('haproxy')) {
    console.log('userspace bench: SKIP — haproxy not installed (Debian package `haproxy`)');
    return;
  }
  const useIperf = which('iperf3');
  const seconds = flag('--seconds', smoke ? 1 : 4);
  const concurrency = flag('--concurrency', smoke ? 8 : 32);
  const rounds = flag('--rounds', smoke ? 1 : 5);
  const pinned = !args.includes('--shared') && which('taskset') && availableParallelism() >= 2;
  const pinLoad = pinned ? ['taskset', '-c', '0'] : [];
  const pinProxy = pinned ? ['taskset', '-c', '1'] : [];
  const dir = mkdtempSync(join(tmpdir(), 'svcnet-bench-us-'));
  const children: ChildProcess[] = [];
  const loadBefore = readFileSync('/proc/loadavg', 'utf8').trim();
  try {
    const be = nodeRole(['backend'], [], pinLoad);
    children.push(be.child);
    const ports = JSON.parse(await be.line) as { rr: number; bulk: number };
    let iperfPort = 0;
    if (useIperf) {
      iperfPort = await freePort();
      const ipArgs = ['-s', '-B', '127.0.0.1', '-p', String(iperfPort)];
      const ip = pinned
        ? spawn('taskset', ['-c', '0', 'iperf3', ...ipArgs], { stdio: 'ignore' })
        : spawn('iperf3', ipArgs, { stdio: 'ignore' });
      children.push(ip);
      await new Promise((r) => setTimeout(r, 300));
    }

    const hport = await freePort();
    const cfg = join(dir, 'haproxy.cfg');
    writeFileSync(cfg, haproxyConfig(hport, ports.rr, ports.bulk, iperfPort));
    const hapArgs = ['-db', '-f', cfg];
    const hap = pinned
      ? spawn('taskset', ['-c', '1', 'haproxy', ...hapArgs], { stdio: ['ignore', 'ignore', 'inherit'] })
      : spawn('haproxy', hapArgs, { stdio: ['ignore', 'ignore', 'inherit'] });
    children.push(hap);
    await new Promise((r) => setTimeout(r, 500));
    if (hap.exitCode !== null) {
      console.log(`userspace bench: SKIP — haproxy exited (${hap.exitCode}) at start-up`);
      return;
    }

    const sv = nodeRole(
      ['svcnet', String(ports.rr), String(ports.bulk), String(iperfPort)],
      profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [],
      pinProxy,
    );
    children.push(sv.child);
    const svAddr = JSON.parse(await sv.line) as { rr: string; bulk: string; iperf: string; port: number };
    // With taskset in front, the child is taskset, which execs node: same pid.
    const targets: Target[] = [
      { name: 'haproxy', host: { rr: '127.0.0.2', bulk: '127.0.0.3', iperf: '127.0.0.4' }, port: hport, pid: hap.pid },
      { name: 'svcnet', host: svAddr, port: svAddr.port, pid: sv.child.pid },
    ];

    const opts = { useIperf, seconds, concurrency, pin: pinLoad };
    // One untimed pass over both first (JIT, page cache, socket slabs), then rounds that
    // alternate which proxy goes first, so drift in machine load hits both alike; medians.
    for (const t of targets) await runOnce(['load', t.host.rr, String(t.port), '1000', String(concurrency)], pinLoad);
    const results = new Map<string, Figures[]>(targets.map((t) => [t.name, []]));
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? targets : [...targets].reverse();
      for (const t of order) results.get(t.name)?.push(await measure(t, opts));
    }
    const h = medianFigures(results.get('haproxy') ?? []);
    const s = medianFigures(results.get('svcnet') ?? []);
    const loadAfter = readFileSync('/proc/loadavg', 'utf8').trim();

    const gbit = (b: number) => `${(b / 1e9).toFixed(2)} Gbit/s`;
    const tput = s.bulkBps / h.bulkBps;
    const rate = s.rate / h.rate;
    const p99 = s.p99 / h.p99;
    const v = (ok: boolean) => (ok ? 'PASS' : 'FAIL');
    const line = (f: Figures) =>
      `${gbit(f.bulkBps)}, ${f.rate.toFixed(0)} conn/s, p50 ${f.p50.toFixed(2)} ms, p99 ${f.p99.toFixed(2)} ms, proxy ${f.cpuPerConnUs.toFixed(0)} µs CPU/conn (${(f.cpuBusy * 100).toFixed(0)}% of a core), client ${f.loadCpuUs.toFixed(0)} µs CPU/conn, errors ${f.errors}`;
    console.log(
      `userspace bench (${smoke ? 'smoke' : 'full'}; ${rounds} alternating rounds, medians; ${seconds}s per figure, ${concurrency} concurrent, bulk via ${useIperf ? 'iperf3' : 'node sender'}${pinned ? '; proxy pinned to CPU 1, load to CPU 0' : ''})`,
    );
    console.log(
      `  svcnet relay: ${tcpRelayAddon() ? 'native engine (native/tcp-relay: accept/connect/splice in C, every decision in TypeScript)' : `JS (net.Socket; native/tcp-relay not built: scripts/build-native.sh)`}`,
    );
    console.log(`  loadavg before: ${loadBefore}; after: ${loadAfter}`);
    if (args.includes('--verbose')) {
      for (const [name, fs] of results) for (const f of fs) console.log(`    ${name.padEnd(8)} ${line(f)}`);
    }
    console.log(`  HAProxy (nbthread 1): ${line(h)}`);
    console.log(`  svcnet userspace:     ${line(s)}`);
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
