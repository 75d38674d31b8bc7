// A pure allocation bitmap over [0, max), mirroring k8s pkg/registry/core/service/allocator/bitmap.go
// (NewAllocationMapWithOffset + randomScanStrategyWithOffset). The range is split into a static
// lower band [0, offset) and a dynamic upper band [offset, max): automatic allocation scans the
// upper band first so that users who pick fixed values (e.g. DNS at x.x.x.10) rarely collide with
// automatic ones (KEP-3070). No I/O, no clock: the RNG is injectable so tests can pin the scan.

/** Returns a uniformly distributed integer in [0, n); n > 0. */
export type Rng = (n: number) => number;

export const defaultRng: Rng = (n) => Math.floor(Math.random() * n);

export type AllocatorErrorCode = 'Full' | 'Allocated' | 'NotInRange';

/** Base of the typed allocator errors; `code` is the stable predicate key (DESIGN.md §11). */
export abstract class AllocatorError extends Error {
  abstract readonly code: AllocatorErrorCode;
}

/** ipallocator.ErrFull / portallocator.ErrFull: "range is full". */
export class ErrFull extends AllocatorError {
  readonly code = 'Full' as const;
  constructor() {
    super('range is full');
    this.name = 'ErrFull';
  }
}

/** ErrAllocated: "provided IP is already allocated" / "provided port is already allocated". */
export class ErrAllocated extends AllocatorError {
  readonly code = 'Allocated' as const;
  constructor(what: 'IP' | 'port') {
    super(`provided ${what} is already allocated`);
    this.name = 'ErrAllocated';
  }
}

/** ErrNotInRange carries the valid range so callers (repair, events) can print it. */
export class ErrNotInRange extends AllocatorError {
  readonly code = 'NotInRange' as const;
  constructor(
    message: string,
    readonly validRange: string,
  ) {
    super(message);
    this.name = 'ErrNotInRange';
  }
}

export const isErrFull = (e: unknown): e is ErrFull => e instanceof AllocatorError && e.code === 'Full';
export const isErrAllocated = (e: unknown): e is ErrAllocated => e instanceof AllocatorError && e.code === 'Allocated';
export const isErrNotInRange = (e: unknown): e is ErrNotInRange =>
  e instanceof AllocatorError && e.code === 'NotInRange';

export class AllocationBitmap {
  private bits: Uint8Array;
  private count = 0;
  readonly max: number;
  /** Size of the static lower band; 0 disables banding. */
  readonly offset: number;
  private readonly rng: Rng;

  constructor(max: number, offset = 0, rng: Rng = defaultRng) {
    if (!Number.isInteger(max) || max < 0) throw new RangeError(`invalid bitmap size ${max}`);
    this.max = max;
    // An offset that swallows the whole range would leave no dynamic band; Go's factories never
    // produce one (calculateRangeOffset returns 0 for small ranges), so clamp defensively.
    this.offset = offset > 0 && offset < max ? Math.floor(offset) : 0;
    this.rng = rng;
    this.bits = new Uint8Array(Math.ceil(max / 8));
  }

  private bit(i: number): boolean {
    return ((this.bits[i >> 3] ?? 0) & (1 << (i & 7))) !== 0;
  }

  private set(i: number, on: boolean): void {
    const b = this.bits[i >> 3] ?? 0;
    this.bits[i >> 3] = on ? b | (1 << (i & 7)) : b & ~(1 << (i & 7));
  }

  private inRange(i: number): boolean {
    return Number.isInteger(i) && i >= 0 && i < this.max;
  }

  /** Reserves i; false when it is taken or outside [0, max). */
  allocate(i: number): boolean {
    if (!this.inRange(i) || this.bit(i)) return false;
    this.set(i, true);
    this.count++;
    return true;
  }

  /**
   * randomScanStrategyWithOffset.AllocateBit: random start in the upper band, scan forward with
   * wrap inside that band; only when it is full, the same in the lower band. undefined = full.
   */
  allocateNext(): number | undefined {
    if (this.count >= this.max) return undefined;
    const upper = this.max - this.offset;
    let start = this.rng(upper);
    for (let k = 0; k < upper; k++) {
      const at = this.offset + ((start + k) % upper);
      if (!this.bit(at)) return this.take(at);
    }
    if (this.offset > 0) {
      start = this.rng(this.offset);
      for (let k = 0; k < this.offset; k++) {
        const at = (start + k) % this.offset;
        if (!this.bit(at)) return this.take(at);
      }
    }
    return undefined;
  }

  private take(at: number): number {
    this.set(at, true);
    this.count++;
    return at;
  }

  /** Releasing a free or out-of-range item is a no-op, as in Go. */
  release(i: number): void {
    if (!this.inRange(i) || !this.bit(i)) return;
    this.set(i, false);
    this.count--;
  }

  has(i: number): boolean {
    return this.inRange(i) && this.bit(i);
  }

  free(): number {
    return this.max - this.count;
  }

  used(): number {
    return this.count;
  }

  forEach(fn: (i: number) => void): void {
    for (let byte = 0; byte < this.bits.length; byte++) {
      const v = this.bits[byte] ?? 0;
      if (v === 0) continue;
      for (let b = 0; b < 8; b++) if (v & (1 << b)) fn(byte * 8 + b);
    }
  }

  /** A copy of the bit array (Snapshottable.Snapshot). */
  snapshot(): Uint8Array {
    return this.bits.slice();
  }

  /** Replaces the state with a snapshot of a bitmap of the same size (Snapshottable.Restore). */
  restore(data: Uint8Array): void {
    if (data.length !== this.bits.length) throw new RangeError('the provided range does not match the current range');
    this.bits = data.slice();
    // Bits past max in the last byte would corrupt count; mask them off.
    const tail = this.max & 7;
    if (tail !== 0 && this.bits.length > 0) {
      const last = this.bits.length - 1;
      this.bits[last] = (this.bits[last] ?? 0) & ((1 << tail) - 1);
    }
    let n = 0;
    for (const v of this.bits) n += popcount(v);
    this.count = n;
  }
}

function popcount(v: number): number {
  let n = 0;
  for (let x = v; x !== 0; x &= x - 1) n++;
  return n;
}
