// The Deployment controller for svcnet's lab: Deployments own Pods directly (no ReplicaSet
// resource is served), grouped by pod-template-hash; plan.ts decides, this file applies.
//
// Expectations (client-go's ControllerExpectations, reduced): pods this controller just
// created or deleted are counted as such until the informer shows the change, so a sync that
// runs before the watch catches up does not create or delete the same pods twice.
//
// Pods whose Deployment is gone (or was recreated with a new uid) are the garbage collector's
// (controllers/gc): it honours the cascade the delete asked for, orphaning included.
import { isAlreadyExists, isConflict, isNotFound } from '../../api/status.ts';
import type { Deployment, KubeObject, Node, Pod } from '../../api/types.ts';
import type { Client } from '../../client/client.ts';
import { Informer } from '../../client/informer.ts';
import { EventRecorder } from '../loadbalancer/recorder.ts';
import { ok, type SyncResult } from '../runtime/result.ts';
import { runWorkers, type Workers } from '../runtime/runner.ts';
import { WorkQueue } from '../runtime/workqueue.ts';
import { canonicalJSON } from './hash.ts';
import { isSchedulable, RoundRobin } from './nodes.ts';
import { planDeployment } from './plan.ts';
import { deploymentOwner, podFor, podName } from './pod-template.ts';
import { isActive, podTemplateHashLabel } from './pods.ts';

export interface DeploymentControllerOptions {
  component?: string;
  workers?: number;
  onError?: (err: unknown) => void;
  now?: () => number;
  random?: () => number;
}

export interface DeploymentController {
  stop(): Promise<void>;
  /** Resolves once caches synced and every Deployment was processed once. */
  synced(): Promise<void>;
}

type Obj<T> = T & KubeObject;

interface Expectations {
  adds: Map<string, Pod>;
  dels: Set<string>;
}

const splitKey = (key: string): [string, string] => {
  const i = key.indexOf('/');
  return [key.slice(0, i), key.slice(i + 1)];
};

