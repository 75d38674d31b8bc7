// The lab end to end, as root: a host namespace stands in for the machine (the lab never
// touches the test's own namespace), a real in-process control plane, the pod runner and the
// scheduler; pods are real processes in their own namespaces, reached over real veths.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Command } from 'commander';
import { cidrContains } from '../src/api/ip.ts';
import type { Pod } from '../src/api/types.ts';
import { createInProcessCluster, type InProcessCluster } from '../src/client/cluster.ts';
import { inNetns } from '../src/kernel/netns.ts';
import { execInPod, registerExecCommand } from '../src/lab/exec.ts';
import { containerLogDir } from '../src/lab/logs.ts';
import { type PodObj, PodRunner } from '../src/lab/pod-runner.ts';
import { LabScheduler } from '../src/lab/scheduler.ts';
import { LabTopology } from '../src/lab/topology.ts';

function skipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces)';
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'pipe' });
  } catch {
    return '`ip netns` is unavailable';
  }
  return undefined;
}

const skip = skipReason();
const hostNs = `svt-${process.pid}-h`;
const sh = (...args: string[]) => execFileSync(args[0] ?? '', args.slice(1), { encoding: 'utf8', stdio: 'pipe' });
const netnsList = () => sh('ip', 'netns', 'list');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not done within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

function echoPod(name: string, extra: Partial<Pod['spec']> = {}, probePort = 8080): PodObj {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels: { app: 'echo' } },
    spec: {
      terminationGracePeriodSeconds: 5,
      containers: [
        {
          name: 'echo',
          image: 'svcnet/echo',
          ports: [{ name: 'http', containerPort: 8080 }],
          readinessProbe: { httpGet: { path: '/healthz', port: probePort }, periodSeconds: 1 },
        },
      ],
      ...extra,
    },
  } as PodObj;
}

function shPod(name: string, script: string, extra: Partial<Pod['spec']> = {}): PodObj {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: { containers: [{ name: 'main', image: 'busybox', command: ['sh', '-c', script] }], ...extra },
  } as PodObj;
}

