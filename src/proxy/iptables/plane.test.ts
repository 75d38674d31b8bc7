// The iptables plane on the fake kernel (restores atomic and reference-checked, typed sets):
// golden restore text, partial syncs converging to a fresh render, failures falling back and
// counted, a crash's leftovers fixed in place next to other programs' rules, and a restarted
// agent keeping the dispatch marks live elements carry.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { IPFamily } from '../../api/ip.ts';
import { FakeConntrack } from '../../kernel/conntrack.ts';
import { ExecError } from '../../kernel/exec.ts';
import { FakeIpset } from '../../kernel/fake-ipset.ts';
import { FakeIptables } from '../../kernel/fake-iptables.ts';
import type { Iptables } from '../../kernel/iptables.ts';
import { parseSave } from '../../kernel/iptables.ts';
import { isRestoreError, RestoreError } from '../../kernel/restore-error.ts';
import { TableConntrackCleaner } from '../conntrack.ts';
import { FakeRelay } from '../localhost-relay.ts';
import { Registry } from '../metrics.ts';
import { syncChanges as changes, type ProxySnapshot } from '../snapshot.ts';
import { ep, snapshotOf, svcPort } from '../testing/fixtures.ts';
import type { EndpointInfo, ServicePortInfo, ServicePortKey } from '../types.ts';
import { IptablesApplier } from './applier.ts';
import { cleanupIptables, createIptablesPlane, type IptablesPlane } from './plane.ts';
import { existingRules, IptablesRenderer } from './render.ts';
import { IptablesTracer } from './trace.ts';

const serviceCIDRs = ['10.96.0.0/16', 'fd96::/112'];
const families: IPFamily[] = ['IPv4', 'IPv6'];

export const representative = (): ProxySnapshot =>
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

function many(n: number, epsPer: number): [ServicePortInfo, EndpointInfo[]][] {
  const out: [ServicePortInfo, EndpointInfo[]][] = [];
  for (let i = 0; i < n; i++) {
    const ip = `10.96.${(i >> 8) & 255}.${i & 255}`;
    const eps = Array.from({ length: epsPer }, (_, j) => ep(`10.244.${(i >> 6) & 255}.${((i & 63) << 2) + j}`, 8080));
    out.push([svcPort('bench', `s${i}`, { clusterIPs: [ip] }), eps]);
  }
  return out;
}

interface Kernel {
  ipset: FakeIpset;
  ipt: FakeIptables;
}

function kernel(): Kernel {
  const ipset = new FakeIpset();
  return { ipset, ipt: new FakeIptables(ipset) };
}

function plane(k: Kernel, o: { iptables?: Iptables; metrics?: Registry } = {}): IptablesPlane {
  return createIptablesPlane({
    serviceCIDRs,
    families,
    iptables: o.iptables ?? k.ipt,
    ipset: k.ipset,
    conntrack: new TableConntrackCleaner(new FakeConntrack()),
    relay: new FakeRelay(),
    runner: async () => ({ stdout: '', stderr: '' }),
    stateDir: '/nonexistent',
    ...(o.metrics ? { metrics: o.metrics } : {}),
  });
}

function fresh(s: ProxySnapshot): Kernel {
  const k = kernel();
  const r = new IptablesRenderer({ families, serviceCIDRs, masqueradeAll: false });
  r.update(s);
  for (const [f, p] of r.renderFull()) {
    k.ipset.restoreSync(p.ipsetPre, { exist: true });
    k.ipt.restoreSync(f, p.iptables, { noflush: true });
    k.ipset.restoreSync(p.ipsetPost, { exist: true });
  }
  return k;
}

/**
 * The state with dispatch indices resolved: every vips element names its entry chain instead of
 * a mark, and the tree is left out, so states reached by different histories compare equal.
 */
