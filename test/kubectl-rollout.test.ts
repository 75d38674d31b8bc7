// The workload verbs people type, with real kubectl against `svcnet controller --workloads` (a
// separate process, over HTTPS): rollout status/history/undo/pause/resume/restart, set image,
// scale, wait, and ReplicaSets' discovery, explain and validation. helpers/kubelet.ts plays the
// kubelet: bound pods turn Ready, except those of images named "crash".
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Deployment, KubeObject, Node, ReplicaSet } from '../src/api/types.ts';
import { InProcessClient } from '../src/client/in-process.ts';
import { startTestApiServer, type TestApiServer } from './helpers/apiserver.ts';
import { eventually } from './helpers/eventually.ts';
import { startTestKubelet, type TestKubelet } from './helpers/kubelet.ts';

type Obj<T> = T & KubeObject;

const bin = join(import.meta.dirname, '..', 'bin', 'svcnet');

/** What kubectl 1.32's DeploymentStatusViewer prints while it waits (polymorphichelpers/rollout_status.go). */
const waiting = [
  /^Waiting for deployment "[\w-]+" rollout to finish: \d+ out of \d+ new replicas have been updated\.\.\.$/,
  /^Waiting for deployment "[\w-]+" rollout to finish: \d+ old replicas are pending termination\.\.\.$/,
  /^Waiting for deployment "[\w-]+" rollout to finish: \d+ of \d+ updated replicas are available\.\.\.$/,
  /^Waiting for deployment spec update to be observed\.\.\.$/,
];

function assertRolloutTranscript(out: string, name: string): void {
  const lines = out.trimEnd().split('\n');
  assert.equal(lines.at(-1), `deployment "${name}" successfully rolled out`, out);
  for (const l of lines.slice(0, -1))
    assert.ok(
      waiting.some((re) => re.test(l)),
      `unexpected line: ${l}`,
    );
}

