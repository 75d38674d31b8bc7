import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { ConntrackCleaner, ConntrackFilter } from '../conntrack.ts';
import { FakeRelay } from '../localhost-relay.ts';
import { type ProxySnapshot, syncChanges } from '../snapshot.ts';
import { drive } from '../testing/driven.ts';
import { ep, snapshotOf, svcPort } from '../testing/fixtures.ts';
import type { EndpointInfo, ServicePortInfo, ServicePortKey } from '../types.ts';
import { FakeNftApplier } from './applier.ts';
import { FakeNft } from './fake.ts';
import { NftablesPlane } from './plane.ts';
import { NftablesRenderer } from './render.ts';
import { NftTracer } from './trace.ts';

const serviceCIDRs = ['10.96.0.0/16', 'fd96::/112'];

const changes = syncChanges;

class RecordingConntrack implements ConntrackCleaner {
  calls: ConntrackFilter[][] = [];
  async clean(f: readonly ConntrackFilter[]): Promise<number> {
    this.calls.push([...f]);
    return 0;
  }
}

function setup(nft = new FakeNft(), o: { coldChunkElements?: number } = {}) {
  const applier = new FakeNftApplier(nft);
  const conntrack = new RecordingConntrack();
  const relay = new FakeRelay();
  const plane = new NftablesPlane({
    serviceCIDRs,
    applier,
    conntrack,
    coldChunkElements: o.coldChunkElements ?? 0,
    runner: async () => ({ stdout: '', stderr: '' }),
    relay,
    log: process.env.NFT_DEBUG ? (m) => console.error(m) : undefined,
  });
  return { nft, applier, conntrack, plane, relay };
}

/** State as sorted text: equal states compare equal whatever order elements were added in. */
function canonical(nft: FakeNft): string {
  const out: string[] = [];
  for (const [tk, t] of [...nft.tables].sort(([a], [b]) => a.localeCompare(b))) {
    out.push(`table ${tk}`);
    for (const [n, s] of [...t.sets].sort(([a], [b]) => a.localeCompare(b))) {
      out.push(`  ${s.kind} ${n} { ${s.body} }`);
      for (const e of [...s.elements].map(([k, v]) => (v ? `${k} : ${v}` : k)).sort()) out.push(`    ${e}`);
    }
    for (const [n, c] of [...t.chains].sort(([a], [b]) => a.localeCompare(b))) {
      out.push(`  chain ${n}${c.base ? ` { ${c.base} }` : ''}`);
      for (const r of c.rules) out.push(`    ${r}`);
    }
  }
  return `${out.join('\n')}\n`;
}

function fresh(s: ProxySnapshot): FakeNft {
  const r = new NftablesRenderer({ families: ['ip', 'ip6'], serviceCIDRs, masqueradeAll: false });
  r.update(s);
  const nft = new FakeNft();
  for (const tx of r.renderFull({})) nft.apply(tx);
  return nft;
}

function many(n: number, epsPer: number): [ServicePortInfo, EndpointInfo[]][] {
  const out: [ServicePortInfo, EndpointInfo[]][] = [];
  for (let i = 0; i < n; i++) {
    const ip = `10.96.${(i >> 8) & 255}.${i & 255}`;
    const eps = Array.from({ length: epsPer }, (_, j) => ep(`10.244.${(i >> 6) & 255}.${((i & 63) << 2) + j}`, 8080));
    out.push([svcPort('bench', `s${i}`, { clusterIPs: [ip] }), eps]);
  }
  return out;
}

const representative = (): ProxySnapshot =>
  snapshotOf(
    [
      [
        svcPort('default', 'web', {
          clusterIPs: ['10.96.0.10', 'fd96::10'],
          nodePort: 30080,
          externalIPs: ['192.168.77.50'],
        }),
        [ep('10.244.0.5', 8080, { isLocal: true }), ep('10.244.1.6', 8080), ep('fd44::5', 8080, { isLocal: true })],
      ],
      [svcPort('default', 'dns', { clusterIPs: ['10.96.0.53'], protocol: 'UDP', port: 53 }), [ep('10.244.0.7', 53)]],
      [svcPort('default', 'empty', { clusterIPs: ['10.96.0.20'], nodePort: 30020 }), []],
      [
        svcPort('default', 'aff', { clusterIPs: ['10.96.0.30'], affinityTimeoutSeconds: 100 }),
        [ep('10.244.0.8', 80), ep('10.244.0.9', 80)],
      ],
      [svcPort('default', 'itp', { clusterIPs: ['10.96.0.31'], internalPolicyLocal: true }), [ep('10.244.1.8', 80)]],
      [
        svcPort('default', 'lb', {
          type: 'LoadBalancer',
          clusterIPs: ['10.96.0.40'],
          nodePort: 30040,
          loadBalancerIPs: ['203.0.113.7'],
          loadBalancerSourceRanges: ['198.51.100.0/24'],
          externalPolicyLocal: true,
        }),
        [ep('10.244.0.10', 80, { isLocal: true }), ep('10.244.1.10', 80)],
      ],
    ],
    { localhostNodePorts: true },
  );

