// CLI start-up benchmark: `node --import tsx bench/cli.ts [--smoke] [--services N]`.
// Figures, each a ratio against `node -e 0` timed in the same alternating rounds (medians):
//   svcnet --version             target ≤ 2×
//   svcnet exec POD -- true      target ≤ 3× (root: a pod namespace of a lab, found via the API)
// and, for comparison, the same two through tsx (SVCNET_FROM_SOURCE=1, what every start paid
// before the compiled build). Then the node agent's RSS holding N Services (nftables plane),
// compiled and through tsx. As root everything runs inside a network namespace the bench creates
// (API server on its loopback, the agent programming it, a pod namespace beside it) and deletes.
// Always exits 0 (it measures; CI smoke-runs it).
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeObject } from '../src/api/types.ts';
import { createClient } from '../src/client/kubeconfig.ts';
import { hasNetAdmin } from '../src/kernel/exec.ts';
import { inNetns } from '../src/kernel/netns.ts';

const args = process.argv.slice(2);
const smoke = args.includes('--smoke');
const nArg = args.indexOf('--services');
const services = nArg >= 0 ? Number(args[nArg + 1]) : smoke ? 200 : 10_000;
const rounds = smoke ? 5 : 25;
const repo = join(import.meta.dirname, '..');
const bin = join(repo, 'bin', 'svcnet');
const inside = process.env.SVCNET_BENCH_NETNS;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
}

function timeOnce(argv: string[], env: NodeJS.ProcessEnv = {}): number {
  const t0 = performance.now();
  const r = spawnSync(argv[0] ?? '', argv.slice(1), { env: { ...process.env, ...env }, stdio: 'ignore' });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}`);
  return ms;
}

interface Case {
  name: string;
  argv: string[];
  env?: NodeJS.ProcessEnv;
}

/** Alternating rounds (every case once per round) so machine noise hits all cases alike. */
function measure(cases: Case[]): Map<string, number> {
  const times = new Map<string, number[]>(cases.map((c) => [c.name, []]));
  for (const c of cases) timeOnce(c.argv, c.env); // warm the page cache and tsx's cache
  for (let r = 0; r < rounds; r++) for (const c of cases) times.get(c.name)?.push(timeOnce(c.argv, c.env));
  return new Map([...times].map(([k, v]) => [k, median(v)]));
}

function report(label: string, ms: number, base: number, target?: number): void {
  const ratio = ms / base;
  const verdict =
    target === undefined ? '' : ratio <= target ? ` (target ≤ ${target}×) PASS` : ` (target ≤ ${target}×) FAIL`;
  console.log(`  ${label}: ${ms.toFixed(1)} ms = ${ratio.toFixed(2)}× node -e 0${verdict}`);
}

function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0);
}

async function until<T>(what: string, f: () => Promise<T | undefined>, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((res) => {
    if (child.exitCode !== null || child.signalCode !== null) return res();
    child.once('exit', () => res());
    child.kill('SIGTERM');
  });
}

function service(i: number): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: `svc-${i}`, namespace: 'default' },
    spec: { selector: { app: `svc-${i}` }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
  };
}

function slice(i: number): KubeObject {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `svc-${i}-bench`, namespace: 'default', labels: { 'kubernetes.io/service-name': `svc-${i}` } },
    addressType: 'IPv4',
    endpoints: Array.from({ length: 5 }, (_, k) => {
      const n = i * 5 + k + 1;
      return {
        addresses: [`10.244.${(n >> 8) & 255}.${n & 255}`],
        conditions: { ready: true, serving: true, terminating: false },
      };
    }),
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  };
}

/** Starts an agent (nftables plane on this namespace) and returns its RSS once it has synced N Services. */
async function agentRss(kubeconfig: string, fromSource: boolean, healthzPort: number): Promise<number> {
  const agent = spawn(
    bin,
    [
      'agent',
      '--kubeconfig',
      kubeconfig,
      '--node-name',
      'bench-node',
      '--node-ip',
      '10.0.0.10',
      '--mode',
      'nftables',
      '--healthz',
      `127.0.0.1:${healthzPort}`,
    ],
    { env: { ...process.env, SVCNET_FROM_SOURCE: fromSource ? '1' : '0' }, stdio: 'ignore' },
  );
  try {
    const metric = (text: string, name: string) => Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? NaN);
    await until(
      `the agent (${fromSource ? 'tsx' : 'compiled'}) to sync ${services} Services`,
      async () => {
        const text = await (await fetch(`http://127.0.0.1:${healthzPort}/metrics`)).text();
        const seen = metric(text, 'kubeproxy_sync_proxy_rules_service_changes_total');
        const pending =
          metric(text, 'kubeproxy_sync_proxy_rules_service_changes_pending') +
          metric(text, 'kubeproxy_sync_proxy_rules_endpoint_changes_pending');
        return seen >= services &&
          pending === 0 &&
          metric(text, 'kubeproxy_sync_proxy_rules_last_timestamp_seconds') > 0
          ? true
          : undefined;
      },
      180_000,
    );
    // Let V8 give back the young generation it grew during the first sync (~5 s of quiet).
    await new Promise((r) => setTimeout(r, smoke ? 2000 : 8000));
    return rssKiB(agent.pid ?? 0);
  } finally {
    await stop(agent);
  }
}