export function startDeploymentController(
  client: Client,
  opts: DeploymentControllerOptions = {},
): DeploymentController {
  const report = (err: unknown) => opts.onError?.(err);
  const now = opts.now ?? (() => Date.now());
  const deployments = new Informer<Obj<Deployment>>(client, 'deployments', { onError: report });
  const pods = new Informer<Obj<Pod>>(client, 'pods', { onError: report });
  const nodes = new Informer<Obj<Node>>(client, 'nodes', { onError: report });
  const recorder = new EventRecorder(client, { component: opts.component ?? 'deployment-controller', onError: report });
  const queue = new WorkQueue<string>();
  const rr = new RoundRobin();
  /** deployment key → names of pods whose controller reference names it */
  const byOwner = new Map<string, Set<string>>();
  const expectations = new Map<string, Expectations>();
  let workers: Workers | undefined;
  let stopped = false;

  const expect = (key: string): Expectations => {
    let e = expectations.get(key);
    if (!e) {
      e = { adds: new Map(), dels: new Set() };
      expectations.set(key, e);
    }
    return e;
  };

  pods.on((old, cur) => {
    for (const [p, present] of [
      [old, false],
      [cur, true],
    ] as const) {
      if (!p) continue;
      const owner = deploymentOwner(p);
      if (!owner) continue;
      const name = p.metadata.name ?? '';
      let set = byOwner.get(owner.key);
      if (present) {
        if (!set) byOwner.set(owner.key, (set = new Set()));
        set.add(name);
        expectations.get(owner.key)?.adds.delete(name);
      } else if (!cur || deploymentOwner(cur)?.key !== owner.key) {
        set?.delete(name);
        if (set?.size === 0) byOwner.delete(owner.key);
        expectations.get(owner.key)?.dels.delete(name);
      }
      queue.add(owner.key);
    }
  });
  deployments.on((old, cur) => {
    const d = cur ?? old;
    if (d) queue.add(`${d.metadata.namespace ?? ''}/${d.metadata.name ?? ''}`);
  });
  nodes.on((old, cur) => {
    if ((old ? isSchedulable(old) : false) === (cur ? isSchedulable(cur) : false)) return;
    for (const d of deployments.list()) queue.add(`${d.metadata.namespace ?? ''}/${d.metadata.name ?? ''}`);
  });

  const ownedPods = (key: string): Obj<Pod>[] => {
    const [ns] = splitKey(key);
    const e = expectations.get(key);
    const out: Obj<Pod>[] = [];
    for (const name of byOwner.get(key) ?? []) {
      if (e?.dels.has(name)) continue;
      const p = pods.get(ns, name);
      if (p) out.push(p);
    }
    for (const [name, p] of e?.adds ?? []) if (!pods.get(ns, name)) out.push(p as Obj<Pod>);
    return out;
  };

  const deletePod = async (key: string, p: Pod): Promise<void> => {
    const name = p.metadata?.name ?? '';
    try {
      await client.delete('pods', p.metadata?.namespace ?? '', name, { preconditions: { uid: p.metadata?.uid ?? '' } });
    } catch (err) {
      // Conflict: a uid precondition that no longer holds, the pod was replaced under its name.
      if (!isNotFound(err) && !isConflict(err)) throw err;
    }
    expect(key).dels.add(name);
  };

  const createPod = async (key: string, d: Obj<Deployment>, hash: string, rsName: string, node: string) => {
    for (let attempt = 0; ; attempt++) {
      const pod = podFor(d, hash, podName(rsName, opts.random), node);
      try {
        const created = await client.create<Obj<Pod>>('pods', pod as Obj<Pod>);
        expect(key).adds.set(created.metadata.name ?? '', created);
        return;
      } catch (err) {
        // A 5-character suffix can collide; a new one will not, soon.
        if (!isAlreadyExists(err) || attempt >= 4) throw err;
      }
    }
  };

  const sync = async (key: string): Promise<SyncResult> => {
    const [ns, name] = splitKey(key);
    const d = deployments.get(ns, name);
    const owned = ownedPods(key);
    if (!d) {
      expectations.delete(key);
      return ok;
    }
    const uid = d.metadata.uid ?? '';
    const mine = owned.filter((p) => deploymentOwner(p)?.uid === uid);
    if (d.metadata.deletionTimestamp) return ok;

    const plan = planDeployment(d, mine, now());
    const newBefore = mine.filter(
      (p) => isActive(p) && p.metadata?.labels?.[podTemplateHashLabel] === plan.hash,
    ).length;
    let created = 0;
    for (let i = 0; i < plan.create; i++) {
      const node = rr.pick(nodes.list());
      if (!node) {
        await recorder.record(d, 'Warning', 'FailedCreate', 'Error creating: no schedulable Ready node to run pods on');
        break;
      }
      await createPod(key, d, plan.hash, plan.replicaSetName, node);
      created++;
    }
    if (created > 0)
      await recorder.record(
        d,
        'Normal',
        'ScalingReplicaSet',
        `Scaled up replica set ${plan.replicaSetName} from ${newBefore} to ${newBefore + created}`,
      );
    const byHash = new Map<string, Pod[]>();
    for (const p of plan.delete) {
      const h = p.metadata?.labels?.[podTemplateHashLabel] ?? '';
      byHash.set(h, [...(byHash.get(h) ?? []), p]);
    }
    for (const [h, victims] of byHash) {
      for (const p of victims) await deletePod(key, p);
      const had = mine.filter((p) => isActive(p) && (p.metadata?.labels?.[podTemplateHashLabel] ?? '') === h).length;
      await recorder.record(
        d,
        'Normal',
        'ScalingReplicaSet',
        `Scaled down replica set ${name}-${h} from ${had} to ${had - victims.length}`,
      );
    }
    if (canonicalJSON(d.status ?? {}) !== canonicalJSON(plan.status)) {
      try {
        await client.patch('deployments', ns, name, 'merge', { status: plan.status }, { subresource: 'status' });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    if (plan.requeueAfterMs !== undefined) queue.addAfter(key, plan.requeueAfterMs + 5);
    return ok;
  };

  const ready = (async () => {
    deployments.start();
    pods.start();
    nodes.start();
    await Promise.all([deployments.waitForSync(), pods.waitForSync(), nodes.waitForSync()]);
    if (stopped) return;
    workers = runWorkers(queue, sync, {
      workers: opts.workers ?? 2,
      onError: (key, r) => report(new Error(`sync deployment ${key}: ${r.reason}`)),
    });
    await queue.idle();
  })();

  return {
    async stop() {
      stopped = true;
      deployments.stop();
      pods.stop();
      nodes.stop();
      queue.shutDown();
      await workers?.stopped;
    },
    synced: () => ready,
  };
}
