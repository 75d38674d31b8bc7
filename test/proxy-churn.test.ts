// Traffic during change, on every data plane of the plane table, with real traffic: the agent
// core drives the plane in a node namespace this test creates (netns-child.ts), backends are
// pods on a bridge (churn-lab.ts), a client pod sends the load (load-client.ts), and the
// EndpointSlices are written here in the order under test.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { KubeObject, Service } from '../src/api/types.ts';
import { hasNetAdmin } from '../src/kernel/exec.ts';
import { planeModes, planes } from '../src/proxy/planes.ts';
import { type ChurnNode, startChurnNode, tcpPort, udpPort } from '../src/proxy/testing/churn-node.ts';
import { isFailure, type LoadResult, startLoad } from '../src/proxy/testing/load-client.ts';
import { runInOwnNetns } from '../src/proxy/testing/netns-child.ts';
import { formatSoak, runSoak } from '../src/proxy/testing/soak.ts';

const netns = process.env.CHURN_NETNS;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

if (!netns) {
  describe('traffic during change: every plane', () => {
    // Each plane gets a node of its own (a fresh namespace and process), as on a real cluster.
    for (const mode of planeModes) {
      it(`${mode}: runs inside a network namespace the test owns`, { timeout: 120_000 }, async (t) => {
        if (!hasNetAdmin()) {
          t.skip('needs CAP_NET_ADMIN to create network namespaces');
          return;
        }
        // A plane this kernel cannot run (IPVS here) is run by its own VM tests.
        const why = planes[mode].unavailable?.();
        if (why) {
          t.skip(why);
          return;
        }
        const file = fileURLToPath(import.meta.url);
        const r = await runInOwnNetns('ckn', 'CHURN_NETNS', ['--import', 'tsx', '--test', file], {
          env: { CHURN_PLANES: mode },
        });
        for (const l of r.output.split('\n')) if (/^\s*(not ok|ok|# )/.test(l)) t.diagnostic(l.trim());
        assert.equal(r.code, 0, r.output);
      });
    }
  });
} else {
  const only = process.env.CHURN_PLANES?.split(',');
  for (const mode of planeModes) if (!only || only.includes(mode)) inNamespace(mode, netns);
}

const show = (rs: readonly LoadResult[]) => rs.map((r) => `${r[1] % 100000}+${r[2]}:${r[3]}`).join(' ');

function inNamespace(mode: (typeof planeModes)[number], ns: string): void {
  describe(`${mode} plane`, { concurrency: false }, () => {
    let node: ChurnNode;
    before(async () => {
      node = await startChurnNode(mode, ns);
    });
    after(async () => {
      await node?.close();
    });

    it('pods gone before their endpoints: once the endpoints leave, every connection answers at once', async () => {
      const [a, b] = [await node.lab.addPod(), await node.lab.addPod()];
      const ip = await node.service('gone');
      await node.setEndpoints('gone', [{ pod: a }, { pod: b }]);
      const load = startLoad(node.lab, {
        targets: [{ ip, port: tcpPort, proto: 'TCP' }],
        tcpRate: 100,
        udpWorkers: 0,
        udpPauseMs: 0,
        timeoutMs: 4500,
      });
      await sleep(300);
      await node.lab.removePod(a);
      await node.lab.removePod(b);
      await sleep(400);
      const applied = await node.setEndpoints('gone', []);
      await sleep(400);
      await load.stop();
      const after = load.results.filter((r) => r[1] >= applied);
      const inFlight = load.results.filter((r) => r[1] < applied && r[1] + r[2] > applied);
      console.log(`# ${mode} in flight when the endpoints left: ${show(inFlight)}`);
      assert.ok(after.length > 5, show(load.results));
      assert.ok(
        after.every((r) => r[3] === '!ECONNREFUSED' && r[2] < 100),
        `after the endpoints left: ${show(after)}`,
      );
      // A kernel plane has DNATed the SYNs already sent: they wait on ARP for the gone pod as
      // with kube-proxy (a few seconds, then EHOSTUNREACH). The userspace proxy holds the client
      // while it connects, so it can do better: it lets go as soon as the endpoint leaves.
      if (mode === 'userspace') {
        assert.ok(
          inFlight.every((r) => r[1] + r[2] < applied + 300),
          `in flight: ${show(inFlight)}`,
        );
      }
    });

    it('graceful scale to 0 (sandbox outlives the endpoint): no request waits', async () => {
      const [a, b] = [await node.lab.addPod(), await node.lab.addPod()];
      const ip = await node.service('scale0');
      await node.setEndpoints('scale0', [{ pod: a }, { pod: b }]);
      const load = startLoad(node.lab, {
        targets: [
          { ip, port: tcpPort, proto: 'TCP' },
          { ip, port: udpPort, proto: 'UDP' },
        ],
        tcpRate: 100,
        udpWorkers: 2,
        udpPauseMs: 10,
        timeoutMs: 3000,
      });
      await sleep(300);
      await node.setEndpoints('scale0', [
        { pod: a, ready: false, serving: true, terminating: true },
        { pod: b, ready: false, serving: true, terminating: true },
      ]);
      await sleep(200);
      node.lab.crashApp(a);
      node.lab.crashApp(b);
      await node.setEndpoints('scale0', [
        { pod: a, ready: false, serving: false, terminating: true },
        { pod: b, ready: false, serving: false, terminating: true },
      ]);
      await sleep(200);
      await node.setEndpoints('scale0', []);
      await node.lab.removePod(a);
      await node.lab.removePod(b);
      await sleep(300);
      await load.stop();
      const tcp = load.results.filter((r) => r[0] === 0);
      const slow = tcp.filter((r) => r[2] >= 100);
      assert.deepEqual(slow, [], `TCP requests that waited: ${show(slow)}`);
      assert.ok(
        tcp.some((r) => r[3] === '!ECONNREFUSED'),
        show(tcp),
      );
    });

    it('a UDP flow with a fixed source port moves with the next datagram after its endpoint leaves', async () => {
      const [a, b] = [await node.lab.addPod(), await node.lab.addPod()];
      const ip = await node.service('udpmove');
      await node.setEndpoints('udpmove', [{ pod: a }, { pod: b }]);
      const seen: LoadResult[] = [];
      const load = startLoad(
        node.lab,
        { targets: [{ ip, port: udpPort, proto: 'UDP' }], tcpRate: 0, udpWorkers: 1, udpPauseMs: 20, timeoutMs: 250 },
        (r) => seen.push(r),
      );
      await sleep(400);
      const first = seen.at(-1)?.[3] ?? '';
      const [gone, stays] = first === a.name ? [a, b] : [b, a];
      assert.ok(first === a.name || first === b.name, show(seen));
      await node.lab.removePod(gone);
      const applied = await node.setEndpoints('udpmove', [{ pod: stays }]);
      await sleep(600);
      await load.stop();
      const after = load.results.filter((r) => r[1] >= applied);
      assert.ok(after.length > 5, show(load.results));
      assert.ok(
        after.every((r) => r[3] === stays.name),
        `after the endpoint left: ${show(after)}`,
      );
      await node.lab.removePod(stays);
    });

    it('publishNotReadyAddresses: an endpoint ready but not serving gets traffic (routing follows ready)', async () => {
      const a = await node.lab.addPod();
      const ip = await node.service('pnr', { publishNotReadyAddresses: true });
      await node.setEndpoints('pnr', [{ pod: a, ready: true, serving: false }]);
      const load = startLoad(node.lab, {
        targets: [
          { ip, port: tcpPort, proto: 'TCP' },
          { ip, port: udpPort, proto: 'UDP' },
        ],
        tcpRate: 50,
        udpWorkers: 1,
        udpPauseMs: 20,
        timeoutMs: 1000,
      });
      await sleep(500);
      await load.stop();
      assert.ok(load.results.length > 4);
      const failed = load.results.filter(isFailure);
      assert.deepEqual(failed, [], show(load.results));
      assert.ok(load.results.every((r) => r[3] === a.name));
      await node.lab.removePod(a);
    });

    it("status.loadBalancer.ingress: a pool IP is served, another Service's ClusterIP written there is not hijacked", async () => {
      const [a, b] = [await node.lab.addPod(), await node.lab.addPod()];
      const client = node.cluster.client;
      await client.create('ipaddresspools', {
        apiVersion: 'metallb.io/v1beta1',
        kind: 'IPAddressPool',
        metadata: { name: 'pool', namespace: 'metallb-system' },
        spec: { addresses: ['192.0.2.0/28'] },
      } as never);
      const victim = await node.service('victim');
      await node.setEndpoints('victim', [{ pod: b }]);
      await node.service('lbx', { type: 'LoadBalancer' });
      await node.setEndpoints('lbx', [{ pod: a }]);
      const svc = await client.get<Service & KubeObject>('services', 'default', 'lbx');
      const ingress = ['192.0.2.5', victim, '127.0.0.1'].map((ip) => ({ ip, ipMode: 'VIP' }));
      await client.updateStatus('services', { ...svc, status: { loadBalancer: { ingress } } } as never);
      await node.agent.waitForSnapshot(
        (s) => (s.services.get('default/lbx:tcp/TCP' as never)?.loadBalancerIPs.length ?? 0) > 0,
      );
      const load = startLoad(node.lab, {
        targets: [
          { ip: '192.0.2.5', port: tcpPort, proto: 'TCP' },
          { ip: '192.0.2.5', port: udpPort, proto: 'UDP' },
          { ip: victim, port: tcpPort, proto: 'TCP' },
          { ip: victim, port: udpPort, proto: 'UDP' },
        ],
        tcpRate: 50,
        udpWorkers: 2,
        udpPauseMs: 10,
        timeoutMs: 1000,
      });
      await sleep(600);
      await load.stop();
      const want = [a.name, a.name, b.name, b.name];
      const wrong = load.results.filter((r) => r[3] !== want[r[0]]);
      assert.deepEqual(wrong, [], show(wrong));
      assert.deepEqual(new Set(load.results.map((r) => r[0])), new Set([0, 1, 2, 3]));
      const events = await client.list<KubeObject & { reason?: string }>('events', { namespace: 'default' });
      assert.equal(events.items.filter((e) => e.reason === 'RejectedLoadBalancerIP').length, 2);
      await node.lab.removePod(a);
      await node.lab.removePod(b);
    });

    // The target is 0; both planes still lose a few requests per thousand (UDP timeouts, and on
    // nftables refusals and resets right after a replacement). Reported with their causes, not
    // yet asserted.
    it('short churn soak: 0 failed requests while every pod is replaced with graceful termination', {
      todo: 'a few failures per thousand requests remain on both planes (see the report this prints)',
    }, async () => {
      const r = await runSoak(node, {
        services: 100,
        pods: 6,
        durationMs: 6000,
        tcpRate: 150,
        udpWorkers: 3,
        stepMs: 250,
      });
      console.log(`# ${formatSoak(r).split('\n').join('\n# ')}`);
      assert.ok(r.podsReplaced >= 3, `${r.podsReplaced} pods replaced`);
      assert.ok(r.requests.tcp > 300 && r.requests.udp > 300, JSON.stringify(r.requests));
      assert.deepEqual(r.failures, [], formatSoak(r));
    });
  });
}