async function benchInside(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'svcnet-cli-bench-'));
  const port = 21000 + (process.pid % 5000);
  const api = spawn(bin, ['apiserver', '--data-dir', dir, '--store', 'memory', '--listen', `127.0.0.1:${port}`], {
    stdio: 'ignore',
  });
  const podNs = `svn-b${(process.pid % 0xfffff).toString(16).padStart(5, '0')}-0000`;
  try {
    const kubeconfig = join(dir, 'kubeconfig');
    await until('the API server', async () => (existsSync(kubeconfig) ? true : undefined), 30_000);
    const client = createClient({ kubeconfig });
    await until('the API server to answer', async () => ((await client.list('namespaces')) ? true : undefined), 30_000);

    // A pod as `svcnet exec` finds it: its IP on an interface of a lab pod namespace.
    execFileSync('ip', ['netns', 'add', podNs]);
    execFileSync('ip', ['-n', podNs, 'link', 'set', 'lo', 'up']);
    execFileSync('ip', ['-n', podNs, 'addr', 'add', '10.244.250.7/32', 'dev', 'lo']);
    const pod = await client.create('pods', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'bench-pod', namespace: 'default' },
      spec: { containers: [{ name: 'c', image: 'svcnet/echo' }], nodeName: 'bench-node' },
    });
    await client.updateStatus('pods', { ...pod, status: { phase: 'Running', podIP: '10.244.250.7' } });

    const env = { KUBECONFIG: kubeconfig };
    const tsx = { ...env, SVCNET_FROM_SOURCE: '1' };
    const cases: Case[] = [
      { name: 'node', argv: [process.execPath, '-e', '0'] },
      { name: 'version', argv: [bin, '--version'], env },
      { name: 'exec', argv: [bin, 'exec', 'bench-pod', '--', 'true'], env },
      { name: 'version-tsx', argv: [bin, '--version'], env: tsx },
      { name: 'exec-tsx', argv: [bin, 'exec', 'bench-pod', '--', 'true'], env: tsx },
    ];
    const m = measure(cases);
    const base = m.get('node') ?? 1;
    console.log(
      `cli bench${smoke ? ' (smoke)' : ''}: ${rounds} alternating rounds, medians; node -e 0 = ${base.toFixed(1)} ms`,
    );
    report('svcnet --version', m.get('version') ?? 0, base, 2);
    report('svcnet exec POD -- true', m.get('exec') ?? 0, base, 3);
    report('through tsx: svcnet --version', m.get('version-tsx') ?? 0, base);
    report('through tsx: svcnet exec POD -- true', m.get('exec-tsx') ?? 0, base);

    // The agent's RSS at N Services, compiled and through tsx.
    for (let i = 0; i < services; i += 50) {
      await Promise.all(
        Array.from({ length: Math.min(50, services - i) }, async (_, k) => {
          await client.create('services', service(i + k));
          await client.create('endpointslices', slice(i + k));
        }),
      );
    }
    const compiled = await agentRss(kubeconfig, false, port + 1);
    const viaTsx = await agentRss(kubeconfig, true, port + 2);
    console.log(
      `  agent RSS holding ${services} Services × 5 endpoints (nftables): compiled ${(compiled / 1024).toFixed(0)} MB, through tsx ${(viaTsx / 1024).toFixed(0)} MB (${((viaTsx - compiled) / 1024) | 0} MB saved)`,
    );
    execFileSync('nft', ['delete', 'table', 'ip', 'svcnet'], { stdio: 'ignore' });
  } finally {
    await stop(api);
    spawnSync('ip', ['netns', 'del', podNs], { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  }
}

if (inside) {
  await benchInside();
} else if (!hasNetAdmin()) {
  console.log('cli bench: needs root (CAP_NET_ADMIN) for its network namespace; skipped');
} else {
  const ns = `svcnet-clib-${process.pid % 100000}`;
  execFileSync('ip', ['netns', 'add', ns]);
  try {
    execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    const [cmd = 'ip', ...args] = inNetns(ns, [process.execPath, '--import', 'tsx', ...process.argv.slice(1)]);
    const r = spawnSync(cmd, args, {
      stdio: 'inherit',
      env: { ...process.env, SVCNET_BENCH_NETNS: ns },
    });
    if (r.status !== 0) console.log(`cli bench: failed (exit ${r.status})`);
  } finally {
    spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  }
}