function canonical(k: Kernel): string {
  const out: string[] = [];
  for (const f of families) {
    const byIndex = new Map([...existingRules(parseSave(k.ipt.dump(f))).indices].map(([c, i]) => [i, c]));
    out.push(
      ...k.ipt
        .dump(f)
        .split('\n')
        .filter((l) => !/SVCNET-D(-|ISPATCH)/.test(l)),
    );
    for (const line of k.ipset.dump().split('\n')) {
      const m = /^(add \S+ \S+) skbmark (0x[0-9a-f]+)\//.exec(line);
      out.push(m ? `${m[1]} -> ${byIndex.get(Number(m[2]) >>> 16)}` : line);
    }
  }
  return out.join('\n');
}

describe('iptables render: golden files', () => {
  for (const [name, snap] of [
    ['representative', representative],
    ['empty', () => snapshotOf([])],
  ] as const) {
    it(`${name}.txt matches (UPDATE_GOLDEN=1 to refresh)`, () => {
      const r = new IptablesRenderer({ families, serviceCIDRs, masqueradeAll: false });
      r.update(snap());
      const parts: string[] = [];
      for (const [f, p] of r.renderFull())
        parts.push(
          `# ${f}: ipset restore (before)\n${p.ipsetPre}`,
          `# ${f}: iptables-restore --noflush\n${p.iptables}`,
          `# ${f}: ipset restore (after)\n${p.ipsetPost}`,
        );
      const text = parts.join('');
      const file = new URL(`./testdata/${name}.txt`, import.meta.url);
      if (process.env.UPDATE_GOLDEN) writeFileSync(file, text);
      assert.equal(text, readFileSync(file, 'utf8'));
    });
  }
});

