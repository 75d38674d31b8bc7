// IPVS data plane benchmark: `node --import tsx bench/ipvs.ts [--smoke] [--n 10000]`. Needs a
// kernel with IPVS: where ip_vs cannot be loaded it runs itself inside the IPVS VM
// (scripts/vm/run.sh), so the figures are always from a real IPVS kernel, measured in one run.
// Runs only inside network namespaces it creates (and removes, also on failure).
//   P1  connection rate through a ClusterIP ÷ straight to the pod, with 1 Service and through the
//       last of N; mirrored blocks (direct / VIP), median of per-block ratios. Target ≥ 0.9, flat.
//   P2  cold sync of N Services × 5 endpoints by the plane ÷ the floor: `ipvsadm -R` of the same
//       table + `nft -f` of the same helper table + `ip -batch` of the same addresses, written by
//       this bench into a fresh namespace. Target ≤ 1.5.
//   P3  one endpoint change with N Services → a client that keeps connecting reaches the new
//       real server. Target ≤ 20 ms.
// Prints PASS/FAIL per target and exits 0 (non-zero only when no IPVS kernel could be had).
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { hasNetAdmin, run } from '../src/kernel/exec.ts';
import { inNetns } from '../src/kernel/netns.ts';
import { IpvsPlane } from '../src/proxy/ipvs/plane.ts';
import { dummyLink, renderIpvs, saveText } from '../src/proxy/ipvs/render.ts';
import { syncChanges } from '../src/proxy/snapshot.ts';
import { ep, snapshotOf, svcPort } from '../src/proxy/testing/fixtures.ts';
import { createLab, type Lab } from '../src/proxy/testing/lab.ts';
import type { EndpointInfo, ServicePortInfo } from '../src/proxy/types.ts';

const args = process.argv.slice(2);
const smoke = args.includes('--smoke');
const nArg = args.indexOf('--n');
const N = nArg >= 0 ? Number(args[nArg + 1]) : smoke ? 200 : 10_000;
const EPS = 5;
const prefix = `ib${process.pid % 10000}`;
const verdict = (ok: boolean) => (ok ? 'PASS' : 'FAIL');

function ipvsHere(): boolean {
  return spawnSync('modprobe', ['ip_vs'], { stdio: 'ignore' }).status === 0;
}

const vip = (i: number) => `10.96.${(i >> 8) & 255}.${i & 255}`;
const epIP = (i: number, j: number) => {
  const k = i * EPS + j;
  return `10.${245 + (k >> 16)}.${(k >> 8) & 255}.${k & 255}`;
};

function world(lab: Lab, n: number, last: EndpointInfo) {
  const out: [ServicePortInfo, EndpointInfo[]][] = [];
  for (let i = 0; i < n; i++) {
    const eps = Array.from({ length: EPS }, (_, j) => ep(epIP(i, j), 8080));
    out.push([svcPort('bench', `s${i}`, { clusterIPs: [vip(i)], port: 9000 }), i === n - 1 ? [last] : eps]);
  }
  return snapshotOf(out, {
    node: { name: 'node-a', zone: '', ips: [lab.nodeIP], podCIDRs: ['10.244.0.0/24'] },
    nodePortIPs: [lab.nodeIP],
  });
}

/** Answers each connection; prints `hit <epoch ms>` at its first one. */
const rateServer = `let first=true;require('net').createServer(c=>{if(first){first=false;console.log('hit '+(performance.timeOrigin+performance.now()))}
c.on('error',()=>{});c.once('data',()=>c.end('y'))}).listen(9000,'0.0.0.0',()=>console.log('ready'))`;
const rateClient = `
const net=require('net');let buf='';
process.stdin.setEncoding('utf8').on('data',d=>{buf+=d;let i;while((i=buf.indexOf('\\n'))>=0){go(buf.slice(0,i));buf=buf.slice(i+1)}});
function go(l){const [host,ms,conc]=l.split(' ');let n=0,live=+conc;const t0=performance.now(),end=t0+ +ms;
 const one=()=>{if(performance.now()>=end){if(--live===0)console.log(n+' '+(performance.now()-t0));return}
  const c=net.connect(9000,host);let ok=false;c.on('connect',()=>c.write('x'));c.on('data',()=>{ok=true});c.on('error',()=>{});
  c.on('close',()=>{if(ok)n++;setImmediate(one)})};for(let k=0;k<+conc;k++)one()}`;

