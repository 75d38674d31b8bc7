// Events expire, as kube-apiserver's --event-ttl (default one hour) makes them: there each
// Event is written with an etcd lease that every update renews. The store has no leases, so a
// reaper deletes Events whose last activity is older than the TTL. Last activity is the latest
// of creation and the times the reporter gives (lastTimestamp, eventTime, series) that are not
// in the future: a forged future time cannot keep an Event forever.
import { isNotFound } from '../api/status.ts';
import type { KubeObject } from '../api/types.ts';
import type { Store } from '../store/store.ts';

export const defaultEventTTLSeconds = 3600;

function millis(v: unknown): number {
  if (typeof v !== 'string') return Number.NaN;
  return Date.parse(v);
}

/** When an Event was last written to, by the times it carries (epoch ms). */
export function lastActivity(ev: KubeObject, now: number): number {
  const e = ev as KubeObject & {
    lastTimestamp?: unknown;
    eventTime?: unknown;
    series?: { lastObservedTime?: unknown };
  };
  let t = millis(ev.metadata.creationTimestamp);
  if (Number.isNaN(t)) t = now;
  for (const v of [e.lastTimestamp, e.eventTime, e.series?.lastObservedTime]) {
    const m = millis(v);
    if (!Number.isNaN(m) && m <= now && m > t) t = m;
  }
  return t;
}

export class EventReaper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;

  constructor(
    private readonly store: Store,
    private readonly ttlSeconds: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Sweeps every minute (or twice per TTL when that is shorter); the timer never holds the process. */
  start(): void {
    if (this.ttlSeconds <= 0 || this.timer) return;
    const every = Math.min(60_000, (this.ttlSeconds * 1000) / 2);
    this.timer = setInterval(() => {
      // A failed sweep (the store closing under it) is retried by the next tick.
      this.running ??= this.sweep()
        .catch(() => 0)
        .finally(() => {
          this.running = undefined;
        });
    }, every);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Deletes the expired Events; resolves with how many. */
  async sweep(): Promise<number> {
    const now = this.now();
    const cutoff = now - this.ttlSeconds * 1000;
    const { items } = await this.store.list('events');
    let n = 0;
    for (const ev of items) {
      if (lastActivity(ev, now) > cutoff) continue;
      try {
        await this.store.delete({
          resource: 'events',
          namespace: ev.metadata.namespace ?? '',
          name: ev.metadata.name ?? '',
        });
        n++;
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
    return n;
  }
}
