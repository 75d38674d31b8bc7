// The userspace data plane with real traffic, driven by the agent core against an in-process
// control plane (real Service and EndpointSlice objects, written here through the client).
//
// Endpoint addresses may not be loopback (EndpointSlice validation, CVE-2021-25737), so the
// suite re-executes itself inside a network namespace it owns, where 10.244.0.0/16 and the node
// IP 10.0.0.10 are local (a `local` route on lo): backends bind there, nothing leaves the
// namespace. VIPs use the rootless loopback range (127.10.0.0/16) except in the root-mode test,
// which binds real VIPs on the namespace's lo through NetnsVipBinder.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { get } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { EndpointSlice, KubeObject, Service } from '../src/api/types.ts';
import { createInProcessCluster, type InProcessCluster } from '../src/client/cluster.ts';
import { inNetns } from '../src/kernel/netns.ts';
import { type EchoServer, startEcho } from '../src/lab/echo/server.ts';
import { type Agent, startAgent } from '../src/proxy/agent.ts';
import { serviceHealthBody } from '../src/proxy/healthcheck.ts';
import { NetnsVipBinder } from '../src/proxy/userspace/netns-vip-binder.ts';
import { UserspacePlane } from '../src/proxy/userspace/plane.ts';
import { BoundVips } from '../src/proxy/userspace/vips.ts';

const netns = process.env.SVU_NETNS;
const prefix = 'svu-';

function ip(args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8' });
}

function hasNetAdmin(): boolean {
  try {
    const name = `${prefix}probe-${process.pid}`.slice(0, 15);
    ip(['netns', 'add', name]);
    ip(['netns', 'del', name]);
    return true;
  } catch {
    return false;
  }
}

if (!netns) {
  describe('userspace plane: real traffic', () => {
    it('runs inside a network namespace the test owns', { timeout: 180_000 }, async (t) => {
      if (!hasNetAdmin()) {
        t.skip('needs CAP_NET_ADMIN to create a network namespace (endpoint IPs may not be loopback)');
        return;
      }
      // Leftovers of crashed runs: namespaces of this prefix whose process is gone.
      for (const line of ip(['netns', 'list']).split('\n')) {
        const name = line.split(' ')[0] ?? '';
        const m = /^svu-(\d+)$/.exec(name);
        if (m && !isAlive(Number(m[1]))) ip(['netns', 'del', name]);
      }
      const ns = `${prefix}${process.pid}`;
      ip(['netns', 'add', ns]);
      try {
        ip(['-n', ns, 'link', 'set', 'lo', 'up']);
        ip(['-n', ns, 'route', 'add', 'local', '10.244.0.0/16', 'dev', 'lo']);
        ip(['-n', ns, 'addr', 'add', '10.0.0.10/32', 'dev', 'lo']);
        const file = fileURLToPath(import.meta.url);
        const [cmd = 'ip', ...args] = inNetns(ns, [process.execPath, '--import', 'tsx', '--test', file]);
        const child = spawn(cmd, args, {
          // NODE_TEST_CONTEXT would make the child report to us in the runner's private protocol.
          env: { ...process.env, SVU_NETNS: ns, NODE_TEST_CONTEXT: undefined },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        child.stdout.on('data', (d) => {
          out += d;
        });
        child.stderr.on('data', (d) => {
          out += d;
        });
        const code = await new Promise<number | null>((r) => child.on('close', r));
        for (const l of out.split('\n')) if (/^(not ok|ok) /.test(l.trim())) t.diagnostic(l.trim());
        assert.equal(code, 0, out);
      } finally {
        ip(['netns', 'del', ns]);
      }
    });
  });
} else {
  inNamespace(netns);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function httpGet(
  host: string,
  port: number,
  path = '/hostname',
): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = get({ host, port, path, agent: false, timeout: 3000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => {
        body += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

function connectError(host: string, port: number): Promise<{ code: string; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const s = connect({ host, port });
    s.on('connect', () => {
      s.destroy();
      resolve({ code: 'CONNECTED', ms: performance.now() - t0 });
    });
    s.on('error', (e: NodeJS.ErrnoException) => resolve({ code: e.code ?? 'ERR', ms: performance.now() - t0 }));
  });
}

function udpAsk(sock: ReturnType<typeof createSocket>, host: string, port: number, msg: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      sock.off('message', onMsg);
      reject(new Error('udp timeout'));
    }, 2000);
    const onMsg = (m: Buffer) => {
      clearTimeout(timer);
      sock.off('message', onMsg);
      resolve(m.toString());
    };
    sock.on('message', onMsg);
    sock.send(msg, port, host);
  });
}

