// The IPVS plane on the fake kernel: golden dumps of the rendered IPVS table and helper table,
// reconcile in place (never a flush, stale state from a crash corrected), graceful termination,
// per-Service schedulers with an Event for a bad one.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fixtureSnapshot } from '../conformance/fixture.ts';
import { FakeRelay } from '../localhost-relay.ts';
import type { PlaneEvent } from '../plane.ts';
import { syncChanges } from '../snapshot.ts';
import { ep, snapshotOf, svcPort } from '../testing/fixtures.ts';
import { FakeIpvsApplier } from './applier.ts';
import { IpvsPlane } from './plane.ts';
import { renderIpvs, saveText } from './render.ts';

const full = syncChanges({ full: true });
const golden = (name: string, got: string) => {
  const file = join(import.meta.dirname, 'testdata', name);
  if (process.env.UPDATE_GOLDEN) writeFileSync(file, got);
  assert.equal(got, readFileSync(file, 'utf8'), `${name} differs (UPDATE_GOLDEN=1 rewrites it)`);
};

function plane(o: { now?: () => number; drainMs?: number } = {}) {
  const applier = new FakeIpvsApplier();
  const events: PlaneEvent[] = [];
  const p = new IpvsPlane({
    serviceCIDRs: ['10.96.0.0/16'],
    applier,
    conntrack: { clean: async () => 0 },
    relay: new FakeRelay(),
    drainCheckMs: 3_600_000,
    ...o,
  });
  p.attach({ event: (e) => events.push(e), environmentChanged: () => {} });
  return { p, applier, events };
}

