// In-cluster configuration against svcnet's own API server with RBAC on: a ServiceAccount token,
// ca.crt and namespace in a service-account directory, KUBERNETES_SERVICE_HOST/PORT. The same
// `svcnet agent` binary runs through a kubeconfig and in-cluster, and a token rotated on disk is
// used from the next request on. The suite re-executes itself in a network namespace it owns,
// so the agent's nftables work stays there.
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isApiError } from '../src/api/status.ts';
import { HttpClient } from '../src/client/http.ts';
import { inClusterConfig } from '../src/client/kubeconfig.ts';
import { inNetns } from '../src/kernel/netns.ts';
import { startTestApiServer, type TestApiServer } from './helpers/apiserver.ts';

const netns = process.env.SVCNET_ICT_NETNS;
const bin = join(import.meta.dirname, '..', 'bin', 'svcnet');
const ip = (args: string[]) => execFileSync('ip', args, { encoding: 'utf8' });

if (!netns) {
  describe('in-cluster configuration', () => {
    it('runs inside a network namespace the test owns', { timeout: 120_000 }, async () => {
      for (const line of ip(['netns', 'list']).split('\n')) {
        const m = /^svict-(\d+)/.exec(line);
        if (m) {
          try {
            process.kill(Number(m[1]), 0);
          } catch {
            ip(['netns', 'del', `svict-${m[1]}`]);
          }
        }
      }
      const ns = `svict-${process.pid}`;
      ip(['netns', 'add', ns]);
      try {
        ip(['-n', ns, 'link', 'set', 'lo', 'up']);
        const [cmd = 'ip', ...args] = inNetns(ns, [
          process.execPath,
          '--import',
          'tsx',
          '--test',
          fileURLToPath(import.meta.url),
        ]);
        const child = spawn(cmd, args, {
          env: { ...process.env, SVCNET_ICT_NETNS: ns, NODE_TEST_CONTEXT: undefined },
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

async function eventually(what: string, fn: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
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

function inNamespace(): void {
  describe('in-cluster configuration (in the test namespace)', () => {
    let s: TestApiServer;
    let saDir = '';
    const agentRules = [
      { apiGroups: [''], resources: ['services', 'nodes'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: [''], resources: ['nodes'], verbs: ['patch'] },
      { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
      { apiGroups: ['metallb.io'], resources: ['ipaddresspools'], verbs: ['list', 'watch'] },
      { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
    ];
    const json = (o: unknown) => ({
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(o),
    });
    const issue = async () => {
      const r = await s.fetch(
        '/api/v1/namespaces/kube-system/serviceaccounts/svcnet-agent/token',
        json({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } }),
      );
      assert.equal(r.status, 201);
      return ((await r.json()) as { status: { token: string } }).status.token;
    };
    const writeToken = (t: string) => {
      // Atomic replace, as the kubelet swaps a projected volume's files.
      writeFileSync(join(saDir, 'token.tmp'), t);
      renameSync(join(saDir, 'token.tmp'), join(saDir, 'token'));
    };
    const createSA = async () => {
      const r = await s.fetch(
        '/api/v1/namespaces/kube-system/serviceaccounts',
        json({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'svcnet-agent' } }),
      );
      assert.equal(r.status, 201);
    };
    const env = () => ({
      KUBERNETES_SERVICE_HOST: '127.0.0.1',
      KUBERNETES_SERVICE_PORT: new URL(s.url).port,
    });

    before(async () => {
      s = await startTestApiServer();
      await s.kc(['create', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' } }));
      await createSA();
      await s.kc(
        ['create', '-f', '-'],
        JSON.stringify({
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'ClusterRole',
          metadata: { name: 'svcnet-agent' },
          rules: agentRules,
        }),
      );
      await s.kc([
        'create',
        'clusterrolebinding',
        'svcnet-agent',
        '--clusterrole=svcnet-agent',
        '--serviceaccount=kube-system:svcnet-agent',
      ]);
      saDir = join(s.dir, 'serviceaccount');
      mkdirSync(saDir);
      writeFileSync(join(saDir, 'ca.crt'), readFileSync(join(s.dir, 'ca.crt')));
      writeFileSync(join(saDir, 'namespace'), 'kube-system');
      writeToken(await issue());
    });
    after(async () => {
      await s.close();
    });

    it('reads token, CA and namespace from the service-account directory', async () => {
      const cfg = inClusterConfig(env(), saDir);
      assert.equal(cfg.server, `https://127.0.0.1:${new URL(s.url).port}`);
      assert.equal(cfg.namespace, 'kube-system');
      const c = new HttpClient(cfg);
      const list = await c.list('services', { namespace: 'default' });
      assert.ok(list.items.some((x) => x.metadata.name === 'kubernetes'));
      // Beyond its role: Kubernetes' 403, not a silent empty answer.
      await assert.rejects(c.list('pods', { namespace: 'default' }), (e: unknown) => {
        assert.ok(isApiError(e));
        assert.equal(e.code, 403);
        assert.equal(
          e.message,
          'pods is forbidden: User "system:serviceaccount:kube-system:svcnet-agent" cannot list resource "pods" in API group "" in the namespace "default"',
        );
        return true;
      });
    });

    it('picks up a token rotated on disk from the next request, without a restart', async () => {
      const c = new HttpClient(inClusterConfig(env(), saDir));
      await c.list('services');
      // Recreating the ServiceAccount (new uid) revokes the token in use.
      await s.kc(['-n', 'kube-system', 'delete', 'serviceaccount', 'svcnet-agent']);
      await createSA();
      await assert.rejects(c.list('services'), (e: unknown) => isApiError(e) && e.code === 401);
      writeToken(await issue());
      assert.ok((await c.list('services')).items.length > 0);
    });

    it('runs the same agent binary through a kubeconfig and in-cluster', { timeout: 60_000 }, async () => {
      const run = async (how: 'kubeconfig' | 'in-cluster', port: number) => {
        const args = [
          'agent',
          '--node-name',
          'n1',
          '--node-ip',
          '10.0.0.10',
          '--healthz',
          `127.0.0.1:${port}`,
          '--mode',
          'nftables',
        ];
        const childEnv: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: s.dir };
        if (how === 'kubeconfig') args.push('--kubeconfig', s.kubeconfig);
        else Object.assign(childEnv, env(), { SVCNET_SERVICE_ACCOUNT_DIR: saDir });
        const child: ChildProcess = spawn(bin, args, { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
        let log = '';
        child.stdout?.on('data', (d) => {
          log += d;
        });
        child.stderr?.on('data', (d) => {
          log += d;
        });
        try {
          await eventually(`agent (${how}) healthy`, async () => (await healthz(port)) === 200);
          assert.doesNotMatch(log, /forbidden|Unauthorized/i, log);
        } finally {
          child.kill('SIGTERM');
          await new Promise((r) => child.once('exit', r));
        }
      };
      await run('kubeconfig', 10361);
      await run('in-cluster', 10362);
    });
  });
}
