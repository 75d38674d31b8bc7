// Events written through the Client, so controllers report what they did or could not do in
// `kubectl describe` and `kubectl get events` on any API server. Repeats of the same
// (object, type, reason, message) bump `count` and `lastTimestamp` on the first Event instead
// of piling up new ones, as client-go's EventCorrelator does; a controller that retries a
// pending Service every time a pool changes would otherwise flood the namespace.
//
// kubectl describe finds events by fieldSelector involvedObject.{name,namespace,kind,uid}, so
// those four are copied from the object exactly.
import { randomBytes } from 'node:crypto';
import { isNotFound } from '../../api/status.ts';
import type { KubeObject } from '../../api/types.ts';
import type { Client } from '../../client/client.ts';

export type EventType = 'Normal' | 'Warning';

export interface RecorderOptions {
  /** source.component / reportingComponent, e.g. "svcnet-lb-controller". */
  component: string;
  now?: () => Date;
  /** Events are best effort: failures go here and never to the caller. */
  onError?: (err: unknown) => void;
  /** How many distinct events to remember for aggregation. */
  cacheSize?: number;
}

interface Seen {
  namespace: string;
  name: string;
  count: number;
}

const rfc3339 = (d: Date): string => d.toISOString().replace(/\.\d+Z$/, 'Z');

export class EventRecorder {
  private readonly seen = new Map<string, Seen>();
  private readonly now: () => Date;
  private readonly cacheSize: number;

  constructor(
    private readonly client: Client,
    private readonly opts: RecorderOptions,
  ) {
    this.now = opts.now ?? (() => new Date());
    this.cacheSize = opts.cacheSize ?? 4096;
  }

  async record(involved: KubeObject, type: EventType, reason: string, message: string): Promise<void> {
    try {
      await this.write(involved, type, reason, message);
    } catch (err) {
      this.opts.onError?.(err);
    }
  }

  private async write(involved: KubeObject, type: EventType, reason: string, message: string): Promise<void> {
    const m = involved.metadata;
    const key = [involved.kind, m.namespace ?? '', m.name ?? '', m.uid ?? '', type, reason, message].join('\u0000');
    const ts = rfc3339(this.now());
    const prev = this.seen.get(key);
    if (prev) {
      try {
        await this.client.patch('events', prev.namespace, prev.name, 'merge', {
          count: prev.count + 1,
          lastTimestamp: ts,
        });
        prev.count++;
        // Refresh recency for the LRU eviction below.
        this.seen.delete(key);
        this.seen.set(key, prev);
        return;
      } catch (err) {
        if (!isNotFound(err)) throw err;
        this.seen.delete(key);
      }
    }
    const namespace = m.namespace || 'default';
    const name = `${m.name ?? 'object'}.${randomBytes(8).toString('hex')}`;
    const event: KubeObject = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace },
      involvedObject: {
        apiVersion: involved.apiVersion,
        kind: involved.kind,
        ...(m.namespace ? { namespace: m.namespace } : {}),
        name: m.name,
        uid: m.uid,
        resourceVersion: m.resourceVersion,
      },
      reason,
      message,
      source: { component: this.opts.component },
      firstTimestamp: ts,
      lastTimestamp: ts,
      count: 1,
      type,
      reportingComponent: this.opts.component,
      reportingInstance: '',
    };
    await this.client.create('events', event);
    this.seen.set(key, { namespace, name, count: 1 });
    if (this.seen.size > this.cacheSize) {
      const oldest = this.seen.keys().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
  }
}
