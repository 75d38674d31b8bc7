// ClusterIP allocator over one service CIDR, mirroring k8s pkg/registry/core/service/ipallocator/
// bitmap.go (Range, New, calculateRangeOffset, dryRunRange). Offsets are counted from the first
// address after the network address, so the network address can never be handed out nor
// released; for IPv4 the broadcast address is cut off the top as well. IPv6 ranges are capped at
// 65536 entries because the bitmap holds one bit per address. BigInt keeps IPv6 exact.
import { bigIntToIP, bytesAreIPv4, bytesToBigInt, type IPFamily, ipToBigInt, parseCIDRSloppy } from '../../api/ip.ts';
import { AllocationBitmap, ErrAllocated, ErrFull, ErrNotInRange, type Rng } from './bitmap.ts';

/** Bits of host part the legacy allocator accepts (kube-apiserver validateMaxCIDRRange, maxCIDRBits). */
export const maxCIDRBits = 20;
/** ipallocator.New: "Limit the max size, since the allocator keeps a bitmap of that size." */
export const maxIPv6Entries = 65536;

export interface ParsedCIDR {
  family: IPFamily;
  /** The network address as an integer as wide as the family. */
  network: bigint;
  prefix: number;
  /** Address width: 32 or 128. */
  bits: number;
  /** Canonical text, as Go's IPNet.String(): the masked network and the prefix. */
  text: string;
}

/** netutils.ParseCIDRSloppy with the network as an integer: host bits are masked off. Throws on malformed text. */
export function parseCIDR(text: string): ParsedCIDR {
  const c = parseCIDRSloppy(text);
  if (!c) throw new Error(`invalid CIDR address: ${text}`);
  const v4 = bytesAreIPv4(c.network);
  const family: IPFamily = v4 ? 'IPv4' : 'IPv6';
  const bits = v4 ? 32 : 128;
  // A mapped IPv4 network written with ':' counts its prefix over 128 bits.
  const prefix = v4 && c.bits === 128 ? c.prefix - 96 : c.prefix;
  if (prefix < 0) throw new Error(`invalid CIDR address: ${text}`);
  const full = bytesToBigInt(c.network);
  const network = v4 ? full & 0xffffffffn : full;
  return { family, network, prefix, bits, text: `${bigIntToIP(family, network)}/${prefix}` };
}

/**
 * calculateRangeOffset: size of the static band, min(max(16, size/16), 256), 0 for tiny ranges.
 * size is the whole CIDR (network and broadcast included); netutils.RangeSize saturates for
 * huge ranges, which only matters for the cap of 256.
 */
export function ipRangeOffset(prefix: number, bits: number): number {
  const hostBits = bits - prefix;
  if (hostBits >= 20) return 256; // size/16 >= 65536 > 256; avoids 2^128 numbers
  const size = 2 ** hostBits;
  if (size <= 16) return 0;
  return Math.min(Math.max(16, Math.floor(size / 16)), 256);
}

/** The operations the registry needs; the dry-run view implements the same shape. */
export interface IPRange {
  readonly cidr: string;
  readonly family: IPFamily;
  allocate(ip: string): void;
  allocateNext(): string;
  release(ip: string): void;
  has(ip: string): boolean;
}

export interface IPAllocatorOptions {
  rng?: Rng;
  /** Flag name used in the size-limit error text. */
  flag?: string;
}

export class IPAllocator implements IPRange {
  readonly cidr: string;
  readonly family: IPFamily;
  /** Usable addresses (bitmap size). */
  readonly max: number;
  /** Static band size (§3.4). */
  readonly offset: number;
  private readonly net: ParsedCIDR;
  /** The first usable address: network + 1. */
  private readonly base: bigint;
  private readonly bitmap: AllocationBitmap;

