// deploy/'s ServiceAccounts, RBAC and ConfigMap applied with real kubectl to svcnet's API server;
// each component (agent, controller, DNS) then runs as a separate process with exactly the
// credentials its pod would get — its ServiceAccount's token, ca.crt and namespace in a
// service-account directory, KUBERNETES_SERVICE_HOST/PORT — and does its job. Removing one verb
// from its ClusterRole makes it fail with that 403 and nothing else. The suite re-executes itself
// in a network namespace it owns: the agent's nftables work and DNS sockets stay there.
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { inNetns } from '../src/kernel/netns.ts';
import { startTestApiServer, type TestApiServer } from './helpers/apiserver.ts';

const netns = process.env.SVCNET_DRT_NETNS;
const repo = join(import.meta.dirname, '..');
const bin = join(repo, 'bin', 'svcnet');
const deploy = join(repo, 'deploy');
const ip = (args: string[]) => execFileSync('ip', args, { encoding: 'utf8' });

if (!netns) {
  describe('deploy/ manifests with RBAC enforced', () => {
    it('runs inside a network namespace the test owns', { timeout: 150_000 }, async () => {
      for (const line of ip(['netns', 'list']).split('\n')) {
        const m = /^svdrt-(\d+)/.exec(line);
        if (!m) continue;
        try {
          process.kill(Number(m[1]), 0);
        } catch {
          ip(['netns', 'del', `svdrt-${m[1]}`]);
        }
      }
      const ns = `svdrt-${process.pid}`;
      ip(['netns', 'add', ns]);
      try {
        ip(['-n', ns, 'link', 'set', 'lo', 'up']);
        const file = fileURLToPath(import.meta.url);
        const [cmd = 'ip', ...args] = inNetns(ns, [process.execPath, '--import', 'tsx', '--test', file]);
        const child = spawn(cmd, args, {
          env: { ...process.env, SVCNET_DRT_NETNS: ns, NODE_TEST_CONTEXT: undefined },
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
        assert.equal(code, 0, out);
      } finally {
        ip(['netns', 'del', ns]);
      }
    });
  });
} else {
  inNamespace();
}

async function eventually(what: string, fn: () => Promise<boolean>, log?: () => string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${log ? `; log:\n${log()}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function healthz(port: number): Promise<number> {
  return new Promise((resolve) => {
    const req = get({ host: '127.0.0.1', port, path: '/healthz', agent: false, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy());
  });
}

function dig(port: number, name: string): Promise<string> {
  return new Promise((resolve) => {
    execFile('dig', ['+short', '+time=1', '+tries=1', '-p', String(port), '@127.0.0.1', name], (_e, stdout) =>
      resolve(stdout.trim()),
    );
  });
}

/** The agent's nftables rules (in the test's namespace) mention this address. */
function programmed(addr: string): boolean {
  return execFileSync('nft', ['list', 'ruleset'], { encoding: 'utf8' }).includes(addr);
}

interface Running {
  log(): string;
  stop(): Promise<void>;
}

type Rule = { apiGroups?: string[]; resources?: string[]; verbs: string[] };
type Doc = { kind: string; metadata: { name: string }; rules?: Rule[] };

function inNamespace(): void {
  describe('deploy/ components with their ServiceAccounts (in the test namespace)', () => {
    let s: TestApiServer;
    const rbac = parseAllDocuments(readFileSync(join(deploy, 'rbac.yaml'), 'utf8')).map((d) => d.toJS() as Doc);
    const roleOf = (name: string) => {
      const r = rbac.find((d) => d.kind === 'ClusterRole' && d.metadata.name === name);
      assert.ok(r, name);
      return structuredClone(r);
    };

    /** The service-account directory a pod of this ServiceAccount gets mounted. */
    const mount = async (sa: string): Promise<string> => {
      const r = await s.fetch(`/api/v1/namespaces/kube-system/serviceaccounts/${sa}/token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: {} }),
      });
      assert.equal(r.status, 201);
      const { status } = (await r.json()) as { status: { token: string } };
      const dir = join(s.dir, `sa-${sa}-${Date.now()}`);
      mkdirSync(dir);
      writeFileSync(join(dir, 'token'), status.token);
      writeFileSync(join(dir, 'ca.crt'), readFileSync(join(s.dir, 'ca.crt')));
      writeFileSync(join(dir, 'namespace'), 'kube-system');
      return dir;
    };

    const start = async (sa: string, args: string[]): Promise<Running> => {
      const dir = await mount(sa);
      const child: ChildProcess = spawn(bin, args, {
        // No kubeconfig anywhere: only what a pod has.
        env: {
          PATH: process.env.PATH,
          HOME: join(s.dir, 'nohome'),
          KUBERNETES_SERVICE_HOST: '127.0.0.1',
          KUBERNETES_SERVICE_PORT: new URL(s.url).port,
          SVCNET_SERVICE_ACCOUNT_DIR: dir,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let log = '';
      child.stdout?.on('data', (d) => {
        log += d;
      });
      child.stderr?.on('data', (d) => {
        log += d;
      });
      return {
        log: () => log,
        async stop() {
          if (child.exitCode === null) {
            child.kill('SIGTERM');
            await new Promise((r) => child.once('exit', r));
          }
        },
      };
    };

    const applyRole = (role: Doc) => s.kc(['apply', '-f', '-'], JSON.stringify(role));
    const forbiddenLines = (log: string) =>
      [...new Set(log.split('\n').filter((l) => /forbidden|Unauthorized|\b40[13]\b/i.test(l)))].map((l) =>
        l.replace(/^.*?([a-z0-9.-]+(?: "[^"]*")? is forbidden: .*?)(?:\s*\(.*)?$/, '$1'),
      );

    before(async () => {
      s = await startTestApiServer();
      mkdirSync(join(s.dir, 'nohome'));
      for (const f of ['serviceaccounts.yaml', 'rbac.yaml', 'configmap.yaml']) {
        assert.match(await s.kc(['apply', '-f', join(deploy, f)]), /created/);
      }
      await s.kc(['create', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' } }));
    });
    after(async () => {
      await s.close();
    });

    it('the ConfigMap holds the agent settings its DaemonSet reads', async () => {
      const mode = await s.kc(['-n', 'kube-system', 'get', 'configmap', 'svcnet-agent', '-o', 'jsonpath={.data.mode}']);
      assert.equal(mode, 'nftables');
      const ds = readFileSync(join(deploy, 'agent-daemonset.yaml'), 'utf8');
      for (const key of ['mode', 'service-cidrs', 'sync-period', 'min-sync-period', 'ipvs-scheduler']) {
        assert.match(ds, new RegExp(`key: ${key}\\}`), key);
      }
    });

    it('agent: healthy with its role; without list on endpointslices, that 403 only', {
      timeout: 60_000,
    }, async () => {
      const args = (port: number) => [
        'agent',
        '--node-name=n1',
        '--node-ip=10.0.0.10',
        `--healthz=127.0.0.1:${port}`,
        '--mode=nftables',
      ];
      const ok = await start('svcnet-agent', args(10371));
      try {
        await eventually('agent healthy', async () => (await healthz(10371)) === 200, ok.log);
        await eventually('kubernetes Service programmed', async () => programmed('10.96.0.1'), ok.log);
        await new Promise((r) => setTimeout(r, 500));
        assert.deepEqual(forbiddenLines(ok.log()), [], ok.log());
      } finally {
        await ok.stop();
      }
      const role = roleOf('svcnet-agent');
      const rule = role.rules?.find((r) => r.resources?.includes('endpointslices'));
      assert.ok(rule);
      rule.verbs = rule.verbs.filter((v) => v !== 'list');
      await applyRole(role);
      execFileSync('nft', ['flush', 'ruleset']);
      const bad = await start('svcnet-agent', args(10372));
      try {
        await eventually('the 403 logged', async () => /forbidden/.test(bad.log()), bad.log);
        await new Promise((r) => setTimeout(r, 1500));
        assert.equal(programmed('10.96.0.1'), false, 'nothing programmed without its EndpointSlices');
        assert.deepEqual(forbiddenLines(bad.log()), [
          'endpointslices.discovery.k8s.io is forbidden: User "system:serviceaccount:kube-system:svcnet-agent" cannot list resource "endpointslices" in API group "discovery.k8s.io" at the cluster scope',
        ]);
      } finally {
        await bad.stop();
        await applyRole(roleOf('svcnet-agent'));
      }
    });

    it('controller: assigns a LoadBalancer address; without patch on services/status, that 403 only', {
      timeout: 60_000,
    }, async () => {
      await s.kc(
        ['apply', '-f', '-'],
        JSON.stringify({
          apiVersion: 'metallb.io/v1beta1',
          kind: 'IPAddressPool',
          metadata: { name: 'pool', namespace: 'metallb-system' },
          spec: { addresses: ['192.0.2.0/28'] },
        }),
      );
      const ingress = (name: string) =>
        s.kc(['get', 'service', name, '-o', 'jsonpath={.status.loadBalancer.ingress[0].ip}']);
      const c = await start('svcnet-controller', ['controller', '--no-endpoints']);
      try {
        await eventually('controller synced', async () => c.log().includes('controllers synced'), c.log);
        await s.kc(['create', 'service', 'loadbalancer', 'web', '--tcp=80:8080']);
        await eventually('address assigned', async () => (await ingress('web')).startsWith('192.0.2.'), c.log);
        assert.deepEqual(forbiddenLines(c.log()), [], c.log());
      } finally {
        await c.stop();
      }
      const role = roleOf('svcnet-controller');
      role.rules = role.rules?.filter((r) => !r.resources?.includes('services/status'));
      await applyRole(role);
      const bad = await start('svcnet-controller', ['controller', '--no-endpoints']);
      try {
        await eventually('controller synced', async () => bad.log().includes('controllers synced'), bad.log);
        await s.kc(['create', 'service', 'loadbalancer', 'api', '--tcp=443:8443']);
        await eventually('the 403 logged', async () => /forbidden/.test(bad.log()), bad.log);
        await new Promise((r) => setTimeout(r, 500));
        assert.equal(await ingress('api'), '');
        assert.deepEqual(forbiddenLines(bad.log()), [
          'services "api" is forbidden: User "system:serviceaccount:kube-system:svcnet-controller" cannot patch resource "services/status" in API group "" in the namespace "default"',
        ]);
      } finally {
        await bad.stop();
        await applyRole(roleOf('svcnet-controller'));
      }
    });

    it('dns: answers from Services; without list on services, that 403 only', { timeout: 60_000 }, async () => {
      const d = await start('svcnet-dns', ['dns', '--listen=127.0.0.1:10553', '--upstream=127.0.0.1:9']);
      try {
        await eventually(
          'kubernetes.default resolves',
          async () => (await dig(10553, 'kubernetes.default.svc.cluster.local')) === '10.96.0.1',
        );
        assert.deepEqual(forbiddenLines(d.log()), [], d.log());
      } finally {
        await d.stop();
      }
      const role = roleOf('svcnet-dns');
      const rule = role.rules?.find((r) => r.resources?.includes('services'));
      assert.ok(rule);
      rule.verbs = rule.verbs.filter((v) => v !== 'list');
      await applyRole(role);
      const bad = await start('svcnet-dns', ['dns', '--listen=127.0.0.1:10554', '--upstream=127.0.0.1:9']);
      try {
        await eventually('the 403 logged', async () => /forbidden/.test(bad.log()), bad.log);
        await new Promise((r) => setTimeout(r, 1000));
        assert.notEqual(await dig(10554, 'kubernetes.default.svc.cluster.local'), '10.96.0.1');
        assert.deepEqual(forbiddenLines(bad.log()), [
          'services is forbidden: User "system:serviceaccount:kube-system:svcnet-dns" cannot list resource "services" in API group "" at the cluster scope',
        ]);
      } finally {
        await bad.stop();
        await applyRole(roleOf('svcnet-dns'));
      }
    });
  });
}