describe('iptables plane on the fake kernel', () => {
  it('a steady-state endpoint change rewrites one chain, not the ruleset', async () => {
    const k = kernel();
    const p = plane(k);
    const entries = many(1000, 5);
    await p.sync(snapshotOf(entries), changes({ full: true }));
    const first = entries[0];
    assert.ok(first);
    const [svc] = first;
    const s2 = snapshotOf([[svc, [ep('10.244.200.1', 8080), ep('10.244.200.2', 8080)]], ...entries.slice(1)]);
    k.ipt.restores.length = 0;
    k.ipset.restores.length = 0;
    await p.sync(s2, changes({ endpoints: new Set<ServicePortKey>([svc.key]) }));
    assert.equal(p.stats.partialSyncs, 1);
    const text = k.ipt.restores.map((r) => r.text).join('');
    assert.ok(k.ipt.restores.every((r) => r.noflush));
    assert.ok(text.split('\n').length < 12, text);
    assert.equal(canonical(k), canonical(fresh(s2)));
    const tracer = new IptablesTracer(k.ipt, k.ipset, { localAddresses: s2.node.ips });
    const v = tracer.trace({ src: '10.244.0.99', dst: svc.clusterIPs[0] ?? '', proto: 'TCP', dport: 80 });
    assert.deepEqual(v.kind === 'endpoints' ? [...v.endpoints].sort() : v.kind, [
      '10.244.200.1:8080',
      '10.244.200.2:8080',
    ]);
  });

  it('services added, changed and deleted incrementally converge to a fresh render', async () => {
    const k = kernel();
    const p = plane(k);
    const base = representative();
    await p.sync(base, changes({ full: true }));
    const list = [...base.services.values()].map((s) => [s, base.endpoints.get(s.key) ?? []] as const);
    const [web, dns, empty, aff] = list;
    assert.ok(web && dns && empty && aff);
    const newSvc = svcPort('default', 'new', { clusterIPs: ['10.96.0.99', 'fd96::99'], affinityTimeoutSeconds: 60 });
    const next = snapshotOf(
      [
        [web[0], [ep('10.244.0.5', 8080, { isLocal: true })]],
        [empty[0], [ep('10.244.3.3', 8080)]],
        [aff[0], [ep('10.244.0.9', 80)]],
        [newSvc, [ep('10.244.4.4', 80), ep('fd44::4', 80)]],
        ...list.slice(4),
      ],
      { localhostNodePorts: true },
    );
    const keys = new Set<ServicePortKey>([web[0].key, dns[0].key, empty[0].key, aff[0].key, newSvc.key]);
    await p.sync(next, changes({ services: keys, endpoints: keys }));
    assert.equal(p.stats.partialSyncs, 1);
    assert.equal(p.stats.partialFailures, 0);
    assert.equal(canonical(k), canonical(fresh(next)));
    // And back: everything but web removed, one sync at a time.
    let cur = next;
    for (const key of [...keys].filter((x) => x !== web[0].key)) {
      const rest = [...cur.services.values()]
        .filter((s) => s.key !== key)
        .map((s) => [s, cur.endpoints.get(s.key) ?? []] as const);
      cur = snapshotOf(rest, { localhostNodePorts: true });
      await p.sync(cur, changes({ services: new Set([key]) }));
    }
    assert.equal(canonical(k), canonical(fresh(cur)));
  });

  it('a failed partial restore is counted, and the full sync that follows repairs the state', async () => {
    const k = kernel();
    let failNext = false;
    const flaky: Iptables = {
      backend: 'fake',
      restore: async (f, text, o) => {
        if (failNext) {
          failNext = false;
          throw new RestoreError('iptables', 'injected failure', 1);
        }
        return k.ipt.restore(f, text, o);
      },
      save: (f, t) => k.ipt.save(f, t),
    };
    const reg = new Registry();
    const p = plane(k, { iptables: flaky, metrics: reg });
    const entries = many(20, 2);
    await p.sync(snapshotOf(entries), changes({ full: true }));
    const [svc] = entries[0] ?? [];
    assert.ok(svc);
    const s2 = snapshotOf([[svc, [ep('10.244.9.9', 8080)]], ...entries.slice(1)]);
    failNext = true;
    await assert.rejects(p.sync(s2, changes({ endpoints: new Set([svc.key]) })), isRestoreError);
    assert.equal(p.stats.partialFailures, 1);
    assert.match(reg.render(), /kubeproxy_sync_proxy_rules_iptables_partial_restore_failures_total 1/);
    // Until a full sync, partial syncs are refused (the runner makes the retry full).
    await assert.rejects(p.sync(s2, changes({ endpoints: new Set([svc.key]) })), /partial sync impossible/);
    await p.sync(s2, changes({ full: true }));
    assert.equal(canonical(k), canonical(fresh(s2)));
  });

  it("a crash's leftovers are fixed in place; other programs' chains, jumps and sets stay", async () => {
    const k = kernel();
    // Another program's rules and set, then an older agent's state for other services.
    k.ipset.restoreSync('create other-set hash:ip family inet\nadd other-set 192.0.2.1');
    for (const f of families) {
      const other = f === 'IPv4' ? '-m set --match-set other-set src ' : '';
      k.ipt.restoreSync(
        f,
        `*nat\n:OTHER - [0:0]\n-A PREROUTING -j OTHER\n-A OTHER ${other}-j RETURN\nCOMMIT\n*filter\n:OTHER-FW - [0:0]\n-A INPUT -j OTHER-FW\nCOMMIT\n`,
        { noflush: true },
      );
    }
    await plane(k).sync(snapshotOf(many(30, 3)), changes({ full: true }));
    for (const f of families)
      k.ipt.restoreSync(f, '*nat\n:SVCNET-LEFTOVER - [0:0]\n-A SVCNET-LEFTOVER -j RETURN\nCOMMIT\n', { noflush: true });
    const s = representative();
    const p = plane(k);
    await p.sync(s, changes({ full: true }));
    assert.equal(p.stats.rebuilds, 0);
    for (const f of families) {
      assert.deepEqual(k.ipt.chain(f, 'nat', 'OTHER'), [
        f === 'IPv4' ? '-m set --match-set other-set src -j RETURN' : '-j RETURN',
      ]);
      assert.ok(k.ipt.chain(f, 'nat', 'PREROUTING')?.includes('-j OTHER'));
      assert.ok(k.ipt.chain(f, 'filter', 'INPUT')?.includes('-j OTHER-FW'));
      assert.equal(k.ipt.chain(f, 'nat', 'SVCNET-LEFTOVER'), undefined);
      // One jump each, however many syncs ran.
      assert.equal(k.ipt.chain(f, 'nat', 'PREROUTING')?.filter((r) => r === '-j SVCNET-SERVICES').length, 1);
    }
    assert.ok(k.ipset.sets.has('other-set'));
    const mine = (x: Kernel) =>
      canonical(x)
        .split('\n')
        .filter((l) => !/OTHER|other-set/.test(l))
        .join('\n');
    assert.equal(mine(k), mine(fresh(s)));
    // Cleanup removes svcnet's and only svcnet's.
    await new IptablesApplier(k.ipt, k.ipset).cleanup(families);
    for (const f of families) {
      assert.ok(!k.ipt.dump(f).includes('SVCNET'), k.ipt.dump(f));
      assert.ok(k.ipt.chain(f, 'nat', 'PREROUTING')?.includes('-j OTHER'));
    }
    assert.deepEqual(await k.ipset.list(), ['other-set']);
  });

  it('a restarted agent keeps the dispatch marks the live set elements carry', async () => {
    const k = kernel();
    const s = snapshotOf(many(40, 2));
    await plane(k).sync(s, changes({ full: true }));
    const before = k.ipset.dump();
    // The new agent sees the services in another order and one fewer.
    const entries = many(40, 2).reverse().slice(1);
    const s2 = snapshotOf(entries);
    k.ipset.restores.length = 0;
    await plane(k).sync(s2, changes({ full: true }));
    const marks = (d: string) =>
      new Map(
        d
          .split('\n')
          .filter((l) => l.includes('skbmark'))
          .map((l) => [l.split(' ')[2], l.split(' ')[4]]),
      );
    const old = marks(before);
    for (const [vip, mark] of marks(k.ipset.dump())) assert.equal(mark, old.get(vip), `mark of ${vip} changed`);
    assert.equal(canonical(k), canonical(fresh(s2)));
  });

  it('a set left with another type fails the full sync, which rebuilds and counts it', async () => {
    const k = kernel();
    k.ipset.restoreSync('create svcnet4-vips hash:ip family inet');
    const p = plane(k);
    const s = representative();
    await p.sync(s, changes({ full: true }));
    assert.equal(p.stats.rebuilds, 1);
    assert.equal(canonical(k), canonical(fresh(s)));
  });
});

