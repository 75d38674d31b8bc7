// A second `svcnet up` on the same data directory resumes every node: the Nodes come back
// Ready with their pod CIDRs and any address they were moved to, their pods run again on the
// same nodes, and NodePorts answer on every node; Ctrl-C leaves nothing of the lab behind.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { hasNetAdmin } from '../src/kernel/exec.ts';
import { eventually } from './helpers/eventually.ts';
import { LabUp } from './helpers/lab-up.ts';

interface Item {
  metadata: { name: string; uid?: string };
  spec?: { nodeName?: string; podCIDR?: string };
  status?: { addresses?: { type: string; address: string }[]; conditions?: { type: string; status: string }[] };
}
const ready = (o: Item) => o.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
const internal = (n: Item) => n.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;

const objects = [
  {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web' },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'e', image: 'svcnet/echo' }] } },
    },
  },
  {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web' },
    spec: { type: 'NodePort', selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080, nodePort: 30080 }] },
  },
];

describe('svcnet up --nodes 2, twice on one data directory', {
  skip: hasNetAdmin() ? false : 'needs root (CAP_NET_ADMIN) for lab namespaces',
}, () => {
  const lab = new LabUp({
    ns: `svt-${process.pid % 100000}-r`,
    nodes: 2,
    args: [
      '--nodes',
      '2',
      '--node-monitor-grace-period',
      '3s',
      '--listen',
      `127.0.0.1:${25000 + (process.pid % 1000)}`,
    ],
  });
  after(() => lab.close());

  it('resumes every node, its address, its pods and NodePorts', async () => {
    await lab.start();
    mkdirSync(join(lab.dir, 'app'));
    for (const [i, o] of objects.entries()) writeFileSync(join(lab.dir, 'app', `${i}.json`), JSON.stringify(o));
    await lab.kubectl(['apply', '-f', join(lab.dir, 'app')]);
    const before = await eventually(
      'pods ready',
      async () => {
        const l = await lab.json<{ items: Item[] }>(['get', 'pods']);
        return l.items.length === 2 && l.items.every(ready) ? l.items : undefined;
      },
      30_000,
    );
    const old = lab.nodeIPs().get('svcnet-node-2') ?? '';
    const moved = old.replace(/\.\d+$/, '.60');
    assert.equal((await lab.svcnet(['node', 'set-ip', 'svcnet-node-2', moved])).code, 0);
    const names = [...lab.log.matchAll(/\b(sv[nlo]-[0-9a-f]{6})\b/g)].map((m) => m[1] ?? '');
    assert.ok(names.length >= 3);

    await lab.restart();
    // What the first run built is gone before the second builds it again; now it is back.
    const nodes = await eventually('both nodes Ready', async () => {
      const l = await lab.json<{ items: Item[] }>(['get', 'nodes']);
      return l.items.length === 2 && l.items.every(ready) ? l.items : undefined;
    });
    assert.deepEqual(
      nodes.map((n) => [n.metadata.name, n.spec?.podCIDR]),
      [
        ['svcnet-node-1', '10.244.0.0/24'],
        ['svcnet-node-2', '10.244.1.0/24'],
      ],
    );
    assert.equal(internal(nodes[1] as Item), moved, 'the moved address is kept');
    const afterPods = await eventually('the same pods ready again', async () => {
      const l = await lab.json<{ items: Item[] }>(['get', 'pods']);
      return l.items.length === 2 && l.items.every(ready) ? l.items : undefined;
    });
    assert.deepEqual(
      afterPods.map((p) => [p.metadata.uid, p.spec?.nodeName]).sort(),
      before.map((p) => [p.metadata.uid, p.spec?.nodeName]).sort(),
    );
    for (const ip of [lab.nodeIPs().get('svcnet-node-1') ?? '', moved]) {
      await eventually(`NodePort on ${ip}`, async () => {
        const r = await lab.outside(`curl -s -m 2 http://${ip}:30080/hostname`);
        return r.stdout.startsWith('web-') ? true : undefined;
      });
    }
    await lab.stop();
    assert.deepEqual(
      execFileSync('ip', ['netns', 'list'])
        .toString()
        .split('\n')
        .map((l) => l.split(' ')[0] ?? '')
        .filter((n) => names.some((x) => n.startsWith(x))),
      [],
    );
  });
});
