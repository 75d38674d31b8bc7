// What a Service means across nodes, with real traffic, for one data plane: a 3-node lab
// (`svcnet up --nodes 3 --zones a,b,c --mode M`), pods placed by the scheduler, clients in pods
// and in the outside namespace. One lab per plane; each test file calls multinodeSuite(mode).
//   web      Deployment of 3 (one per node) behind NodePort 30080 (eTP Cluster), and behind
//            ClusterIPs with trafficDistribution PreferSameZone / PreferSameNode
//   loc      one pod pinned to node 1 (nodeSelector) behind a LoadBalancer with eTP Local
//            (NodePort 30081 + healthCheckNodePort), an iTP Local ClusterIP and a PreferClose one
//   client   pods on node 1 (zone a) and node 2 (zone b)
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hasNetAdmin } from '../../src/kernel/exec.ts';
import { eventually } from './eventually.ts';
import { LabUp } from './lab-up.ts';

interface Item {
  metadata: { name: string; labels?: Record<string, string> };
  spec?: { nodeName?: string; healthCheckNodePort?: number; taints?: unknown[] };
  status?: {
    podIP?: string;
    addresses?: { type: string; address: string }[];
    conditions?: { type: string; status: string }[];
  };
}
interface List {
  items: Item[];
}

const ready = (o: Item) => o.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
const n1 = 'svcnet-node-1';
const n2 = 'svcnet-node-2';
const n3 = 'svcnet-node-3';

const probe = { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 1 };
const deployment = (name: string, replicas: number, nodeSelector?: Record<string, string>) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: {
        ...(nodeSelector ? { nodeSelector } : {}),
        containers: [{ name: 'echo', image: 'svcnet/echo', readinessProbe: probe }],
      },
    },
  },
});
const service = (name: string, app: string, spec: Record<string, unknown>) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name },
  spec: { selector: { app }, ports: [{ port: 80, targetPort: 8080 }], ...spec },
});
const clientPod = (name: string, nodeName: string) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name },
  spec: { nodeName, containers: [{ name: 'c', image: 'svcnet/echo' }] },
});

const objects = [
  deployment('web', 3),
  deployment('loc', 1, { 'kubernetes.io/hostname': n1 }),
  service('web', 'web', { type: 'NodePort', ports: [{ port: 80, targetPort: 8080, nodePort: 30080 }] }),
  service('web-zone', 'web', { trafficDistribution: 'PreferSameZone' }),
  service('web-node', 'web', { trafficDistribution: 'PreferSameNode' }),
  service('loc', 'loc', {
    type: 'LoadBalancer',
    externalTrafficPolicy: 'Local',
    ports: [{ port: 80, targetPort: 8080, nodePort: 30081 }],
  }),
  service('loc-itp', 'loc', { internalTrafficPolicy: 'Local' }),
  service('loc-close', 'loc', { trafficDistribution: 'PreferClose' }),
  clientPod('client-a', n1),
  clientPod('client-b', n2),
];

