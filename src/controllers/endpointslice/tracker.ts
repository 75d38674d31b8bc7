// EndpointSliceTracker (k8s.io/endpointslice endpointslice_tracker.go): remembers the generation
// of every slice this controller wrote, per Service. Two uses:
// - a sync must not run on an informer cache that has not yet seen our own last writes, or it
//   would create the same slices a second time (the cache cannot show a slice it has not seen);
// - informer events that merely echo our own writes need not queue the Service again.
import type { EndpointSlice } from '../../api/types.ts';

const deletionExpected = -1;
/**
 * How long a sync waits for the cache to show our writes. Past it the expectations are dropped:
 * an object created and deleted by someone else between two lists is never seen at all, and
 * must not wedge the Service forever.
 */
export const staleTimeoutMs = 30_000;

export class SliceTracker {
  private readonly byService = new Map<string, Map<string, number>>();
  private readonly lastWrite = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Record a slice as written (the object returned by create/update). */
  update(svcKey: string, slice: EndpointSlice): void {
    const uid = slice.metadata?.uid;
    if (!uid) return;
    this.gens(svcKey).set(uid, slice.metadata?.generation ?? 0);
    this.lastWrite.set(svcKey, this.now());
  }

  expectDeletion(svcKey: string, slice: EndpointSlice): void {
    const uid = slice.metadata?.uid;
    if (uid) this.gens(svcKey).set(uid, deletionExpected);
    this.lastWrite.set(svcKey, this.now());
  }

  /** Whether an add/update event carries a change we did not make ourselves. */
  shouldSync(svcKey: string, slice: EndpointSlice): boolean {
    const g = this.byService.get(svcKey)?.get(slice.metadata?.uid ?? '');
    return g === undefined || (slice.metadata?.generation ?? 0) > g;
  }

  /** A delete event: true when it was not one we asked for (the Service must be synced). */
  handleDeletion(svcKey: string, slice: EndpointSlice): boolean {
    const m = this.byService.get(svcKey);
    const uid = slice.metadata?.uid ?? '';
    const g = m?.get(uid);
    m?.delete(uid);
    return g !== deletionExpected;
  }

  /** The cache is behind our writes for this Service. */
  stale(svcKey: string, cached: readonly EndpointSlice[]): boolean {
    const m = this.byService.get(svcKey);
    if (!m) return false;
    if (this.now() - (this.lastWrite.get(svcKey) ?? 0) > staleTimeoutMs) {
      this.deleteService(svcKey);
      return false;
    }
    const seen = new Set<string>();
    for (const s of cached) {
      const uid = s.metadata?.uid ?? '';
      seen.add(uid);
      const g = m.get(uid);
      if (g !== undefined && (g === deletionExpected || g > (s.metadata?.generation ?? 0))) return true;
    }
    for (const [uid, g] of m) if (g !== deletionExpected && !seen.has(uid)) return true;
    return false;
  }

  deleteService(svcKey: string): void {
    this.byService.delete(svcKey);
    this.lastWrite.delete(svcKey);
  }

  private gens(svcKey: string): Map<string, number> {
    let m = this.byService.get(svcKey);
    if (!m) {
      m = new Map();
      this.byService.set(svcKey, m);
    }
    return m;
  }
}