function daemon(ns: string, script: string) {
  const [cmd = 'ip', ...a] = inNetns(ns, [process.execPath, '-e', script]);
  const child = spawn(cmd, a, { stdio: ['pipe', 'pipe', 'inherit'] });
  let buf = '';
  const waiters: ((l: string) => void)[] = [];
  const lines: string[] = [];
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const l = buf.slice(0, i);
      buf = buf.slice(i + 1);
      const w = waiters.shift();
      if (w) w(l);
      else lines.push(l);
    }
  });
  return {
    next: () => {
      const l = lines.shift();
      return l !== undefined ? Promise.resolve(l) : new Promise<string>((r) => waiters.push(r));
    },
    send: (l: string) => child.stdin.write(`${l}\n`),
    kill: () => child.kill('SIGKILL'),
  };
}

async function p1(lab: Lab, plane: IpvsPlane, n: number, pod: string, client: ReturnType<typeof daemon>) {
  await plane.sync(world(lab, n, ep(pod, 9000)), syncChanges({ full: true }));
  const blocks = smoke ? 3 : 15;
  const ms = smoke ? 600 : 2000;
  const rate = async (host: string) => {
    const got = client.next();
    client.send(`${host} ${ms} 4`);
    const [c = '0', t = '1'] = (await got).split(' ');
    return Number(c) / Number(t);
  };
  const ratios: number[] = [];
  for (let b = 0; b < blocks; b++) {
    const order = b % 2 ? [vip(n - 1), pod] : [pod, vip(n - 1)];
    const r: Record<string, number> = {};
    for (const h of order) r[h] = await rate(h);
    ratios.push((r[vip(n - 1)] ?? 0) / (r[pod] || 1));
  }
  ratios.sort((a, b) => a - b);
  return ratios[ratios.length >> 1] ?? 0;
}

