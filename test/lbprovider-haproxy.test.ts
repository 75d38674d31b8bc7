// The HAProxy provider with the real Debian haproxy, driven by the service controller, in a
// network namespace the test creates: the edge holds the external IP on its loopback, two
// "nodes" are TCP servers on their InternalIPs at the Service's nodePort. Traffic is real TCP
// through HAProxy; node NotReady, an InternalIP change and a held connection across reloads are
// checked from a client in the same namespace.
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { KubeObject, Node, Service } from '../src/api/types.ts';
import { loadBalancerClasses } from '../src/api/well-known.ts';
import { createInProcessCluster, type InProcessCluster } from '../src/client/cluster.ts';
import { type ServiceController, startServiceController } from '../src/controllers/lbprovider/controller.ts';
import { HAProxyProvider } from '../src/controllers/lbprovider/haproxy/provider.ts';
import {
  type LoadBalancerController,
  startLoadBalancerController,
} from '../src/controllers/loadbalancer/controller.ts';
import { eventually } from './helpers/eventually.ts';

const root = process.getuid?.() === 0;
const haveHAProxy = (() => {
  try {
    execFileSync('haproxy', ['-v']);
    return true;
  } catch {
    return false;
  }
})();
const skip = !root ? 'needs root for a network namespace' : !haveHAProxy ? 'haproxy not installed' : false;

const ns = `svp-${randomBytes(4).toString('hex')}`;
const inNs = (argv: string[]) => ['ip', 'netns', 'exec', ns, ...argv];

// A node's NodePort: says its name, then echoes lines.
const serverJs = `const [ip, port, name] = process.argv.slice(1);
require('net').createServer((s) => { s.write(name + '\\n'); s.pipe(s); s.on('error', () => {}); }).listen(+port, ip, () => console.log('up'));`;
// One request: connect, print the first line.
const clientJs = `const s = require('net').connect(+process.argv[2], process.argv[1]);
s.setEncoding('utf8'); let b = ''; s.on('data', (d) => { b += d; if (b.includes('\\n')) { console.log(b.split('\\n')[0]); process.exit(0); } });
s.on('error', (e) => { console.log('ERR ' + e.code); process.exit(0); }); setTimeout(() => { console.log('ERR timeout'); process.exit(0); }, 2000);`;

function once(ip: string, port: number): string {
  const [cmd = '', ...args] = inNs([process.execPath, '-e', clientJs, ip, String(port)]);
  return execFileSync(cmd, args).toString().trim();
}

