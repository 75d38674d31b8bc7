// Plays the kubelet for controller tests that run no lab (the lab's pod runner is the real one,
// driven by the up and lab tests): pods bound to a node turn Running and Ready a little after
// they appear, unless `neverReady` says they crash; gracefully deleted pods are finished
// (removed for good) after `terminateAfterMs`.
import { isConflict, isNotFound } from '../../src/api/status.ts';
import type { KubeObject, Pod } from '../../src/api/types.ts';
import type { Client } from '../../src/client/client.ts';
import { Informer } from '../../src/client/informer.ts';

type PodObj = Pod & KubeObject;

export interface TestKubelet {
  stop(): void;
}

const nowISO = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

export function startTestKubelet(
  client: Client,
  opts: { readyAfterMs?: number; terminateAfterMs?: number; neverReady?: (p: Pod) => boolean } = {},
): TestKubelet {
  const pods = new Informer<PodObj>(client, 'pods');
  const timers = new Set<NodeJS.Timeout>();
  // A conflict means another writer (a controller adopting the pod) got there first: try again.
  const later = (ms: number, fn: () => Promise<unknown>, tries = 5) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn().catch((e) => {
        if (isConflict(e) && tries > 1) later(10, fn, tries - 1);
        else if (!isNotFound(e)) throw e;
      });
    }, ms);
    timers.add(t);
  };
  const pending = new Set<string>();
  pods.on((_old, cur) => {
    if (!cur?.spec?.nodeName) return;
    const ns = cur.metadata.namespace ?? '';
    const name = cur.metadata.name ?? '';
    if (cur.metadata.deletionTimestamp) {
      later(0, () =>
        client.delete('pods', ns, name, { gracePeriodSeconds: 0, preconditions: { uid: cur.metadata.uid ?? '' } }),
      );
      return;
    }
    const ready = cur.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
    const key = cur.metadata.uid ?? '';
    if (ready || pending.has(key) || opts.neverReady?.(cur)) return;
    pending.add(key);
    later(opts.readyAfterMs ?? 100, async () => {
      const p = await client.get<PodObj>('pods', ns, name);
      if (p.metadata.uid !== key || p.metadata.deletionTimestamp) return;
      const ts = nowISO();
      await client.updateStatus('pods', {
        ...p,
        status: {
          phase: 'Running',
          startTime: ts,
          conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: ts }],
          containerStatuses: (p.spec?.containers ?? []).map((c) => ({
            name: c.name,
            image: c.image ?? '',
            imageID: '',
            ready: true,
            restartCount: 0,
            started: true,
            state: { running: { startedAt: ts } },
          })),
        },
      });
    });
  });
  pods.start();
  return {
    stop() {
      pods.stop();
      for (const t of timers) clearTimeout(t);
    },
  };
}