  constructor(cidr: string, opts: IPAllocatorOptions = {}) {
    const net = parseCIDR(cidr);
    if (net.bits - net.prefix > maxCIDRBits) {
      // kube-apiserver options validateMaxCIDRRange
      throw new Error(
        `specified ${opts.flag ?? '--service-cluster-ip-range'} is too large; for ${net.bits}-bit addresses, the mask must be >= ${net.bits - maxCIDRBits}`,
      );
    }
    this.net = net;
    this.cidr = net.text;
    this.family = net.family;
    let max = 2 ** (net.bits - net.prefix);
    if (net.family === 'IPv6') max = Math.min(max, maxIPv6Entries);
    else max--; // the IPv4 broadcast address is never used
    max--; // nor the network address
    this.max = Math.max(0, max);
    this.base = net.network + 1n;
    this.offset = ipRangeOffset(net.prefix, net.bits);
    this.bitmap = new AllocationBitmap(this.max, this.offset, opts.rng);
  }

  /** ipallocator contains(): the bitmap offset of ip, or undefined when it is not usable here. */
  private offsetOf(ip: string): number | undefined {
    const p = ipToBigInt(ip);
    if (!p || p.family !== this.family) return undefined;
    const hostBits = BigInt(this.net.bits - this.net.prefix);
    if (p.value >> hostBits !== this.net.network >> hostBits) return undefined;
    const off = p.value - this.base;
    if (off < 0n || off >= BigInt(this.max)) return undefined;
    return Number(off);
  }

  private notInRange(ip: string): ErrNotInRange {
    const p = ipToBigInt(ip);
    const shown = p ? bigIntToIP(p.family, p.value) : ip;
    return new ErrNotInRange(
      `the provided IP (${shown}) is not in the valid range. The range of valid IPs is ${this.cidr}`,
      this.cidr,
    );
  }

  /** The first usable address (offset 0): where kube-apiserver puts default/kubernetes (§3.3). */
  firstIP(): string {
    return bigIntToIP(this.family, this.base);
  }

  contains(ip: string): boolean {
    return this.offsetOf(ip) !== undefined;
  }

  /** Throws ErrNotInRange or ErrAllocated. */
  allocate(ip: string): void {
    const off = this.offsetOf(ip);
    if (off === undefined) throw this.notInRange(ip);
    if (!this.bitmap.allocate(off)) throw new ErrAllocated('IP');
  }

  /** Throws ErrFull. */
  allocateNext(): string {
    const off = this.bitmap.allocateNext();
    if (off === undefined) throw new ErrFull();
    return bigIntToIP(this.family, this.base + BigInt(off));
  }

  /** Releasing a free or out-of-range IP is a no-op. */
  release(ip: string): void {
    const off = this.offsetOf(ip);
    if (off !== undefined) this.bitmap.release(off);
  }

  has(ip: string): boolean {
    const off = this.offsetOf(ip);
    return off !== undefined && this.bitmap.has(off);
  }

  free(): number {
    return this.bitmap.free();
  }

  used(): number {
    return this.bitmap.used();
  }

  forEach(fn: (ip: string) => void): void {
    this.bitmap.forEach((off) => {
      fn(bigIntToIP(this.family, this.base + BigInt(off)));
    });
  }

  snapshot(): Uint8Array {
    return this.bitmap.snapshot();
  }

  restore(data: Uint8Array): void {
    this.bitmap.restore(data);
  }

  /** An empty allocator over the same range (what the repair pass rebuilds into). */
  fresh(rng?: Rng): IPAllocator {
    return new IPAllocator(this.cidr, rng ? { rng } : {});
  }

  /**
   * dryRunRange: allocate checks only that the IP is in range ("racy and not worth the effort"),
   * allocateNext returns the network address as a placeholder, release does nothing.
   */
  dryRun(): IPRange {
    const real = this;
    return {
      cidr: real.cidr,
      family: real.family,
      allocate(ip: string): void {
        if (real.offsetOf(ip) === undefined) throw real.notInRange(ip);
      },
      allocateNext(): string {
        return bigIntToIP(real.family, real.net.network);
      },
      release(): void {},
      has: (ip: string) => real.has(ip),
    };
  }
}
