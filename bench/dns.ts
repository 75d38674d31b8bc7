// Cluster DNS benchmark:
// `node --import tsx bench/dns.ts [--n 10000] [--seconds 10] [--rounds 3] [--udp-io native|dgram] [--smoke]`.
//
// 1. dnsperf against svcnet's DNS server and against dnsmasq (Debian) serving the same N names
//    (A records of N ClusterIP Services) on loopback, in the same run: QPS ratio svcnet/dnsmasq
//    (target ≥ 1.0) and average latencies (target ≤ dnsmasq's). Fairness: the same dnsperf
//    arguments and query file for both; dnsmasq answers from a hosts file with its default cache;
//    svcnet runs as the agent does (metrics on) in ONE process, like single-threaded dnsmasq; a
//    warm-up run each, then `--rounds` rounds alternating which server goes first, medians
//    reported. Each server's CPU time per query is printed too: on a small machine dnsperf and
//    the server share the cores, so per-query cost is what the QPS ratio comes down to.
// 2. Programming latency: with N Services in an in-process control plane feeding the DNS server
//    through informers, the time from create() of one more Service to the first correct answer
//    on the UDP socket (target ≤ 50 ms).
// Missing dnsperf or dnsmasq: says so and skips part 1. Always exits 0 (it measures; CI does
// not gate on it). Needs the Debian packages `dnsperf` and `dnsmasq-base`.
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import type { KubeObject } from '../src/api/types.ts';
import { createInProcessCluster } from '../src/client/cluster.ts';
import { startClusterDns } from '../src/dns/cluster-dns.ts';
import { encodeMessage, questionOf } from '../src/dns/codec.ts';
import { DnsHandler } from '../src/dns/handler.ts';
import { DnsMetrics } from '../src/dns/metrics.ts';
import { DnsIndex } from '../src/dns/records.ts';
import { DnsServer, type UdpIo } from '../src/dns/server.ts';
import { svc } from '../src/dns/testdata/objects.ts';
import { udpNative } from '../src/dns/udp-native.ts';

const run = promisify(execFile);
const args = process.argv.slice(2);
const smoke = args.includes('--smoke');
const argNum = (flag: string, dflt: number) => {
  const i = args.indexOf(flag);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const n = argNum('--n', smoke ? 1000 : 10_000);
const seconds = argNum('--seconds', smoke ? 2 : 10);
const rounds = argNum('--rounds', smoke ? 1 : 3);
const udpIoArg = args.includes('--udp-io') ? (args[args.indexOf('--udp-io') + 1] as UdpIo) : undefined;
const zone = 'cluster.local';

const pad = (i: number) => String(i).padStart(5, '0');
const nsOf = (i: number) => `team-${i % 20}`;
const ipOf = (i: number) => `10.96.${(i >> 8) + 1}.${i & 255}`;
const nameOf = (i: number) => `svc-${pad(i)}.${nsOf(i)}.svc.${zone}`;

function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

interface Perf {
  qps: number;
  avgLatencyMs: number;
  lost: number;
  completed: number;
  /** Server CPU (user + system) per completed query, µs. */
  cpuUsPerQuery: number;
}

/** The same for both servers: 4 client sockets, 200 queries outstanding, dnsperf's default threads. */
const PERF_ARGS = ['-c', '4', '-q', '200', '-t', '2'];

async function dnsperf(port: number, queryFile: string, cpuSeconds: () => number, secs = seconds): Promise<Perf> {
  const cpu0 = cpuSeconds();
  const { stdout } = await run(
    'dnsperf',
    ['-s', '127.0.0.1', '-p', String(port), '-d', queryFile, '-l', String(secs), ...PERF_ARGS],
    {
      maxBuffer: 16 << 20,
    },
  );
  const cpu = cpuSeconds() - cpu0;
  const num = (re: RegExp) => Number(re.exec(stdout)?.[1] ?? Number.NaN);
  const completed = num(/Queries completed:\s+(\d+)/);
  return {
    qps: num(/Queries per second:\s+([\d.]+)/),
    avgLatencyMs: num(/Average Latency \(s\):\s+([\d.]+)/) * 1000,
    lost: num(/Queries lost:\s+(\d+)/),
    completed,
    cpuUsPerQuery: (cpu * 1e6) / completed,
  };
}

/** CPU seconds (user + system) of another process, from /proc (Linux). */
function procCpuSeconds(pid: number): number {
  try {
    // Fields after the parenthesised command name: utime and stime are the 12th and 13th.
    const rest = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    const ticks = Number(rest[11]) + Number(rest[12]);
    const hz = Number(spawnSync('getconf', ['CLK_TCK']).stdout.toString().trim()) || 100;
    return ticks / hz;
  } catch {
    return Number.NaN;
  }
}

/** This process's CPU seconds: the svcnet server runs in it, the rest of the bench idles meanwhile. */
function selfCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] ?? Number.NaN) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
}

const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const p = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

