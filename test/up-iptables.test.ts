// `svcnet up --mode iptables` end to end with the examples: the iptables plane programs the lab's
// node namespace (chains, jumps and sets), ClusterIP by DNS name, NodePort from outside the node
// and the LoadBalancer IP all answer, and Ctrl-C leaves nothing behind.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { hasNetAdmin } from '../src/kernel/exec.ts';
import { podEgressTable } from '../src/lab/egress.ts';
import { eventually } from './helpers/eventually.ts';
import { LabUp, labNamespaces } from './helpers/lab-up.ts';

const repo = join(import.meta.dirname, '..');
const root = hasNetAdmin();
const port = 30500 + (process.pid % 10000);

describe('svcnet up --mode iptables end to end', {
  skip: root ? false : 'needs root (CAP_NET_ADMIN) for lab namespaces',
}, () => {
  const lab = new LabUp({
    ns: `svt-${process.pid % 100000}-i`,
    args: ['--mode', 'iptables', '--listen', `127.0.0.1:${port}`],
    nodes: 1,
    timeoutMs: 120_000,
  });
  const kc = (args: string[]) => lab.kubectl(args);
  after(() => lab.close());

  it('serves the examples through iptables rules and removes them on Ctrl-C', async () => {
    await lab.start();
    const log = lab.log;
    assert.match(log, /mode iptables/);
    const nodeIP = /node svcnet-node \(([\d.]+)\)/.exec(log)?.[1];
    assert.ok(nodeIP, log);
    await kc(['apply', '-f', join(repo, 'examples')]);
    await kc(['run', 'client', '--image=svcnet/echo', '--restart=Never']);
    const lbIP = await eventually(
      'LoadBalancer IP',
      async () =>
        JSON.parse(await kc(['get', 'svc', 'db-mariadb-slave-lb', '-o', 'json'])).status?.loadBalancer?.ingress?.[0]
          ?.ip as string | undefined,
      60_000,
    );
    const hostnames = async (url: string, n = 8) => {
      const r = await lab.podExec('client', `for i in $(seq ${n}); do curl -s -m 3 ${url}; echo; done`);
      return new Set(r.stdout.split('\n').filter(Boolean));
    };
    await eventually(
      'both replicas through my-service',
      async () =>
        [...(await hostnames('http://my-service/hostname'))].filter((h) => h.startsWith('myapp-')).length === 2
          ? true
          : undefined,
      60_000,
    );
    await eventually(
      'NodePort from outside the node',
      async () =>
        /^my-app-/.test((await lab.run('curl', ['-s', '-m', '3', `http://${nodeIP}:30036/hostname`])).stdout)
          ? true
          : undefined,
      30_000,
    );
    const lb = await eventually(
      'the LoadBalancer IP',
      async () => {
        const seen = await hostnames(`http://${lbIP}:3306/hostname`, 4);
        return [...seen].every((h) => h.startsWith('mariadb-slave-')) ? seen : undefined;
      },
      30_000,
    );
    assert.ok(lb.size > 0);
    // The rules are iptables rules in the lab's node namespace, next to nothing of nftables' own.
    const labNs = lab.nodeNamespace;
    const saved = execFileSync('ip', ['netns', 'exec', labNs, 'iptables-save']).toString();
    assert.match(saved, /-A PREROUTING -j SVCNET-SERVICES/);
    assert.match(execFileSync('ip', ['netns', 'exec', labNs, 'ipset', 'list', '-n']).toString(), /svcnet4-vips/);
    // The lab's own pod egress table (a CNI's masquerade, not a data plane) is the one exception.
    const tables = execFileSync('ip', ['netns', 'exec', labNs, 'nft', 'list', 'tables']).toString();
    assert.doesNotMatch(tables.replace(`table ip ${podEgressTable}\n`, ''), /svcnet/);
    await lab.stop();
    assert.deepEqual(labNamespaces(labNs), []);
  });
});
