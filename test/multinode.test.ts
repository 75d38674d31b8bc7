// `svcnet up --nodes 3` with real traffic: three node namespaces on the lab LAN, one agent
// each (nftables), the outside client on the same segment. A Deployment of three lands one pod
// per node; its NodePort answers on every node from outside; a pod on one node reaches pods on
// the others through the ClusterIP (pod routes between nodes). A stopped node turns NotReady
// within the (short) grace period, its endpoint leaves the ready set and traffic stays on the
// others; started again, it is Ready and its NodePort answers.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hasNetAdmin } from '../src/kernel/exec.ts';
import { eventually } from './helpers/eventually.ts';
import { LabUp } from './helpers/lab-up.ts';

const root = hasNetAdmin();

interface Item {
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: { nodeName?: string; podCIDR?: string; podCIDRs?: string[]; taints?: { key: string; effect: string }[] };
  status?: {
    podIP?: string;
    addresses?: { type: string; address: string }[];
    conditions?: { type: string; status: string }[];
  };
}
interface List {
  items: Item[];
}
interface Slice {
  endpoints?: { addresses: string[]; nodeName?: string; zone?: string; conditions?: { ready?: boolean } }[];
}

const ready = (o: Item) => o.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

const manifest = [
  {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web' },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          containers: [
            {
              name: 'echo',
              image: 'svcnet/echo',
              readinessProbe: { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 1 },
            },
          ],
        },
      },
    },
  },
  {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web' },
    spec: { type: 'NodePort', selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080, nodePort: 30080 }] },
  },
  {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'client' },
    spec: { nodeName: 'svcnet-node-1', containers: [{ name: 'c', image: 'svcnet/echo' }] },
  },
];

