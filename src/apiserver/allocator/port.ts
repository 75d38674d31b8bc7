// Node-port allocator over a port range, mirroring k8s pkg/registry/core/service/portallocator/
// allocator.go (PortAllocator, calculateRangeOffset) and operation.go (PortAllocationOperation:
// allocations are undone on rollback, releases are deferred until commit, dry-run touches nothing).
import { AllocationBitmap, ErrAllocated, ErrFull, ErrNotInRange, type Rng } from './bitmap.ts';

export interface PortRange {
  base: number;
  size: number;
}

/** utilnet.PortRange.String(): "30000-32767" ("" for an empty range). */
export function formatPortRange(pr: PortRange): string {
  return pr.size === 0 ? '' : `${pr.base}-${pr.base + pr.size - 1}`;
}

/** utilnet.ParsePortRange: "low-high", "base+offset" or a single port. Throws on bad text. */
export function parsePortRange(text: string): PortRange {
  const value = text.trim();
  const bad = (why: string): Error => new Error(`${why}: ${JSON.stringify(text)}`);
  const num = (s: string): number => {
    if (!/^\d{1,5}$/.test(s)) throw bad('invalid port range');
    return Number.parseInt(s, 10);
  };
  let low: number;
  let high: number;
  const hy = value.indexOf('-');
  const plus = value.indexOf('+');
  if (hy >= 0 && plus < 0) {
    low = num(value.slice(0, hy));
    high = num(value.slice(hy + 1));
  } else if (plus >= 0 && hy < 0) {
    low = num(value.slice(0, plus));
    high = low + num(value.slice(plus + 1));
  } else if (hy < 0 && plus < 0) {
    low = num(value);
    high = low;
  } else {
    throw bad('invalid port range');
  }
  if (low > 65535 || high > 65535) throw bad('the port range cannot be greater than 65535');
  if (high < low) throw bad('end port cannot be less than start port');
  return { base: low, size: 1 + high - low };
}

/** calculateRangeOffset for ports: min(max(16, size/32), 128); 0 when size <= 16. */
export function portRangeOffset(size: number): number {
  if (size <= 16) return 0;
  return Math.min(Math.max(16, Math.floor(size / 32)), 128);
}

export class PortAllocator {
  readonly portRange: PortRange;
  /** "30000-32767" */
  readonly range: string;
  readonly offset: number;
  private readonly bitmap: AllocationBitmap;

  constructor(range: string | PortRange, opts: { rng?: Rng } = {}) {
    this.portRange = typeof range === 'string' ? parsePortRange(range) : { ...range };
    this.range = formatPortRange(this.portRange);
    this.offset = portRangeOffset(this.portRange.size);
    this.bitmap = new AllocationBitmap(this.portRange.size, this.offset, opts.rng);
  }

  contains(port: number): boolean {
    return Number.isInteger(port) && port >= this.portRange.base && port < this.portRange.base + this.portRange.size;
  }

  notInRange(): ErrNotInRange {
    return new ErrNotInRange(
      `provided port is not in the valid range. The range of valid ports is ${this.range}`,
      this.range,
    );
  }

  /** Throws ErrNotInRange or ErrAllocated. */
  allocate(port: number): void {
    if (!this.contains(port)) throw this.notInRange();
    if (!this.bitmap.allocate(port - this.portRange.base)) throw new ErrAllocated('port');
  }

  /** Throws ErrFull. */
  allocateNext(): number {
    const off = this.bitmap.allocateNext();
    if (off === undefined) throw new ErrFull();
    return this.portRange.base + off;
  }

  release(port: number): void {
    if (this.contains(port)) this.bitmap.release(port - this.portRange.base);
  }

  has(port: number): boolean {
    return this.contains(port) && this.bitmap.has(port - this.portRange.base);
  }

  free(): number {
    return this.bitmap.free();
  }

  used(): number {
    return this.bitmap.used();
  }

  forEach(fn: (port: number) => void): void {
    this.bitmap.forEach((off) => {
      fn(this.portRange.base + off);
    });
  }

  snapshot(): Uint8Array {
    return this.bitmap.snapshot();
  }

  restore(data: Uint8Array): void {
    this.bitmap.restore(data);
  }

  fresh(rng?: Rng): PortAllocator {
    return new PortAllocator(this.portRange, rng ? { rng } : {});
  }
}

/**
 * PortAllocationOperation (operation.go): one request's node-port work. Allocations happen now
 * and are rolled back by finish() unless commit() ran; releases are deferred to commit() so a
 * failed update never frees ports the stored object still holds.
 */
export class PortOperation {
  private allocated: number[] = [];
  private toRelease: number[] = [];

  constructor(
    private readonly alloc: PortAllocator,
    private readonly dryRun: boolean,
  ) {}

  allocate(port: number): void {
    if (this.dryRun) {
      // Go checks only Has() here; checking the range too makes dry-run report the same 422.
      if (!this.alloc.contains(port)) throw this.alloc.notInRange();
      if (this.alloc.has(port) || this.allocated.includes(port)) throw new ErrAllocated('port');
      this.allocated.push(port);
      return;
    }
    this.alloc.allocate(port);
    this.allocated.push(port);
  }

  allocateNext(): number {
    if (this.dryRun) {
      // Any plausible free port will do; nothing is reserved.
      let last = this.allocated.length === 0 ? this.alloc.portRange.base - 1 : Math.max(...this.allocated);
      for (let step = 1; step <= 100; step++) {
        const p = last + step;
        if (this.alloc.contains(p) && !this.alloc.has(p) && !this.allocated.includes(p)) {
          last = p;
          break;
        }
      }
      this.allocated.push(last);
      return last;
    }
    const p = this.alloc.allocateNext();
    this.allocated.push(p);
    return p;
  }

  releaseDeferred(port: number): void {
    this.toRelease.push(port);
  }

  commit(): void {
    if (!this.dryRun) for (const p of this.toRelease) this.alloc.release(p);
    this.allocated = [];
    this.toRelease = [];
  }

  /** Rolls back allocations unless commit() ran (Go's Finish). */
  finish(): void {
    if (!this.dryRun) for (const p of this.allocated) this.alloc.release(p);
    this.allocated = [];
    this.toRelease = [];
  }
}
