// The HAProxy load-balancer provider, driven by the real service controller against an in-process
// API server, with the real HAProxy in a network namespace of its own:
//   - node IP change → backend updated and serving: a Node's InternalIP is patched; the time until
//     a connection through the external IP is answered by the node at its new address;
//   - Service create → external IP serving: the time from the create to the first answer through
//     the external IP (the address allocated, the frontend loaded, the backend checked).
// p50/p99 printed against the limit ("within seconds", taken as 5 s) as a ratio.
// Root and haproxy needed; otherwise a skip line.   node --import tsx bench/lb-provider.ts [--smoke] [--rounds N]
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { KubeObject, Node, Service } from '../src/api/types.ts';
import { createInProcessCluster } from '../src/client/cluster.ts';
import { startServiceController } from '../src/controllers/lbprovider/controller.ts';
import { HAProxyProvider } from '../src/controllers/lbprovider/haproxy/provider.ts';
import { hasNetAdmin } from '../src/kernel/exec.ts';

const args = process.argv.slice(2);
const smoke = args.includes('--smoke');
const limitMs = 5000;
const roundsArg = args.indexOf('--rounds');
const rounds = smoke ? 3 : Number(roundsArg >= 0 ? args[roundsArg + 1] : 20);
if (!Number.isInteger(rounds) || rounds < 1 || rounds > 200) {
  console.error('lb-provider: --rounds must be a whole number from 1 to 200');
  process.exit(2);
}
const haveHAProxy = (() => {
  try {
    execFileSync('haproxy', ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
if (!hasNetAdmin() || !haveHAProxy) {
  console.log('lb-provider: skipped (needs root and haproxy)');
  process.exit(0);
}

const ns = `svb-${process.pid % 100000}-lb`;
const inNs = (argv: string[]) => ['ip', 'netns', 'exec', ns, ...argv];
// A node's NodePorts (one per round's Service): greets with "<name>@<ip>".
const serverJs = `const [ip, first, n, name] = process.argv.slice(1); let up = 0;
for (let p = +first; p < +first + +n; p++) require('net').createServer((s) => { s.end(name + '@' + ip + '\\n'); s.on('error', () => {}); })
  .listen(p, ip, () => { if (++up === +n) console.log('up'); });`;
// Reads "ip port want" lines; connects every 5 ms until the greeting is "want"; prints the ms it took.
const proberJs = `const net = require('net');
require('readline').createInterface({ input: process.stdin }).on('line', (l) => {
  const [ip, port, want] = l.split(' '); const t0 = Date.now();
  const go = () => { const s = net.connect(+port, ip); let b = ''; s.setEncoding('utf8');
    const again = () => { s.destroy(); setTimeout(go, 5); };
    s.on('data', (d) => { b += d; }); s.on('end', () => { if (b.trim() === want) console.log(Date.now() - t0); else again(); });
    s.on('error', again); s.setTimeout(1000, again); };
  go(); });`;

const children: ChildProcess[] = [];
const spawnIn = (argv: string[]) => {
  const [cmd = '', ...rest] = inNs(argv);
  const c = spawn(cmd, rest, { stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(c);
  return c;
};
const dir = mkdtempSync(join(tmpdir(), 'svcnet-bench-lb-'));
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? 0;
};

execFileSync('ip', ['netns', 'add', ns]);
let cluster: Awaited<ReturnType<typeof createInProcessCluster>> | undefined;
let ctrl: ReturnType<typeof startServiceController> | undefined;
try {
  execFileSync('ip', inNs(['ip', 'link', 'set', 'lo', 'up']).slice(1));
  const ips = ['10.255.0.2', '10.255.0.3'];
  for (const ip of ips) {
    execFileSync('ip', inNs(['ip', 'addr', 'add', `${ip}/32`, 'dev', 'lo']).slice(1));
    const s = spawnIn([process.execPath, '-e', serverJs, ip, '30080', String(rounds), 'n1']);
    await new Promise((r) => s.stdout?.once('data', r));
  }
  const prober = spawnIn([process.execPath, '-e', proberJs]);
  const answers = createInterface({ input: prober.stdout ?? process.stdin });
  const pending: ((ms: number) => void)[] = [];
  answers.on('line', (l) => pending.shift()?.(Number(l)));
  const probe = (ip: string, want: string) =>
    new Promise<number>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no answer "${want}" through ${ip} within 30 s`)), 30_000);
      pending.push((ms) => {
        clearTimeout(t);
        resolve(ms);
      });
      prober.stdin?.write(`${ip} 80 ${want}\n`);
    });

  cluster = await createInProcessCluster();
  const c = cluster.client;
  await c.create('ipaddresspools', {
    apiVersion: 'metallb.io/v1beta1',
    kind: 'IPAddressPool',
    metadata: { name: 'edge', namespace: 'metallb-system', labels: { 'svcnet.io/lb-provider': 'haproxy' } },
    spec: { addresses: ['192.0.2.0/24'] },
  } as KubeObject);
  const setIP = (ip: string) =>
    c.patch(
      'nodes',
      '',
      'n1',
      'merge',
      {
        status: {
          conditions: [{ type: 'Ready', status: 'True' }],
          addresses: [{ type: 'InternalIP', address: ip }],
        },
      },
      { subresource: 'status' },
    );
  await c.create<Node & KubeObject>('nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' } });
  await setIP(ips[0] ?? '');
  const provider = new HAProxyProvider({
    client: c,
    dir,
    netns: ns,
    checkIntervalMs: 1000,
    onError: (e) => console.error(`lb-provider: ${String(e)}`),
  });
  ctrl = startServiceController(c, { provider, minRetryDelayMs: 100, maxRetryDelayMs: 1000 });
  await ctrl.synced();

  const create: number[] = [];
  const move: number[] = [];
  let at = 0;
  for (let i = 0; i < rounds; i++) {
    // Services stay: each round's balancer is one more frontend in the configuration.
    const name = `web-${i}`;
    const t0 = Date.now();
    await c.create<Service & KubeObject>('services', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: 'default' },
      spec: {
        type: 'LoadBalancer',
        selector: { app: 'web' },
        ports: [{ port: 80, nodePort: 30080 + i, protocol: 'TCP' }],
      },
    });
    let ip = '';
    while (!ip) {
      const s = await c.get<Service & KubeObject>('services', 'default', name);
      ip = s.status?.loadBalancer?.ingress?.[0]?.ip ?? '';
      if (!ip) await new Promise((r) => setTimeout(r, 5));
    }
    await probe(ip, `n1@${ips[at]}`);
    create.push(Date.now() - t0);
    at = 1 - at;
    const t1 = Date.now();
    await setIP(ips[at] ?? '');
    await probe(ip, `n1@${ips[at]}`);
    move.push(Date.now() - t1);
  }
  const line = (what: string, xs: number[]) =>
    `lb-provider: ${what}: p50 ${pct(xs, 50)} ms, p99 ${pct(xs, 99)} ms over ${xs.length} rounds vs limit ${limitMs} ms: ratio ${(pct(xs, 99) / limitMs).toFixed(3)}`;
  console.log(line('node IP change → HAProxy backend updated and serving', move));
  console.log(line('Service create → external IP serving traffic', create));
} finally {
  await ctrl?.stop();
  await cluster?.close();
  for (const ch of children) ch.kill();
  try {
    execFileSync('ip', ['netns', 'del', ns]);
  } catch {}
  rmSync(dir, { recursive: true, force: true });
}