describe('iptables plane: --cluster-cidr', () => {
  it("local traffic is a source in the cluster CIDR: another node's pod is not masqueraded, the node is", async () => {
    const k = kernel();
    const s = snapshotOf([[svcPort('default', 'web', { clusterIPs: ['10.96.0.10'] }), [ep('10.244.1.6', 8080)]]]);
    const r = new IptablesRenderer({
      families: ['IPv4'],
      serviceCIDRs,
      masqueradeAll: false,
      clusterCIDRs: ['10.244.0.0/16'],
    });
    r.update(s);
    for (const [f, p] of r.renderFull()) await new IptablesApplier(k.ipt, k.ipset).apply(f, p);
    const t = new IptablesTracer(k.ipt, k.ipset, { localAddresses: s.node.ips });
    const masq = (src: string) => {
      const v = t.trace({ src, dst: '10.96.0.10', proto: 'TCP', dport: 80 });
      return v.kind === 'endpoints' ? v.masq : v.kind;
    };
    // 10.244.3.3 is outside this node's pod CIDR (10.244.0.0/24) but inside the cluster's.
    assert.equal(masq('10.244.3.3'), false);
    assert.equal(masq('192.168.77.1'), true);
  });
});

describe('cleanupIptables', () => {
  it('a machine without iptables or ipset has nothing to remove', async () => {
    const runner = async (argv: readonly string[]) => {
      throw new ExecError('EXEC_NOT_FOUND', argv, {});
    };
    await cleanupIptables('absent', { runner, stateDir: '/nonexistent' });
  });
});
