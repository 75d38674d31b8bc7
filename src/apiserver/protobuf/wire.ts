// Protobuf wire format reader (https://protobuf.dev/programming-guides/encoding/). Hand-written:
// the apiserver decodes only a handful of message types, and every malformed input must become a
// 400, never a crash.

export class WireError extends Error {}

export const WireType = { varint: 0, fixed64: 1, bytes: 2, startGroup: 3, endGroup: 4, fixed32: 5 } as const;

export class Reader {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  /** A base-128 varint as an unsigned 64-bit BigInt (at most 10 bytes). */
  varint(): bigint {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.pos >= this.end) throw new WireError('unexpected EOF');
      const b = this.buf[this.pos++] ?? 0;
      result |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return BigInt.asUintN(64, result);
    }
    throw new WireError('proto: integer overflow');
  }

  /** A varint as a JS number; int32 and int64 fields are two's complement in 64 bits. */
  int(): number {
    return Number(BigInt.asIntN(64, this.varint()));
  }

  uint32(): number {
    return Number(BigInt.asUintN(32, this.varint()));
  }

  tag(): { field: number; wire: number } {
    const t = this.uint32();
    const field = t >>> 3;
    if (field === 0) throw new WireError('proto: illegal tag 0');
    return { field, wire: t & 7 };
  }

  /** The bounds of a length-delimited payload, consumed. */
  bytes(): { start: number; end: number } {
    const len = this.uint32();
    const start = this.pos;
    const end = start + len;
    if (end > this.end) throw new WireError('unexpected EOF');
    this.pos = end;
    return { start, end };
  }

  string(): string {
    const { start, end } = this.bytes();
    return Buffer.from(this.buf.buffer, this.buf.byteOffset + start, end - start).toString('utf8');
  }

  double(): number {
    if (this.pos + 8 > this.end) throw new WireError('unexpected EOF');
    const v = Buffer.from(this.buf.buffer, this.buf.byteOffset + this.pos, 8).readDoubleLE(0);
    this.pos += 8;
    return v;
  }

  /** Skip a field of the given wire type (unknown field numbers are ignored, as proto2 does). */
  skip(wire: number): void {
    switch (wire) {
      case WireType.varint:
        this.varint();
        return;
      case WireType.fixed64:
        this.advance(8);
        return;
      case WireType.bytes:
        this.bytes();
        return;
      case WireType.fixed32:
        this.advance(4);
        return;
      default:
        throw new WireError(`proto: illegal wireType ${wire}`);
    }
  }

  private advance(n: number): void {
    if (this.pos + n > this.end) throw new WireError('unexpected EOF');
    this.pos += n;
  }

  /** A reader over a nested length-delimited message. */
  sub(): Reader {
    const { start, end } = this.bytes();
    return new Reader(this.buf, start, end);
  }
}