describe('svcnet up --nodes 3', { skip: root ? false : 'needs root (CAP_NET_ADMIN) for lab namespaces' }, () => {
  const lab = new LabUp({
    ns: `svt-${process.pid % 100000}-m`,
    nodes: 3,
    args: [
      '--nodes',
      '3',
      '--zones',
      'a,b,c',
      '--node-monitor-grace-period',
      '3s',
      '--listen',
      `127.0.0.1:${21000 + (process.pid % 9000)}`,
    ],
  });
  const podNode = new Map<string, string>();
  let ips = new Map<string, string>();

  before(async () => {
    await lab.start();
    ips = lab.nodeIPs();
  });
  after(() => lab.close());

  /** Hostnames answering n requests to url, from a shell in `where`. */
  const hostnames = async (where: 'outside' | string, url: string, n: number) => {
    const script = `for i in $(seq ${n}); do curl -s -m 2 ${url}; echo; done`;
    const r = where === 'outside' ? await lab.outside(script) : await lab.podExec(where, script);
    return r.stdout.split('\n').filter(Boolean);
  };

  it('registers three Ready nodes with InternalIPs, pod CIDRs, zones and leases', async () => {
    const nodes = await eventually('3 Ready nodes', async () => {
      const l = await lab.json<List>(['get', 'nodes']);
      return l.items.length === 3 && l.items.every(ready) ? l.items : undefined;
    });
    assert.deepEqual(
      nodes.map((n) => n.metadata.name),
      ['svcnet-node-1', 'svcnet-node-2', 'svcnet-node-3'],
    );
    assert.deepEqual(
      nodes.map((n) => n.spec?.podCIDRs),
      [['10.244.0.0/24'], ['10.244.1.0/24'], ['10.244.2.0/24']],
    );
    assert.deepEqual(
      nodes.map((n) => n.metadata.labels?.['topology.kubernetes.io/zone']),
      ['a', 'b', 'c'],
    );
    const internal = nodes.map((n) => n.status?.addresses?.find((a) => a.type === 'InternalIP')?.address);
    assert.deepEqual(internal, [...ips.values()]);
    const leases = await lab.json<List>(['get', 'leases', '-n', 'kube-node-lease']);
    assert.deepEqual(leases.items.map((l) => l.metadata.name).sort(), [
      'svcnet-node-1',
      'svcnet-node-2',
      'svcnet-node-3',
    ]);
  });

  it('spreads a Deployment one pod per node; NodePort answers on every node from outside', async () => {
    mkdirSync(join(lab.dir, 'app'));
    for (const [i, o] of manifest.entries()) writeFileSync(join(lab.dir, 'app', `${i}.json`), JSON.stringify(o));
    await lab.kubectl(['apply', '-f', join(lab.dir, 'app')]);
    const pods = await eventually(
      'web pods and client ready',
      async () => {
        const l = await lab.json<List>(['get', 'pods']);
        return l.items.length === 4 && l.items.every(ready) ? l.items : undefined;
      },
      60_000,
    );
    for (const p of pods) podNode.set(p.metadata.name, p.spec?.nodeName ?? '');
    const webNodes = pods.filter((p) => p.metadata.name.startsWith('web-')).map((p) => p.spec?.nodeName);
    assert.deepEqual([...webNodes].sort(), ['svcnet-node-1', 'svcnet-node-2', 'svcnet-node-3']);
    for (const [node, ip] of ips) {
      const seen = await eventually(`NodePort on ${node}`, async () => {
        const h = await hostnames('outside', `http://${ip}:30080/hostname`, 9);
        // Until the agent has every endpoint, only some answer.
        const remote = h.some((x) => podNode.get(x) !== node);
        return h.length === 9 && remote && h.every((x) => x.startsWith('web-')) ? new Set(h) : undefined;
      });
      // eTP=Cluster: every node balances over all endpoints, remote ones too.
      assert.ok(
        [...seen].some((h) => podNode.get(h) !== node),
        `${node} reached only local pods: ${[...seen]}`,
      );
    }
  });

  it('a pod on node 1 reaches pods on nodes 2 and 3 through the ClusterIP', async () => {
    const seen = await eventually('remote pods through the ClusterIP', async () => {
      const h = await hostnames('client', 'http://web/hostname', 12);
      const nodes = new Set(h.map((x) => podNode.get(x)));
      return nodes.has('svcnet-node-2') && nodes.has('svcnet-node-3') ? h : undefined;
    });
    assert.ok(seen.every((h) => h.startsWith('web-')));
  });

  it('a stopped node goes NotReady, its endpoint leaves the ready set; started again it serves', async () => {
    const t0 = Date.now();
    const stop = await lab.svcnet(['node', 'stop', 'svcnet-node-2']);
    assert.equal(stop.code, 0, stop.stderr);
    await eventually(
      'node 2 NotReady',
      async () => {
        const n = await lab.json<Item>(['get', 'node', 'svcnet-node-2']);
        return !ready(n) ? n : undefined;
      },
      15_000,
      100,
    );
    const notReadyAfter = Date.now() - t0;
    // Grace 3 s: never before it, and soon after (monitor period 0.6 s).
    assert.ok(notReadyAfter >= 2_500 && notReadyAfter < 10_000, `NotReady after ${notReadyAfter} ms`);
    const onTwo = [...podNode].find(([p, n]) => n === 'svcnet-node-2' && p.startsWith('web-'))?.[0] ?? '';
    const podIP = (await lab.json<Item>(['get', 'pod', onTwo])).status?.podIP ?? '';
    await eventually('its endpoint not ready', async () => {
      const l = await lab.json<{ items: Slice[] }>(['get', 'endpointslices', '-l', 'kubernetes.io/service-name=web']);
      const eps = l.items.flatMap((s) => s.endpoints ?? []);
      const e = eps.find((x) => x.addresses.includes(podIP));
      return e && e.conditions?.ready === false ? true : undefined;
    });
    const taints = (await lab.json<Item>(['get', 'node', 'svcnet-node-2'])).spec?.taints ?? [];
    assert.ok(taints.some((t) => t.key === 'node.kubernetes.io/unreachable' && t.effect === 'NoSchedule'));
    // Traffic through node 1 no longer goes to node 2's pod, and no request waits.
    const t1 = Date.now();
    const h = await eventually('only live pods', async () => {
      const x = await hostnames('outside', `http://${ips.get('svcnet-node-1')}:30080/hostname`, 9);
      return x.length === 9 && !x.includes(onTwo) ? x : undefined;
    });
    assert.ok(Date.now() - t1 < 8_000, 'requests were slow');
    assert.ok(h.every((x) => podNode.get(x) !== 'svcnet-node-2'));
    // Node 2's address is gone from the LAN with its machine.
    const dead = await lab.outside(`curl -s -m 1 http://${ips.get('svcnet-node-2')}:30080/hostname`);
    assert.notEqual(dead.code, 0);

    const start = await lab.svcnet(['node', 'start', 'svcnet-node-2']);
    assert.equal(start.code, 0, start.stderr);
    await eventually('node 2 Ready, untainted, its pod Ready again', async () => {
      const n = await lab.json<Item>(['get', 'node', 'svcnet-node-2']);
      const p = await lab.json<Item>(['get', 'pod', onTwo]);
      return ready(n) && !(n.spec?.taints ?? []).length && ready(p) ? true : undefined;
    });
    await eventually('NodePort on node 2 again', async () => {
      const x = await hostnames('outside', `http://${ips.get('svcnet-node-2')}:30080/hostname`, 3);
      return x.length === 3 && x.every((y) => y.startsWith('web-')) ? true : undefined;
    });
  });

  it('refuses bad input with one line and a non-zero exit', async () => {
    for (const [args, msg] of [
      [['node', 'stop', 'nope'], /node "nope" not found/],
      [['node', 'set-ip', 'svcnet-node-1', '10.0.0.300'], /not an IPv4 address/],
      [['node', 'set-ip', 'svcnet-node-1', '192.0.2.7'], /not a free host address of the lab LAN/],
      [['node', 'set-ip', 'svcnet-node-1', ips.get('svcnet-node-2') ?? ''], /svcnet-node-2's InternalIP/],
    ] as const) {
      const r = await lab.svcnet([...args]);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, msg);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
    for (const [args, msg] of [
      [['--nodes', '0'], /--nodes must be a whole number from 1 to 9/],
      [['--nodes', '2', '--cluster-cidr', '10.244.0.0/25'], /--cluster-cidr must be an IPv4 CIDR of \/24 or larger/],
      [['--node-monitor-grace-period', 'soon'], /is not a duration/],
      [['--zones', 'a,-b'], /not a valid label value/],
    ] as const) {
      const r = await lab.svcnet(['up', '--data-dir', `${lab.dir}/bad`, ...args]);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, msg);
    }
  });
});
