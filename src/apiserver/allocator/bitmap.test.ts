import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  AllocationBitmap,
  ErrAllocated,
  ErrFull,
  ErrNotInRange,
  isErrAllocated,
  isErrFull,
  isErrNotInRange,
} from './bitmap.ts';

/** An RNG that replays the given starts (modulo n), then repeats the last one. */
function seq(...starts: number[]): (n: number) => number {
  let i = 0;
  return (n) => {
    const v = starts[Math.min(i++, starts.length - 1)] ?? 0;
    return v % n;
  };
}

describe('AllocationBitmap', () => {
  it('allocates from the dynamic (upper) band first, starting at the random offset', () => {
    const b = new AllocationBitmap(100, 10, seq(5));
    assert.equal(b.allocateNext(), 15); // offset 10 + start 5
    assert.equal(b.allocateNext(), 16); // scans forward from the same start
  });

  it('wraps inside the upper band, never into the lower one while the upper has room', () => {
    const b = new AllocationBitmap(20, 10, seq(9));
    assert.equal(b.allocateNext(), 19);
    assert.equal(b.allocateNext(), 10); // wrapped to the start of the upper band
  });

  it('uses the lower band only when the upper band is full', () => {
    const b = new AllocationBitmap(20, 10, seq(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3));
    for (let i = 0; i < 10; i++) assert.ok((b.allocateNext() ?? -1) >= 10);
    assert.equal(b.allocateNext(), 3);
    for (let i = 0; i < 9; i++) assert.ok((b.allocateNext() ?? 99) < 10);
    assert.equal(b.allocateNext(), undefined);
    assert.equal(b.free(), 0);
  });

  it('offset 0 scans the whole range', () => {
    const b = new AllocationBitmap(4, 0, seq(2));
    assert.deepEqual([b.allocateNext(), b.allocateNext(), b.allocateNext(), b.allocateNext()], [2, 3, 0, 1]);
    assert.equal(b.allocateNext(), undefined);
  });

  it('allocate reports taken and out-of-range items; release is idempotent', () => {
    const b = new AllocationBitmap(8);
    assert.equal(b.allocate(3), true);
    assert.equal(b.allocate(3), false);
    assert.equal(b.allocate(8), false);
    assert.equal(b.allocate(-1), false);
    b.release(3);
    b.release(3);
    b.release(100);
    assert.equal(b.free(), 8);
  });

  it('snapshot/restore round-trips and recounts', () => {
    const b = new AllocationBitmap(13);
    for (const i of [0, 5, 12]) b.allocate(i);
    const c = new AllocationBitmap(13);
    c.restore(b.snapshot());
    assert.equal(c.used(), 3);
    const seen: number[] = [];
    c.forEach((i) => {
      seen.push(i);
    });
    assert.deepEqual(seen, [0, 5, 12]);
  });

  it('typed errors carry a stable code', () => {
    assert.equal(new ErrFull().message, 'range is full');
    assert.equal(new ErrAllocated('IP').message, 'provided IP is already allocated');
    assert.equal(new ErrAllocated('port').message, 'provided port is already allocated');
    assert.ok(isErrFull(new ErrFull()));
    assert.ok(isErrAllocated(new ErrAllocated('port')));
    assert.ok(isErrNotInRange(new ErrNotInRange('x', '1-2')));
    assert.equal(new ErrNotInRange('x', '1-2').code, 'NotInRange');
    assert.ok(!isErrFull(new Error('range is full')));
  });

  it('property: never double-allocates and count matches the set bits', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 200 }),
        fc.integer({ min: 0, max: 50 }),
        fc.array(fc.oneof(fc.constant(-1), fc.integer({ min: 0, max: 220 })), { maxLength: 300 }),
        fc.integer(),
        (max, offset, ops, seed) => {
          let s = seed;
          const rng = (n: number) => {
            s = (s * 1103515245 + 12345) & 0x7fffffff;
            return s % n;
          };
          const b = new AllocationBitmap(max, offset, rng);
          const model = new Set<number>();
          for (const op of ops) {
            if (op === -1) {
              const got = b.allocateNext();
              if (got === undefined) assert.equal(model.size, max);
              else {
                assert.ok(!model.has(got), `double allocation of ${got}`);
                assert.ok(got >= 0 && got < max);
                model.add(got);
              }
            } else if (model.has(op)) {
              b.release(op);
              model.delete(op);
            } else {
              assert.equal(b.allocate(op), op < max);
              if (op < max) model.add(op);
            }
            assert.equal(b.used(), model.size);
            assert.equal(b.free(), max - model.size);
          }
          const all: number[] = [];
          b.forEach((i) => {
            all.push(i);
          });
          assert.deepEqual(
            all,
            [...model].sort((x, y) => x - y),
          );
        },
      ),
    );
  });
});
