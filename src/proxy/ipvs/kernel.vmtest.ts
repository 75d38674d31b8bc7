// The IPVS plane on a real IPVS kernel (inside the VM: test/vm.test.ts) beyond the shared cases:
// per-Service schedulers, graceful termination of a real server with an open connection, and a
// restart that finds the previous run's state and corrects it without interrupting traffic.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { inNetns } from '../../kernel/netns.ts';
import { syncChanges } from '../snapshot.ts';
import { ep, snapshotOf, svcPort } from '../testing/fixtures.ts';
import { createLab, type Lab, probe } from '../testing/lab.ts';
import { IpvsPlane } from './plane.ts';

const keepOpen = `require('net').createServer(c=>{c.on('error',()=>{});c.on('data',d=>c.write(d))}).listen(9090,'0.0.0.0',()=>console.log('ready'))`;
const holdClient = `const c=require('net').connect(9090,'10.96.0.51',()=>c.write('hi'));c.once('data',()=>console.log('open'));
process.stdin.on('data',()=>{c.write('again');c.once('data',d=>{console.log('still '+d);c.end()})});c.on('close',()=>process.exit(0))`;

let lab: Lab;
const children: ChildProcess[] = [];
function start(ns: string, script: string): ChildProcess {
  const [cmd = 'ip', ...args] = inNetns(ns, [process.execPath, '-e', script]);
  const c = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(c);
  return c;
}
async function line(c: ChildProcess): Promise<string> {
  const [d] = (await once(c.stdout as NodeJS.ReadableStream, 'data')) as [Buffer];
  return String(d).trim();
}