describe('IPVS plane (fake kernel)', () => {
  it('renders the conformance fixture: golden ipvsadm-save and helper table', () => {
    const r = renderIpvs(fixtureSnapshot(), { serviceCIDRs: ['10.96.0.0/16'], masqueradeAll: false });
    golden('fixture.ipvs', saveText(r.table));
    golden('fixture.nft', r.helper.text);
    golden('fixture.bound', `${r.bound.join('\n')}\n`);
  });

  it('binds service addresses, programs virtual servers, and a second sync changes nothing', async () => {
    const { p, applier } = plane();
    const s = snapshotOf([[svcPort('ns', 'a', { clusterIPs: ['10.96.0.5'] }), [ep('10.244.0.11', 8080)]]]);
    await p.sync(s, full);
    assert.deepEqual([...applier.addresses], ['10.96.0.5']);
    assert.equal(applier.ipvs.dump(), '-A -t 10.96.0.5:80 -s rr\n-a -t 10.96.0.5:80 -r 10.244.0.11:8080 -m -w 1\n');
    const restores = applier.ipvs.restores;
    await p.sync(s, full);
    assert.equal(applier.ipvs.restores, restores, 'nothing to change: no ipvsadm restore at all');
  });

  it('corrects what a crashed run left, leaving foreign virtual servers alone, without a flush', async () => {
    const { p, applier } = plane();
    applier.addresses.add('10.96.0.9'); // ours: bound on svcnet-ipvs0 by the previous run
    applier.ipvs.load(
      [
        '-A -t 10.96.0.5:80 -s wlc',
        '-a -t 10.96.0.5:80 -r 10.244.0.11:8080 -m -w 1',
        '-a -t 10.96.0.5:80 -r 10.244.0.99:8080 -m -w 1',
        '-A -t 10.96.0.9:80 -s rr',
        '-A -t 172.16.0.1:443 -s rr',
      ].join('\n'),
    );
    const s = snapshotOf([[svcPort('ns', 'a', { clusterIPs: ['10.96.0.5'] }), [ep('10.244.0.11', 8080)]]]);
    await p.sync(s, full);
    assert.equal(
      applier.ipvs.dump(),
      [
        '-A -t 10.96.0.5:80 -s rr',
        '-a -t 10.96.0.5:80 -r 10.244.0.11:8080 -m -w 1',
        // A real server that left drains (weight 0) instead of losing its connections.
        '-a -t 10.96.0.5:80 -r 10.244.0.99:8080 -m -w 0',
        '-A -t 172.16.0.1:443 -s rr',
        '',
      ].join('\n'),
    );
    assert.deepEqual([...applier.addresses], ['10.96.0.5']);
  });

  it('graceful termination: a TCP real server drains until its connections end; UDP goes at once', async () => {
    let now = 0;
    const { p, applier } = plane({ now: () => now, drainMs: 10_000 });
    const tcp = svcPort('ns', 'a', { clusterIPs: ['10.96.0.5'] });
    const udp = svcPort('ns', 'd', { clusterIPs: ['10.96.0.6'], protocol: 'UDP', port: 53 });
    const both = [ep('10.244.0.11', 8080), ep('10.244.0.12', 8080)];
    await p.sync(
      snapshotOf([
        [tcp, both],
        [udp, [ep('10.244.0.11', 53), ep('10.244.0.12', 53)]],
      ]),
      full,
    );
    const one = snapshotOf([
      [tcp, [ep('10.244.0.11', 8080)]],
      [udp, [ep('10.244.0.11', 53)]],
    ]);
    applier.ipvs.conns.set('TCP/10.96.0.5:80 10.244.0.12:8080', { active: 1, inactive: 0 });
    await p.sync(one, syncChanges());
    assert.match(applier.ipvs.dump(), /-a -t 10\.96\.0\.5:80 -r 10\.244\.0\.12:8080 -m -w 0/);
    assert.doesNotMatch(applier.ipvs.dump(), /-u 10\.96\.0\.6:53 -r 10\.244\.0\.12:53/);
    assert.equal(p.stats.draining, 1);
    now = 5_000;
    await p.sync(one, syncChanges());
    assert.match(applier.ipvs.dump(), /10\.244\.0\.12:8080 -m -w 0/, 'still busy, within the bound');
    applier.ipvs.conns.set('TCP/10.96.0.5:80 10.244.0.12:8080', { active: 0, inactive: 0 });
    await p.sync(one, syncChanges());
    assert.doesNotMatch(applier.ipvs.dump(), /10\.244\.0\.12:8080/, 'drained: deleted');
    assert.equal(p.stats.draining, 0);
  });

  it('a drain is bounded: busy connections past the deadline do not keep a real server', async () => {
    let now = 0;
    const { p, applier } = plane({ now: () => now, drainMs: 10_000 });
    const tcp = svcPort('ns', 'a', { clusterIPs: ['10.96.0.5'] });
    await p.sync(snapshotOf([[tcp, [ep('10.244.0.11', 8080), ep('10.244.0.12', 8080)]]]), full);
    applier.ipvs.conns.set('TCP/10.96.0.5:80 10.244.0.12:8080', { active: 5, inactive: 2 });
    const one = snapshotOf([[tcp, [ep('10.244.0.11', 8080)]]]);
    await p.sync(one, syncChanges());
    now = 10_001;
    await p.sync(one, syncChanges());
    assert.doesNotMatch(applier.ipvs.dump(), /10\.244\.0\.12:8080/);
  });

  it('a returning endpoint gets its weight back instead of a second entry', async () => {
    const { p, applier } = plane();
    const tcp = svcPort('ns', 'a', { clusterIPs: ['10.96.0.5'] });
    const two = snapshotOf([[tcp, [ep('10.244.0.11', 8080), ep('10.244.0.12', 8080)]]]);
    await p.sync(two, full);
    applier.ipvs.conns.set('TCP/10.96.0.5:80 10.244.0.12:8080', { active: 1, inactive: 0 });
    await p.sync(snapshotOf([[tcp, [ep('10.244.0.11', 8080)]]]), syncChanges());
    await p.sync(two, syncChanges());
    assert.match(applier.ipvs.dump(), /10\.244\.0\.12:8080 -m -w 1/);
    assert.equal(p.stats.draining, 0);
  });

  it('per-Service schedulers by annotation; a bad one falls back with one Warning Event', async () => {
    const { p, applier, events } = plane();
    const mh = svcPort('ns', 'mh', { clusterIPs: ['10.96.0.7'] });
    const bad = svcPort('ns', 'bad', { clusterIPs: ['10.96.0.8'] });
    const s = snapshotOf([
      [{ ...mh, ipvsScheduler: 'mh' }, [ep('10.244.0.11', 8080)]],
      [{ ...bad, ipvsScheduler: 'fastest' }, [ep('10.244.0.11', 8080)]],
    ]);
    await p.sync(s, full);
    await p.sync(s, full);
    assert.match(applier.ipvs.dump(), /-A -t 10\.96\.0\.7:80 -s mh/);
    assert.match(applier.ipvs.dump(), /-A -t 10\.96\.0\.8:80 -s rr/);
    assert.equal(events.length, 1);
    assert.equal(events[0]?.reason, 'InvalidIPVSScheduler');
    assert.deepEqual(events[0]?.service, { namespace: 'ns', name: 'bad' });
    assert.match(events[0]?.message ?? '', /"fastest"/);
  });

  it('ClientIP affinity is IPVS persistence with the Service timeout', () => {
    const s = snapshotOf([
      [svcPort('ns', 'a', { clusterIPs: ['10.96.0.5'], affinityTimeoutSeconds: 600 }), [ep('10.244.0.11', 8080)]],
    ]);
    const r = renderIpvs(s, { serviceCIDRs: [], masqueradeAll: false, scheduler: 'lc' });
    assert.match(saveText(r.table), /^-A -t 10\.96\.0\.5:80 -s lc -p 600$/m);
  });

  it('the fake refuses what the kernel refuses and keeps what came before the error', async () => {
    const { applier } = plane();
    await assert.rejects(
      applier.ipvs.restore('-A -t 10.0.0.1:80 -s rr\n-A -t 10.0.0.1:80 -s rr\n-A -t 10.0.0.2:80 -s rr\n'),
      /Service already exists.*\(line 2\)/,
    );
    assert.equal(applier.ipvs.dump(), '-A -t 10.0.0.1:80 -s rr\n');
    await assert.rejects(applier.ipvs.restore('-A -t 10.0.0.3:80 -s fastest\n'), /Scheduler not found/);
    await assert.rejects(applier.ipvs.restore('-a -t 10.0.0.9:80 -r 10.1.1.1:80 -m\n'), /Service not defined/);
    await assert.rejects(applier.ipvs.restore('-d -t 10.0.0.1:80 -r 10.1.1.1:80\n'), /No such destination/);
  });
});
