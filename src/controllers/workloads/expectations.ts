// client-go's ControllerExpectations (UIDTrackingControllerExpectations, reduced): after a sync
// creates or deletes pods, the next one waits until the informer has shown those changes before
// it counts pods again, or it would create (or delete) the same replicas twice. Expectations
// expire after five minutes, so a lost watch event cannot wedge a ReplicaSet.
const ttlMs = 5 * 60_000;

interface Entry {
  adds: number;
  dels: Set<string>;
  at: number;
}

export class Expectations {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly now: () => number = Date.now) {}

  /** SatisfiedExpectations: nothing pending, expired, or never set. */
  satisfied(key: string): boolean {
    const e = this.entries.get(key);
    if (!e) return true;
    return (e.adds <= 0 && e.dels.size === 0) || this.now() - e.at > ttlMs;
  }

  expectCreations(key: string, n: number): void {
    this.entries.set(key, { adds: n, dels: new Set(), at: this.now() });
  }

  expectDeletions(key: string, podKeys: readonly string[]): void {
    this.entries.set(key, { adds: 0, dels: new Set(podKeys), at: this.now() });
  }

  /** A create was seen by the informer, or failed, or was never tried. */
  creationObserved(key: string): void {
    const e = this.entries.get(key);
    if (e) e.adds--;
  }

  /** The pod is gone or has its deletionTimestamp, or its delete failed. */
  deletionObserved(key: string, podKey: string): void {
    this.entries.get(key)?.dels.delete(podKey);
  }

  delete(key: string): void {
    this.entries.delete(key);
  }
}
