// `svcnet up --mode iptables` end to end with the examples: the iptables plane programs the lab's
// node namespace (chains, jumps and sets), ClusterIP by DNS name, NodePort from outside the node
// and the LoadBalancer IP all answer, and Ctrl-C leaves nothing behind.
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hasNetAdmin } from '../src/kernel/exec.ts';
import { podEgressTable } from '../src/lab/egress.ts';
import { eventually } from './helpers/eventually.ts';

const repo = join(import.meta.dirname, '..');
const root = hasNetAdmin();
const ns = `svt-${process.pid % 100000}-i`;
const port = 30500 + (process.pid % 10000);

function inNs(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      'nsenter',
      [`--net=/run/netns/${ns}`, cmd, ...args],
      { cwd: repo, env: { ...process.env, ...env }, timeout: 60_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** This lab's namespaces: the node namespace and its pods' (`<node>-<id>`). */
function labNamespaces(node: string): string[] {
  return execFileSync('ip', ['netns', 'list'])
    .toString()
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n === node || n.startsWith(`${node}-`));
}

describe('svcnet up --mode iptables end to end', {
  skip: root ? false : 'needs root (CAP_NET_ADMIN) for lab namespaces',
}, () => {
  let dir: string;
  let up: ChildProcess | undefined;
  let log = '';
  const env = () => ({ KUBECONFIG: join(dir, 'data', 'kubeconfig'), HOME: dir });
  const kc = async (args: string[]) => {
    const r = await inNs('kubectl', ['--cache-dir', join(dir, 'kc'), ...args], env());
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const podExec = (pod: string, argv: string[]) =>
    inNs(join(repo, 'bin', 'svcnet'), ['exec', pod, '--', ...argv], env());

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'svcnet-up-ipt-'));
    execFileSync('ip', ['netns', 'add', ns]);
    execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  });
  after(async () => {
    try {
      execFileSync('pkill', ['-KILL', '-f', `data-dir ${join(dir, 'data')}`], { stdio: 'ignore' });
    } catch {
      // Nothing left running.
    }
    execFileSync('ip', ['netns', 'del', ns]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the examples through iptables rules and removes them on Ctrl-C', async () => {
    up = spawn(
      'nsenter',
      [
        `--net=/run/netns/${ns}`,
        join(repo, 'bin', 'svcnet'),
        'up',
        '--mode',
        'iptables',
        '--data-dir',
        join(dir, 'data'),
        '--listen',
        `127.0.0.1:${port}`,
      ],
      { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HOME: dir } },
    );
    up.stdout?.on('data', (d) => {
      log += String(d);
    });
    up.stderr?.on('data', (d) => {
      log += String(d);
    });
    await eventually(
      'svcnet up ready',
      async () => (/svcnet agent: node \S+ \(/.test(log) ? true : undefined),
      120_000,
    );
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
      const r = await podExec('client', ['bash', '-c', `for i in $(seq ${n}); do curl -s -m 3 ${url}; echo; done`]);
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
        /^my-app-/.test((await inNs('curl', ['-s', '-m', '3', `http://${nodeIP}:30036/hostname`])).stdout)
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
    const labNs = /lab node namespace (svn-\w+)/.exec(log)?.[1] ?? 'svn-?';
    const saved = execFileSync('ip', ['netns', 'exec', labNs, 'iptables-save']).toString();
    assert.match(saved, /-A PREROUTING -j SVCNET-SERVICES/);
    assert.match(execFileSync('ip', ['netns', 'exec', labNs, 'ipset', 'list', '-n']).toString(), /svcnet4-vips/);
    // The lab's own pod egress table (a CNI's masquerade, not a data plane) is the one exception.
    const tables = execFileSync('ip', ['netns', 'exec', labNs, 'nft', 'list', 'tables']).toString();
    assert.doesNotMatch(tables.replace(`table ip ${podEgressTable}\n`, ''), /svcnet/);
    const p = up;
    const exited = new Promise((r) => p.once('exit', r));
    execFileSync('pkill', ['-INT', '-f', `data-dir ${join(dir, 'data')}`]);
    await exited;
    assert.deepEqual(labNamespaces(labNs), []);
  });
});
