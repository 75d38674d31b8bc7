import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatAddr } from './addresses.ts';
import { Allocator } from './allocator.ts';
import { type AllocErrorCode, isAllocError } from './errors.ts';
import { claim, ips, ns, pool } from './testing.ts';

const show = (a: readonly { value: bigint }[]) => a.map((i) => formatAddr(i.value));

function throwsCode(fn: () => unknown, code: AllocErrorCode, message?: RegExp) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(isAllocError(e), `not an AllocError: ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (message) assert.match(e.message, message);
    return true;
  });
}

describe('LB allocator: ranges and pools', () => {
  const cases: { name: string; addresses: string[]; avoidBuggyIPs?: boolean; want: string[] }[] = [
    {
      name: 'range in order, then exhausted',
      addresses: ['192.0.2.10-192.0.2.11'],
      want: ['192.0.2.10', '192.0.2.11'],
    },
    { name: 'range with spaces', addresses: ['192.0.2.10 - 192.0.2.10'], want: ['192.0.2.10'] },
    { name: 'CIDR includes network and broadcast', addresses: ['192.0.2.0/31'], want: ['192.0.2.0', '192.0.2.1'] },
    {
      name: 'avoidBuggyIPs skips .0 and .255 across a /24 boundary',
      addresses: ['192.0.2.254-192.0.3.1'],
      avoidBuggyIPs: true,
      want: ['192.0.2.254', '192.0.3.1'],
    },
    {
      name: 'entries in spec order',
      addresses: ['198.51.100.7/32', '192.0.2.1/32'],
      want: ['198.51.100.7', '192.0.2.1'],
    },
    { name: 'IPv6 range', addresses: ['2001:db8::fffe-2001:db8::1:0'], want: [] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const a = new Allocator([pool('p', c.addresses, { avoidBuggyIPs: c.avoidBuggyIPs ?? false })]);
      const got: string[] = [];
      for (let i = 0; i < c.want.length; i++) got.push(...show(a.allocate(claim(`s${i}`))));
      assert.deepEqual(got, c.want);
      throwsCode(() => a.allocate(claim('one-too-many')), 'Exhausted', /^no available IPs$/);
    });
  }

  it('IPv6 services get IPv6 addresses, IPv4 ones do not', () => {
    const a = new Allocator([pool('p', ['2001:db8::fffe-2001:db8::1:0'])]);
    const v6 = (n: string) => claim(n, { clusterIPs: ['fd00::10'] });
    assert.deepEqual(show(a.allocate(v6('a'))), ['2001:db8::fffe']);
    assert.deepEqual(show(a.allocate(v6('b'))), ['2001:db8::ffff']);
    assert.deepEqual(show(a.allocate(v6('c'))), ['2001:db8::1:0']);
    throwsCode(() => a.allocate(claim('v4')), 'Exhausted');
  });

  it('counts capacity like MetalLB (avoidBuggyIPs removes two per /24)', () => {
    const a = new Allocator([
      pool('big', ['10.0.0.0/23', '2001:db8::/120'], { avoidBuggyIPs: true }),
      pool('small', ['10.1.0.255-10.1.1.2'], { avoidBuggyIPs: true }),
    ]);
    a.allocate(claim('x'));
    assert.deepEqual(a.counters('big'), { assignedIPv4: 1, assignedIPv6: 0, availableIPv4: 507, availableIPv6: 256 });
    assert.deepEqual(a.counters('small'), { assignedIPv4: 0, assignedIPv6: 0, availableIPv4: 2, availableIPv6: 0 });
  });

  it('releasing an address makes it the next one handed out', () => {
    const a = new Allocator([pool('p', ['192.0.2.10-192.0.2.11'])]);
    a.allocate(claim('a'));
    a.allocate(claim('b'));
    throwsCode(() => a.allocate(claim('c')), 'Exhausted');
    assert.equal(a.unassign('default/a'), true);
    assert.deepEqual(show(a.allocate(claim('c'))), ['192.0.2.10']);
  });

  it('allocate is idempotent for a service that already has addresses', () => {
    const a = new Allocator([pool('p', ['192.0.2.10-192.0.2.12'])]);
    assert.deepEqual(show(a.allocate(claim('a'))), ['192.0.2.10']);
    assert.deepEqual(show(a.allocate(claim('a'))), ['192.0.2.10']);
    assert.deepEqual(show(a.allocate(claim('b'))), ['192.0.2.11']);
  });
});

describe('LB allocator: autoAssign, priorities and selectors', () => {
  it('autoAssign=false pools serve only explicit requests', () => {
    const a = new Allocator([pool('manual', ['192.0.2.1/32'], { autoAssign: false })]);
    throwsCode(() => a.allocate(claim('a')), 'Exhausted');
    assert.deepEqual(show(a.allocateFromPool(claim('b'), 'manual')), ['192.0.2.1']);
    a.unassign('default/b');
    a.assign(claim('c'), ips('192.0.2.1'));
    assert.equal(a.poolOf('default/c'), 'manual');
  });

  it('pinned pools by priority first (1 before 2 before unset), then open pools', () => {
    const a = new Allocator([
      pool('open', ['198.51.100.1/32']),
      pool('p2', ['192.0.2.2/32'], { serviceAllocation: { priority: 2, namespaces: ['team'] } }),
      pool('p1', ['192.0.2.1/32'], { serviceAllocation: { priority: 1, namespaces: ['team'] } }),
      pool('p0', ['192.0.2.3/32'], { serviceAllocation: { namespaces: ['team'] } }),
    ]);
    const t = (n: string) => claim(n, { ns: 'team' });
    assert.deepEqual(show(a.allocate(t('a'))), ['192.0.2.1']);
    assert.deepEqual(show(a.allocate(t('b'))), ['192.0.2.2']);
    assert.deepEqual(show(a.allocate(t('c'))), ['192.0.2.3']);
    assert.deepEqual(show(a.allocate(t('d'))), ['198.51.100.1']);
    throwsCode(() => a.allocate(t('e')), 'Exhausted');
  });

  it('namespace-restricted pools are not used for other namespaces', () => {
    const a = new Allocator([pool('team-only', ['192.0.2.1/32'], { serviceAllocation: { namespaces: ['team'] } })]);
    throwsCode(() => a.allocate(claim('x', { ns: 'other' })), 'Exhausted');
    throwsCode(() => a.assign(claim('x', { ns: 'other' }), ips('192.0.2.1')), 'PoolIncompatible', /team-only/);
    assert.deepEqual(show(a.allocate(claim('y', { ns: 'team' }))), ['192.0.2.1']);
  });

  it('namespaceSelectors resolve against Namespace labels', () => {
    const namespaces = [ns('red', { tier: 'gold' }), ns('blue', { tier: 'bronze' })];
    const a = new Allocator([
      pool(
        'gold',
        ['192.0.2.1/32'],
        { serviceAllocation: { namespaceSelectors: [{ matchLabels: { tier: 'gold' } }] } },
        namespaces,
      ),
      pool('rest', ['198.51.100.1-198.51.100.2']),
    ]);
    assert.deepEqual(show(a.allocate(claim('a', { ns: 'blue' }))), ['198.51.100.1']);
    assert.deepEqual(show(a.allocate(claim('b', { ns: 'red' }))), ['192.0.2.1']);
  });

  it('namespaceSelectors matching no namespace admit nothing', () => {
    const a = new Allocator([
      pool('ghost', ['192.0.2.1/32'], { serviceAllocation: { namespaceSelectors: [{ matchLabels: { x: 'y' } }] } }),
    ]);
    throwsCode(() => a.assign(claim('a'), ips('192.0.2.1')), 'PoolIncompatible');
  });

  it('serviceSelectors pin pools to labelled services (any selector may match)', () => {
    const a = new Allocator([
      pool('premium', ['192.0.2.1-192.0.2.2'], {
        serviceAllocation: {
          serviceSelectors: [
            { matchLabels: { tier: 'premium' } },
            { matchExpressions: [{ key: 'vip', operator: 'Exists' }] },
          ],
        },
      }),
      pool('cheap', ['198.51.100.1/32']),
    ]);
    assert.deepEqual(show(a.allocate(claim('plain'))), ['198.51.100.1']);
    assert.deepEqual(show(a.allocate(claim('p', { labels: { tier: 'premium' } }))), ['192.0.2.1']);
    assert.deepEqual(show(a.allocate(claim('v', { labels: { vip: '' } }))), ['192.0.2.2']);
    throwsCode(() => a.allocate(claim('plain2')), 'Exhausted');
  });

  it('a pool named by annotation must exist and have room', () => {
    const a = new Allocator([pool('p', ['192.0.2.1/32'])]);
    throwsCode(() => a.allocateFromPool(claim('a'), 'nope'), 'UnknownPool', /unknown pool "nope"/);
    a.allocateFromPool(claim('a'), 'p');
    throwsCode(
      () => a.allocateFromPool(claim('b'), 'p'),
      'Exhausted',
      /no available IPs in pool "p" for IPv4 IPFamily/,
    );
  });
});

describe('LB allocator: requested addresses', () => {
  it('refuses an address outside every pool', () => {
    const a = new Allocator([pool('p', ['192.0.2.0/28'])]);
    throwsCode(
      () => a.assign(claim('a'), ips('203.0.113.5')),
      'NotInPool',
      /^\["203.0.113.5"\] is not allowed in config$/,
    );
  });

  it('refuses .0/.255 of an avoidBuggyIPs pool', () => {
    const a = new Allocator([pool('p', ['192.0.2.0/24'], { avoidBuggyIPs: true })]);
    throwsCode(() => a.assign(claim('a'), ips('192.0.2.255')), 'NotInPool');
    a.assign(claim('b'), ips('192.0.2.254'));
  });

  it('refuses a taken address to a service that does not share', () => {
    const a = new Allocator([pool('p', ['192.0.2.0/28'])]);
    a.assign(claim('a'), ips('192.0.2.5'));
    throwsCode(
      () => a.assign(claim('b', { ports: [443] }), ips('192.0.2.5')),
      'SharingConflict',
      /existing service does not allow sharing/,
    );
    // The owner may re-assign its own address (idempotent), also with a new sharing key.
    a.assign(claim('a', { annotations: { 'metallb.io/allow-shared-ip': 'k' } }), ips('192.0.2.5'));
  });

  it('refuses two addresses of one family', () => {
    const a = new Allocator([pool('p', ['192.0.2.0/28'])]);
    throwsCode(() => a.assign(claim('a'), ips('192.0.2.1', '192.0.2.2')), 'InvalidRequest', /same family/);
  });
});

describe('LB allocator: sharing', () => {
  const shared = (name: string, o: Parameters<typeof claim>[1] = {}) =>
    claim(name, { ...o, annotations: { 'metallb.io/allow-shared-ip': o.annotations?.key ?? 'k1' } });

  const cases: {
    name: string;
    a: Parameters<typeof claim>[1];
    b: Parameters<typeof claim>[1];
    share: boolean;
    code?: AllocErrorCode;
  }[] = [
    { name: 'same key, different ports', a: { ports: [80] }, b: { ports: [443] }, share: true },
    {
      name: 'same key, same port other protocol',
      a: { ports: [['TCP', 53]] },
      b: { ports: [['UDP', 53]] },
      share: true,
    },
    {
      name: 'same key, same (protocol, port)',
      a: { ports: [80] },
      b: { ports: [80, 8080] },
      share: false,
      code: 'PortConflict',
    },
    {
      name: 'different keys',
      a: { ports: [80] },
      b: { ports: [443], annotations: { key: 'other' } },
      share: false,
      code: 'SharingConflict',
    },
    {
      name: 'both Local with the same selector',
      a: { ports: [80], etp: 'Local', selector: { app: 'x' } },
      b: { ports: [443], etp: 'Local', selector: { app: 'x' } },
      share: true,
    },
    {
      name: 'both Local, different pods',
      a: { ports: [80], etp: 'Local', selector: { app: 'x' } },
      b: { ports: [443], etp: 'Local', selector: { app: 'y' } },
      share: false,
      code: 'SharingConflict',
    },
    {
      name: 'Cluster with Local',
      a: { ports: [80] },
      b: { ports: [443], etp: 'Local', selector: { app: 'x' } },
      share: false,
      code: 'SharingConflict',
    },
  ];
  for (const c of cases) {
    it(`${c.name}: ${c.share ? 'shares' : 'does not share'}`, () => {
      const a = new Allocator([pool('p', ['192.0.2.1-192.0.2.2'])]);
      const first = show(a.allocate(shared('a', c.a)));
      const second = show(a.allocate(shared('b', c.b)));
      assert.deepEqual(first, ['192.0.2.1']);
      assert.deepEqual(second, c.share ? ['192.0.2.1'] : ['192.0.2.2']);
      // Asking for the first service's address explicitly gives the reason.
      a.unassign('default/b');
      if (c.code) throwsCode(() => a.assign(shared('b', c.b), ips('192.0.2.1')), c.code);
      else a.assign(shared('b', c.b), ips('192.0.2.1'));
    });
  }

  it('a shared address stays taken until its last user leaves', () => {
    const a = new Allocator([pool('p', ['192.0.2.1/32'])]);
    a.allocate(shared('a', { ports: [80] }));
    a.allocate(shared('b', { ports: [443] }));
    a.unassign('default/a');
    throwsCode(() => a.allocate(claim('c')), 'Exhausted');
    // The port a used is free on the shared address again.
    assert.deepEqual(show(a.allocate(shared('d', { ports: [80] }))), ['192.0.2.1']);
    a.unassign('default/b');
    a.unassign('default/d');
    assert.deepEqual(show(a.allocate(claim('c'))), ['192.0.2.1']);
  });
});

describe('LB allocator: dual stack', () => {
  const dual = (name: string, policy: 'PreferDualStack' | 'RequireDualStack', first: 'IPv4' | 'IPv6' = 'IPv4') =>
    claim(name, {
      clusterIPs: first === 'IPv4' ? ['10.96.0.10', 'fd00::10'] : ['fd00::10', '10.96.0.10'],
      policy,
    });

  it('RequireDualStack gets one address of each family from one pool', () => {
    const a = new Allocator([pool('v4only', ['192.0.2.1/32']), pool('both', ['198.51.100.1/32', '2001:db8::1/128'])]);
    assert.deepEqual(show(a.allocate(dual('a', 'RequireDualStack'))), ['198.51.100.1', '2001:db8::1']);
    throwsCode(() => a.allocate(dual('b', 'RequireDualStack')), 'Exhausted');
  });

  it('PreferDualStack falls back to the primary family, then the secondary', () => {
    const a = new Allocator([pool('v4', ['192.0.2.1/32']), pool('v6', ['2001:db8::1/128'])]);
    assert.deepEqual(show(a.allocate(dual('a', 'PreferDualStack', 'IPv6'))), ['2001:db8::1']);
    assert.deepEqual(show(a.allocate(dual('b', 'PreferDualStack', 'IPv6'))), ['192.0.2.1']);
    throwsCode(() => a.allocate(dual('c', 'PreferDualStack')), 'Exhausted');
  });

  it('PreferDualStack adds the missing family from the same pool when it frees up', () => {
    const a = new Allocator([pool('both', ['192.0.2.1/32', '2001:db8::1/128'])]);
    a.assign(claim('v6', { clusterIPs: ['fd00::1'] }), ips('2001:db8::1'));
    assert.deepEqual(show(a.allocate(dual('a', 'PreferDualStack'))), ['192.0.2.1']);
    assert.equal(a.allocateAdditionalFamily(dual('a', 'PreferDualStack')), undefined);
    a.unassign('default/v6');
    const extra = a.allocateAdditionalFamily(dual('a', 'PreferDualStack'));
    assert.equal(extra && formatAddr(extra), '2001:db8::1');
    assert.deepEqual(a.allocations(), [{ service: 'default/a', pool: 'both', ips: ['192.0.2.1', '2001:db8::1'] }]);
  });
});

describe('LB allocator: pool changes', () => {
  it('setPools re-homes allocations and releases the ones no pool holds', () => {
    const a = new Allocator([pool('old', ['192.0.2.0/30'])]);
    a.assign(claim('a'), ips('192.0.2.1'));
    a.assign(claim('b'), ips('192.0.2.3'));
    const stranded = a.setPools([pool('new', ['192.0.2.0-192.0.2.2'])]);
    assert.deepEqual(stranded, ['default/b']);
    assert.equal(a.poolOf('default/a'), 'new');
    assert.equal(a.ipsOf('default/b'), undefined);
  });
});
