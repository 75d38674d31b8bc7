// The contract between the agent core and a data plane. The agent owns informers, trackers,
// the sync runner, health and metrics; a data plane only turns snapshots into traffic paths.
import type { ProxySnapshot, SyncChanges } from './snapshot.ts';

/** Something a data plane wants recorded as a Kubernetes Event on a Service. */
export interface PlaneEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  service?: { namespace: string; name: string };
}

export interface DataPlane {
  readonly name: string;
  /**
   * Converge to `snapshot`. `changes` allows a partial update; with `changes.full` the plane
   * must not trust what it believes it has already applied. A throw makes the sync runner retry
   * with a full sync.
   */
  sync(snapshot: ProxySnapshot, changes: SyncChanges): Promise<void>;
  /** Called once by the agent before the first sync: where to report Events. */
  attach?(sink: { event(e: PlaneEvent): void }): void;
  /** Stop serving; in-flight work may finish for at most `drainMs`. */
  stop(opts?: { drainMs?: number }): Promise<void>;
}
