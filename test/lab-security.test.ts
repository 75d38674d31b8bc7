// Lab pods are confined as kubelet pods are, checked with real processes under `svcnet up` (in a
// network namespace this test owns) and real kubectl and curl: securityContext's users and
// groups (container over pod, 65534 by default), runAsNonRoot refusing uid 0 with the kubelet's
// message, ports below 1024 for non-root processes, svcnet's data directory invisible even to
// root pods, and the ServiceAccount token, CA and namespace at the standard path, usable against
// the API through the kubernetes Service's ClusterIP from the environment the kubelet sets.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hasNetAdmin } from '../src/kernel/exec.ts';
import { eventually } from './helpers/eventually.ts';
import { LabUp } from './helpers/lab-up.ts';

const root = hasNetAdmin();
const ns = `svt-${process.pid % 100000}-s`;
const port = 22000 + (process.pid % 10000);
const sa = '/var/run/secrets/kubernetes.io/serviceaccount';
const repo = join(import.meta.dirname, '..');
const deployDir = join(repo, 'deploy');
const svcnetBin = join(repo, 'bin', 'svcnet');

interface PodJson {
  metadata: { uid: string };
  status?: {
    containerStatuses?: { name: string; state?: { waiting?: { reason?: string; message?: string } } }[];
  };
}