describe('HAProxy provider with the real haproxy', { skip }, () => {
  let c: InProcessCluster;
  let ctrl: ServiceController;
  let ipam: LoadBalancerController;
  let provider: HAProxyProvider;
  let dir: string;
  const servers = new Map<string, ChildProcess>();
  const errors: unknown[] = [];

  const startServer = async (name: string, ip: string, port: number) => {
    execFileSync('ip', ['netns', 'exec', ns, 'ip', 'addr', 'replace', `${ip}/32`, 'dev', 'lo']);
    const [cmd = '', ...args] = inNs([process.execPath, '-e', serverJs, ip, String(port), name]);
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    servers.set(`${name}@${ip}`, p);
    await new Promise<void>((resolve) => p.stdout?.once('data', () => resolve()));
  };
  const setNode = (name: string, o: { ready: boolean; ip: string }) =>
    c.client.patch(
      'nodes',
      '',
      name,
      'merge',
      {
        status: {
          conditions: [{ type: 'Ready', status: o.ready ? 'True' : 'False' }],
          addresses: [{ type: 'InternalIP', address: o.ip }],
        },
      },
      { subresource: 'status' },
    );
  /** Which nodes answer through the balancer over `n` fresh connections. */
  const answers = (ip: string, n = 6) => {
    const seen = new Set<string>();
    for (let i = 0; i < n; i++) seen.add(once(ip, 80));
    return [...seen].sort().join(',');
  };

  before(async () => {
    execFileSync('ip', ['netns', 'add', ns]);
    execFileSync('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up']);
    dir = mkdtempSync(join(tmpdir(), 'svcnet-haproxy-'));
    await startServer('n1', '10.255.0.1', 30080);
    await startServer('n2', '10.255.0.2', 30080);
    c = await createInProcessCluster();
    await c.client.create('ipaddresspools', {
      apiVersion: 'metallb.io/v1beta1',
      kind: 'IPAddressPool',
      metadata: { name: 'edge', namespace: 'metallb-system', labels: { 'svcnet.io/lb-provider': 'haproxy' } },
      spec: { addresses: ['192.0.2.100-192.0.2.101'] },
    } as KubeObject);
    // The IPAM's pool, first in name order: the provider must never take from it, nor the IPAM from "edge".
    await c.client.create('ipaddresspools', {
      apiVersion: 'metallb.io/v1beta1',
      kind: 'IPAddressPool',
      metadata: { name: 'a-nodes', namespace: 'metallb-system' },
      spec: { addresses: ['192.0.2.200-192.0.2.201'] },
    } as KubeObject);
    for (const [name, ip] of [
      ['n1', '10.255.0.1'],
      ['n2', '10.255.0.2'],
    ] as const) {
      await c.client.create<Node & KubeObject>('nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name } });
      await setNode(name, { ready: true, ip });
    }
    provider = new HAProxyProvider({
      client: c.client,
      dir,
      netns: ns,
      checkIntervalMs: 200,
      onError: (e) => errors.push(e),
    });
    ctrl = startServiceController(c.client, {
      provider,
      own: { classless: true, loadBalancerClass: loadBalancerClasses.provider('haproxy') },
      minRetryDelayMs: 100,
      maxRetryDelayMs: 1000,
    });
    // Side by side, as `svcnet up --lb-provider haproxy` runs them: the IPAM answers only to its class.
    ipam = startLoadBalancerController(c.client, { loadBalancerClass: loadBalancerClasses.ipam, classless: false });
    await Promise.all([ctrl.synced(), ipam.synced()]);
  });
  after(async () => {
    await ctrl?.stop();
    await ipam?.stop();
    await c?.close();
    for (const p of servers.values()) p.kill();
    try {
      execFileSync('ip', ['netns', 'del', ns]);
    } catch {}
    if (process.env.KEEP) console.log(dir);
    else if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('gives the Service a pool IP held by the edge and balances real connections over both nodes', async () => {
    await c.client.create<Service & KubeObject>('services', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: 'default' },
      spec: { type: 'LoadBalancer', selector: { app: 'web' }, ports: [{ port: 80, nodePort: 30080, protocol: 'TCP' }] },
    });
    const s = await eventually('web status', async () => {
      const s = await c.client.get<Service & KubeObject>('services', 'default', 'web');
      return s.status?.loadBalancer?.ingress?.[0]?.ip ? s : undefined;
    });
    assert.deepEqual(s.status?.loadBalancer?.ingress, [{ ip: '192.0.2.100', ipMode: 'Proxy' }]);
    assert.equal(answers('192.0.2.100'), 'n1,n2');
    const rows = await provider.stats();
    const backends = rows.filter((r) => r.svname === 'n1' || r.svname === 'n2').map((r) => `${r.svname}:${r.status}`);
    assert.deepEqual(backends.sort(), ['n1:UP', 'n2:UP']);
  });

  it('side by side by class, the IPAM and the provider give addresses from different pools', async () => {
    const mk = (name: string, cls?: string) =>
      c.client.create<Service & KubeObject>('services', {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name, namespace: 'default' },
        spec: {
          type: 'LoadBalancer',
          selector: { app: name },
          ports: [{ port: 81, protocol: 'TCP' }],
          ...(cls ? { loadBalancerClass: cls } : {}),
        },
      });
    await mk('by-ipam', loadBalancerClasses.ipam);
    await mk('by-class', loadBalancerClasses.provider('haproxy'));
    const ingress = async (name: string) =>
      eventually(`${name} status`, async () => {
        const s = await c.client.get<Service & KubeObject>('services', 'default', name);
        return s.status?.loadBalancer?.ingress?.[0]?.ip ? s.status.loadBalancer.ingress : undefined;
      });
    assert.deepEqual(await ingress('by-ipam'), [{ ip: '192.0.2.200', ipMode: 'VIP' }]);
    assert.deepEqual(await ingress('by-class'), [{ ip: '192.0.2.101', ipMode: 'Proxy' }]);
    // The IPAM's Service got no balancer; the provider's finalizer is only on its own.
    const ipamSvc = await c.client.get<Service & KubeObject>('services', 'default', 'by-ipam');
    assert.equal(ipamSvc.metadata.finalizers, undefined);
    assert.doesNotMatch(await provider.applier.command('show stat'), /by-ipam|192\.0\.2\.200/);
    for (const n of ['by-ipam', 'by-class']) await c.client.delete('services', 'default', n);
    await eventually('by-class released', async () => {
      const l = await c.client.list<Service & KubeObject>('services', { namespace: 'default' });
      return l.items.some((s) => s.metadata.name === 'by-class') ? undefined : true;
    });
  });

  it('a NotReady node leaves the backend; a new InternalIP is followed without editing the balancer', async () => {
    await setNode('n2', { ready: false, ip: '10.255.0.2' });
    await eventually('only n1', async () => (answers('192.0.2.100') === 'n1' ? true : undefined));
    await startServer('n2', '10.255.0.3', 30080);
    servers.get('n2@10.255.0.2')?.kill();
    await setNode('n2', { ready: true, ip: '10.255.0.3' });
    await eventually('n2 at its new IP', async () => (answers('192.0.2.100') === 'n1,n2' ? true : undefined));
  });

  it('a connection held across reloads keeps working', async () => {
    const [cmd = '', ...args] = inNs([
      process.execPath,
      '-e',
      `const s = require('net').connect(80, '192.0.2.100'); s.setEncoding('utf8');
       s.on('data', (d) => process.stdout.write(d)); process.stdin.on('data', (d) => s.write(d));`,
    ]);
    const held = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    held.stdout?.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    await eventually('greeting', async () => (out.includes('\n') ? true : undefined));
    // Two reloads: a node leaves and comes back.
    await setNode('n1', { ready: false, ip: '10.255.0.1' });
    await eventually('only n2', async () => (answers('192.0.2.100') === 'n2' ? true : undefined));
    await setNode('n1', { ready: true, ip: '10.255.0.1' });
    await eventually('both', async () => (answers('192.0.2.100') === 'n1,n2' ? true : undefined));
    held.stdin?.write('still here\n');
    await eventually('echo through the old worker', async () => (out.includes('still here') ? true : undefined));
    held.kill();
  });

  it('deleting the Service removes its frontend, its address and the finalizer', async () => {
    await c.client.delete('services', 'default', 'web');
    await eventually('web gone', async () => {
      try {
        await c.client.get('services', 'default', 'web');
        return undefined;
      } catch (e) {
        return (e as { code?: number }).code === 404 ? true : undefined;
      }
    });
    const addrs = execFileSync('ip', ['netns', 'exec', ns, 'ip', '-o', 'addr', 'show', 'dev', 'lo']).toString();
    assert.doesNotMatch(addrs, /192\.0\.2\.100/);
    assert.match(once('192.0.2.100', 80), /^ERR/);
    assert.deepEqual(errors, []);
  });
});
