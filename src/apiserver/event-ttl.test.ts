// The Event reaper on a real store: Events expire a TTL after their last activity, a forged
// future time does not keep one alive, and the API server runs the reaper on its own.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../api/types.ts';
import { openStore } from '../store/open.ts';
import { EventReaper, lastActivity } from './event-ttl.ts';
import { ApiServer } from './server.ts';

const ev = (name: string, extra: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Event',
  metadata: { name, namespace: 'default' },
  involvedObject: { kind: 'Service', name: 'x', namespace: 'default' },
  reason: 'R',
  message: 'm',
  type: 'Normal',
  ...extra,
});
const key = (name: string) => ({ resource: 'events', namespace: 'default', name });

describe('Event TTL', () => {
  it('deletes Events whose last activity is older than the TTL', async () => {
    const store = await openStore({ kind: 'memory' });
    const t0 = Date.now();
    let now = t0;
    const reaper = new EventReaper(store, 3600, () => now);
    await store.create(key('old'), ev('old'));
    await store.create(key('renewed'), ev('renewed'));
    await store.create(key('forged'), ev('forged', { lastTimestamp: '2999-01-01T00:00:00Z' }));
    now = t0 + 1800_000;
    await store.update(key('renewed'), (o) => ({ ...o, lastTimestamp: new Date(now).toISOString(), count: 2 }));
    now = t0 + 3601_000;
    assert.equal(await reaper.sweep(), 2);
    assert.equal(await store.get(key('old')), undefined);
    assert.equal(await store.get(key('forged')), undefined);
    assert.ok(await store.get(key('renewed')));
    now = t0 + 1800_000 + 3601_000;
    assert.equal(await reaper.sweep(), 1);
    await store.close();
  });

  it('reads the latest of creation, lastTimestamp, eventTime and series, ignoring future ones', () => {
    const now = Date.parse('2026-01-01T12:00:00Z');
    const base = { ...ev('e'), metadata: { name: 'e', creationTimestamp: '2026-01-01T10:00:00Z' } };
    assert.equal(lastActivity(base, now), Date.parse('2026-01-01T10:00:00Z'));
    assert.equal(
      lastActivity({ ...base, series: { lastObservedTime: '2026-01-01T11:00:00.000000Z' } } as KubeObject, now),
      Date.parse('2026-01-01T11:00:00Z'),
    );
    assert.equal(
      lastActivity({ ...base, eventTime: '2026-01-01T13:00:00Z' } as KubeObject, now),
      Date.parse('2026-01-01T10:00:00Z'),
    );
  });

  it('the API server reaps on its own with a short TTL', async () => {
    const store = await openStore({ kind: 'memory' });
    const server = new ApiServer({ store, token: 't', port: 0, eventTTLSeconds: 0.4 });
    await server.initialize();
    try {
      await store.create(key('soon'), ev('soon'));
      const end = Date.now() + 5000;
      while ((await store.get(key('soon'))) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
      assert.equal(await store.get(key('soon')), undefined, 'the Event outlived its TTL');
    } finally {
      await server.stop();
      await store.close();
    }
  });
});
