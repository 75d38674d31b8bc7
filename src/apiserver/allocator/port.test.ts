import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ErrAllocated, ErrFull, ErrNotInRange } from './bitmap.ts';
import { PortAllocator, PortOperation, parsePortRange, portRangeOffset } from './port.ts';

describe('PortAllocator', () => {
  it('3.15 default range 30000-32767 holds 2768 ports', () => {
    const a = new PortAllocator('30000-32767');
    assert.equal(a.free(), 2768);
    assert.equal(a.range, '30000-32767');
  });

  it('3.16 band offset 86 for the default range; dynamic picks start at 30086', () => {
    assert.equal(portRangeOffset(2768), 86);
    assert.equal(portRangeOffset(16), 0);
    assert.equal(portRangeOffset(17), 16);
    assert.equal(portRangeOffset(100000), 128);
    const a = new PortAllocator('30000-32767', { rng: () => 0 });
    assert.equal(a.offset, 86);
    assert.equal(a.allocateNext(), 30086);
    const b = new PortAllocator('30000-32767', { rng: (n) => n - 1 });
    assert.equal(b.allocateNext(), 32767);
  });

  it('3.16 the static band is used only when the dynamic band is full', () => {
    const a = new PortAllocator('30000-30099', { rng: () => 0 }); // size 100 → offset 16
    for (let p = 30016; p <= 30099; p++) a.allocate(p);
    assert.equal(a.allocateNext(), 30000);
  });

  it('3.15 exact texts for out-of-range and taken ports', () => {
    const a = new PortAllocator('30000-32767');
    assert.throws(
      () => a.allocate(80),
      (e: unknown) =>
        e instanceof ErrNotInRange &&
        e.message === 'provided port is not in the valid range. The range of valid ports is 30000-32767',
    );
    a.allocate(30080);
    assert.throws(
      () => a.allocate(30080),
      (e: unknown) => e instanceof ErrAllocated && e.message === 'provided port is already allocated',
    );
  });

  it('3.19 a full range throws ErrFull ("range is full")', () => {
    const a = new PortAllocator('30000-30001');
    a.allocateNext();
    a.allocateNext();
    assert.throws(
      () => a.allocateNext(),
      (e: unknown) => e instanceof ErrFull && e.message === 'range is full',
    );
  });

  it('parses the PortRange notations', () => {
    assert.deepEqual(parsePortRange('30000-32767'), { base: 30000, size: 2768 });
    assert.deepEqual(parsePortRange('30000+10'), { base: 30000, size: 11 });
    assert.deepEqual(parsePortRange('8080'), { base: 8080, size: 1 });
    assert.throws(() => parsePortRange('3-1'), /end port cannot be less than start port/);
    assert.throws(() => parsePortRange('1-70000'), /cannot be greater than 65535/);
    assert.throws(() => parsePortRange('a-b'));
  });

  it('operation: rollback frees allocations, releases wait for commit', () => {
    const a = new PortAllocator('30000-30100');
    a.allocate(30050);
    const op = new PortOperation(a, false);
    op.allocate(30001);
    const n = op.allocateNext();
    op.releaseDeferred(30050);
    assert.ok(a.has(30050) && a.has(30001) && a.has(n));
    op.finish();
    assert.ok(a.has(30050) && !a.has(30001) && !a.has(n));

    const op2 = new PortOperation(a, false);
    op2.allocate(30002);
    op2.releaseDeferred(30050);
    op2.commit();
    op2.finish(); // after commit: nothing to roll back
    assert.ok(a.has(30002) && !a.has(30050));
  });

  it('operation: dry-run reserves nothing but still reports conflicts', () => {
    const a = new PortAllocator('30000-30100');
    a.allocate(30050);
    const op = new PortOperation(a, true);
    assert.throws(() => op.allocate(30050), ErrAllocated);
    assert.throws(() => op.allocate(80), ErrNotInRange);
    op.allocate(30051);
    assert.throws(() => op.allocate(30051), ErrAllocated);
    const p = op.allocateNext();
    assert.ok(a.contains(p));
    op.releaseDeferred(30050);
    op.commit();
    assert.equal(a.used(), 1);
    assert.ok(a.has(30050));
  });

  it('property: allocateNext hands out distinct in-range ports until full', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 1, max: 65000 }), (size, base) => {
        const a = new PortAllocator({ base, size });
        const seen = new Set<number>();
        for (let i = 0; i < size; i++) {
          const p = a.allocateNext();
          assert.ok(p >= base && p < base + size && !seen.has(p));
          seen.add(p);
        }
        assert.throws(() => a.allocateNext(), ErrFull);
        for (const p of seen) a.release(p);
        assert.equal(a.free(), size);
      }),
      { numRuns: 50 },
    );
  });
});
