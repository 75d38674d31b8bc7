// `svcnet up --lb-provider keepalived`: two edge namespaces on the lab LAN, each with the real
// HAProxy, and the real keepalived floating the external IP and the gateway the outside client
// routes the edge range to. A client loops from the outside namespace while the master edge
// loses its link (a machine gone): the backup takes the addresses over and traffic continues;
// how many requests failed during the failover is printed, none may fail after it.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hasNetAdmin } from '../src/kernel/exec.ts';
import { eventually } from './helpers/eventually.ts';
import { LabUp } from './helpers/lab-up.ts';

const have = (bin: string) => ['/usr/sbin', '/usr/bin', '/sbin'].some((d) => existsSync(join(d, bin)));
const skip = !hasNetAdmin()
  ? 'needs root (CAP_NET_ADMIN) for lab namespaces'
  : !have('haproxy') || !have('keepalived')
    ? 'haproxy and keepalived not installed'
    : false;

const app = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
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

const loopJs = `const [url, out, stop] = process.argv.slice(1);
const fs = require('fs'); const http = require('http');
const one = () => new Promise((r) => { const t = Date.now();
  const q = http.get(url, { timeout: 1000, agent: false }, (res) => { let b = ''; res.on('data', (d) => b += d);
    res.on('end', () => r(t + ' ' + (res.statusCode === 200 ? 'ok' : 'fail ' + res.statusCode))); });
  q.on('timeout', () => q.destroy(new Error('timeout'))); q.on('error', (e) => r(t + ' fail ' + (e.code || e.message))); });
(async () => { while (!fs.existsSync(stop)) { fs.appendFileSync(out, (await one()) + '\\n'); await new Promise((r) => setTimeout(r, 20)); } })();`;

describe('svcnet up --lb-provider keepalived', { skip }, () => {
  const lab = new LabUp({
    ns: `svt-${process.pid % 100000}-k`,
    nodes: 1,
    args: ['--lb-provider', 'keepalived', '--listen', `127.0.0.1:${23000 + (process.pid % 9000)}`],
  });
  let ip = '';
  let edges: string[] = [];
  const out = () => join(lab.dir, 'loop.log');
  const stopFile = () => join(lab.dir, 'loop.stop');
  let loop: Promise<unknown> | undefined;

  before(async () => {
    await lab.start();
    edges = /svcnet: edge \(--lb-provider keepalived\) (\S+) [\d.]+, (\S+) /.exec(lab.log)?.slice(1, 3) ?? [];
  });
  after(async () => {
    if (existsSync(lab.dir) && !existsSync(stopFile())) writeFileSync(stopFile(), '');
    await loop;
    await lab.close();
  });

  const location = async () => {
    const r = await lab.svcnet(['lb', 'show', 'default/web', '--data-dir', lab.dataDir, '-o', 'json']);
    if (r.code !== 0) throw new Error(`lb show: ${r.stderr}`);
    return (JSON.parse(r.stdout) as { view: { location?: string } }).view.location;
  };
  const holds = async (ns: string) => (await lab.run('ip', ['-n', ns, '-o', 'addr', 'show', 'dev', 'eth0'])).stdout;
  const lines = () =>
    readFileSync(out(), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(' '));

  it('the master edge holds the external IP; outside traffic reaches the pod through it', async () => {
    assert.equal(edges.length, 2, lab.log);
    writeFileSync(join(lab.dir, 'app.yaml'), app);
    await lab.kubectl(['apply', '-f', join(lab.dir, 'app.yaml')]);
    ip = await eventually('external IP', async () => {
      const s = await lab.json<{ status?: { loadBalancer?: { ingress?: { ip?: string; ipMode?: string }[] } } }>([
        'get',
        'svc',
        'web',
      ]);
      const i = s.status?.loadBalancer?.ingress?.[0];
      return i?.ip && i.ipMode === 'Proxy' ? i.ip : undefined;
    });
    assert.match(ip, /^198\.18\.0\.\d+$/);
    await eventually('answers from outside', async () => {
      const r = await lab.outside(`curl -s -m 2 http://${ip}/hostname`);
      return r.stdout.startsWith('web-') ? true : undefined;
    });
    assert.match(await holds(edges[0] ?? ''), new RegExp(` ${ip}/32 `));
    assert.doesNotMatch(await holds(edges[1] ?? ''), new RegExp(` ${ip}/32 `));
    assert.equal(await location(), `${edges[0]} (VRRP master)`);
  });

  it('the master edge dies: the backup takes the addresses and serves, no request fails after', async () => {
    const [cmd = '', ...args] = [process.execPath, '-e', loopJs, `http://${ip}/hostname`, out(), stopFile()];
    loop = lab.svcnet(['exec', '--outside', '--', cmd, ...args], 120_000);
    await eventually('loop running', async () => (existsSync(out()) && lines().length > 10 ? true : undefined));
    const t0 = Date.now();
    await lab.run('ip', ['-n', edges[0] ?? '', 'link', 'set', 'eth0', 'down']);
    await eventually('backup holds the IP', async () =>
      (await holds(edges[1] ?? '')).includes(` ${ip}/32 `) ? true : undefined,
    );
    const took = Date.now() - t0;
    await eventually('answering again', async () => {
      const tail = lines().slice(-10);
      return tail.length === 10 && tail.every(([t, s]) => Number(t) > t0 && s === 'ok') ? true : undefined;
    });
    const settled = Date.now();
    await new Promise((r) => setTimeout(r, 2000));
    const all = lines();
    const during = all.filter(([t]) => Number(t) >= t0 && Number(t) < settled);
    const afterIt = all.filter(([t]) => Number(t) >= settled);
    const failed = during.filter(([, s]) => s !== 'ok');
    const gap = failed.length ? Number(failed.at(-1)?.[0]) - Number(failed[0]?.[0]) : 0;
    console.log(
      `# failover: backup held the IP after ${took} ms; ${failed.length} of ${during.length} requests failed (first to last failure ${gap} ms), ${afterIt.filter(([, s]) => s !== 'ok').length} of ${afterIt.length} after`,
    );
    assert.deepEqual(
      afterIt.filter(([, s]) => s !== 'ok'),
      [],
    );
    assert.equal(await location(), `${edges[1]} (VRRP master)`);
    // The first edge comes back: it stays backup (nopreempt), so traffic is not moved a second time.
    const t2 = Date.now();
    await lab.run('ip', ['-n', edges[0] ?? '', 'link', 'set', 'eth0', 'up']);
    await new Promise((r) => setTimeout(r, 2500));
    const back = lines().filter(([t]) => Number(t) >= t2);
    console.log(`# first edge back: ${back.filter(([, s]) => s !== 'ok').length} of ${back.length} requests failed`);
    assert.equal(await location(), `${edges[1]} (VRRP master)`);
    assert.doesNotMatch(await holds(edges[0] ?? ''), new RegExp(` ${ip}/32 `));
    assert.deepEqual(
      back.filter(([, s]) => s !== 'ok'),
      [],
    );
    writeFileSync(stopFile(), '');
    await loop;
  });
});