async function main(): Promise<void> {
  if (!hasNetAdmin()) {
    console.log('ipvs bench: SKIP (needs root / CAP_NET_ADMIN for network namespaces)');
    return;
  }
  if (!ipvsHere()) {
    if (process.env.SVCNET_IN_VM) throw new Error('no IPVS even inside the VM');
    console.log('ipvs bench: this kernel has no IPVS; running inside the IPVS VM');
    const vm = spawnSync(
      'bash',
      [
        join(import.meta.dirname, '..', 'scripts', 'vm', 'run.sh'),
        '--',
        process.execPath,
        '--import',
        'tsx',
        ...process.argv.slice(1),
      ],
      { stdio: 'inherit', env: { ...process.env, SVCNET_IN_VM: '1' } },
    );
    process.exitCode = vm.status ?? 1;
    return;
  }
  console.log(`ipvs bench: ${N} Services × ${EPS} endpoints${smoke ? ' (smoke)' : ''}`);
  // A lab that stops answering must not hang the run (the VM's watchdog is the last resort).
  setTimeout(
    () => {
      console.log('ipvs bench: ERROR timed out');
      process.exit(1);
    },
    smoke ? 150_000 : 1_200_000,
  ).unref();
  const lab = await createLab(prefix, 2);
  const servers: ReturnType<typeof daemon>[] = [];
  try {
    const [a, b] = lab.pods;
    if (!a || !b) throw new Error('lab without pods');
    const rateA = daemon(a.ns, rateServer);
    const hitServer = daemon(b.ns, rateServer);
    servers.push(rateA, hitServer);
    await rateA.next();
    await hitServer.next();
    const client = daemon(lab.client.ns, rateClient);
    servers.push(client);
    const plane = new IpvsPlane({ netns: lab.node, serviceCIDRs: ['10.96.0.0/16'], families: ['IPv4'] });

    // P1
    const r1 = await p1(lab, plane, 1, a.ip, client);
    const rN = await p1(lab, plane, N, a.ip, client);
    console.log(
      `P1 connection rate ClusterIP ÷ direct: 1 Service ${r1.toFixed(2)}, last of ${N} ${rN.toFixed(2)} (target ≥ 0.9, flat) ${verdict(r1 >= 0.9 && rN >= 0.9 && Math.abs(rN - r1) <= 0.05)}`,
    );

    // P3 (N Services loaded by P1): the last Service's endpoint moves from pod1 to pod2 while a
    // client keeps connecting; pod2's server reports the wall-clock time of its first connection.
    const hit = hitServer.next();
    const looping = client.next();
    client.send(`${vip(N - 1)} ${smoke ? 3000 : 5000} 2`);
    await new Promise((r) => setTimeout(r, 200));
    const t0 = performance.timeOrigin + performance.now();
    await plane.sync(world(lab, N, ep(b.ip, 9000)), syncChanges({}));
    const syncMs = performance.timeOrigin + performance.now() - t0;
    const first = await Promise.race([hit, looping.then(() => 'none')]);
    await looping;
    const reached = first.startsWith('hit ') ? Number(first.slice(4)) - t0 : Number.NaN;
    console.log(
      `P3 one endpoint change at ${N} Services: sync ${syncMs.toFixed(1)} ms, first connection on the new real server after ${reached.toFixed(1)} ms (target ≤ 20 ms) ${verdict(reached <= 20)}`,
    );
    await plane.stop();

    // P2: a fresh node namespace each, the plane's cold sync and the tools' floor.
    const cold = async (name: string, f: (ns: string) => Promise<void>) => {
      await run(['ip', 'netns', 'add', name]);
      try {
        await run(inNetns(name, ['ip', 'link', 'set', 'lo', 'up']));
        const t = performance.now();
        await f(name);
        return performance.now() - t;
      } finally {
        await run(['ip', 'netns', 'del', name]).catch(() => {});
      }
    };
    const snap = world(lab, N, ep(a.ip, 9000));
    const planeMs = await cold(`${prefix}x`, async (ns) => {
      const p = new IpvsPlane({ netns: ns, serviceCIDRs: ['10.96.0.0/16'], families: ['IPv4'] });
      await p.sync(snap, syncChanges({ full: true }));
      await p.stop();
    });
    const r = renderIpvs(snap, { serviceCIDRs: ['10.96.0.0/16'], masqueradeAll: false, families: ['IPv4'] });
    const ipvsText = saveText(r.table);
    const addrText = `${r.bound.map((x) => `addr add ${x}/32 dev ${dummyLink}`).join('\n')}\n`;
    const floorMs = await cold(`${prefix}y`, async (ns) => {
      await run(inNetns(ns, ['ip', 'link', 'add', dummyLink, 'type', 'dummy']));
      await run(inNetns(ns, ['ip', '-batch', '-']), { input: addrText });
      await run(inNetns(ns, ['nft', '-f', '-']), { input: r.helper.text });
      await run(inNetns(ns, ['ipvsadm', '-R']), { input: ipvsText });
    });
    console.log(
      `P2 cold sync of ${N} × ${EPS}: plane ${planeMs.toFixed(0)} ms ÷ ipvsadm -R + nft -f + ip -batch ${floorMs.toFixed(0)} ms = ${(planeMs / floorMs).toFixed(2)} (target ≤ 1.5) ${verdict(planeMs / floorMs <= 1.5)}`,
    );
  } finally {
    for (const s of servers) s.kill();
    await lab.close();
  }
}

main().catch((e) => {
  console.log(`ipvs bench: ERROR ${(e as Error).message}`);
  process.exitCode = 1;
});
