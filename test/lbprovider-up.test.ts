// `svcnet up --nodes 2 --lb-provider haproxy` as a user runs it: real kubectl, the real Debian
// HAProxy in the lab's edge namespace, traffic from the outside client through the external IP
// to the pods via every node's NodePort. A client loops in the outside namespace while a node is
// stopped, started and given a new IP; the balancer follows each change with no one editing it,
// and once a change has settled no request fails (how many failed during it is printed).
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hasNetAdmin } from '../src/kernel/exec.ts';
import { eventually } from './helpers/eventually.ts';
import { LabUp } from './helpers/lab-up.ts';

const haveHAProxy = existsSync('/usr/sbin/haproxy') || existsSync('/usr/bin/haproxy');
const skip = !hasNetAdmin()
  ? 'needs root (CAP_NET_ADMIN) for lab namespaces'
  : !haveHAProxy
    ? 'haproxy not installed'
    : false;

const app = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: echo, image: svcnet/echo, readinessProbe: {httpGet: {path: /healthz, port: 8080}, periodSeconds: 1}}]}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {type: LoadBalancer, selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}
`;

// One GET after the other until the stop file appears; a line per request: "<ms> ok|fail <what>".
const loopJs = `const [url, out, stop] = process.argv.slice(1);
const fs = require('fs'); const http = require('http');
const one = () => new Promise((r) => { const t = Date.now();
  const q = http.get(url, { timeout: 2000 }, (res) => { let b = ''; res.on('data', (d) => b += d);
    res.on('end', () => r(t + ' ' + (res.statusCode === 200 ? 'ok ' + b.trim() : 'fail ' + res.statusCode))); });
  q.on('timeout', () => q.destroy(new Error('timeout'))); q.on('error', (e) => r(t + ' fail ' + (e.code || e.message))); });