async function waitForAnswer(port: number, name: string, want: string, timeoutMs: number): Promise<boolean> {
  const s = createSocket('udp4');
  const q = encodeMessage({
    id: 1,
    flags: 0,
    rcode: 0,
    question: questionOf(name, 1),
    answers: [],
    authority: [],
    additional: [],
  });
  const ipBytes = Buffer.from(want.split('.').map(Number));
  return new Promise((resolve) => {
    const end = Date.now() + timeoutMs;
    const timer = setInterval(() => {
      if (Date.now() > end) {
        clearInterval(timer);
        s.close();
        resolve(false);
      } else s.send(q, port, '127.0.0.1');
    }, 1);
    s.send(q, port, '127.0.0.1');
    s.on('message', (m) => {
      if ((m[3] ?? 0) % 16 === 0 && m.readUInt16BE(6) > 0 && m.subarray(m.length - 4).equals(ipBytes)) {
        clearInterval(timer);
        s.close();
        resolve(true);
      }
    });
  });
}

/**
 * dnsmasq on a free port. The port is free for UDP when picked but dnsmasq also binds TCP and the
 * pick races other processes: on a failure to come up, another port, three times at most.
 */
async function startDnsmasq(hosts: string): Promise<{ proc: ChildProcess; port: number } | { error: string }> {
  let error = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freeUdpPort();
    const proc = spawn(
      'dnsmasq',
      [
        '--keep-in-foreground',
        '--conf-file=/dev/null',
        `--port=${port}`,
        '--listen-address=127.0.0.1',
        '--bind-interfaces',
        '--no-resolv',
        '--no-hosts',
        `--addn-hosts=${hosts}`,
        `--local=/${zone}/`,
        '--pid-file=',
        '--user=root',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let err = '';
    proc.stderr?.on('data', (d) => {
      err += String(d);
    });
    const exited = new Promise<boolean>((r) => proc.once('exit', () => r(false)));
    if (await Promise.race([waitForAnswer(port, nameOf(n - 1), ipOf(n - 1), 5000), exited])) return { proc, port };
    proc.kill('SIGTERM');
    error = err.trim();
  }
  return { error };
}

async function throughput(): Promise<void> {
  if (!have('dnsperf') || !have('dnsmasq')) {
    console.log(
      'dns bench: dnsperf and/or dnsmasq not installed (Debian: dnsperf, dnsmasq-base): skipping the QPS comparison',
    );
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'svcnet-dnsbench-'));
  const queryFile = join(dir, 'queries');
  const hosts = join(dir, 'hosts');
  const lines: string[] = [];
  const hostLines: string[] = [];
  for (let i = 0; i < n; i++) {
    lines.push(`${nameOf(i)} A`);
    hostLines.push(`${ipOf(i)} ${nameOf(i)}`);
  }
  writeFileSync(queryFile, `${lines.join('\n')}\n`);
  writeFileSync(hosts, `${hostLines.join('\n')}\n`);

  // svcnet: the same server the agent runs, index filled from the same N Services.
  const index = new DnsIndex({ zone });
  for (let i = 0; i < n; i++) {
    index.onService(
      undefined,
      svc(nsOf(i), `svc-${pad(i)}`, { clusterIP: ipOf(i), clusterIPs: [ipOf(i)], ports: [{ name: 'http', port: 80 }] }),
    );
  }
  // As startClusterDns builds it (metrics on, the same socket buffers), minus the informers.
  const metrics = new DnsMetrics();
  const server = new DnsServer({
    listen: [{ host: '127.0.0.1', port: 0 }],
    handler: new DnsHandler(index, { podMode: 'insecure', negativeTtl: 5, metrics }),
    metrics,
    socketBufferBytes: 4 << 20,
    ...(udpIoArg ? { udpIo: udpIoArg } : {}),
  });
  const svcPort = (await server.start())[0]?.port ?? 0;

  const started = await startDnsmasq(hosts);
  if ('error' in started) {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
    console.log(`dns bench: dnsmasq did not come up: ${started.error}`);
    return;
  }
  const { proc: dnsmasq, port: dmPort } = started;
  try {
    const svcReady = await waitForAnswer(svcPort, nameOf(n - 1), ipOf(n - 1), 2000);
    if (!svcReady) throw new Error('svcnet DNS does not answer');
    const dmPid = dnsmasq.pid ?? 0;
    const loadBefore = load();
    // Warm-up each (page cache, JIT, the answer cache), then alternating measured rounds.
    await dnsperf(dmPort, queryFile, () => procCpuSeconds(dmPid), Math.min(seconds, 3)).catch(() => undefined);
    await dnsperf(svcPort, queryFile, selfCpuSeconds, Math.min(seconds, 3)).catch(() => undefined);
    const dms: Perf[] = [];
    const svs: Perf[] = [];
    for (let r = 0; r < rounds; r++) {
      if (r % 2 === 0) {
        dms.push(await dnsperf(dmPort, queryFile, () => procCpuSeconds(dmPid)));
        svs.push(await dnsperf(svcPort, queryFile, selfCpuSeconds));
      } else {
        svs.push(await dnsperf(svcPort, queryFile, selfCpuSeconds));
        dms.push(await dnsperf(dmPort, queryFile, () => procCpuSeconds(dmPid)));
      }
    }
    const summary = (ps: Perf[]) => ({
      qps: median(ps.map((p) => p.qps)),
      avgLatencyMs: median(ps.map((p) => p.avgLatencyMs)),
      cpuUsPerQuery: median(ps.map((p) => p.cpuUsPerQuery)),
      lost: ps.reduce((a, p) => a + p.lost, 0),
      sent: ps.reduce((a, p) => a + p.lost + p.completed, 0),
      each: ps.map((p) => p.qps.toFixed(0)).join(' '),
    });
    const dm = summary(dms);
    const sv = summary(svs);
    const ratio = sv.qps / dm.qps;
    console.log(
      `dns bench: ${n} names, dnsperf ${PERF_ARGS.join(' ')} for ${seconds} s, ${rounds} alternating round(s), medians; loopback, ${process.platform} ${process.version}`,
    );
    console.log('  svcnet: 1 process (single-threaded, like dnsmasq), metrics on');
    const batches = server.udpNativeStats();
    const native = udpNative();
    console.log(
      `  svcnet UDP I/O: ${server.udpIo}${
        batches
          ? ` (recvmmsg/sendmmsg addon, ${(batches.packets / Math.max(1, batches.batches)).toFixed(1)} datagrams per batch on average)`
          : native.ok
            ? ' (forced)'
            : ` (native unavailable: ${native.reason})`
      }`,
    );
    const row = (label: string, p: ReturnType<typeof summary>) =>
      console.log(
        `  ${label} ${p.qps.toFixed(0).padStart(8)} qps  avg ${p.avgLatencyMs.toFixed(3)} ms  server cpu ${p.cpuUsPerQuery.toFixed(2)} µs/query  lost ${p.lost}/${p.sent}  rounds [${p.each}]`,
      );
    row('dnsmasq', dm);
    row('svcnet ', sv);
    console.log(`  QPS ratio svcnet/dnsmasq = ${ratio.toFixed(2)} (target >= 1.0): ${ratio >= 1 ? 'PASS' : 'FAIL'}`);
    const latOk = sv.avgLatencyMs <= dm.avgLatencyMs;
    console.log(
      `  avg latency svcnet ${sv.avgLatencyMs.toFixed(3)} ms vs dnsmasq ${dm.avgLatencyMs.toFixed(3)} ms: ${latOk ? 'PASS' : 'FAIL'}`,
    );
    console.log(`  load average before ${loadBefore}, after ${load()} (${cpus().length} CPUs)`);
  } finally {
    dnsmasq.kill('SIGTERM');
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function programmingLatency(): Promise<void> {
  const cluster = await createInProcessCluster();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    await cluster.client.create('services', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: `svc-${pad(i)}`, namespace: 'default' },
      spec: { ports: [{ name: 'http', port: 80 }] },
    });
  }
  const loadMs = performance.now() - t0;
  const dns = await startClusterDns({
    client: cluster.client,
    listen: [{ host: '127.0.0.1', port: 0 }],
    upstreams: [],
  });
  const syncMs = performance.now() - t0 - loadMs;
  const port = dns.addresses[0]?.port ?? 0;
  const samples: number[] = [];
  try {
    for (let k = 0; k < (smoke ? 5 : 20); k++) {
      const name = `probe-${k}`;
      const start = performance.now();
      const created = await cluster.client.create<KubeObject>('services', {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name, namespace: 'default' },
        spec: { ports: [{ port: 80 }] },
      });
      const ip = (created.spec as { clusterIP: string }).clusterIP;
      const ok = await waitForAnswer(port, `${name}.default.svc.${zone}`, ip, 5000);
      if (!ok) throw new Error(`no answer for ${name}`);
      samples.push(performance.now() - start);
    }
  } finally {
    await dns.close();
    await cluster.close();
  }
  samples.sort((a, b) => a - b);
  const p50 = samples[Math.floor(samples.length / 2)] ?? Number.NaN;
  const max = samples[samples.length - 1] ?? Number.NaN;
  console.log(
    `dns bench: ${n} Services loaded in ${loadMs.toFixed(0)} ms, informers synced + server up in ${syncMs.toFixed(0)} ms`,
  );
  console.log(
    `  create Service → first correct UDP answer: p50 ${p50.toFixed(2)} ms, max ${max.toFixed(2)} ms over ${samples.length} (target <= 50 ms): ${max <= 50 ? 'PASS' : 'FAIL'}`,
  );
}

try {
  await throughput();
  await programmingLatency();
} catch (e) {
  console.log(`dns bench: error: ${e instanceof Error ? e.message : String(e)}`);
}
process.exit(0);
