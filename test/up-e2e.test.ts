// The README's first command as a user runs it — `npm start` — inside a network namespace this
// test owns: real kubectl applies examples/, and a client pod reaches every Service type through
// the kernel data plane and cluster DNS. Then Ctrl-C cleans up and a second start resumes.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import { hasNetAdmin } from '../src/kernel/exec.ts';
import { inNetns } from '../src/kernel/netns.ts';
import { eventually } from './helpers/eventually.ts';
import { LabUp, labNamespaces } from './helpers/lab-up.ts';

const repo = join(import.meta.dirname, '..');
const root = hasNetAdmin();
const port = 20000 + (process.pid % 10000);

describe('npm start (svcnet up) end to end', {
  skip: root ? false : 'needs root (CAP_NET_ADMIN) for lab namespaces',
}, () => {
  const lab = new LabUp({
    ns: `svt-${process.pid % 100000}-u`,
    args: ['--listen', `127.0.0.1:${port}`],
    nodes: 1,
    timeoutMs: 120_000,
    launcher: ['npm', 'start', '--'],
  });
  const ns = lab.ns;
  const dir = lab.dir;
  const kc = (args: string[]) => lab.kubectl(args);
  const inNs = (cmd: string, args: string[], env: NodeJS.ProcessEnv = {}) =>
    lab.run('env', [...Object.entries(env).map(([k, v]) => `${k}=${v}`), cmd, ...args]);
  after(() => lab.close());
  // A test that fails half-way must not leave its instance running into the next one.
  afterEach(() => lab.stop());

  it('brings everything up, serves every Service type, cleans up on Ctrl-C and resumes', async () => {
    await lab.start();
    const nodeIP = /node svcnet-node \(([\d.]+)\)/.exec(lab.log)?.[1];
    assert.ok(nodeIP, lab.log);
    await kc(['apply', '-f', join(repo, 'examples')]);
    await kc(['run', 'client', '--image=svcnet/echo', '--restart=Never']);
    await eventually(
      'all pods ready',
      async () => {
        const pods = JSON.parse(await kc(['get', 'pods', '-o', 'json'])).items as {
          status?: { conditions?: { type: string; status: string }[] };
        }[];
        const ready = pods.filter((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
        return pods.length === 7 && ready.length === 7 ? true : undefined;
      },
      60_000,
    );
    const lbIP = await eventually(
      'LoadBalancer IP',
      async () => {
        const svc = JSON.parse(await kc(['get', 'svc', 'db-mariadb-slave-lb', '-o', 'json']));
        return svc.status?.loadBalancer?.ingress?.[0]?.ip as string | undefined;
      },
      60_000,
    );
    assert.match(lbIP, /^198\.51\.100\./);

    const hostnames = async (url: string, n = 8) => {
      const r = await lab.podExec('client', `for i in $(seq ${n}); do curl -s -m 3 ${url}; echo; done`);
      return new Set(r.stdout.split('\n').filter(Boolean));
    };
    // ClusterIP by DNS name (search path + kube-dns VIP), balanced over both replicas. A pod is
    // Ready before its endpoint reaches the agent's rules, so keep asking until both answer.
    const viaName = await eventually(
      'both replicas through my-service',
      async () => {
        const seen = await hostnames('http://my-service/hostname');
        return [...seen].filter((h) => h.startsWith('myapp-')).length === 2 ? seen : undefined;
      },
      30_000,
    );
    assert.equal([...viaName].filter((h) => h.startsWith('myapp-')).length, 2, [...viaName].join(' '));
    // NodePort from a pod and from outside the node (the namespace svcnet was started in).
    const np = await hostnames(`http://${nodeIP}:30036/hostname`, 4);
    assert.ok(
      [...np].every((h) => h.startsWith('my-app-')),
      [...np].join(' '),
    );
    const outside = await inNs('curl', ['-s', '-m', '3', `http://${nodeIP}:30036/hostname`]);
    assert.match(outside.stdout, /^my-app-/);
    // LoadBalancer IP from MetalLB-style IPAM, reaching the named targetPort "mysql".
    const lb = await hostnames(`http://${lbIP}:3306/hostname`, 4);
    assert.ok(
      [...lb].every((h) => h.startsWith('mariadb-slave-')),
      [...lb].join(' '),
    );
    // ExternalName: a CNAME from cluster DNS.
    const cname = await lab.podExec('client', 'dig +short mi-redis.prod.svc.cluster.local');
    assert.match(cname.stdout, /^redis\.externo\.com\.$/m);
    const clusterIP = JSON.parse(await kc(['get', 'svc', 'my-service', '-o', 'json'])).spec.clusterIP;

    // Ctrl-C: everything svcnet created in the kernel is gone.
    const labNs = lab.nodeNamespace;
    assert.ok(labNamespaces(labNs).length >= 8, 'node + 7 pod namespaces');
    await lab.stop();
    assert.deepEqual(labNamespaces(labNs), []);

    // A second start on the same data directory resumes objects, allocations and pods.
    await lab.start();
    const again = JSON.parse(await kc(['get', 'svc', 'my-service', '-o', 'json'])).spec.clusterIP;
    assert.equal(again, clusterIP);
    await eventually(
      'pods back',
      async () => {
        const r = await hostnames('http://my-service/hostname', 4);
        return [...r].some((h) => h.startsWith('myapp-')) ? true : undefined;
      },
      60_000,
    );
    await lab.stop();
  });

  it('after a crash (SIGKILL) `svcnet cleanup` removes what was left in the kernel', async () => {
    await lab.start();
    lab.kill();
    const labNs = lab.nodeNamespace;
    assert.ok(labNamespaces(labNs).length > 0, 'the crash left the lab behind');
    const r = await lab.svcnet(['cleanup', '--data-dir', lab.dataDir]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(labNamespaces(labNs), []);
  });

  it('rootless (an unprivileged user): userspace plane, loopback pods, every Service type', async () => {
    // What a laptop user without root gets. Port 80 on loopback aliases needs
    // ip_unprivileged_port_start lowered, as rootless container runtimes document; this is the
    // test's own namespace, so the sysctl changes nothing else.
    const [cmd = 'ip', ...args] = inNetns(ns, ['sysctl', '-q', '-w', 'net.ipv4.ip_unprivileged_port_start=0']);
    execFileSync(cmd, args);
    const data = join(dir, 'rootless');
    execFileSync('chmod', ['0777', dir]);
    const rl = spawn(
      'nsenter',
      [
        `--net=/run/netns/${ns}`,
        'setpriv',
        '--reuid=65534',
        '--regid=65534',
        '--clear-groups',
        '--inh-caps=-all',
        'env',
        `HOME=${dir}`,
        join(repo, 'bin', 'svcnet'),
        'up',
        '--data-dir',
        data,
        '--listen',
        `127.0.0.1:${port + 1}`,
      ],
      { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    rl.stdout?.on('data', (d) => {
      out += String(d);
    });
    rl.stderr?.on('data', (d) => {
      out += String(d);
    });
    try {
      await eventually('rootless up', async () => (out.includes('svcnet: ready') ? true : undefined), 120_000);
      assert.match(out, /mode userspace, rootless/);
      const rkc = (args: string[]) =>
        inNs('kubectl', ['--cache-dir', join(dir, 'kc-rl'), ...args], { KUBECONFIG: join(data, 'kubeconfig') });
      assert.equal((await rkc(['apply', '-f', join(repo, 'examples')])).code, 0);
      await eventually(
        'rootless pods ready',
        async () => {
          const r = await rkc(['get', 'pods', '-o', 'json']);
          const pods = JSON.parse(r.stdout).items as {
            status?: { podIP?: string; conditions?: { type: string; status: string }[] };
          }[];
          const ready = pods.filter((p) =>
            p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
          );
          return pods.length === 6 && ready.length === 6 && pods.every((p) => p.status?.podIP?.startsWith('127.'))
            ? true
            : undefined;
        },
        60_000,
      );
      const svc = async (name: string) => JSON.parse((await rkc(['get', 'svc', name, '-o', 'json'])).stdout);
      // Rootless VIPs are loopback aliases keeping the low 16 bits: 10.a.b.c → 127.10.b.c.
      const alias = (ip: string) => `127.10.${ip.split('.').slice(2).join('.')}`;
      const clusterIP = (await svc('my-service')).spec.clusterIP as string;
      // The agent programs listeners a moment after endpoints appear: poll, then require.
      const get = (url: string, want: RegExp) =>
        eventually(
          url,
          async () => {
            const r = await inNs('curl', ['-s', '-m', '3', url]);
            return want.test(r.stdout) ? r.stdout : undefined;
          },
          20_000,
        );
      await get(`http://${alias(clusterIP)}/hostname`, /^myapp-/);
      await get('http://127.0.0.1:30036/hostname', /^my-app-/);
      await get('http://[::1]:30036/hostname', /^my-app-/);
      const lbIP = await eventually(
        'rootless LB IP',
        async () => {
          const s = await svc('db-mariadb-slave-lb');
          return s.status?.loadBalancer?.ingress?.[0]?.ip as string | undefined;
        },
        60_000,
      );
      await get(`http://${alias(lbIP)}:3306/hostname`, /^mariadb-slave-/);
      const dig = await inNs('dig', ['+short', '@127.10.0.10', 'my-service.default.svc.cluster.local']);
      assert.equal(dig.stdout.trim(), clusterIP);
    } finally {
      const exited = new Promise((r) => rl.once('exit', r));
      rl.kill('SIGINT');
      await exited;
    }
  });
});
