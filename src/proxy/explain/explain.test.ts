// `svcnet explain` over the conformance fixture: the shared decision with reasons, each plane's
// programmed path (nftables read back from its fake kernel, userspace from its listener table),
// and the stable JSON shape.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fixtureSnapshot, src } from '../conformance/fixture.ts';
import { FakeRelay } from '../localhost-relay.ts';
import { FakeNftApplier } from '../nftables/applier.ts';
import { FakeNft } from '../nftables/fake.ts';
import { NftablesPlane } from '../nftables/plane.ts';
import { parseNftList } from '../nftables/readback.ts';
import { NftTracer } from '../nftables/trace.ts';
import { emptyChanges } from '../snapshot.ts';
import { UserspacePlane } from '../userspace/plane.ts';
import { explainFlow } from './explain.ts';
import type { Explanation } from './types.ts';

async function nftPlane() {
  const plane = new NftablesPlane({
    serviceCIDRs: ['10.96.0.0/16'],
    families: ['ip'],
    applier: new FakeNftApplier(new FakeNft()),
    conntrack: { clean: async () => 0 },
    coldChunkElements: 0,
    runner: async () => ({ stdout: '', stderr: '' }),
    relay: new FakeRelay(),
  });
  await plane.sync(fixtureSnapshot(), emptyChanges);
  return plane;
}

const snap = fixtureSnapshot();

function byIP(e: Explanation, ip: string) {
  const x = e.endpoints.find((p) => p.ip === ip);
  assert.ok(x, `${ip} in ${JSON.stringify(e.endpoints)}`);
  return x;
}

