// The contract between the agent core and a data plane. The agent owns informers, trackers,
// the sync runner, health and metrics; a data plane only turns snapshots into traffic paths.
import type { PlaneExplainer } from './explain/types.ts';
import type { ProxySnapshot, SyncChanges } from './snapshot.ts';

/** Something a data plane wants recorded as a Kubernetes Event on a Service. */
export interface PlaneEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  service?: { namespace: string; name: string };
}

/**
 * Thrown by a plane asked for a partial sync it cannot do (nothing applied yet, or the node
 * environment it rendered against changed): the runner retries at once with a full sync.
 */
export class NeedsFullSyncError extends Error {
  readonly code = 'NEEDS_FULL_SYNC';
  constructor(why: string) {
    super(`partial sync impossible: ${why}`);
    this.name = 'NeedsFullSyncError';
  }
}

/** Where a plane reports to the agent (attach()). */
export interface PlaneSink {
  event(e: PlaneEvent): void;
  /**
   * The plane found its environment changed (kernel state it owns altered or gone, a dependency
   * restarted): the runner makes the next sync full. Planes never choose full vs partial.
   */
  environmentChanged(why: string): void;
}

export interface DataPlane {
  readonly name: string;
  /**
   * Converge to `snapshot`. With `changes.full` the plane rewrites everything it owns and must
   * not trust what it believes it has already applied; otherwise it applies only `changes`. The
   * sync runner alone decides which; a throw makes it retry with a full sync.
   */
  sync(snapshot: ProxySnapshot, changes: SyncChanges): Promise<void>;
  /** Called once by the agent before the first sync: where to report Events and changes. */
  attach?(sink: PlaneSink): void;
  /**
   * `svcnet explain` (explain/types.ts): the programmed path of a packet, read back from what
   * the plane really has (the kernel, its listeners), and where a real flow landed. Every plane
   * in planes.ts provides one (planes.test.ts checks).
   */
  readonly explainer?: PlaneExplainer;
  /** Stop serving; in-flight work may finish for at most `drainMs`. */
  stop(opts?: { drainMs?: number }): Promise<void>;
}
