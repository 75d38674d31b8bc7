import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeConntrack, parseConntrackList } from '../kernel/conntrack.ts';
import { cleanupFilters, matches, TableConntrackCleaner } from './conntrack.ts';
import { syncChanges } from './snapshot.ts';
import { ep, snapshotOf, svcPort } from './testing/fixtures.ts';

const listing = `udp      17 29 src=10.244.0.100 dst=10.96.0.53 sport=40001 dport=53 src=10.244.0.11 dst=10.244.0.100 sport=8081 dport=40001 mark=0 use=1
udp      17 25 src=10.244.0.100 dst=10.96.0.53 sport=40002 dport=53 [UNREPLIED] src=10.96.0.53 dst=10.244.0.100 sport=53 dport=40002 mark=0 use=1
udp      17 25 src=192.168.77.2 dst=192.168.77.1 sport=40003 dport=30053 src=10.244.0.12 dst=10.244.0.1 sport=8081 dport=1025 mark=0 use=1
conntrack v1.4.7 (conntrack-tools): 3 flow entries have been shown.`;

const changes = syncChanges;

describe('UDP conntrack cleanup (5.25)', () => {
  const dns = svcPort('default', 'dns', { clusterIPs: ['10.96.0.53'], port: 53, nodePort: 30053, protocol: 'UDP' });
  const e1 = ep('10.244.0.11', 8081);
  const e2 = ep('10.244.0.12', 8081);
  const snap = snapshotOf([[dns, [e1, e2]]], { nodePortIPs: ['192.168.77.1'] });
  const entries = parseConntrackList(listing, 'IPv4');

  it('parses the original and reply tuples', () => {
    assert.equal(entries.length, 3);
    assert.deepEqual(entries[0], {
      family: 'IPv4',
      src: '10.244.0.100',
      dst: '10.96.0.53',
      sport: 40001,
      dport: 53,
      replySrc: '10.244.0.11',
      replySport: 8081,
    });
  });

  it('newly active (and every port after a restart) deletes only un-NATed entries', () => {
    const f = cleanupFilters(snap, changes({ newlyActiveUDP: [dns.key] }), ['IPv4']);
    const hit = entries.filter((e) => f.some((x) => matches(x, e)));
    assert.deepEqual(
      hit.map((e) => e.sport),
      [40002],
    );
  });

  it('a removed endpoint deletes its flows through the ClusterIP and the NodePort', () => {
    const f1 = cleanupFilters(snap, changes({ staleUDPEndpoints: [{ servicePort: dns, endpoint: e1 }] }), ['IPv4']);
    assert.deepEqual(
      entries.filter((e) => f1.some((x) => matches(x, e))).map((e) => e.sport),
      [40001],
    );
    const f2 = cleanupFilters(snap, changes({ staleUDPEndpoints: [{ servicePort: dns, endpoint: e2 }] }), ['IPv4']);
    assert.deepEqual(
      entries.filter((e) => f2.some((x) => matches(x, e))).map((e) => e.sport),
      [40003],
    );
  });

  it('a deleted UDP service port deletes every entry to its ClusterIP; TCP is never touched', () => {
    const f = cleanupFilters(snap, changes({ deletedServices: [dns] }), ['IPv4']);
    assert.deepEqual(
      entries
        .filter((e) => f.some((x) => matches(x, e)))
        .map((e) => e.sport)
        .sort(),
      [40001, 40002, 40003],
    );
    const tcp = svcPort('default', 'web', { clusterIPs: ['10.96.0.10'] });
    assert.deepEqual(cleanupFilters(snap, changes({ deletedServices: [tcp] }), ['IPv4']), []);
  });

  it('the table cleaner lists each family once and deletes exactly the matching tuples', async () => {
    const table = new FakeConntrack();
    table.entries = [...entries];
    const cleaner = new TableConntrackCleaner(table);
    const f = cleanupFilters(snap, changes({ staleUDPEndpoints: [{ servicePort: dns, endpoint: e1 }] }), ['IPv4']);
    assert.equal(await cleaner.clean(f), 1);
    assert.deepEqual(
      table.deleted.map((e) => e.sport),
      [40001],
    );
    assert.equal(table.entries.length, 2);
    // IPv6 not asked for: an IPv4 filter list never touches the other family's table.
    assert.equal(await cleaner.clean(cleanupFilters(snap, changes({ deletedServices: [dns] }), ['IPv6'])), 0);
  });
});