(async () => { while (!fs.existsSync(stop)) { fs.appendFileSync(out, (await one()) + '\\n'); await new Promise((r) => setTimeout(r, 30)); } })();`;

interface Shown {
  ingress: { ip?: string; ipMode?: string }[];
  view: { backends: { node: string; address: string; health: string; total: number }[] };
}

describe('svcnet up --lb-provider haproxy', { skip }, () => {
  const lab = new LabUp({
    ns: `svt-${process.pid % 100000}-h`,
    nodes: 2,
    args: [
      '--nodes',
      '2',
      '--lb-provider',
      'haproxy',
      '--node-monitor-grace-period',
      '2s',
      '--listen',
      `127.0.0.1:${22000 + (process.pid % 9000)}`,
    ],
  });
  let ip = '';
  const out = () => join(lab.dir, 'loop.log');
  const stopFile = () => join(lab.dir, 'loop.stop');
  let loop: Promise<unknown> | undefined;

  before(async () => {
    await lab.start();
  });
  after(async () => {
    if (!existsSync(stopFile()) && existsSync(lab.dir)) writeFileSync(stopFile(), '');
    await loop;
    await lab.close();
  });

  const show = async () => {
    const r = await lab.svcnet(['lb', 'show', 'default/web', '--data-dir', lab.dataDir, '-o', 'json']);
    if (r.code !== 0) throw new Error(`lb show: ${r.stderr}`);
    return JSON.parse(r.stdout) as Shown;
  };
  const servers = async () =>
    (await show()).view.backends
      .map((b) => `${b.node}@${b.address.split(':')[0]}`)
      .sort()
      .join(',');
  /** Request lines logged since `t0`. */
  const since = (t0: number) =>
    readFileSync(out(), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(' '))
      .filter(([t]) => Number(t) >= t0);
  /** Waits until the loop has had 10 successes in a row after t0; then 2 s in which none may fail. */
  const settledWithoutFailures = async (what: string, t0: number) => {
    await eventually(`${what}: answering again`, async () => {
      const l = since(t0);
      const tail = l.slice(-10);
      return tail.length === 10 && tail.every(([, s]) => s === 'ok') ? true : undefined;
    });
    const settled = Date.now();
    await new Promise((r) => setTimeout(r, 2000));
    const during = since(t0).filter(([t]) => Number(t) < settled);
    const after = since(settled);
    const failedDuring = during.filter(([, s]) => s !== 'ok').length;
    const failedAfter = after.filter(([, s]) => s !== 'ok');
    console.log(
      `# ${what}: ${failedDuring} of ${during.length} requests failed while it settled (${settled - t0} ms), ${failedAfter.length} of ${after.length} after`,
    );
    assert.deepEqual(failedAfter, [], `${what}: requests failed after it settled`);
  };

  it('gives the LoadBalancer Service an external IP from the edge range; outside traffic reaches both pods through HAProxy', async () => {
    writeFileSync(join(lab.dir, 'app.yaml'), app);
    await lab.kubectl(['apply', '-f', join(lab.dir, 'app.yaml')]);
    const ingress = await eventually('external IP', async () => {
      const s = await lab.json<{ status?: { loadBalancer?: { ingress?: { ip?: string; ipMode?: string }[] } } }>([
        'get',
        'svc',
        'web',
      ]);
      return s.status?.loadBalancer?.ingress?.[0]?.ip ? s.status.loadBalancer.ingress : undefined;
    });
    ip = ingress[0]?.ip ?? '';
    assert.match(ip, /^198\.18\.0\.\d+$/);
    assert.equal(ingress[0]?.ipMode, 'Proxy');
    const nodes = lab.nodeIPs();
    assert.equal(await servers(), [...nodes].map(([n, a]) => `${n}@${a}`).join(','));
    const seen = await eventually(
      'both pods through the balancer',
      async () => {
        const r = await lab.outside(`for i in $(seq 8); do curl -s -m 2 http://${ip}/hostname; echo; done`);
        const h = new Set(r.stdout.split('\n').filter(Boolean));
        return h.size === 2 && [...h].every((x) => x.startsWith('web-')) ? h : undefined;
      },
      30_000,
    );
    assert.equal(seen.size, 2);
    // Counters come from HAProxy itself.
    const shown = await eventually('both backends UP', async () => {
      const v = await show();
      return v.view.backends.length === 2 && v.view.backends.every((b) => b.health === 'UP') ? v : undefined;
    });
    // HAProxy counts per worker, so since the last reload: six more requests show up at once.
    const before = shown.view.backends.reduce((n, b) => n + b.total, 0);
    await lab.outside(`for i in $(seq 6); do curl -s -m 2 -o /dev/null http://${ip}/hostname; done`);
    const counted = (await show()).view.backends.reduce((n, b) => n + b.total, 0);
    assert.equal(counted - before, 6, JSON.stringify(shown.view));
    const table = await lab.svcnet(['lb', 'show', 'default/web', '--data-dir', lab.dataDir]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, new RegExp(`External IP: +${ip.replaceAll('.', '\\.')} \\(ipMode Proxy\\)`));
    // The edge holds the address, the nodes do not (ipMode Proxy: they leave it to the balancer).
    const nodeNs = [...lab.log.matchAll(/svcnet: node \S+: namespace (\S+),/g)].map((m) => m[1] ?? '');
    const edgeNs = /svcnet: edge \(--lb-provider haproxy\) (\S+) /.exec(lab.log)?.[1] ?? '';
    assert.equal(nodeNs.length, 2);
    for (const n of nodeNs) assert.doesNotMatch((await lab.run('ip', ['-n', n, '-o', 'addr'])).stdout, new RegExp(ip));
    assert.match((await lab.run('ip', ['-n', edgeNs, '-o', 'addr', 'show', 'dev', 'lo'])).stdout, new RegExp(ip));
  });

  it('follows node stop, start and a new IP while a client loops, with no failure once each settles', async () => {
    const [cmd, ...args] = [process.execPath, '-e', loopJs, `http://${ip}/hostname`, out(), stopFile()];
    loop = lab.svcnet(['exec', '--outside', '--', cmd ?? '', ...args], 120_000);
    await eventually('loop running', async () => (existsSync(out()) && since(0).length > 5 ? true : undefined));
    const ips = lab.nodeIPs();
    const one = `svcnet-node-1@${ips.get('svcnet-node-1')}`;

    let t0 = Date.now();
    assert.equal((await lab.svcnet(['node', 'stop', 'svcnet-node-2'])).code, 0);
    await eventually('node 2 out of the backend', async () => ((await servers()) === one ? true : undefined), 15_000);
    await settledWithoutFailures('node stop', t0);

    t0 = Date.now();
    assert.equal((await lab.svcnet(['node', 'start', 'svcnet-node-2'])).code, 0);
    await eventually(
      'node 2 back',
      async () => ((await servers()) === `${one},svcnet-node-2@${ips.get('svcnet-node-2')}` ? true : undefined),
      20_000,
    );
    await settledWithoutFailures('node start', t0);

    const lan = (ips.get('svcnet-node-2') ?? '').split('.').slice(0, 3).join('.');
    t0 = Date.now();
    const moved = await lab.svcnet(['node', 'set-ip', 'svcnet-node-2', `${lan}.42`]);
    assert.equal(moved.code, 0, moved.stderr);
    await eventually(
      'node 2 at its new IP',
      async () => ((await servers()) === `${one},svcnet-node-2@${lan}.42` ? true : undefined),
      15_000,
    );
    await settledWithoutFailures('node set-ip', t0);
    // Both nodes serve again through the balancer.
    const last = since(Date.now() - 1500).map(([, , h]) => h);
    assert.ok(last.length > 0);
    writeFileSync(stopFile(), '');
    await loop;
  });

  it('externalTrafficPolicy Local: HAProxy checks the healthCheckNodePort, so only the node with the pod gets traffic', async () => {
    await lab.kubectl(['patch', 'svc', 'web', '-p', '{"spec":{"externalTrafficPolicy":"Local"}}']);
    await lab.kubectl(['scale', 'deployment', 'web', '--replicas=1']);
    const pods = await eventually('one web pod', async () => {
      const l = await lab.json<{ items: { metadata: { deletionTimestamp?: string }; spec?: { nodeName?: string } }[] }>(
        ['get', 'pods', '-l', 'app=web'],
      );
      const live = l.items.filter((p) => !p.metadata.deletionTimestamp);
      return live.length === 1 && l.items.length === 1 ? live : undefined;
    });
    const withPod = pods[0]?.spec?.nodeName ?? '';
    const health = await eventually(
      'only the node with the pod UP',
      async () => {
        const v = await show();
        const h = v.view.backends.map((b) => `${b.node}:${b.health}`).sort();
        return h.length === 2 && h.filter((x) => x.endsWith(':UP')).length === 1 ? h : undefined;
      },
      15_000,
    );
    assert.ok(health.includes(`${withPod}:UP`), `${health} / pod on ${withPod}`);
    const r = await lab.outside(
      `for i in $(seq 6); do curl -s -m 2 -o /dev/null -w '%{http_code}\\n' http://${ip}/hostname; done`,
    );
    assert.deepEqual(r.stdout.trim().split('\n'), Array(6).fill('200'));
  });

  it('deleting the Service removes the frontend and the finalizer', async () => {
    await lab.kubectl(['delete', 'svc', 'web', '--wait=true', '--timeout=20s']);
    const r = await lab.svcnet(['lb', 'show', 'default/web', '--data-dir', lab.dataDir]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr.trim(), /^svcnet: lb show: service default\/web not found$/);
    const cfg = readFileSync(join(lab.dataDir, 'haproxy', 'haproxy.cfg'), 'utf8');
    assert.doesNotMatch(cfg, /frontend /);
  });
});
