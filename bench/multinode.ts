// Many nodes on one machine: `svcnet up --nodes 5` with 1,000 Services, then
//  1. programming latency: a new NodePort Service → the moment it answers on every node
//     (real HTTP from the outside namespace, one prober polling all nodes), p50/p99, against
//     the first node to answer (the fan-out cost) and the Kubernetes SLO (p99 ≤ 30 s);
//  2. node failure: `svcnet node stop` → the last request through another node's NodePort
//     that still went to the dead node's endpoint (a request timing out), against the
//     configured --node-monitor-grace-period (the floor: endpoints may leave only after it).
//     A request counts as failed after 1 s (a stalled machine must not pass for a dead node).
// Runs inside a network namespace of its own (root needed; otherwise prints a skip line).
//   node --import tsx bench/multinode.ts [--smoke] [--nodes 5] [--services 1000] [--changes 50]
//        [--grace 10s] [--mode nftables]
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { KubeObject } from '../src/api/types.ts';
import { parseDuration } from '../src/cli/util.ts';
import { createClient } from '../src/client/kubeconfig.ts';
import { hasNetAdmin } from '../src/kernel/exec.ts';
import { isPlaneMode } from '../src/proxy/planes.ts';

const args = process.argv.slice(2);
const smoke = args.includes('--smoke');
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? (args[i + 1] ?? dflt) : dflt;
};
const fail = (msg: string): never => {
  console.error(`multinode: ${msg}`);
  process.exit(2);
};
const int = (name: string, dflt: number, smokeValue: number, max: number) => {
  const v = Number(opt(name, String(smoke ? smokeValue : dflt)));
  if (!Number.isInteger(v) || v <= 0 || v > max) fail(`--${name} must be a whole number from 1 to ${max}`);
  return v;
};
const nodes = int('nodes', 5, 2, 9);
const services = int('services', 1000, 20, 5000);
const changes = int('changes', 50, 5, 500);
const grace = opt('grace', smoke ? '2s' : '10s');
let graceMs = 0;
try {
  graceMs = parseDuration('--grace', grace);
} catch (e) {
  fail(e instanceof Error ? e.message : String(e));
}
const mode = opt('mode', 'nftables');
if (!isPlaneMode(mode)) fail(`--mode must be a data plane, not ${mode}`);
const repo = join(import.meta.dirname, '..');
const svcnet = join(repo, 'bin', 'svcnet');

const netns = process.env.MULTINODE_NETNS;
if (!netns) {
  if (!hasNetAdmin()) {
    console.log('multinode: skipped (needs root: CAP_NET_ADMIN to create network namespaces)');
    process.exit(0);
  }
  // The whole run lives in a namespace of its own; nsenter (not ip netns exec) keeps the
  // lab's named namespaces visible here, so whatever a crash leaves is removed below.
  const ns = `svb-${process.pid % 100000}`;
  const dir = mkdtempSync(join(tmpdir(), 'svcnet-bench-mn-'));
  execFileSync('ip', ['netns', 'add', ns]);
  execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  let code: number | null = 1;
  try {
    const child = spawn(
      'nsenter',
      [`--net=/run/netns/${ns}`, process.execPath, '--import', 'tsx', fileURLToPath(import.meta.url), ...args],
      { stdio: 'inherit', env: { ...process.env, MULTINODE_NETNS: ns, MULTINODE_DIR: dir } },
    );
    code = await new Promise<number | null>((r) => child.on('close', r));
  } finally {
    try {
      execFileSync('pkill', ['-KILL', '-f', `data-dir ${join(dir, 'data')}`], { stdio: 'ignore' });
    } catch {
      // Nothing left running.
    }
    execFileSync('nsenter', [`--net=/run/netns/${ns}`, svcnet, 'cleanup', '--data-dir', join(dir, 'data')], {
      stdio: 'ignore',
    });
    execFileSync('ip', ['netns', 'del', ns]);
    rmSync(dir, { recursive: true, force: true });
  }
  process.exit(code ?? 1);
}

// ---- inside the bench namespace ------------------------------------------------------------

const dir = process.env.MULTINODE_DIR ?? '';
const dataDir = join(dir, 'data');
let log = '';
const up = spawn(
  svcnet,
  [
    'up',
    '--data-dir',
    dataDir,
    '--nodes',
    String(nodes),
    '--mode',
    mode,
    '--node-monitor-grace-period',
    grace,
    '--listen',
    '127.0.0.1:6443',
  ],
  { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HOME: dir } },
);
up.stdout?.on('data', (d) => {
  log += String(d);
});
up.stderr?.on('data', (d) => {
  log += String(d);
});