describe('lab: pods as processes in network namespaces', { skip }, () => {
  let cluster: InProcessCluster;
  let topology: LabTopology;
  let runner: PodRunner;
  let scheduler: LabScheduler;
  let dataDir: string;
  /** Where pods write what the test reads: a directory they may write to (not the data dir, hidden in pods). */
  let outDir: string;
  const errors: string[] = [];

  const get = (name: string) => cluster.client.get<PodObj>('pods', 'default', name);
  async function waitFor(name: string, pred: (p: PodObj) => boolean, timeoutMs = 30_000): Promise<PodObj> {
    const end = Date.now() + timeoutMs;
    let last: PodObj | undefined;
    while (Date.now() < end) {
      last = await get(name).catch(() => undefined);
      if (last && pred(last)) return last;
      await sleep(100);
    }
    assert.fail(`pod ${name} did not get there in ${timeoutMs} ms: ${JSON.stringify(last?.status)}`);
  }
  const isReady = (p: PodObj) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
  const inNode = (...argv: string[]) => sh(...inNetns(topology.names.nodeNetns, argv));

  before(async () => {
    execFileSync('ip', ['netns', 'add', hostNs]);
    dataDir = mkdtempSync(join(tmpdir(), 'svt-lab-'));
    outDir = mkdtempSync(join(tmpdir(), 'svt-lab-out-'));
    chmodSync(outDir, 0o777);
    cluster = await createInProcessCluster();
    topology = new LabTopology({ dataDir, parentNetns: hostNs, mode: 'netns' });
    runner = new PodRunner({
      client: cluster.client,
      topology,
      nodeName: 'lab-node',
      dataDir,
      zone: 'zone-a',
      dnsIP: '10.96.0.10',
      backoff: { initialMs: 1000, maxMs: 4000 },
      onError: (e, where) => errors.push(`${where}: ${e instanceof Error ? e.message : String(e)}`),
    });
    await runner.start();
    scheduler = new LabScheduler(cluster.client);
    await scheduler.start();
  });

  after(async () => {
    scheduler?.stop();
    await runner?.stop();
    await cluster?.close();
    const leftovers = netnsList()
      .split('\n')
      .filter((l) => l.startsWith(topology.names.nodeNetns));
    const hostLinks = sh('ip', '-n', hostNs, '-o', 'link')
      .split('\n')
      .filter((l) => l.includes('svn-'));
    execFileSync('ip', ['netns', 'delete', hostNs]);
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(outDir, { recursive: true, force: true });
    // Verified here, after the lab stopped: nothing of ours may remain.
    assert.deepEqual(leftovers, [], 'lab namespaces left behind');
    assert.deepEqual(hostLinks, [], 'parent link left behind');
    assert.ok(!netnsList().includes(hostNs));
  });

  it('registers the node with its IP, pod CIDR and zone; the node namespace has no default route', async () => {
    const node = await cluster.client.get<{
      apiVersion: string;
      kind: string;
      metadata: { labels?: Record<string, string> };
      spec?: { podCIDR?: string };
      status?: { addresses?: { type: string; address: string }[]; conditions?: { type: string; status: string }[] };
    }>('nodes', '', 'lab-node');
    assert.equal(node.spec?.podCIDR, '10.244.0.0/24');
    assert.equal(node.metadata.labels?.['topology.kubernetes.io/zone'], 'zone-a');
    assert.deepEqual(node.status?.addresses?.[0], { type: 'InternalIP', address: topology.nodeIP });
    assert.equal(node.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'True');
    const routes = inNode('ip', '-j', 'route');
    assert.ok(!routes.includes('"default"'), routes);
    // The parent side reaches the node over the link: a closed port answers with a RST
    // (curl exit 7, "Couldn't connect"), not a timeout (28).
    const [cmd = 'ip', ...args] = inNetns(hostNs, ['curl', '-sS', '-m', '3', `http://${topology.nodeIP}:1/`]);
    const r = spawnSync(cmd, args);
    assert.equal(r.status, 7, r.stderr.toString());
  });

  it('runs 3 svcnet/echo pods: scheduled, Ready, IPs from the node CIDR, /hostname and UDP answer', async () => {
    const names = ['echo-0', 'echo-1', 'echo-2'];
    const t0 = Date.now();
    for (const n of names) await cluster.client.create('pods', echoPod(n));
    const pods = await Promise.all(names.map((n) => waitFor(n, isReady)));
    const readyMs = Date.now() - t0;
    const cidr = '10.244.0.0/24';
    const ips = pods.map((p) => p.status?.podIP ?? '');
    assert.equal(new Set(ips).size, 3);
    for (const [i, p] of pods.entries()) {
      assert.equal(p.spec?.nodeName, 'lab-node');
      assert.ok(cidrContains(cidr, ips[i] ?? ''), ips[i]);
      assert.equal(p.status?.phase, 'Running');
      assert.equal(p.status?.hostIP, topology.nodeIP);
      assert.equal(p.status?.containerStatuses?.[0]?.ready, true);
      assert.equal(inNode('curl', '-sS', '-m', '3', `http://${ips[i]}:8080/hostname`), names[i]);
      const udp = inNode(
        process.execPath,
        '-e',
        `const s=require('dgram').createSocket('udp4');s.on('message',m=>{process.stdout.write(m);process.exit(0)});s.send('hostname',8081,'${ips[i]}');setTimeout(()=>process.exit(2),3000)`,
      );
      assert.equal(udp, names[i]);
    }
    const clientIP = inNode('curl', '-sS', '-m', '3', `http://${ips[0]}:8080/clientip`);
    assert.match(clientIP, /^10\.244\.0\.1:\d+$/);
    console.log(`# 3 echo pods Ready in ${readyMs} ms`);
  });

  it('svcnet exec runs commands in a pod namespace: HTTP and UDP to every pod, resolv.conf, exit code', async () => {
    const pods = await Promise.all(['echo-0', 'echo-1', 'echo-2'].map((n) => get(n)));
    for (const p of pods) {
      const r = await execInPod({
        client: cluster.client,
        namespace: 'default',
        pod: 'echo-0',
        argv: ['curl', '-sS', '-m', '3', `http://${p.status?.podIP}:8080/hostname`],
        stdio: 'pipe',
      });
      assert.equal(r.stdout, p.metadata.name);
    }
    const udp = await execInPod({
      client: cluster.client,
      namespace: 'default',
      pod: 'echo-1',
      argv: [
        process.execPath,
        '-e',
        `const s=require('dgram').createSocket('udp4');s.on('message',m=>{process.stdout.write(m);process.exit(0)});s.send('hostname',8081,'${pods[2]?.status?.podIP}');setTimeout(()=>process.exit(2),3000)`,
      ],
      stdio: 'pipe',
    });
    assert.equal(udp.stdout, 'echo-2');
    const resolv = await execInPod({
      client: cluster.client,
      namespace: 'default',
      pod: 'echo-0',
      argv: ['cat', '/etc/resolv.conf'],
      stdio: 'pipe',
    });
    assert.equal(
      resolv.stdout,
      'nameserver 10.96.0.10\nsearch default.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n',
    );
    const ip = await execInPod({
      client: cluster.client,
      namespace: 'default',
      pod: 'echo-0',
      argv: ['ip', '-o', '-4', 'addr', 'show', 'eth0'],
      stdio: 'pipe',
    });
    assert.match(ip.stdout, new RegExp(`inet ${pods[0]?.status?.podIP?.replaceAll('.', '\\.')}/24`));
    // The command wiring: exit code propagated.
    let code = -1;
    const program = new Command().exitOverride();
    registerExecCommand(program, { client: () => cluster.client, exit: (c) => (code = c) });
    await program.parseAsync(['exec', '-n', 'default', 'echo-0', '--', 'sh', '-c', 'exit 7'], { from: 'user' });
    assert.equal(code, 7);
  });

  it('a pod failing its readiness probe runs but stays NotReady', async () => {
    await cluster.client.create('pods', echoPod('unready', {}, 9999));
    const p = await waitFor('unready', (x) => x.status?.containerStatuses?.[0]?.state?.running !== undefined);
    await sleep(3500);
    const q = await get('unready');
    assert.equal(q.status?.phase, 'Running');
    assert.equal(q.status?.containerStatuses?.[0]?.ready, false);
    const ready = q.status?.conditions?.find((c) => c.type === 'Ready');
    assert.equal(ready?.status, 'False');
    assert.equal(ready?.reason, 'ContainersNotReady');
    // It does serve: only the probe is wrong.
    assert.equal(inNode('curl', '-sS', '-m', '3', `http://${p.status?.podIP}:8080/hostname`), 'unready');
  });

  it('expands $(VAR) and the downward API in a real process', async () => {
    const pod = shPod('envpod', 'echo "name=$(POD_NAME) ip=$(MY_IP) ns=$NS" esc=\'$$(POD_NAME)\'', {
      restartPolicy: 'Never',
    });
    const c = pod.spec?.containers[0];
    if (c) {
      c.env = [
        { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: 'MY_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
        { name: 'NS', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      ];
    }
    await cluster.client.create('pods', pod);
    const done = await waitFor('envpod', (x) => x.status?.phase === 'Succeeded');
    // The kubelet's log file of the pod's only run, in CRI format.
    const file = join(containerLogDir(dataDir, 'default', 'envpod', done.metadata.uid ?? '', 'main'), '0.log');
    const log = readFileSync(file, 'utf8');
    assert.match(log, /^\S+Z stdout F name=envpod /);
    assert.equal(
      log.replace(/^\S+ stdout F /, ''),
      `name=envpod ip=${done.status?.podIP} ns=default esc=$(POD_NAME)\n`,
    );
  });

  it('an image without a command waits with ErrImagePull', async () => {
    await cluster.client.create('pods', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'nginx', namespace: 'default' },
      spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] },
    });
    const p = await waitFor(
      'nginx',
      (x) => x.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'ErrImagePull',
    );
    assert.equal(p.status?.phase, 'Pending');
    assert.match(p.status?.containerStatuses?.[0]?.state?.waiting?.message ?? '', /svcnet runs processes, not images/);
  });

  it('deleting a pod sends SIGTERM; it exits within grace; one ignoring SIGTERM is killed after grace', async () => {
    await cluster.client.create(
      'pods',
      shPod(
        'polite',
        `trap "echo got-TERM >> ${outDir}/polite.out; exit 0" TERM; echo up; while :; do sleep 0.1; done`,
        {
          terminationGracePeriodSeconds: 20,
        },
      ),
    );
    await cluster.client.create(
      'pods',
      shPod(
        'stubborn',
        `trap "echo ignoring-TERM >> ${outDir}/stubborn.out" TERM; echo up; while :; do sleep 0.1; done`,
        {
          terminationGracePeriodSeconds: 1,
        },
      ),
    );
    const polite = await waitFor('polite', (x) => x.status?.containerStatuses?.[0]?.state?.running !== undefined);
    const stubborn = await waitFor('stubborn', (x) => x.status?.containerStatuses?.[0]?.state?.running !== undefined);
    await sleep(300); // let the shells install their traps
    let t = Date.now();
    await cluster.client.delete('pods', 'default', 'polite');
    await within(runner.podGone(polite.metadata.uid ?? ''), 8000);
    const politeMs = Date.now() - t;
    t = Date.now();
    await cluster.client.delete('pods', 'default', 'stubborn');
    await within(runner.podGone(stubborn.metadata.uid ?? ''), 8000);
    const stubbornMs = Date.now() - t;
    assert.match(readFileSync(join(outDir, 'polite.out'), 'utf8'), /got-TERM/);
    assert.match(readFileSync(join(outDir, 'stubborn.out'), 'utf8'), /ignoring-TERM/);
    assert.ok(politeMs < 3000, `polite pod took ${politeMs} ms`);
    assert.ok(stubbornMs >= 1000 && stubbornMs < 4000, `stubborn pod took ${stubbornMs} ms`);
    console.log(`# SIGTERM exit ${politeMs} ms; SIGKILL after grace 1 s: ${stubbornMs} ms`);
  });

  it('a graceful delete (deletionTimestamp) stops the pod with SIGTERM, then the runner removes the object', async () => {
    await cluster.client.create(
      'pods',
      shPod(
        'graceful',
        `trap "echo got-TERM >> ${outDir}/graceful.out; sleep 0.3; exit 0" TERM; while :; do sleep 0.1; done`,
        {
          terminationGracePeriodSeconds: 10,
        },
      ),
    );
    const p = await waitFor('graceful', (x) => x.status?.containerStatuses?.[0]?.ready === true);
    await sleep(300);
    // A pod bound to a node is deleted gracefully: deletionTimestamp + grace, object kept.
    const t = Date.now();
    const marked = await cluster.client.delete<PodObj>('pods', 'default', 'graceful');
    assert.equal(marked.metadata.deletionGracePeriodSeconds, 10);
    await within(runner.podGone(p.metadata.uid ?? ''), 8000);
    const ms = Date.now() - t;
    await assert.rejects(get('graceful'), (e: unknown) => (e as { code?: number }).code === 404);
    assert.match(readFileSync(join(outDir, 'graceful.out'), 'utf8'), /got-TERM/);
    assert.ok(ms < 3000, `took ${ms} ms`);
  });

  it('restarts a crashing container with growing back-off (CrashLoopBackOff)', async () => {
    await cluster.client.create('pods', shPod('crasher', `date +%s.%N >> ${outDir}/crasher.out; exit 3`));
    let sawBackoff = false;
    const end = Date.now() + 15_000;
    let p: PodObj | undefined;
    while (Date.now() < end) {
      p = await get('crasher');
      const cs = p.status?.containerStatuses?.[0];
      if (cs?.state?.waiting?.reason === 'CrashLoopBackOff') sawBackoff = true;
      if ((cs?.restartCount ?? 0) >= 4) break;
      await sleep(100);
    }
    const cs = p?.status?.containerStatuses?.[0];
    assert.ok(sawBackoff, 'never saw CrashLoopBackOff');
    assert.ok((cs?.restartCount ?? 0) >= 4, JSON.stringify(cs));
    assert.equal(cs?.lastState?.terminated?.exitCode, 3);
    const starts = readFileSync(join(outDir, 'crasher.out'), 'utf8').trim().split('\n').map(Number);
    const gaps = starts.slice(1).map((s, i) => s - (starts[i] ?? 0));
    // First restart at once, then 1 s, 2 s, 4 s (test back-off: 1 s doubling to 4 s).
    assert.ok((gaps[0] ?? 9) < 0.9, `gaps ${gaps}`);
    assert.ok((gaps[1] ?? 0) >= 0.9 && (gaps[2] ?? 0) >= 1.9, `gaps ${gaps}`);
    // The fourth restart waits the doubled-and-capped 4 s.
    assert.match(
      cs?.state?.waiting?.message ?? '',
      /^back-off 4s restarting failed container=main pod=crasher_default/,
    );
    console.log(`# restart gaps (s): ${gaps.map((g) => g.toFixed(2)).join(', ')}`);
    await cluster.client.delete('pods', 'default', 'crasher');
  });

  it('reported no unexpected errors', () => {
    assert.deepEqual(errors, []);
  });
});