export function multinodeSuite(mode: 'nftables' | 'iptables' | 'userspace', portBase: number): void {
  const kernel = mode !== 'userspace';
  describe(`svcnet up --nodes 3 --mode ${mode}: Services across nodes`, {
    skip: hasNetAdmin() ? false : 'needs root (CAP_NET_ADMIN) for lab namespaces',
  }, () => {
    const lab = new LabUp({
      ns: `svt-${process.pid % 100000}-${mode[0]}`,
      nodes: 3,
      args: [
        '--nodes',
        '3',
        '--zones',
        'a,b,c',
        '--mode',
        mode,
        '--node-monitor-grace-period',
        '3s',
        '--listen',
        `127.0.0.1:${portBase + (process.pid % 1000)}`,
      ],
    });
    const podNode = new Map<string, string>();
    let ips = new Map<string, string>();
    let outsideIP = '';

    /** One curl per line: "<code> <time> <body>" for n requests to url from `where`. */
    const curl = async (where: string, url: string, n: number, timeout = 2) => {
      const script = `for i in $(seq ${n}); do b=$(curl -s -m ${timeout} -w ' %{http_code} %{time_total}' ${url}); echo "$b"; done`;
      const r = where === 'outside' ? await lab.outside(script) : await lab.podExec(where, script);
      return r.stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => {
          const m = /^(.*) (\d{3}) ([\d.]+)$/.exec(l);
          return { body: m?.[1] ?? '', code: Number(m?.[2] ?? 0), seconds: Number(m?.[3] ?? 0) };
        });
    };
    /** One request whose body may span lines (kube-proxy's health JSON does). */
    const fetchOnce = async (url: string) => {
      const r = await lab.outside(`curl -s -m 2 -w '\n%{http_code}' ${url}`);
      const lines = r.stdout.split('\n');
      return { code: Number(lines.pop() ?? 0), body: lines.join('\n') };
    };
    const bodies = async (where: string, url: string, n: number) =>
      (await curl(where, url, n)).filter((x) => x.code === 200).map((x) => x.body);

    before(async () => {
      await lab.start();
      ips = lab.nodeIPs();
      outsideIP = /outside client ([\d.]+)/.exec(lab.log)?.[1] ?? '';
      mkdirSync(join(lab.dir, 'app'));
      for (const [i, o] of objects.entries()) writeFileSync(join(lab.dir, 'app', `${i}.json`), JSON.stringify(o));
      await lab.kubectl(['apply', '-f', join(lab.dir, 'app')]);
      const pods = await eventually(
        'every pod ready',
        async () => {
          const l = await lab.json<List>(['get', 'pods']);
          return l.items.length === 6 && l.items.every(ready) ? l.items : undefined;
        },
        60_000,
        200,
      );
      for (const p of pods) podNode.set(p.metadata.name, p.spec?.nodeName ?? '');
    });
    after(() => lab.close());

    const podOn = (app: string, node: string) =>
      [...podNode].find(([p, n]) => n === node && p.startsWith(`${app}-`))?.[0] ?? '';

    it('spreads web one per node, pins loc by nodeSelector; NodePort answers on every node', async () => {
      assert.deepEqual(
        [n1, n2, n3].map((n) => podOn('web', n) !== ''),
        [true, true, true],
      );
      assert.equal(podNode.get(podOn('loc', n1)), n1);
      for (const [node, ip] of ips) {
        const seen = await eventually(`NodePort on ${node}`, async () => {
          const h = await bodies('outside', `http://${ip}:30080/hostname`, 9);
          const remote = h.some((x) => podNode.get(x) !== node);
          return h.length === 9 && remote ? h : undefined;
        });
        assert.ok(seen.every((h) => h.startsWith('web-')));
      }
      // ClusterIP from a pod on node 1 reaches the pods on the other nodes (routed over the LAN).
      await eventually('web pods on nodes 2 and 3 from node 1', async () => {
        const h = await bodies('client-a', 'http://web/hostname', 12);
        const nodes = new Set(h.map((x) => podNode.get(x)));
        return nodes.has(n2) && nodes.has(n3) ? true : undefined;
      });
    });

    it('eTP Local: only node 1 answers, with the client address kept where the kernel proxies; healthCheckNodePort 200/503', async () => {
      const hc = (await lab.json<Item>(['get', 'svc', 'loc'])).spec?.healthCheckNodePort ?? 0;
      assert.ok(hc > 0);
      const ip1 = ips.get(n1) ?? '';
      await eventually('loc on node 1', async () => {
        const r = await bodies('outside', `http://${ip1}:30081/hostname`, 3);
        return r.length === 3 ? true : undefined;
      });
      const client = await bodies('outside', `http://${ip1}:30081/clientip`, 3);
      if (kernel)
        assert.ok(
          client.every((c) => c.startsWith(`${outsideIP}:`)),
          `source kept: ${client}`,
        );
      // The userspace plane opens its own connection to the endpoint, from the node.
      else assert.ok(client.length > 0 && client.every((c) => !c.startsWith(`${outsideIP}:`)), `${client}`);
      // Nodes without a local endpoint drop it (no masquerade to a remote endpoint).
      for (const node of [n2, n3]) {
        const r = await curl('outside', `http://${ips.get(node)}:30081/hostname`, 2, 1);
        assert.ok(
          r.every((x) => x.code !== 200),
          `${node} answered eTP Local without a local endpoint`,
        );
      }
      const health = await eventually('health answers', async () => {
        const out = new Map<string, { code: number; body: string }>();
        for (const [node, ip] of ips) {
          out.set(node, await fetchOnce(`http://${ip}:${hc}/`));
        }
        return out.get(n1)?.code === 200 && out.get(n2)?.code === 503 ? out : undefined;
      });
      assert.deepEqual(JSON.parse(health.get(n1)?.body ?? '{}'), {
        service: { namespace: 'default', name: 'loc' },
        localEndpoints: 1,
        serviceProxyHealthy: true,
      });
      assert.equal(JSON.parse(health.get(n3)?.body ?? '{}').localEndpoints, 0);
      assert.equal(health.get(n3)?.code, 503);
    });

    it('iTP Local: a pod on a node without a local endpoint is dropped; on the node it answers', async () => {
      await eventually('loc-itp from node 1', async () => {
        const r = await bodies('client-a', 'http://loc-itp/hostname', 2);
        return r.length === 2 ? true : undefined;
      });
      const r = await curl('client-b', 'http://loc-itp/hostname', 2, 1);
      assert.ok(
        r.every((x) => x.code !== 200),
        'node 2 reached a remote endpoint of an iTP Local Service',
      );
    });

    it('topology: PreferSameZone and PreferSameNode stay on the client’s zone/node; PreferClose falls back', async () => {
      for (const [svc, client, node] of [
        ['web-zone', 'client-a', n1],
        ['web-zone', 'client-b', n2],
        ['web-node', 'client-a', n1],
        ['web-node', 'client-b', n2],
      ] as const) {
        const want = podOn('web', node);
        const h = await eventually(`${svc} from ${client}`, async () => {
          const x = await bodies(client, `http://${svc}/hostname`, 8);
          return x.length === 8 && x.every((y) => y === want) ? x : undefined;
        });
        assert.equal(new Set(h).size, 1);
      }
      // loc's only endpoint is hinted for zone a: from zone b kube-proxy falls back to all.
      const fb = await bodies('client-b', 'http://loc-close/hostname', 3);
      assert.deepEqual(new Set(fb), new Set([podOn('loc', n1)]));
    });

    it('node set-ip: the Node, the routes and the agent follow the new address', async () => {
      const old = ips.get(n3) ?? '';
      const fresh = old.replace(/\.\d+$/, '.50');
      const r = await lab.svcnet(['node', 'set-ip', n3, fresh]);
      assert.equal(r.code, 0, r.stderr);
      const node = await lab.json<Item>(['get', 'node', n3]);
      assert.equal(node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address, fresh);
      await eventually('NodePort on the new address', async () => {
        const h = await bodies('outside', `http://${fresh}:30080/hostname`, 3);
        return h.length === 3 ? true : undefined;
      });
      const gone = await curl('outside', `http://${old}:30080/hostname`, 1, 1);
      assert.notEqual(gone[0]?.code, 200, 'the old address still answers');
      // Pods on node 1 still reach node 3's pod: node 1's route to 10.244.2.0/24 moved.
      await eventually("node 3's pod from node 1", async () => {
        const h = await bodies('client-a', 'http://web/hostname', 12);
        return h.includes(podOn('web', n3)) ? true : undefined;
      });
      const pod = await lab.json<Item>(['get', 'pod', podOn('web', n3)]);
      assert.equal((pod.status as { hostIP?: string } | undefined)?.hostIP, fresh);
      ips.set(n3, fresh);
    });

    it('a stopped node: its endpoints leave, traffic stays on the others without waiting; healed it serves', async () => {
      const gone = podOn('web', n2);
      assert.equal((await lab.svcnet(['node', 'stop', n2])).code, 0);
      await eventually(
        "node 2's web endpoint not ready",
        async () => {
          const l = await lab.json<{
            items: { endpoints?: { nodeName?: string; conditions?: { ready?: boolean } }[] }[];
          }>(['get', 'endpointslices', '-l', 'kubernetes.io/service-name=web']);
          const e = l.items.flatMap((s) => s.endpoints ?? []).find((x) => x.nodeName === n2);
          return e?.conditions?.ready === false ? true : undefined;
        },
        20_000,
        100,
      );
      // Every plane has the change within a sync; then no request waits.
      await new Promise((r) => setTimeout(r, 1500));
      for (const where of ['outside', 'client-a'] as const) {
        const url = where === 'outside' ? `http://${ips.get(n1)}:30080/hostname` : 'http://web/hostname';
        const r = await curl(where, url, 10, 5);
        assert.ok(
          r.every((x) => x.code === 200 && x.body !== gone),
          `${where}: ${JSON.stringify(r)}`,
        );
        const slowest = Math.max(...r.map((x) => x.seconds));
        assert.ok(slowest < 3, `${where}: a request took ${slowest} s`);
      }
      assert.equal((await lab.svcnet(['node', 'start', n2])).code, 0);
      await eventually(
        'node 2 serving again',
        async () => {
          const h = await bodies('outside', `http://${ips.get(n2)}:30080/hostname`, 3);
          const n = await lab.json<Item>(['get', 'node', n2]);
          return h.length === 3 && ready(n) ? true : undefined;
        },
        30_000,
        200,
      );
    });
  });
}