describe('kubectl rollout, set image, scale and wait against svcnet controller --workloads', () => {
  let s: TestApiServer;
  let client: InProcessClient;
  let kubelet: TestKubelet;
  let child: ChildProcess;
  let log = '';
  const rsNames = async (app: string) =>
    (await client.list<Obj<ReplicaSet>>('replicasets', { namespace: 'default', labelSelector: `app=${app}` })).items
      .map((r) => r.metadata.name ?? '')
      .sort();
  const hashOfRevision = async (app: string, revision: string) => {
    const { items } = await client.list<Obj<ReplicaSet>>('replicasets', {
      namespace: 'default',
      labelSelector: `app=${app}`,
    });
    const rs = items.find((r) => r.metadata.annotations?.['deployment.kubernetes.io/revision'] === revision);
    return rs?.metadata.labels?.['pod-template-hash'] ?? '';
  };

  before(async () => {
    s = await startTestApiServer();
    client = new InProcessClient(s.server.registry);
    const node = await client.create<Obj<Node>>('nodes', {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'node-a' },
    });
    await client.updateStatus('nodes', { ...node, status: { conditions: [{ type: 'Ready', status: 'True' }] } });
    kubelet = startTestKubelet(client, {
      readyAfterMs: 100,
      neverReady: (p) => p.spec?.containers.some((c) => c.image?.startsWith('crash')) ?? false,
    });
    child = spawn(bin, ['controller', '--workloads', '--kubeconfig', s.kubeconfig], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (d) => {
      log += String(d);
    });
    child.stderr?.on('data', (d) => {
      log += String(d);
    });
    await eventually('controllers synced', async () => log.includes('controllers synced') || undefined, 30_000);
  });
  after(async () => {
    kubelet?.stop();
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    await s?.close();
  });

  it('ReplicaSets are discoverable as rs and explained', async () => {
    const res = await s.kc(['api-resources', '--api-group=apps', '--no-headers']);
    assert.match(res, /^replicasets\s+rs\s+apps\/v1\s+true\s+ReplicaSet$/m);
    const explain = await s.kc(['explain', 'rs.spec.replicas']);
    assert.match(explain, /GROUP:\s+apps\nKIND:\s+ReplicaSet\nVERSION:\s+v1\n/);
    assert.match(explain, /Replicas is the number of desired replicas\./);
    assert.match(await s.kc(['explain', 'replicaset.status']), /readyReplicas\s+<integer>/);
  });

  it('kubectl rollout status waits and prints what a cluster prints', async () => {
    await s.kc(['create', 'deployment', 'web', '--image=svcnet/echo', '--replicas=3']);
    const out = await s.kc(['rollout', 'status', 'deployment/web', '--timeout=30s']);
    assertRolloutTranscript(out, 'web');
    assert.match(await s.kc(['get', 'rs', '-l', 'app=web', '--no-headers']), /^web-\w+\s+3\s+3\s+3\s+\d+s\n$/);
  });

  it('kubectl set image rolls out revision 2; rollout history lists and shows revisions', async () => {
    assert.equal(
      await s.kc(['set', 'image', 'deployment/web', 'echo=svcnet/echo:v2']),
      'deployment.apps/web image updated\n',
    );
    assertRolloutTranscript(
      await s.kc(['rollout', 'status', 'deployment/web', '--revision=2', '--timeout=30s']),
      'web',
    );
    await s.kc(['annotate', 'deployment/web', 'kubernetes.io/change-cause=image v2']);
    await eventually('change-cause copied', async () => {
      const out = await s.kc(['rollout', 'history', 'deployment/web']);
      return out.includes('image v2') ? out : undefined;
    });
    assert.equal(
      await s.kc(['rollout', 'history', 'deployment/web']),
      'deployment.apps/web \nREVISION  CHANGE-CAUSE\n1         <none>\n2         image v2\n\n',
    );
    const hash1 = await hashOfRevision('web', '1');
    assert.equal(
      await s.kc(['rollout', 'history', 'deployment/web', '--revision=1']),
      [
        'deployment.apps/web with revision #1',
        'Pod Template:',
        '  Labels:\tapp=web',
        `\tpod-template-hash=${hash1}`,
        '  Containers:',
        '   echo:',
        '    Image:\tsvcnet/echo',
        '    Port:\t<none>',
        '    Host Port:\t<none>',
        '    Environment:\t<none>',
        '    Mounts:\t<none>',
        '  Volumes:\t<none>',
        '  Node-Selectors:\t<none>',
        '  Tolerations:\t<none>',
        '',
        '',
      ].join('\n'),
    );
    const bad = await s.kubectl(['rollout', 'history', 'deployment/web', '--revision=7']);
    assert.deepEqual([bad.code, bad.stderr], [1, 'error: unable to find the specified revision\n']);
  });

  it('kubectl rollout undo goes back through the old ReplicaSet; --to-revision picks one', async () => {
    const before = await rsNames('web');
    assert.equal(await s.kc(['rollout', 'undo', 'deployment/web']), 'deployment.apps/web rolled back\n');
    assertRolloutTranscript(await s.kc(['rollout', 'status', 'deployment/web', '--timeout=30s']), 'web');
    // No new ReplicaSet: revision 1's became revision 3 and remembers it was 1.
    assert.deepEqual(await rsNames('web'), before);
    assert.equal(
      await s.kc(['rollout', 'history', 'deployment/web']),
      'deployment.apps/web \nREVISION  CHANGE-CAUSE\n2         image v2\n3         <none>\n\n',
    );
    const hash3 = await hashOfRevision('web', '3');
    const rs = await client.get<Obj<ReplicaSet>>('replicasets', 'default', `web-${hash3}`);
    assert.equal(rs.metadata.annotations?.['deployment.kubernetes.io/revision-history'], '1');
    const image = () => s.kc(['get', 'deployment', 'web', '-o', 'jsonpath={.spec.template.spec.containers[0].image}']);
    assert.equal(await image(), 'svcnet/echo');
    assert.equal(
      await s.kc(['rollout', 'undo', 'deployment/web', '--to-revision=3']),
      'deployment.apps/web skipped rollback (current template already matches revision 3)\n',
    );
    const missing = await s.kubectl(['rollout', 'undo', 'deployment/web', '--to-revision=9']);
    assert.deepEqual([missing.code, missing.stderr], [1, 'error: unable to find specified revision 9 in history\n']);
    assert.equal(
      await s.kc(['rollout', 'undo', 'deployment/web', '--to-revision=2', '--dry-run=server']),
      'deployment.apps/web rolled back (server dry run)\n',
    );
    assert.equal(await image(), 'svcnet/echo');
    assert.equal(
      await s.kc(['rollout', 'undo', 'deployment/web', '--to-revision=2']),
      'deployment.apps/web rolled back\n',
    );
    assertRolloutTranscript(await s.kc(['rollout', 'status', 'deployment/web', '--timeout=30s']), 'web');
    assert.equal(await image(), 'svcnet/echo:v2');
  });

  it('kubectl rollout pause holds changes back, resume rolls them out, restart replaces the pods', async () => {
    assert.equal(await s.kc(['rollout', 'pause', 'deployment/web']), 'deployment.apps/web paused\n');
    const paused = await s.kubectl(['rollout', 'pause', 'deployment/web']);
    assert.deepEqual([paused.code, paused.stderr], [1, 'error: deployments.apps "web" is already paused\n']);
    const before = await rsNames('web');
    await s.kc(['set', 'image', 'deployment/web', 'echo=svcnet/echo:v3']);
    await eventually('paused condition', async () => {
      const d = await client.get<Obj<Deployment>>('deployments', 'default', 'web');
      const c = d.status?.conditions?.find((x) => x.type === 'Progressing');
      return (d.status?.observedGeneration ?? 0) >= (d.metadata.generation ?? 0) && c?.reason === 'DeploymentPaused'
        ? c
        : undefined;
    });
    assert.deepEqual(await rsNames('web'), before, 'no ReplicaSet while paused');
    const undo = await s.kubectl(['rollout', 'undo', 'deployment/web']);
    assert.deepEqual(
      [undo.code, undo.stderr],
      [
        1,
        "error: you cannot rollback a paused deployment; resume it first with 'kubectl rollout resume' and try again\n",
      ],
    );
    const restart = await s.kubectl(['rollout', 'restart', 'deployment/web']);
    assert.deepEqual(
      [restart.code, restart.stderr],
      [1, 'error: deployments.apps "web" can\'t restart paused deployment (run rollout resume first)\n'],
    );
    assert.match(await s.kc(['describe', 'deployment', 'web']), /Progressing\s+Unknown\s+DeploymentPaused/);
    assert.equal(await s.kc(['rollout', 'resume', 'deployment/web']), 'deployment.apps/web resumed\n');
    assertRolloutTranscript(await s.kc(['rollout', 'status', 'deployment/web', '--timeout=30s']), 'web');
    assert.equal((await rsNames('web')).length, before.length + 1);
    assert.equal(await s.kc(['rollout', 'restart', 'deployment/web']), 'deployment.apps/web restarted\n');
    assertRolloutTranscript(await s.kc(['rollout', 'status', 'deployment/web', '--timeout=30s']), 'web');
    const d = await client.get<Obj<Deployment>>('deployments', 'default', 'web');
    assert.ok(d.spec?.template.metadata?.annotations?.['kubectl.kubernetes.io/restartedAt']);
    assert.equal(d.metadata.annotations?.['deployment.kubernetes.io/revision'], '6');
  });

  it('kubectl scale and kubectl wait --for=condition / jsonpath / delete', async () => {
    assert.equal(await s.kc(['scale', 'deployment', 'web', '--replicas=4']), 'deployment.apps/web scaled\n');
    assert.equal(
      await s.kc(['wait', '--for=condition=Available', 'deployment/web', '--timeout=30s']),
      'deployment.apps/web condition met\n',
    );
    assert.equal(
      await s.kc(['wait', '--for=jsonpath={.status.readyReplicas}=4', 'deployment/web', '--timeout=30s']),
      'deployment.apps/web condition met\n',
    );
    const pod = (await s.kc(['get', 'pods', '-l', 'app=web', '-o', 'name'])).trim().split('\n')[0] ?? '';
    assert.equal(await s.kc(['wait', '--for=condition=Ready', pod, '--timeout=30s']), `${pod} condition met\n`);
    // A finalizer keeps the deleted pod around until the test lets it go, so kubectl really waits.
    await s.kc(['patch', pod, '--type=merge', '-p', '{"metadata":{"finalizers":["svcnet.test/hold"]}}']);
    await s.kc(['delete', pod, '--wait=false']);
    const gone = s.kc(['wait', '--for=delete', pod, '--timeout=30s']);
    await new Promise((r) => setTimeout(r, 1000));
    await s.kc(['patch', pod, '--type=json', '-p', '[{"op":"remove","path":"/metadata/finalizers"}]']);
    assert.equal(await gone, `${pod} condition met\n`);
    // The ReplicaSet replaces it.
    await s.kc(['wait', '--for=jsonpath={.status.readyReplicas}=4', 'deployment/web', '--timeout=30s']);
  });

  it('a rollout that makes no progress ends kubectl rollout status with "exceeded its progress deadline"', async () => {
    await s.kc(['create', 'deployment', 'stuck', '--image=svcnet/echo', '--replicas=2']);
    await s.kc(['rollout', 'status', 'deployment/stuck', '--timeout=30s']);
    await s.kc(['set', 'image', 'deployment/stuck', 'echo=crash:1']);
    // Once the new pod exists nothing more can happen (it never turns Ready); a deadline shorter
    // than the time since that last progress has then passed for good.
    await s.kc(['wait', '--for=jsonpath={.status.updatedReplicas}=1', 'deployment/stuck', '--timeout=30s']);
    await s.kc(['patch', 'deployment', 'stuck', '-p', '{"spec":{"progressDeadlineSeconds":1}}']);
    const r = await s.kubectl(['rollout', 'status', 'deployment/stuck', '--timeout=30s']);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'error: deployment "stuck" exceeded its progress deadline\n');
    for (const l of r.stdout.trimEnd().split('\n').filter(Boolean))
      assert.ok(
        waiting.some((re) => re.test(l)),
        l,
      );
    const w = await s.kubectl(['wait', '--for=condition=Progressing', 'deployment/stuck', '--timeout=1s']);
    assert.deepEqual([w.code, w.stderr], [1, 'error: timed out waiting for the condition on deployments/stuck\n']);
    assert.match(await s.kc(['describe', 'deployment', 'stuck']), /Progressing\s+False\s+ProgressDeadlineExceeded/);
    // The old ReplicaSet still serves: maxUnavailable 25% of 2 is 0.
    assert.equal(await s.kc(['get', 'deployment', 'stuck', '-o', 'jsonpath={.status.availableReplicas}']), '2');
    assert.equal(log.includes('Error'), false, log);
  });

  it('bad ReplicaSets are refused with field paths, and nothing stored changes', async () => {
    const rs = (o: { replicas?: number; selector?: Record<string, string>; labels?: Record<string, string> } = {}) =>
      JSON.stringify({
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        metadata: { name: 'solo' },
        spec: {
          replicas: o.replicas ?? 1,
          selector: { matchLabels: o.selector ?? { app: 'solo' } },
          template: {
            metadata: { labels: o.labels ?? { app: 'solo' } },
            spec: { containers: [{ name: 'c', image: 'svcnet/echo' }] },
          },
        },
      });
    const mismatch = await s.kubectl(['create', '-f', '-'], rs({ labels: { app: 'other' } }));
    assert.equal(mismatch.code, 1);
    assert.match(
      mismatch.stderr,
      /The ReplicaSet "solo" is invalid: spec\.template\.metadata\.labels: Invalid value: .*`selector` does not match template `labels`/,
    );
    const negative = await s.kubectl(['create', '-f', '-'], rs({ replicas: -1 }));
    assert.match(negative.stderr, /spec\.replicas: Invalid value: -1: must be greater than or equal to 0/);
    await s.kc(['create', '-f', '-'], rs());
    await eventually('solo pod', async () => {
      const { items } = await client.list('pods', { namespace: 'default', labelSelector: 'app=solo' });
      return items.length === 1 || undefined;
    });
    const moved = await s.kubectl([
      'patch',
      'rs',
      'solo',
      '--type=merge',
      '-p',
      '{"spec":{"selector":{"matchLabels":{"app":"x"}},"template":{"metadata":{"labels":{"app":"x"}}}}}',
    ]);
    assert.match(moved.stderr, /spec\.selector: Invalid value: .*field is immutable/);
    const status = await s.kubectl([
      'patch',
      'rs',
      'solo',
      '--subresource=status',
      '--type=merge',
      '-p',
      '{"status":{"replicas":1,"readyReplicas":3}}',
    ]);
    assert.match(status.stderr, /status\.readyReplicas: Invalid value: 3: cannot be greater than status\.replicas/);
    const scaled = await s.kubectl(['scale', 'rs', 'solo', '--replicas=-2']);
    assert.equal(scaled.code, 1);
    const stored = await client.get<Obj<ReplicaSet>>('replicasets', 'default', 'solo');
    assert.deepEqual([stored.spec?.replicas, stored.spec?.selector], [1, { matchLabels: { app: 'solo' } }]);
    // A standalone ReplicaSet is the garbage collector's to clean up after: its pod goes with it.
    await s.kc(['delete', 'rs', 'solo']);
    await eventually('solo pod gone', async () => {
      const { items } = await client.list('pods', { namespace: 'default', labelSelector: 'app=solo' });
      return items.length === 0 || undefined;
    });
  });
});
