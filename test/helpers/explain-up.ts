// `svcnet explain` against `svcnet up` with real kernel traffic: one Service per verdict kind,
// each explained and probed from a lab pod, for the data plane `mode` runs. Shared by the
// per-plane test files so each stays under a minute.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hasNetAdmin } from '../../src/kernel/exec.ts';
import type { Explanation } from '../../src/proxy/explain/types.ts';
import { eventually } from './eventually.ts';
import { startUp, type UpLab } from './svcnet-up.ts';

const manifests = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: echo
        image: svcnet/echo
        args: ["--http-port", "8080"]
        readinessProbe: {httpGet: {path: /healthz, port: 8080}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: empty}
spec:
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: fenced}
spec:
  type: LoadBalancer
  selector: {app: web}
  loadBalancerSourceRanges: [192.0.2.0/24]
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: lab-pool, namespace: metallb-system}
spec: {addresses: [198.51.100.0/28]}
---
apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  restartPolicy: Never
  containers: [{name: echo, image: svcnet/echo}]
`;

export function describeExplainUp(mode: 'nftables' | 'userspace', name: string): void {
  describe(`svcnet explain on svcnet up (${mode}, real traffic)`, {
    skip: hasNetAdmin() ? false : 'needs root (CAP_NET_ADMIN) for lab namespaces',
  }, () => {
    let lab: UpLab;
    const explain = async (args: string[]) => {
      const r = await lab.svcnet(['explain', ...args]);
      return { ...r, json: r.stdout.startsWith('{') ? (JSON.parse(r.stdout) as Explanation) : undefined };
    };
    before(async () => {
      lab = await startUp({ name, mode });
      const file = join(lab.dir, 'explain.yaml');
      writeFileSync(file, manifests);
      await lab.kubectl(['apply', '-f', file]);
      await lab.kubectl(['wait', '--for=condition=Ready', 'pod', '--all', '--timeout=60s']);
      await eventually(
        'LoadBalancer IP',
        async () =>
          JSON.parse(await lab.kubectl(['get', 'svc', 'fenced', '-o', 'json'])).status?.loadBalancer?.ingress?.[0]
            ?.ip as string | undefined,
        30_000,
        200,
      );
    });
    after(async () => {
      await lab?.stop();
    });

    it('endpoints: both replicas eligible, the path read back, and a probe lands on one of them', async () => {
      const e = await eventually(
        'both endpoints in the agent',
        async () => {
          const r = await explain(['--from', 'client', '--to', 'web', '-o', 'json', '--probe']);
          return r.json && r.json.endpoints.filter((x) => x.eligible).length === 2 ? r.json : undefined;
        },
        30_000,
        300,
      );
      assert.equal(e.plane, mode);
      assert.equal(e.verdict, 'endpoints');
      assert.equal(e.service?.name, 'web');
      assert.equal(e.source.pod, 'default/client');
      assert.equal(e.source.kind, 'pod');
      assert.equal(e.pathSource, mode === 'nftables' ? 'kernel' : 'process');
      assert.ok(e.path.length > 0);
      if (mode === 'nftables') assert.ok(e.path.some((s) => s.kind === 'nat' && s.name === 'dnat'));
      assert.deepEqual(e.consistent, { matches: true });
      assert.ok(e.probe?.matches, JSON.stringify(e.probe));
      assert.ok(
        e.endpoints.some((x) => `${x.ip}:${x.port}` === e.probe?.landed),
        JSON.stringify(e.probe),
      );
      const text = await explain(['--from', 'client', '--to', 'web:http', '--probe']);
      assert.equal(text.code, 0, text.stderr);
      // A transcript for readers of the test run (test-results/ is not tracked).
      const out = join(import.meta.dirname, '..', '..', 'test-results', 'explain');
      mkdirSync(out, { recursive: true });
      writeFileSync(join(out, `${mode}.txt`), `$ svcnet explain --from client --to web:http --probe\n${text.stdout}`);
      assert.match(text.stdout, /Endpoints: {3}2 of 2 eligible/);
      assert.match(
        text.stdout,
        mode === 'nftables'
          ? /Masquerade: {2}no: a pod source reaching a ClusterIP keeps its address/
          : /Masquerade: {2}yes: the userspace proxy opens its own connection/,
      );
    });

    it('REJECT: a Service without endpoints is refused, and the probe is refused', async () => {
      const r = await explain(['--from', 'client', '--to', 'empty', '--probe', '-o', 'json']);
      assert.equal(r.code, 0, r.stderr);
      const e = r.json;
      assert.equal(e?.verdict, 'REJECT');
      if (mode === 'nftables') assert.equal(e?.rule, 'reject-chain: reject');
      assert.deepEqual(e?.probe, { landed: 'REJECT', matches: true });
    });

    it('DROP: a source outside loadBalancerSourceRanges, with every endpoint excluded for it', async () => {
      const lbIP = JSON.parse(await lab.kubectl(['get', 'svc', 'fenced', '-o', 'json'])).status.loadBalancer.ingress[0]
        .ip;
      const r = await explain(['--from', 'client', '--to', `${lbIP}:80`, '--probe', '-o', 'json']);
      assert.equal(r.code, 0, `${r.stderr}${JSON.stringify({ ...r.json, path: undefined })}`);
      const e = r.json;
      assert.equal(e?.verdict, 'DROP');
      assert.equal(e?.destination.kind, 'loadBalancer');
      // No speakers run here (svcnet up without --announce): explain says nobody announces it.
      assert.deepEqual(e?.announcedBy, { nodes: [], protocol: null, source: 'none' });
      assert.ok(e?.endpoints.every((x) => !x.eligible && /outside loadBalancerSourceRanges/.test(x.reason ?? '')));
      if (mode === 'nftables') {
        assert.match(e?.rule ?? '', /^firewall-check: .* drop$/);
        assert.deepEqual(e?.probe, { landed: 'DROP', matches: true });
      } else {
        // A userspace proxy refuses where the kernel drops, and says so.
        assert.equal(e?.planeVerdict, 'REJECT');
        assert.match(e?.consistent.detail ?? '', /cannot silently discard/);
        assert.deepEqual(e?.probe, { landed: 'REJECT', matches: true });
      }
    });

    it('bad input is one line and a non-zero exit', async () => {
      for (const [args, msg] of [
        [['--from', 'nope', '--to', 'web'], 'svcnet: pod default/nope not found'],
        [['--from', 'client', '--to', 'nope'], 'svcnet: service default/nope not found'],
        [['--from', 'client', '--to', 'web:9999'], 'svcnet: service default/web has no port 9999 (ports: http=80/TCP)'],
        [['--from', 'client', '--to', 'web', '--proto', 'icmp'], 'svcnet: --proto must be tcp or udp, not "icmp"'],
        [
          ['--from', '203.0.113.9', '--to', 'web', '--probe'],
          'svcnet: --probe needs the source to be a pod (--from POD or a pod IP)',
        ],
      ] as const) {
        const r = await explain([...args]);
        assert.notEqual(r.code, 0, args.join(' '));
        assert.equal(r.stderr, `${msg}\n`, args.join(' '));
      }
    });
  });
}
