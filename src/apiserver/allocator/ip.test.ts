import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ErrAllocated, ErrFull, ErrNotInRange } from './bitmap.ts';
import { IPAllocator, ipRangeOffset, parseCIDR } from './ip.ts';

const zero = () => 0;

describe('IPAllocator', () => {
  it('3.2 a /24 has 254 usable addresses, .1–.254', () => {
    const a = new IPAllocator('10.0.0.0/24');
    assert.equal(a.max, 254);
    assert.equal(a.free(), 254);
    assert.ok(!a.contains('10.0.0.0'));
    assert.ok(!a.contains('10.0.0.255'));
    assert.ok(a.contains('10.0.0.1'));
    assert.ok(a.contains('10.0.0.254'));
    const got = new Set<string>();
    for (let i = 0; i < 254; i++) got.add(a.allocateNext());
    assert.equal(got.size, 254);
    assert.ok(!got.has('10.0.0.0') && !got.has('10.0.0.255'));
    assert.throws(() => a.allocateNext(), ErrFull);
  });

  it('3.2 IPv6 keeps the last address and is capped at 65536 entries', () => {
    const small = new IPAllocator('fd00::/124');
    assert.equal(small.max, 15);
    assert.ok(small.contains('fd00::f'));
    assert.ok(!small.contains('fd00::'));
    const big = new IPAllocator('fd00:10:96::/108');
    // ipallocator.New caps the range at 65536 addresses, then drops the network address.
    assert.equal(big.max, 65535);
    assert.ok(big.contains('fd00:10:96::1'));
    assert.ok(big.contains('fd00:10:96::ffff'));
    assert.ok(!big.contains('fd00:10:96::1:0'));
  });

  it('3.1 refuses ranges above 2^20 addresses', () => {
    assert.throws(
      () => new IPAllocator('10.0.0.0/11'),
      /specified --service-cluster-ip-range is too large; for 32-bit addresses, the mask must be >= 12/,
    );
    assert.throws(() => new IPAllocator('fd00::/107'), /for 128-bit addresses, the mask must be >= 108/);
    assert.doesNotThrow(() => new IPAllocator('10.96.0.0/12'));
  });

  it('3.4 band offset: /24 → 16, /20 → 256, /16 → 256, /28 → 0, /27 → 16', () => {
    assert.equal(ipRangeOffset(24, 32), 16);
    assert.equal(ipRangeOffset(20, 32), 256);
    assert.equal(ipRangeOffset(16, 32), 256);
    assert.equal(ipRangeOffset(28, 32), 0);
    assert.equal(ipRangeOffset(27, 32), 16);
    assert.equal(new IPAllocator('10.96.0.0/16').offset, 256);
  });

  it('3.5 automatic allocation starts in the upper band (above x.x.x.16 for a /24)', () => {
    const a = new IPAllocator('10.0.0.0/24', { rng: zero });
    assert.equal(a.allocateNext(), '10.0.0.17');
    const b = new IPAllocator('10.96.0.0/16', { rng: zero });
    assert.equal(b.allocateNext(), '10.96.1.1'); // offset 256 → 10.96.0.1 + 256
  });

  it('3.5 lower band used only when the upper band is full', () => {
    const a = new IPAllocator('10.0.0.0/24', { rng: zero });
    for (let i = 17; i <= 254; i++) a.allocate(`10.0.0.${i}`);
    assert.equal(a.allocateNext(), '10.0.0.1');
  });

  it('3.6 a user-chosen IP may sit in either band', () => {
    const a = new IPAllocator('10.96.0.0/12');
    a.allocate('10.96.0.10');
    a.allocate('10.100.0.1');
    assert.ok(a.has('10.96.0.10') && a.has('10.100.0.1'));
  });

  it('3.7 out-of-range text names the IP and the CIDR', () => {
    const a = new IPAllocator('10.96.0.0/12');
    assert.throws(
      () => a.allocate('192.168.1.1'),
      (e: unknown) =>
        e instanceof ErrNotInRange &&
        e.message ===
          'the provided IP (192.168.1.1) is not in the valid range. The range of valid IPs is 10.96.0.0/12' &&
        e.validRange === '10.96.0.0/12',
    );
    assert.throws(() => a.allocate('10.96.0.0'), ErrNotInRange); // network address
    assert.throws(() => a.allocate('10.111.255.255'), ErrNotInRange); // broadcast
    assert.throws(() => a.allocate('fd00::1'), ErrNotInRange);
  });

  it('3.8 a taken IP: "provided IP is already allocated"', () => {
    const a = new IPAllocator('10.0.0.0/24');
    a.allocate('10.0.0.5');
    assert.throws(
      () => a.allocate('10.0.0.5'),
      (e: unknown) => e instanceof ErrAllocated && e.message === 'provided IP is already allocated',
    );
  });

  it('3.10 dry-run checks range only, allocates nothing, returns a placeholder', () => {
    const a = new IPAllocator('10.0.0.0/24');
    a.allocate('10.0.0.5');
    const d = a.dryRun();
    assert.doesNotThrow(() => d.allocate('10.0.0.5'));
    assert.throws(() => d.allocate('10.1.0.5'), ErrNotInRange);
    assert.equal(d.allocateNext(), '10.0.0.0');
    d.release('10.0.0.5');
    assert.equal(a.used(), 1);
  });

  it('parses CIDRs like ParseCIDRSloppy and prints them canonically', () => {
    assert.equal(parseCIDR('10.96.5.3/12').text, '10.96.0.0/12');
    assert.equal(parseCIDR('FD00:10:96:0::/108').text, 'fd00:10:96::/108');
    assert.throws(() => parseCIDR('10.0.0.0'));
    assert.throws(() => parseCIDR('10.0.0.0/33'));
    assert.equal(new IPAllocator('fd00::/120', { rng: zero }).allocateNext(), 'fd00::11');
  });

  it('/32 and /31 have no usable addresses', () => {
    assert.equal(new IPAllocator('10.0.0.1/32').max, 0);
    assert.equal(new IPAllocator('10.0.0.0/31').max, 0);
    assert.throws(() => new IPAllocator('10.0.0.0/31').allocateNext(), ErrFull);
  });

  it('property: allocate/release round trip keeps the count', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: 254 }), { maxLength: 60 }), (hosts) => {
        const a = new IPAllocator('192.168.7.0/24');
        for (const h of hosts) a.allocate(`192.168.7.${h}`);
        assert.equal(a.used(), hosts.length);
        for (const h of hosts) assert.throws(() => a.allocate(`192.168.7.${h}`), ErrAllocated);
        const next = a.free() > 0 ? a.allocateNext() : undefined;
        if (next) assert.ok(!hosts.map((h) => `192.168.7.${h}`).includes(next));
        for (const h of hosts) a.release(`192.168.7.${h}`);
        if (next) a.release(next);
        assert.equal(a.free(), 254);
      }),
    );
  });

  it('property: IPv6 allocateNext never repeats', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), (n) => {
        const a = new IPAllocator('fd00:1::/112');
        const seen = new Set<string>();
        for (let i = 0; i < n; i++) seen.add(a.allocateNext());
        assert.equal(seen.size, n);
        for (const ip of seen) assert.ok(a.has(ip));
      }),
      { numRuns: 20 },
    );
  });
});