async function until<T>(what: string, f: () => Promise<T | undefined> | T | undefined, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await Promise.resolve(f()).catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n${log.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Polls every node's address on a port until each answers; one process in the outside namespace. */
const proberScript = `
const http=require('http');const rl=require('readline').createInterface({input:process.stdin});
const get=(ip,port,ms)=>new Promise(res=>{const r=http.get({host:ip,port,path:'/hostname',timeout:ms,agent:false},s=>{let b='';s.on('data',d=>b+=d);s.on('end',()=>res(s.statusCode===200?b:undefined))});r.on('timeout',()=>{r.destroy();res(undefined)});r.on('error',()=>res(undefined))});
rl.on('line',async line=>{const c=JSON.parse(line);
 if(c.op==='wait'){const t=await Promise.all(c.ips.map(async ip=>{for(;;){if(await get(ip,c.port,200)!==undefined)return Date.now();await new Promise(r=>setTimeout(r,5))}}));console.log(JSON.stringify({id:c.id,t}));}
 if(c.op==='load'){const out=[];const end=Date.now()+c.ms;while(Date.now()<end){const t0=Date.now();const h=await get(c.ip,c.port,c.timeout);out.push([t0,h===undefined?0:1]);}console.log(JSON.stringify({id:c.id,out}));}
});`;

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? Number.NaN;
}

let prober: ChildProcess | undefined;
const began = Date.now();
const step = (m: string) => console.error(`multinode: ${((Date.now() - began) / 1000).toFixed(1)} s: ${m}`);
try {
  await until(
    `${nodes} agents`,
    () => ((log.match(/svcnet agent: node /g) ?? []).length >= nodes ? true : undefined),
    120_000,
  );
  const ips = [...log.matchAll(/svcnet: node (\S+): namespace \S+, InternalIP ([\d.]+)/g)].map((m) => ({
    name: m[1] ?? '',
    ip: m[2] ?? '',
  }));
  step(`${nodes} agents up`);
  const outsideNs = /outside client [\d.]+ in (\S+):/.exec(log)?.[1] ?? '';
  const client = createClient({ kubeconfig: join(dataDir, 'kubeconfig') });
  const t0 = Date.now();
  await client.create('deployments', {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default' },
    spec: {
      replicas: nodes,
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'e', image: 'svcnet/echo' }] } },
    },
  } as KubeObject);
  const svc = (name: string, extra: Record<string, unknown> = {}): KubeObject =>
    ({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: 'default' },
      spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }], ...extra },
    }) as KubeObject;
  const bulk = Array.from({ length: services }, (_, i) => i);
  for (let i = 0; i < bulk.length; i += 50) {
    await Promise.all(bulk.slice(i, i + 50).map((j) => client.create('services', svc(`bulk-${j}`))));
  }
  await client.create(
    'services',
    svc('web', { type: 'NodePort', ports: [{ port: 80, targetPort: 8080, nodePort: 30080 }] }),
  );
  const p = spawn('nsenter', [`--net=/run/netns/${outsideNs}`, process.execPath, '-e', proberScript], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  prober = p;
  const replies = new Map<number, (v: unknown) => void>();
  createInterface({ input: p.stdout }).on('line', (l) => {
    const m = JSON.parse(l) as { id: number };
    replies.get(m.id)?.(m);
  });
  let seq = 0;
  const ask = <T>(c: Record<string, unknown>) =>
    new Promise<T>((res) => {
      const id = ++seq;
      replies.set(id, res as (v: unknown) => void);
      p.stdin?.write(`${JSON.stringify({ ...c, id })}\n`);
    });
  // Everything programmed: the web NodePort answers on every node.
  await ask({ op: 'wait', port: 30080, ips: ips.map((n) => n.ip) });
  const setupS = (Date.now() - t0) / 1000;
  step('every node programmed');

  // 1. programming latency of a Service change on every node.
  const all: number[] = [];
  const first: number[] = [];
  for (let i = 0; i < changes; i++) {
    const port = 31000 + i;
    const waiting = ask<{ t: number[] }>({ op: 'wait', port, ips: ips.map((n) => n.ip) });
    const start = Date.now();
    await client.create(
      'services',
      svc(`probe-${i}`, { type: 'NodePort', ports: [{ port: 80, targetPort: 8080, nodePort: port }] }),
    );
    const { t } = await waiting;
    all.push(Math.max(...t) - start);
    first.push(Math.min(...t) - start);
  }

  step(`${changes} changes measured`);
  // 2. a node stops: traffic through node 1 until no request goes to the dead node's endpoint.
  const victim = ips[ips.length - 1];
  const via = ips[0];
  if (!victim || !via) throw new Error('no nodes');
  const loadMs = graceMs + 8000;
  const load = ask<{ out: [number, number][] }>({ op: 'load', ip: via.ip, port: 30080, ms: loadMs, timeout: 1000 });
  await new Promise((r) => setTimeout(r, 500));
  const stopAt = Date.now();
  execFileSync(svcnet, ['node', 'stop', victim.name, '--kubeconfig', join(dataDir, 'kubeconfig')], { stdio: 'ignore' });
  const { out } = await load;
  const failures = out.filter(([t, ok]) => ok === 0 && t >= stopAt - 500);
  const lastFailure = failures.length ? Math.max(...failures.map(([t]) => t)) : stopAt;
  const gone = lastFailure - stopAt;
  const after = out.filter(([t]) => t > lastFailure);

  const f = (ms: number) => `${(ms / 1000).toFixed(3)} s`;
  console.log(
    `multinode (${mode}, ${nodes} nodes, ${services} Services${smoke ? ', smoke' : ''}): setup ${setupS.toFixed(1)} s`,
  );
  console.log(
    `  Service change → all ${nodes} nodes answer: p50 ${f(pct(all, 50))} p99 ${f(pct(all, 99))} (${changes} changes); first node p50 ${f(pct(first, 50))} p99 ${f(pct(first, 99))}; fan-out ratio p50 ${(pct(all, 50) / Math.max(1, pct(first, 50))).toFixed(2)}x`,
  );
  console.log(
    `  vs the Kubernetes SLO (in-cluster network programming p99 ≤ 30 s): ${(pct(all, 99) / 30_000).toFixed(4)}x of the limit`,
  );
  console.log(
    `  node stop → no request reaches its endpoint: ${f(gone)} (${failures.length} of ${out.length} requests failed meanwhile, ${after.filter(([, ok]) => ok === 0).length} after); grace period ${f(graceMs)}: ${(gone / graceMs).toFixed(2)}x`,
  );
} finally {
  prober?.kill('SIGKILL');
  const exited = new Promise((r) => up.once('exit', r));
  up.kill('SIGINT');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
}