describe('IPVS plane on a real IPVS kernel', () => {
  before(async () => {
    lab = await createLab('vmipk', 2);
    await Promise.all(lab.pods.map(async (p) => assert.equal(await line(start(p.ns, keepOpen)), 'ready')));
  });
  after(async () => {
    for (const c of children) c.kill('SIGKILL');
    await lab?.close();
  });

  const [p1, p2] = [() => lab.pods[0]?.ip ?? '', () => lab.pods[1]?.ip ?? ''];
  const web = svcPort('ns', 'web', { clusterIPs: ['10.96.0.50'] });
  const hold = svcPort('ns', 'hold', { clusterIPs: ['10.96.0.51'], port: 9090 });
  const world = (o: { webSched?: string; holdEps?: number } = {}) =>
    snapshotOf(
      [
        [{ ...web, ...(o.webSched ? { ipvsScheduler: o.webSched } : {}) }, [ep(p1(), 8080), ep(p2(), 8080)]],
        [hold, [ep(p1(), 9090), ep(p2(), 9090)].slice(0, o.holdEps ?? 2)],
      ],
      { node: { name: 'node-a', zone: '', ips: [lab.nodeIP], podCIDRs: ['10.244.0.0/24'] }, nodePortIPs: [lab.nodeIP] },
    );

  it('ipvsadm alone: a NAT virtual server in the node namespace balances real traffic round robin', async () => {
    await lab.sh(
      lab.node,
      `modprobe ip_vs; ip link add raw0 type dummy; ip addr add 10.96.0.60/32 dev raw0
       ipvsadm -A -t 10.96.0.60:80 -s rr
       ${lab.pods.map((p) => `ipvsadm -a -t 10.96.0.60:80 -r ${p.ip}:8080 -m`).join('\n')}`,
    );
    const replies = await probe(lab.client.ns, { proto: 'tcp', host: '10.96.0.60', port: 80, n: 4 });
    assert.deepEqual(replies.map((r) => r.split(' ')[0]).sort(), ['pod1', 'pod1', 'pod2', 'pod2'], replies.join(', '));
    // Masquerade mode without SNAT: the endpoint saw the client's own address.
    for (const r of replies) assert.equal(r.split(' ')[1], lab.client.ip);
    // IPVS tables are per network namespace.
    assert.equal((await lab.sh(lab.outside.ns, 'ipvsadm -S -n')).trim(), '');
    await lab.sh(lab.node, 'ipvsadm -D -t 10.96.0.60:80; ip link del raw0');
  });

  it('round robin by default, source hashing by annotation: one client sticks to one endpoint', async () => {
    const plane = new IpvsPlane({ netns: lab.node, serviceCIDRs: ['10.96.0.0/16'], families: ['IPv4'] });
    await plane.sync(world(), syncChanges({ full: true }));
    const rr = await probe(lab.client.ns, { proto: 'tcp', host: '10.96.0.50', port: 80, n: 4 });
    assert.equal(new Set(rr.map((r) => r.split(' ')[0])).size, 2, rr.join(', '));
    await plane.sync(world({ webSched: 'sh' }), syncChanges());
    assert.match(await lab.sh(lab.node, 'ipvsadm -S -n'), /-A -t 10\.96\.0\.50:80 -s sh/);
    const sh = await probe(lab.client.ns, { proto: 'tcp', host: '10.96.0.50', port: 80, n: 6 });
    assert.equal(new Set(sh.map((r) => r.split(' ')[0])).size, 1, sh.join(', '));
    await plane.stop();
  });

  it('graceful termination: a removed real server keeps its open connection at weight 0, then goes', async () => {
    const plane = new IpvsPlane({
      netns: lab.node,
      serviceCIDRs: ['10.96.0.0/16'],
      families: ['IPv4'],
      drainMs: 4000,
      drainCheckMs: 200,
    });
    await plane.sync(world({ holdEps: 1 }), syncChanges({ full: true }));
    const client = start(lab.client.ns, holdClient);
    assert.equal(await line(client), 'open');
    // The connection went to the only endpoint, pod1; now pod1 leaves and pod2 arrives.
    await plane.sync(
      snapshotOf(
        [
          [web, [ep(p1(), 8080), ep(p2(), 8080)]],
          [hold, [ep(p2(), 9090)]],
        ],
        {
          node: { name: 'node-a', zone: '', ips: [lab.nodeIP], podCIDRs: ['10.244.0.0/24'] },
          nodePortIPs: [lab.nodeIP],
        },
      ),
      syncChanges(),
    );
    const saved = await lab.sh(lab.node, 'ipvsadm -S -n');
    assert.match(saved, new RegExp(`-a -t 10\\.96\\.0\\.51:9090 -r ${p1().replace(/\./g, '\\.')}:9090 -m -w 0`));
    assert.equal(plane.stats.draining, 1);
    client.stdin?.write('x');
    assert.equal(await line(client), 'still again', 'the established connection still flows');
    await once(client, 'exit');
    // Closed connections linger in IPVS's TIME_WAIT; the drain bound removes the real server.
    const t0 = Date.now();
    while (plane.stats.draining > 0 && Date.now() - t0 < 15_000) await new Promise((r) => setTimeout(r, 200));
    assert.equal(plane.stats.draining, 0);
    assert.doesNotMatch(await lab.sh(lab.node, 'ipvsadm -S -n'), new RegExp(`${p1().replace(/\./g, '\\.')}:9090`));
    await plane.stop();
  });

  it('a restart reconciles in place: stale virtual servers go, traffic never stops', async () => {
    // A previous run's leftovers: a virtual server for a Service since deleted, and a wrong scheduler.
    await lab.sh(
      lab.node,
      'ip addr add 10.96.0.99/32 dev svcnet-ipvs0; ipvsadm -A -t 10.96.0.99:80 -s rr; ipvsadm -E -t 10.96.0.50:80 -s wlc',
    );
    const plane = new IpvsPlane({ netns: lab.node, serviceCIDRs: ['10.96.0.0/16'], families: ['IPv4'] });
    const before = await probe(lab.client.ns, { proto: 'tcp', host: '10.96.0.50', port: 80, n: 2 });
    assert.ok(
      before.every((r) => /^pod[12] /.test(r)),
      before.join(', '),
    );
    await plane.sync(world(), syncChanges({ full: true }));
    const saved = await lab.sh(lab.node, 'ipvsadm -S -n');
    assert.doesNotMatch(saved, /10\.96\.0\.99/);
    assert.match(saved, /-A -t 10\.96\.0\.50:80 -s rr/);
    assert.doesNotMatch(await lab.sh(lab.node, 'ip -o addr show dev svcnet-ipvs0'), /10\.96\.0\.99/);
    await plane.stop();
  });
});