function inNamespace(ns: string): void {
  let cluster: InProcessCluster;
  let agent: Agent;
  let plane: UserspacePlane;
  const echoes: EchoServer[] = [];
  const client = () => cluster.client;

  async function echo(ipAddr: string, name: string): Promise<void> {
    echoes.push(await startEcho({ bindAddress: ipAddr, httpPort: 8080, udpPort: 8081, hostname: name }));
  }

  async function service(
    name: string,
    spec: Partial<NonNullable<Service['spec']>>,
    annotations?: Record<string, string>,
  ): Promise<Service> {
    return client().create<Service & KubeObject>('services', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { namespace: 'default', name, annotations },
      spec: {
        ports: [
          { name: 'http', port: 18080, targetPort: 8080, protocol: 'TCP' },
          { name: 'udp', port: 18081, targetPort: 8081, protocol: 'UDP' },
        ],
        ...spec,
      },
    } as never);
  }

  type Ep = { ip: string; node?: string; ready?: boolean; terminating?: boolean };
  function sliceOf(svc: string, eps: Ep[]): EndpointSlice {
    return {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      addressType: 'IPv4',
      metadata: { namespace: 'default', name: `${svc}-slice`, labels: { 'kubernetes.io/service-name': svc } },
      ports: [
        { name: 'http', port: 8080, protocol: 'TCP' },
        { name: 'udp', port: 8081, protocol: 'UDP' },
      ],
      endpoints: eps.map((e) => ({
        addresses: [e.ip],
        nodeName: e.node ?? 'node-a',
        conditions: { ready: e.ready ?? true, serving: true, terminating: e.terminating ?? false },
      })),
    };
  }

  async function setEndpoints(svc: string, eps: Ep[]): Promise<void> {
    const slice = sliceOf(svc, eps);
    try {
      const cur = await client().get<EndpointSlice & KubeObject>(
        'endpointslices',
        'default',
        slice.metadata?.name ?? '',
      );
      await client().update('endpointslices', {
        ...slice,
        metadata: { ...slice.metadata, resourceVersion: cur.metadata?.resourceVersion },
      } as never);
    } catch {
      await client().create('endpointslices', slice as never);
    }
    await agent.waitForSnapshot((s) => {
      const got = s.endpoints.get(`default/${svc}:http/TCP` as never) ?? [];
      return (
        got.length === eps.length && eps.every((e) => got.some((g) => g.ip === e.ip && g.ready === (e.ready ?? true)))
      );
    });
  }

  function vip(svc: Service): string {
    const a = plane.vips.addressFor(svc.spec?.clusterIP ?? '');
    assert.ok(a, `no loopback alias for ${svc.spec?.clusterIP}`);
    return a;
  }

  async function hostnames(host: string, port: number, n: number): Promise<Map<string, number>> {
    const seen = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      const r = await httpGet(host, port);
      assert.equal(r.status, 200);
      seen.set(r.body, (seen.get(r.body) ?? 0) + 1);
    }
    return seen;
  }

  before(async () => {
    cluster = await createInProcessCluster();
    for (let i = 1; i <= 4; i++) await echo(`10.244.0.1${i}`, `pod-${i}`);
    await echo('10.244.1.11', 'pod-remote');
    plane = new UserspacePlane({ connectTimeoutMs: 500, ejectMs: 5000, failuresToEject: 2, udpIdleMs: 5000 });
    agent = await startAgent({
      client: cluster.client,
      nodeName: 'node-a',
      nodeIPs: ['10.0.0.10'],
      podCIDRs: ['10.244.0.0/24'],
      plane,
      minSyncIntervalMs: 10,
      maxSyncIntervalMs: 60_000,
      healthz: { host: '127.0.0.1', port: 0 },
      // The LB IP the tests write stands for another provider's: no IPAddressPool holds it.
      loadBalancerIPAllowCIDRs: ['192.0.2.0/24'],
    });
    await agent.waitForSnapshot(() => true);
  });

  after(async () => {
    await agent?.stop({ drainMs: 500 });
    for (const e of echoes) await e.close();
    await cluster?.close();
  });

  describe(`userspace plane in ${ns}`, () => {
    it('ClusterIP: every endpoint is hit (random)', async () => {
      const svc = await service('all', {});
      await setEndpoints('all', [{ ip: '10.244.0.11' }, { ip: '10.244.0.12' }, { ip: '10.244.0.13' }]);
      const seen = await hostnames(vip(svc), 18080, 60);
      assert.deepEqual([...seen.keys()].sort(), ['pod-1', 'pod-2', 'pod-3']);
    });

    it('round-robin by annotation spreads evenly', async () => {
      const svc = await service('rr', {}, { 'svcnet.io/lb-algorithm': 'round-robin' });
      await setEndpoints('rr', [{ ip: '10.244.0.11' }, { ip: '10.244.0.12' }, { ip: '10.244.0.13' }]);
      const seen = await hostnames(vip(svc), 18080, 30);
      assert.deepEqual([...seen.values()], [10, 10, 10]);
    });

    it('sessionAffinity ClientIP pins a client to one endpoint', async () => {
      const svc = await service('sticky', { sessionAffinity: 'ClientIP' });
      await setEndpoints('sticky', [{ ip: '10.244.0.11' }, { ip: '10.244.0.12' }, { ip: '10.244.0.13' }]);
      const seen = await hostnames(vip(svc), 18080, 20);
      assert.equal(seen.size, 1, JSON.stringify([...seen]));
    });

    it('NodePort answers on the node IP, 127.0.0.1 and ::1', async () => {
      const svc = await service('np', { type: 'NodePort' });
      await setEndpoints('np', [{ ip: '10.244.0.11' }]);
      const nodePort = svc.spec?.ports?.[0]?.nodePort ?? 0;
      assert.ok(nodePort >= 30000);
      for (const host of ['10.0.0.10', '127.0.0.1', '::1']) {
        const r = await httpGet(host, nodePort);
        assert.equal(r.body, 'pod-1', host);
      }
    });

    it('scale to 0: connections are refused at once', async () => {
      const svc = await service('scale', {});
      await setEndpoints('scale', [{ ip: '10.244.0.11' }]);
      assert.equal((await httpGet(vip(svc), 18080)).body, 'pod-1');
      await setEndpoints('scale', []);
      const r = await connectError(vip(svc), 18080);
      assert.equal(r.code, 'ECONNREFUSED');
      assert.ok(r.ms < 100, `${r.ms} ms`);
    });

    it('a dead endpoint is retried around without client-visible errors, then ejected', async () => {
      const svc = await service('retry', {});
      // 10.244.0.99 is local but nothing listens: connects are refused.
      await setEndpoints('retry', [{ ip: '10.244.0.11' }, { ip: '10.244.0.99' }]);
      const seen = await hostnames(vip(svc), 18080, 40);
      assert.deepEqual([...seen.keys()], ['pod-1']);
      assert.ok(plane.endpointHealth().isEjected('10.244.0.99:8080' as never));
      assert.match(
        plane.metrics.render(),
        /svcnet_userspace_endpoint_ejections_total\{endpoint="10.244.0.99:8080"\} 1/,
      );
      const events = await client().list('events', { namespace: 'default' });
      assert.ok(events.items.some((e) => (e as { reason?: string }).reason === 'EndpointEjected'));
    });

    it('an established connection survives the removal of its endpoint', async () => {
      const svc = await service('keep', {});
      await setEndpoints('keep', [{ ip: '10.244.0.11' }]);
      const sock = connect({ host: vip(svc), port: 18080 });
      await new Promise((r) => sock.once('connect', r));
      await setEndpoints('keep', []);
      sock.write('GET /hostname HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      let data = '';
      for await (const d of sock) data += d;
      assert.match(data, /\r\n\r\n[\s\S]*pod-1/);
    });

    it('UDP flows are re-steered when their endpoint goes', async () => {
      const svc = await service('udp', {});
      await setEndpoints('udp', [{ ip: '10.244.0.11' }, { ip: '10.244.0.12' }]);
      const sock = createSocket('udp4');
      await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
      try {
        const first = await udpAsk(sock, vip(svc), 18081, 'hostname');
        assert.equal(await udpAsk(sock, vip(svc), 18081, 'hostname'), first, 'a flow sticks to its endpoint');
        const remaining = first === 'pod-1' ? '10.244.0.12' : '10.244.0.11';
        await setEndpoints('udp', [{ ip: remaining }]);
        const moved = await udpAsk(sock, vip(svc), 18081, 'hostname');
        assert.equal(moved, first === 'pod-1' ? 'pod-2' : 'pod-1');
        await setEndpoints('udp', []);
        const before = plane.metrics.render();
        await assert.rejects(udpAsk(sock, vip(svc), 18081, 'hostname'), /udp timeout/);
        assert.notEqual(plane.metrics.render(), before, 'the drop is counted');
        assert.match(plane.metrics.render(), /svcnet_userspace_udp_dropped_total\{reason="no-endpoints"\} [1-9]/);
      } finally {
        sock.close();
      }
    });

    it('healthCheckNodePort: 200 with a ready local endpoint, 503 when it is terminating; LB IP reachable', async () => {
      const svc = await service('lbl', { type: 'LoadBalancer', externalTrafficPolicy: 'Local' });
      const hc = svc.spec?.healthCheckNodePort ?? 0;
      assert.ok(hc > 0);
      await client().updateStatus('services', {
        ...svc,
        status: { loadBalancer: { ingress: [{ ip: '192.0.2.77' }] } },
      } as never);
      await setEndpoints('lbl', [{ ip: '10.244.0.14' }, { ip: '10.244.1.11', node: 'node-b' }]);
      await agent.waitForSnapshot(
        (s) => (s.services.get('default/lbl:http/TCP' as never)?.loadBalancerIPs.length ?? 0) > 0,
      );
      const ok = await httpGet('10.0.0.10', hc, '/healthz');
      assert.equal(ok.status, 200);
      assert.equal(ok.body, serviceHealthBody('default', 'lbl', 1, true));
      assert.equal(ok.headers['content-type'], 'application/json');
      assert.equal(ok.headers['x-content-type-options'], 'nosniff');
      assert.equal(ok.headers['x-load-balancing-endpoint-weight'], '1');
      const lb = plane.vips.addressFor('192.0.2.77');
      assert.ok(lb);
      // From the node (127.0.0.1 is a node-local source) ETP Local short-circuits to all endpoints.
      const seen = await hostnames(lb, 18080, 30);
      assert.deepEqual([...seen.keys()].sort(), ['pod-4', 'pod-remote']);
      await setEndpoints('lbl', [
        { ip: '10.244.0.14', ready: false, terminating: true },
        { ip: '10.244.1.11', node: 'node-b' },
      ]);
      const down = await httpGet('127.0.0.1', hc, '/any/path');
      assert.equal(down.status, 503);
      assert.equal(down.body, serviceHealthBody('default', 'lbl', 0, true));
    });

    it('/healthz, /livez and /metrics with kube-proxy names', async () => {
      const port = agent.healthzAddress?.port ?? 0;
      const hz = await httpGet('127.0.0.1', port, '/healthz');
      assert.equal(hz.status, 200);
      assert.match(hz.body, /"nodeEligible": (true|false)/);
      assert.equal((await httpGet('127.0.0.1', port, '/livez')).status, 200);
      const m = await httpGet('127.0.0.1', port, '/metrics');
      for (const name of [
        'kubeproxy_sync_proxy_rules_duration_seconds_count',
        'kubeproxy_network_programming_duration_seconds_bucket',
        'kubeproxy_sync_proxy_rules_last_timestamp_seconds',
        'kubeproxy_sync_proxy_rules_endpoint_changes_total',
        'kubeproxy_sync_proxy_rules_service_changes_total',
      ]) {
        assert.ok(m.body.includes(name), name);
      }
    });

    it('root mode: VIPs bound on lo of the node namespace by NetnsVipBinder', async () => {
      const binder = new NetnsVipBinder(ns);
      const bound = new BoundVips(binder);
      await bound.sync(new Set(['10.96.200.1']));
      assert.ok((await binder.list()).includes('10.96.200.1'));
      // The address is really local now: a listener can bind it.
      const s = connect({ host: '10.96.200.1', port: 1 });
      const code = await new Promise<string>((r) => s.on('error', (e: NodeJS.ErrnoException) => r(e.code ?? '')));
      assert.equal(code, 'ECONNREFUSED');
      await bound.close();
      assert.ok(!(await binder.list()).includes('10.96.200.1'));
    });
  });
}