describe('nftables render: golden files', () => {
  for (const [name, snap] of [
    ['representative', representative],
    ['empty', () => snapshotOf([])],
  ] as const) {
    it(`${name}.nft matches (UPDATE_GOLDEN=1 to refresh)`, () => {
      const r = new NftablesRenderer({ families: ['ip', 'ip6'], serviceCIDRs, masqueradeAll: false });
      r.update(snap());
      const text = r.renderFull({}).join('');
      const file = new URL(`./testdata/${name}.nft`, import.meta.url);
      if (process.env.UPDATE_GOLDEN) writeFileSync(file, text);
      assert.equal(text, readFileSync(file, 'utf8'));
      // The golden text is a valid transaction for the fake kernel too.
      new FakeNft().apply(text);
    });
  }
});

describe('nftables plane on the fake kernel', () => {
  it('a steady-state endpoint change is a handful of element updates, not a relist', async () => {
    const { nft, applier, plane } = setup();
    const entries = many(1000, 5);
    const s1 = snapshotOf(entries);
    await plane.sync(s1, changes({ full: true }));
    const first = entries[0];
    assert.ok(first);
    const [svc] = first;
    const s2 = snapshotOf([[svc, [ep('10.244.200.1', 8080), ep('10.244.200.2', 8080)]], ...entries.slice(1)]);
    applier.applied.length = 0;
    await plane.sync(s2, changes({ endpoints: new Set<ServicePortKey>([svc.key]) }));
    assert.equal(applier.applied.length, 1);
    const tx = applier.applied[0] ?? '';
    const elements = tx
      .split('\n')
      .filter((l) => l.includes('element'))
      .join(' ')
      .split(',').length;
    assert.ok(tx.length < 2000, `transaction is ${tx.length} bytes`);
    assert.ok(elements < 20, `${elements} element updates`);
    assert.equal(plane.stats.partialSyncs, 1);
    assert.equal(canonical(nft), canonical(fresh(s2)));
    const tracer = new NftTracer(nft, { localAddresses: s2.node.ips });
    const v = tracer.trace({ src: '10.244.0.99', dst: svc.clusterIPs[0] ?? '', proto: 'TCP', dport: 80 });
    assert.deepEqual(v.kind === 'endpoints' ? [...v.endpoints].sort() : v.kind, [
      '10.244.200.1:8080',
      '10.244.200.2:8080',
    ]);
  });

  it('services added, changed and deleted incrementally converge to a fresh render', async () => {
    const { nft, plane } = setup();
    const base = representative();
    await plane.sync(base, changes({ full: true }));
    const list = [...base.services.values()].map((s) => [s, base.endpoints.get(s.key) ?? []] as const);
    const [web, dns, empty, aff] = list;
    assert.ok(web && dns && empty && aff);
    const newSvc = svcPort('default', 'new', { clusterIPs: ['10.96.0.99'], affinityTimeoutSeconds: 60 });
    const next = snapshotOf(
      [
        [web[0], [ep('10.244.0.5', 8080, { isLocal: true })]],
        [empty[0], [ep('10.244.3.3', 8080)]],
        [aff[0], [ep('10.244.0.9', 80)]],
        [newSvc, [ep('10.244.4.4', 80), ep('10.244.4.5', 80)]],
        ...list.slice(4),
      ],
      { localhostNodePorts: true },
    );
    const keys = new Set<ServicePortKey>([web[0].key, dns[0].key, empty[0].key, aff[0].key, newSvc.key]);
    await plane.sync(next, changes({ services: keys, endpoints: keys }));
    assert.equal(plane.stats.partialSyncs, 1);
    assert.equal(plane.stats.partialFailures, 0);
    assert.equal(canonical(nft), canonical(fresh(next)));
  });

  it('a stale table left by a crash is corrected in place by the first sync', async () => {
    // The previous agent programmed other services, then died; its rules are still there.
    const old = fresh(snapshotOf(many(50, 3)));
    old.apply(
      'add chain ip svcnet leftover-chain\nadd rule ip svcnet leftover-chain drop\nadd set ip svcnet leftover-set { type ipv4_addr; }',
    );
    const nft = new FakeNft();
    nft.load(old.dump());
    const { plane, applier } = setup(nft);
    const s = representative();
    await plane.sync(s, changes({ full: true }));
    assert.equal(canonical(nft), canonical(fresh(s)));
    // Reconciled in place: the table was never deleted and no transaction starts with a flush.
    assert.ok(applier.applied.every((tx) => !/^delete table/m.test(tx) && !/flush ruleset/.test(tx)));
    assert.equal(plane.stats.rebuilds, 0);
  });

  it('a deleted or edited table is rebuilt by the periodic full sync', async () => {
    const { nft, plane } = setup();
    const s = representative();
    await plane.sync(s, changes({ full: true }));
    nft.apply('delete element ip svcnet service-ips { 10.96.0.10 . tcp . 80 }\nflush chain ip svcnet services');
    await plane.sync(s, changes({ full: true }));
    assert.equal(canonical(nft), canonical(fresh(s)));
    nft.apply('delete table ip svcnet');
    await plane.sync(s, changes({ full: true }));
    assert.equal(canonical(nft), canonical(fresh(s)));
  });

  it('a rule someone deleted is repaired within the max sync interval while churn goes on', async () => {
    const { nft, plane } = setup();
    const entries = many(20, 2);
    const d = drive(plane, { minIntervalMs: 1000, maxIntervalMs: 30_000 });
    d.set(snapshotOf(entries));
    await d.clock.advance(0);
    await d.clock.advance(10_000);
    nft.apply('flush chain ip svcnet services');
    // Endpoint churn every 500 ms: every sync in between is partial and leaves the chain empty.
    let s = snapshotOf(entries);
    let repairedAt: number | undefined;
    for (let i = 0; i < 80 && repairedAt === undefined; i++) {
      const [svc] = entries[i % entries.length] ?? [];
      assert.ok(svc);
      entries[i % entries.length] = [svc, [ep(`10.244.50.${i}`, 8080), ep('10.244.51.1', 8080)]];
      s = snapshotOf(entries);
      d.set(s, [svc.key]);
      await d.clock.advance(500);
      if (nft.tables.get('ip svcnet')?.chains.get('services')?.rules.length) repairedAt = d.clock.now();
    }
    await d.stop();
    assert.ok(repairedAt !== undefined && repairedAt - 10_000 <= 30_000, `repaired at ${repairedAt}`);
    assert.ok(d.runs.filter((r) => !r.full).length > 10, 'churn kept syncs partial meanwhile');
    assert.equal(canonical(nft), canonical(fresh(s)));
  });

  it('a failed partial sync is counted and the runner follows it at once with a full sync', async () => {
    const { nft, plane } = setup();
    const entries = many(20, 2);
    const d = drive(plane);
    d.set(snapshotOf(entries));
    await d.clock.advance(5000);
    const first = entries[0];
    assert.ok(first);
    // Someone removed an element the next partial sync deletes: that transaction fails (ENOENT).
    nft.apply(`delete element ip svcnet cluster-slot-1 { ${first[0].clusterIPs[0]} . tcp . 80 }`);
    const s2 = snapshotOf([[first[0], [ep('10.244.99.1', 8080)]], ...entries.slice(1)]);
    d.set(s2, [first[0].key]);
    await d.clock.advance(0);
    await d.stop();
    assert.equal(plane.stats.partialFailures, 1);
    assert.deepEqual(
      d.runs.map((r) => [r.at, r.full, r.failed]),
      [
        [0, true, false],
        [5000, false, true],
        [5000, true, false],
      ],
    );
    assert.equal(canonical(nft), canonical(fresh(s2)));
  });

  it('refuses a partial sync before any full one (the runner decides, the plane never guesses)', async () => {
    const { plane } = setup();
    await assert.rejects(plane.sync(representative(), changes()), { code: 'NEEDS_FULL_SYNC' });
  });

  it('a failed full sync rebuilds the table atomically and is counted', async () => {
    const nft = new FakeNft();
    // Left by another version: same set name, another type. `add set` cannot reconcile it.
    nft.apply('add table ip svcnet\nadd set ip svcnet cluster-ips { type ipv4_addr; flags interval; }');
    const { plane } = setup(nft);
    const s = representative();
    await plane.sync(s, changes({ full: true }));
    assert.equal(plane.stats.rebuilds, 1);
    assert.equal(canonical(nft), canonical(fresh(s)));
  });

  it('a cold start is chunked and VIPs go live only after their endpoints', async () => {
    const { nft, applier, plane } = setup(undefined, { coldChunkElements: 2000 });
    const s = snapshotOf(many(3000, 3));
    await plane.sync(s, changes({ full: true }));
    assert.ok(applier.applied.length > 4, `${applier.applied.length} transactions`);
    const firstDispatch = applier.applied.findIndex((tx) => tx.includes('element ip svcnet service-ips'));
    const lastEps = applier.applied.map((tx) => tx.includes('element ip svcnet cluster-slot-')).lastIndexOf(true);
    assert.ok(firstDispatch > lastEps, `dispatch in tx ${firstDispatch}, endpoints until tx ${lastEps}`);
    assert.equal(canonical(nft), canonical(fresh(s)));
  });

  it('explain walks the rules the plane programmed', async () => {
    const { plane } = setup();
    await plane.sync(representative(), changes({ full: true }));
    const snap = representative();
    const v = await plane.explainer.explain({ src: '10.244.0.99', dst: '10.96.0.10', proto: 'TCP', dport: 80 }, snap);
    assert.equal(v.verdict.kind, 'endpoints');
    assert.ok(
      v.steps.some((s) => s.name === 'internal-cluster'),
      v.steps.map((s) => s.name).join(' → '),
    );
    const rejected = await plane.explainer.explain(
      { src: '10.244.0.99', dst: '10.96.0.20', proto: 'TCP', dport: 80 },
      snap,
    );
    assert.equal(rejected.verdict.kind, 'REJECT');
  });

  it('cleanup removes every svcnet table and nothing else', async () => {
    const { nft, plane } = setup();
    nft.apply('add table ip other\nadd chain ip other c');
    await plane.sync(representative(), changes({ full: true }));
    await plane.cleanup();
    assert.deepEqual([...nft.tables.keys()], ['ip other']);
    await plane.cleanup(); // idempotent
  });

  it('localhost NodePorts on ::1: relay listeners follow the NodePort services (created, retargeted, removed)', async () => {
    const { plane, relay } = setup();
    const np = svcPort('default', 'np', { clusterIPs: ['10.96.0.50'], nodePort: 30050 });
    const dual = svcPort('default', 'dual', {
      clusterIPs: ['10.96.0.51', 'fd00:96::51'],
      nodePort: 30051,
      protocol: 'UDP',
    });
    const sctp = svcPort('default', 'sctp', { clusterIPs: ['10.96.0.52'], nodePort: 30052, protocol: 'SCTP' });
    const eps = [ep('10.244.0.5', 80, { isLocal: true })];
    const s1 = snapshotOf(
      [
        [np, eps],
        [dual, eps],
        [sctp, eps],
      ],
      { localhostNodePorts: true },
    );
    await plane.sync(s1, changes({ full: true }));
    // IPv6 Services go to the NodePort on the node's IPv6 address, IPv4-only ones to 127.0.0.1.
    assert.deepEqual(
      [...relay.specs].sort((a, b) => a.port - b.port),
      [
        { protocol: 'TCP', port: 30050, host: '127.0.0.1', targetPort: 30050 },
        { protocol: 'UDP', port: 30051, host: 'fd77::1', targetPort: 30051 },
      ],
    );
    assert.equal(plane.stats.relayListeners, 2);
    await plane.sync(
      snapshotOf([[np, eps]], { localhostNodePorts: true }),
      changes({ services: new Set([dual.key, sctp.key]) }),
    );
    assert.deepEqual(
      relay.specs.map((s) => s.port),
      [30050],
    );
    await plane.sync(snapshotOf([[np, eps]], { localhostNodePorts: false }), changes({ full: true }));
    assert.deepEqual(relay.specs, []);
    await plane.stop();
    assert.equal(relay.closed, 1);
  });
});