describe('explain: the shared decision with reasons', () => {
  it('names the Service port, the eligible endpoints with weights, and why the others are excluded', async () => {
    const plane = await nftPlane();
    const e = await explainFlow(
      snap,
      { src: src.pod, dst: '10.96.0.10', proto: 'TCP', dport: 80 },
      'nftables',
      plane.explainer,
    );
    assert.deepEqual(e.service, {
      namespace: 'default',
      name: 'web',
      portName: 'http',
      port: 80,
      protocol: 'TCP',
      type: 'ClusterIP',
      trafficPolicy: 'internalTrafficPolicy Cluster',
    });
    assert.equal(e.verdict, 'endpoints');
    assert.equal(byIP(e, '10.244.0.5').eligible, true);
    assert.equal(byIP(e, '10.244.0.5').weight, 0.5);
    assert.equal(byIP(e, '10.244.1.6').reason, 'not ready');
    assert.match(byIP(e, '10.244.1.7').reason ?? '', /terminating.*only when no endpoint is ready/);
    assert.equal(e.masquerade, false);
    assert.match(e.masqueradeReason, /pod source/);
    assert.equal(e.pathSource, 'kernel');
    assert.deepEqual(e.consistent, { matches: true });
    const names = e.path.map((s) => s.name);
    for (const c of ['nat-prerouting', 'services', 'internal-cluster', 'dnat'])
      assert.ok(names.includes(c), names.join(' → '));
  });

  it('explains Local policy, topology hints, source ranges and rejects', async () => {
    const plane = await nftPlane();
    const x = (dst: string, from: string = src.pod, dport = 80) =>
      explainFlow(snap, { src: from, dst, proto: 'TCP', dport }, 'nftables', plane.explainer);
    const local = await x('10.96.0.14');
    assert.match(
      byIP(local, '10.244.1.14').reason ?? '',
      /on node node-b, not node-a, and internalTrafficPolicy Local/,
    );
    const zone = await x('10.96.0.30');
    assert.match(byIP(zone, '10.244.1.30').reason ?? '', /hinted for zone zone-b.*PreferSameZone/);
    const node = await x('10.96.0.33');
    assert.match(byIP(node, '10.244.1.33').reason ?? '', /PreferSameNode/);
    const fw = await x('192.0.2.12', src.external);
    assert.equal(fw.verdict, 'DROP');
    assert.match(fw.rule ?? '', /^firewall-check: .*@firewall-allow drop$/);
    assert.match(byIP(fw, '10.244.1.19').reason ?? '', /outside loadBalancerSourceRanges/);
    const empty = await x('10.96.0.12');
    assert.equal(empty.verdict, 'REJECT');
    assert.equal(empty.rule, 'reject-chain: reject');
    const remote = await x('10.96.0.13');
    assert.equal(remote.verdict, 'DROP');
    assert.match(remote.rule ?? '', /^internal-local: drop$/);
    const lb = await x('192.0.2.10', src.external);
    assert.equal(lb.masquerade, false);
    assert.match(lb.masqueradeReason, /keeps the client address/);
    const none = await x('10.1.2.3');
    assert.equal(none.service, null);
    assert.equal(none.verdict, 'UNHANDLED');
  });

  it('the userspace plane explains from its listeners and says why it refuses instead of dropping', async () => {
    const plane = new UserspacePlane();
    await plane.load(snap);
    const e = await explainFlow(
      snap,
      { src: src.pod, dst: '10.96.0.13', proto: 'TCP', dport: 80 },
      'userspace',
      plane.explainer,
    );
    assert.equal(e.verdict, 'DROP');
    assert.equal(e.pathSource, 'process');
    assert.equal(e.consistent.matches, true);
    assert.match(e.consistent.detail ?? '', /REJECT.*cannot silently discard/);
    // No local endpoint: the plane binds no socket for it, so the kernel refuses.
    assert.deepEqual(
      e.path.map((s) => s.name),
      ['no listener'],
    );
    const ok = await explainFlow(
      snap,
      { src: src.pod, dst: '10.96.0.10', proto: 'TCP', dport: 80 },
      'userspace',
      plane.explainer,
    );
    assert.deepEqual(ok.consistent, { matches: true });
    assert.deepEqual(
      ok.path.map((s) => s.kind),
      ['listener', 'route', 'balancer'],
    );
    await plane.stop();
  });

  it('keeps the documented -o json shape', async () => {
    const plane = await nftPlane();
    const e = await explainFlow(
      snap,
      { src: src.pod, dst: '10.96.0.10', proto: 'TCP', dport: 80 },
      'nftables',
      plane.explainer,
    );
    assert.deepEqual(Object.keys(JSON.parse(JSON.stringify(e))).sort(), [
      'affinity',
      'consistent',
      'destination',
      'endpoints',
      'masquerade',
      'masqueradeReason',
      'node',
      'path',
      'pathSource',
      'plane',
      'planeVerdict',
      'rule',
      'service',
      'source',
      'verdict',
    ]);
    assert.deepEqual(Object.keys(e.endpoints[0] ?? {}).sort(), [
      'eligible',
      'ip',
      'node',
      'port',
      'ready',
      'serving',
      'terminating',
      'weight',
      'zone',
    ]);
  });
});

describe('nftables read-back', () => {
  it('turns `nft list table` text into the state the tracer walks, counters kept', () => {
    const text = readFileSync(join(import.meta.dirname, '../nftables/testdata/kernel-list.txt'), 'utf8');
    const rb = parseNftList(text);
    const t = new NftTracer(rb.nft, { localAddresses: snap.node.ips });
    const v = t.trace({ src: src.pod, dst: '10.96.0.10', proto: 'TCP', dport: 80 });
    assert.equal(v.kind, 'endpoints');
    assert.deepEqual(v.kind === 'endpoints' ? [...v.endpoints].sort() : [], ['10.244.0.5:8080', '10.244.1.5:8080']);
    assert.equal(t.trace({ src: src.pod, dst: '10.96.0.12', proto: 'TCP', dport: 80 }).kind, 'REJECT');
    assert.deepEqual(rb.counters.get('cluster-ips-check')?.get(1), { packets: 0, bytes: 0 });
    assert.match(rb.nft.table('ip', 'svcnet')?.chains.get('nat-prerouting')?.base ?? '', /priority -100;/);
    assert.equal(parseNftList('').nft.tables.size, 0);
  });
});