describe('lab pods: securityContext, a private view of the file system, ServiceAccount tokens', {
  skip: root ? false : 'needs root (CAP_NET_ADMIN) for lab namespaces',
}, () => {
  const lab = new LabUp({ ns, args: ['--listen', `127.0.0.1:${port}`], nodes: 1, timeoutMs: 120_000 });
  const kc = (args: string[], input?: string) => lab.kubectl(args, input);
  /** The pod's log once it printed its end marker. */
  const output = (pod: string, container?: string) =>
    eventually(
      `${pod} printed its output`,
      async () => {
        const log = await kc(['logs', pod, ...(container ? ['-c', container] : [])]);
        return log.includes('END\n') ? log : undefined;
      },
      60_000,
      200,
    );
  const shPod = (name: string, script: string, extra: Record<string, unknown> = {}, container = {}) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: {
      terminationGracePeriodSeconds: 1,
      containers: [
        { name: 'main', image: 'busybox', command: ['sh', '-c', `${script}; echo END; sleep 3600`], ...container },
      ],
      ...extra,
    },
  });

  before(async () => {
    await lab.start();
    const data = lab.dataDir;
    const docs = [
      shPod('ids-default', 'id -u; id -g; id -G'),
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'ids-set' },
        spec: {
          terminationGracePeriodSeconds: 1,
          securityContext: { runAsUser: 1000, runAsGroup: 3000, supplementalGroups: [4000] },
          containers: [
            { name: 'pod-level', image: 'busybox', command: ['sh', '-c', 'id -u; id -g; id -G; echo END; sleep 3600'] },
            {
              name: 'own',
              image: 'busybox',
              securityContext: { runAsUser: 2000 },
              command: ['sh', '-c', 'id -u; id -g; echo END; sleep 3600'],
            },
          ],
        },
      },
      shPod(
        'nonroot-refused',
        'id -u',
        { securityContext: { runAsNonRoot: true } },
        { securityContext: { runAsUser: 0 } },
      ),
      shPod('nonroot-default', 'id -u', { securityContext: { runAsNonRoot: true } }),
      // Root, with every file of the data directory as a target, also through every process's root.
      shPod(
        'snoop-root',
        [
          `echo "entries $(ls -A ${data} | wc -l)"`,
          `echo "token $(cat ${data}/token 2>&1)"`,
          `echo "db $(head -c 15 ${data}/svcnet.db 2>&1)"`,
          `echo "via-proc $(cat /proc/[0-9]*/root${data}/token 2>/dev/null | wc -c)"`,
          'grep CapEff /proc/self/status',
          // $$$$: the kubelet's expansion turns $$ into $.
          'echo "pid $$$$ of $(ls /proc | grep -c ^[0-9])"',
        ].join('; '),
        { securityContext: { runAsUser: 0 } },
      ),
      shPod('snoop', `echo "token $(cat ${data}/token 2>&1)"`),
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'low-port' },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [
            {
              name: 'web',
              image: 'python',
              command: ['/usr/bin/python3', '-m', 'http.server', '80'],
              readinessProbe: { tcpSocket: { port: 80 }, periodSeconds: 1 },
            },
          ],
        },
      },
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'reader' } },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: { name: 'pod-reader' },
        rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }],
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: 'reader-reads-pods' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'pod-reader' },
        subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace: 'default' }],
      },
      shPod(
        'api-client',
        [
          `cat ${sa}/namespace; echo`,
          'echo "api $KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT $KUBERNETES_PORT"',
          `curl -sS --cacert ${sa}/ca.crt -H "Authorization: Bearer $(cat ${sa}/token)" https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT/api/v1/namespaces/default/pods -o /dev/null -w 'pods %{http_code}\\n'`,
          `curl -sS --cacert ${sa}/ca.crt -H "Authorization: Bearer $(cat ${sa}/token)" https://kubernetes.default.svc/api/v1/namespaces/default/services -o /dev/null -w 'services %{http_code}\\n'`,
          `curl -sS --cacert ${sa}/ca.crt -H "Authorization: Bearer $(cat ${sa}/token)" https://kubernetes.default.svc/api/v1/namespaces/default/services | python3 -c "import json, sys; print(json.load(sys.stdin)['message'])"`,
          `touch ${sa}/token 2>&1 | grep -o 'Read-only file system\\|Permission denied'`,
        ].join('; '),
        { serviceAccountName: 'reader' },
      ),
      shPod('no-token', `ls ${sa} 2>&1 | grep -c 'No such file'`, {
        serviceAccountName: 'reader',
        automountServiceAccountToken: false,
      }),
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'quiet' }, automountServiceAccountToken: false },
      shPod('no-token-sa', `ls ${sa} 2>&1 | grep -c 'No such file'`, { serviceAccountName: 'quiet' }),
    ];
    writeFileSync(join(lab.dir, 'pods.yaml'), docs.map((d) => JSON.stringify(d)).join('\n'));
    await kc(['apply', '-f', join(lab.dir, 'pods.yaml')]);
  });

  after(() => lab.close());

  it('runs pods as 65534 without a securityContext; container fields override the pod', async () => {
    assert.equal(await output('ids-default'), '65534\n65534\n65534\nEND\n');
    assert.equal(await output('ids-set', 'pod-level'), '1000\n3000\n3000 4000\nEND\n');
    assert.equal(await output('ids-set', 'own'), '2000\n3000\nEND\n');
    assert.equal(await output('nonroot-default'), '65534\nEND\n');
  });

  it('runAsNonRoot with uid 0: CreateContainerConfigError with the kubelet message', async () => {
    const pod = await eventually(
      'nonroot-refused waiting',
      async () => {
        const p = await lab.json<PodJson>(['get', 'pod', 'nonroot-refused']);
        return p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CreateContainerConfigError'
          ? p
          : undefined;
      },
      30_000,
      200,
    );
    assert.equal(
      pod.status?.containerStatuses?.[0]?.state?.waiting?.message,
      `container's runAsUser breaks non-root policy (pod: "nonroot-refused_default(${pod.metadata.uid})", container: main)`,
    );
    const events = await lab.json<{
      items: { involvedObject: { name: string }; type: string; reason: string; message: string }[];
    }>(['get', 'events']);
    const failed = events.items.find((e) => e.involvedObject.name === 'nonroot-refused' && e.reason === 'Failed');
    assert.equal(failed?.type, 'Warning');
    assert.equal(failed?.message, `Error: ${pod.status?.containerStatuses?.[0]?.state?.waiting?.message}`);
  });

  it('kubectl exec runs as the container user', async () => {
    await kc(['wait', '--for=condition=Ready', 'pod/ids-set', '--timeout=60s']);
    assert.equal(await kc(['exec', 'ids-set', '-c', 'own', '--', 'id', '-u']), '2000\n');
    assert.equal(await kc(['exec', 'ids-set', '-c', 'pod-level', '--', 'sh', '-c', 'id -u; pwd']), '1000\n/\n');
  });

  it('a non-root process binds port 80 (unprivileged ports start at 0 in the pod)', async () => {
    await kc(['wait', '--for=condition=Ready', 'pod/low-port', '--timeout=60s']);
    assert.equal(await kc(['exec', 'low-port', '--', 'id', '-u']), '65534\n');
  });

  it("svcnet's data directory is empty in pods, for root too, also through /proc/<pid>/root", async () => {
    const seen = (await output('snoop-root')).split('\n');
    // Its own PID namespace: the shell is the child of its init, and few processes exist there.
    const [, pid, of] = /^pid (\d+) of (\d+)$/.exec(seen.splice(5, 1)[0] ?? '') ?? [];
    assert.equal(pid, '2');
    assert.ok(Number(of) <= 6, `${of} processes`);
    assert.deepEqual(seen, [
      'entries 0',
      `token cat: ${lab.dataDir}/token: No such file or directory`,
      `db head: cannot open '${lab.dataDir}/svcnet.db' for reading: No such file or directory`,
      'via-proc 0',
      'CapEff:\t00000000a80425fb',
      'END',
      '',
    ]);
    // Not root: the directories above it are closed already.
    assert.match(await output('snoop'), /^token cat: .*\/token: (No such file or directory|Permission denied)\nEND\n$/);
  });

  it('ServiceAccount token, CA and namespace at the standard path; the API through KUBERNETES_SERVICE_HOST', async () => {
    const lines = (await output('api-client')).split('\n');
    assert.equal(lines[0], 'default');
    assert.equal(lines[1], 'api 10.96.0.1:443 tcp://10.96.0.1:443');
    assert.equal(lines[2], 'pods 200', 'the Role lets it list pods');
    assert.equal(lines[3], 'services 403', 'by its DNS name too');
    assert.equal(
      lines[4],
      'services is forbidden: User "system:serviceaccount:default:reader" cannot list resource "services" in API group "" in the namespace "default"',
    );
    assert.match(lines[5] ?? '', /^(Read-only file system|Permission denied)$/, 'the token cannot be changed');
  });

  it("svcnet's controller runs in a lab pod on its deploy/ ServiceAccount, in-cluster, as its manifest's user", {
    timeout: 90_000,
  }, async () => {
    for (const f of ['serviceaccounts.yaml', 'rbac.yaml']) await kc(['apply', '-f', join(deployDir, f)]);
    const work = mkdtempSync(join(tmpdir(), 'svt-ctl-'));
    chmodSync(work, 0o777);
    after(() => rmSync(work, { recursive: true, force: true }));
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'svcnet-controller', namespace: 'kube-system' },
      spec: {
        serviceAccountName: 'svcnet-controller',
        terminationGracePeriodSeconds: 1,
        containers: [
          {
            name: 'controller',
            image: 'ghcr.io/svcnet/svcnet:latest',
            command: [svcnetBin, 'controller', '--no-endpoints'],
            // Its default data directory is relative: somewhere its user may write.
            workingDir: work,
            securityContext: {
              runAsNonRoot: true,
              runAsUser: 65532,
              allowPrivilegeEscalation: false,
              capabilities: { drop: ['ALL'] },
            },
          },
        ],
      },
    };
    await kc(['apply', '-f', '-'], JSON.stringify(pod));
    const log = await eventually(
      'the controller synced',
      async () => {
        const l = await kc(['-n', 'kube-system', 'logs', 'svcnet-controller']).catch(async (e: unknown) => {
          const st = await kc(['-n', 'kube-system', 'get', 'pod', 'svcnet-controller', '-o', 'jsonpath={.status}']);
          throw new Error(`${String(e)} ${st}`);
        });
        return /controllers synced/.test(l) ? l : undefined;
      },
      60_000,
      500,
    );
    assert.doesNotMatch(log, /forbidden|Unauthorized/i, log);
  });

  it('automountServiceAccountToken: false on the pod or its ServiceAccount: no token', async () => {
    assert.equal(await output('no-token'), '1\nEND\n');
    assert.equal(await output('no-token-sa'), '1\nEND\n');
  });
});
