import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isConflict, isInvalid, isNotFound } from '../api/status.ts';
import type { KubeObject } from '../api/types.ts';
import type { WatchEvent } from './client.ts';
import { createInProcessCluster } from './cluster.ts';

describe('in-process client', () => {
  it('writes go through defaulting, validation and allocation', async () => {
    const c = await createInProcessCluster();
    try {
      const svc = await c.client.create('services', {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'a', namespace: 'default' },
        spec: { type: 'NodePort', ports: [{ port: 80 }] },
      });
      const spec = svc.spec as unknown as { clusterIP: string; ports: { nodePort: number; targetPort: number }[] };
      assert.match(spec.clusterIP, /^10\./);
      assert.ok(spec.ports[0] && spec.ports[0].nodePort >= 30000);
      assert.equal(spec.ports[0]?.targetPort, 80);
      await assert.rejects(
        c.client.create('services', {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: 'B', namespace: 'default' },
          spec: {},
        }),
        isInvalid,
      );
      await assert.rejects(c.client.get('services', 'default', 'zzz'), isNotFound);
      const stale = { ...svc, metadata: { ...svc.metadata, resourceVersion: '1' } };
      await assert.rejects(c.client.update('services', stale), isConflict);
      const patched = await c.client.patch('services', 'default', 'a', 'merge', { metadata: { labels: { x: 'y' } } });
      assert.deepEqual(patched.metadata.labels, { x: 'y' });
    } finally {
      await c.close();
    }
  });

  it('watch delivers events and reports expired versions through onClose', async () => {
    const c = await createInProcessCluster({ store: { kind: 'memory', historyLimit: 5 } });
    try {
      const events: WatchEvent<KubeObject>[] = [];
      const list = await c.client.list('services', { namespace: 'default' });
      const w = c.client.watch(
        'services',
        { namespace: 'default', resourceVersion: list.resourceVersion },
        (e) => events.push(e),
        () => {},
      );
      await c.client.create('services', {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'w', namespace: 'default' },
        spec: { ports: [{ port: 1 }] },
      });
      assert.equal(events[0]?.type, 'ADDED');
      w.stop();
      for (let i = 0; i < 10; i++) {
        await c.client.create('services', {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: `f${i}`, namespace: 'default' },
          spec: { ports: [{ port: 1 }] },
        });
      }
      const err = await new Promise<unknown>((resolve) => {
        c.client.watch('services', { resourceVersion: '1' }, () => {}, resolve);
      });
      assert.equal((err as { code: number }).code, 410);
    } finally {
      await c.close();
    }
  });
});
