// Restarts on the durable store: allocations survive (no double allocation after a restart),
// and the repair pass reports Services whose addresses no longer fit the configuration.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { KubeObject } from '../src/api/types.ts';
import { createInProcessCluster } from '../src/client/cluster.ts';

type Svc = KubeObject & { spec: { clusterIP: string; ports: { nodePort?: number }[] } };

function nodePortService(name: string) {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'default' },
    spec: { type: 'NodePort', ports: [{ port: 80 }] },
  };
}

describe('apiserver restarts on the sqlite store', () => {
  it('keeps every allocation across restarts: new Services never reuse an address or port', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'svcnet-restart-'));
    const store = { kind: 'sqlite' as const, path: join(dir, 'svcnet.db') };
    // A /28 has 14 usable addresses and a 20-port range: collisions would show quickly.
    const cfg = { store, serviceCIDRs: ['10.97.0.0/28'], nodePortRange: '30000-30019' };
    try {
      const ips = new Set<string>();
      const ports = new Set<number>();
      for (let round = 0; round < 3; round++) {
        const c = await createInProcessCluster(cfg);
        try {
          for (let i = 0; i < 4; i++) {
            const s = (await c.client.create<KubeObject>('services', nodePortService(`r${round}-${i}`))) as Svc;
            assert.ok(!ips.has(s.spec.clusterIP), `IP ${s.spec.clusterIP} reused after restart`);
            ips.add(s.spec.clusterIP);
            const p = s.spec.ports[0]?.nodePort ?? 0;
            assert.ok(!ports.has(p), `port ${p} reused after restart`);
            ports.add(p);
          }
          const k = (await c.client.get('services', 'default', 'kubernetes')) as Svc;
          assert.equal(k.spec.clusterIP, '10.97.0.1', 'default/kubernetes keeps the first address');
        } finally {
          await c.close();
        }
      }
      assert.equal(ips.size, 12);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports out-of-range addresses as Events after the service range changes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'svcnet-repair-'));
    const store = { kind: 'sqlite' as const, path: join(dir, 'svcnet.db') };
    try {
      const a = await createInProcessCluster({ store, serviceCIDRs: ['10.96.0.0/24'] });
      const old = (await a.client.create<KubeObject>('services', nodePortService('stranded'))) as Svc;
      await a.close();

      const b = await createInProcessCluster({ store, serviceCIDRs: ['10.98.0.0/24'] });
      try {
        const events = await b.client.list('events', { namespace: 'default' });
        const ev = events.items.find(
          (e) => (e.involvedObject as { name?: string }).name === 'stranded' && e.reason === 'ClusterIPOutOfRange',
        );
        assert.ok(ev, JSON.stringify(events.items.map((e) => [e.reason, e.message])));
        assert.match(String(ev.message), new RegExp(old.spec.clusterIP.replace(/\./g, '\\.')));
        assert.equal(ev.type, 'Warning');
      } finally {
        await b.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
