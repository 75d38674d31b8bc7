// A data plane driven the way the agent drives it: through the real SyncRunner on a fake clock,
// so tests see what the runner decides (full or partial, retries, the periodic resync) and what
// the plane then does with it. Not used at runtime.
import { FakeLabClock } from '../../lab/clock.ts';
import type { DataPlane } from '../plane.ts';
import { type ProxySnapshot, syncChanges } from '../snapshot.ts';
import { type SyncContext, SyncRunner } from '../sync-runner.ts';
import type { ServicePortKey } from '../types.ts';

export interface DrivenPlane {
  readonly clock: FakeLabClock;
  readonly runner: SyncRunner;
  /** Every sync the runner started, in order. */
  readonly runs: readonly (SyncContext & { at: number; failed: boolean })[];
  /** The snapshot changed at `keys`: a sync is requested. */
  set(snapshot: ProxySnapshot, keys?: Iterable<ServicePortKey>): void;
  stop(): Promise<void>;
}

export function drive(plane: DataPlane, o: { minIntervalMs?: number; maxIntervalMs?: number } = {}): DrivenPlane {
  const clock = new FakeLabClock();
  let snapshot: ProxySnapshot | undefined;
  let pending = new Set<ServicePortKey>();
  const runs: (SyncContext & { at: number; failed: boolean })[] = [];
  const runner = new SyncRunner(
    async (ctx) => {
      const run = { ...ctx, at: clock.now(), failed: false };
      runs.push(run);
      if (!snapshot) return;
      const keys = pending;
      pending = new Set();
      try {
        await plane.sync(snapshot, syncChanges({ full: ctx.full, services: keys, endpoints: keys }));
      } catch (e) {
        for (const k of keys) pending.add(k);
        run.failed = true;
        throw e;
      }
    },
    { minIntervalMs: o.minIntervalMs ?? 1000, maxIntervalMs: o.maxIntervalMs ?? 30_000, clock },
  );
  runner.start();
  return {
    clock,
    runner,
    runs,
    set(s, keys = []) {
      snapshot = s;
      for (const k of keys) pending.add(k);
      runner.run();
    },
    stop: () => runner.stop(),
  };
}
