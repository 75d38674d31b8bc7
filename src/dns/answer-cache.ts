// Pre-encoded in-zone replies: what the server's hot path answers from.
//
// A reply to a plain query (one question of class IN, no compression in it, at most an OPT) is
// kept whole and encoded, as it would be sent for the question name in lowercase with ID 0 and
// RD/CD clear. It is keyed by (the question name's wire bytes ASCII-lowercased, qtype, EDNS
// present or not): the OPT record is the only part of the reply the EDNS size decides, and a
// template longer than a query's limit is simply not used (the general path truncates).
// A hit copies the template and patches what belongs to the query: the ID, the RD/CD bits and
// the question name as the client cased it (RFC 4343 §4.1; 0x20 resolvers check the echo). The
// name has the same length in any case and the template's compression pointers target offset
// 12 or later in its own bytes, so they stay valid.
//
// Keys are hashed from the packet bytes in place (FNV-1a over the lowercased name): no string is
// built per query. Validity is the owner's business (the handler drops everything on any index
// change), so an entry is never staler than the last event.

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

export interface CachedReply<M> {
  /** The question name's wire bytes (labels and root byte), ASCII-lowercased. */
  readonly name: Uint8Array;
  readonly type: number;
  readonly edns: boolean;
  /** The whole reply, ID 0, RD and CD clear, question name lowercased. */
  readonly wire: Buffer;
  readonly rcode: number;
  /** Per-transport data the owner fills on first use (metric series), indexed by the owner. */
  readonly perTransport: (M | undefined)[];
  /** Next entry with the same hash. */
  next: CachedReply<M> | undefined;
}

// Callers keep indexes in bounds: `as number` rather than `?? 0` keeps these loops on V8's
// fast typed-array path (the fallback costs several times the loop itself).
const lower = (c: number) => (c >= 65 && c <= 90 ? c + 32 : c);

/** FNV-1a of buf[start, end) ASCII-lowercased. Label length bytes (≤ 63) are never letters. */
export function hashName(buf: Uint8Array, start: number, end: number): number {
  let h = FNV_OFFSET | 0;
  for (let i = start; i < end; i++) {
    let c = buf[i] as number;
    if (c >= 65 && c <= 90) c += 32;
    h = Math.imul(h ^ c, FNV_PRIME);
  }
  return h;
}

function slot(nameHash: number, type: number, edns: boolean): number {
  // Small integers stay Smis: Map lookups on them hash without allocating.
  return (Math.imul(nameHash ^ type, FNV_PRIME) ^ (edns ? 1 : 0)) & 0x3fffffff;
}

export class AnswerCache<M> {
  private readonly map = new Map<number, CachedReply<M>>();
  private count = 0;

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.count;
  }

  /** The entry for the wire name at buf[start, end), in any case. */
  get(buf: Uint8Array, start: number, end: number, type: number, edns: boolean): CachedReply<M> | undefined {
    const len = end - start;
    for (let e = this.map.get(slot(hashName(buf, start, end), type, edns)); e; e = e.next) {
      if (e.type !== type || e.edns !== edns || e.name.length !== len) continue;
      const name = e.name;
      let i = 0;
      while (i < len && lower(buf[start + i] as number) === name[i]) i++;
      if (i === len) return e;
    }
    return undefined;
  }

  /**
   * Stores the reply `wire` to a query whose question name is wire[12, nameEnd): the copy kept
   * is lowercased there, with ID 0 and RD/CD clear. When full, everything goes (the owner
   * refills from traffic); a hot set larger than `capacity` just takes the general path.
   */
  put(wire: Uint8Array, nameEnd: number, type: number, edns: boolean): CachedReply<M> {
    if (this.count >= this.capacity) this.clear();
    const copy = Buffer.from(wire);
    copy[0] = 0;
    copy[1] = 0;
    copy[2] = (copy[2] ?? 0) & ~0x01;
    copy[3] = (copy[3] ?? 0) & ~0x10;
    for (let i = 12; i < nameEnd; i++) copy[i] = lower(copy[i] ?? 0);
    const name = copy.subarray(12, nameEnd);
    const entry: CachedReply<M> = {
      name,
      type,
      edns,
      wire: copy,
      rcode: (copy[3] ?? 0) & 0xf,
      perTransport: [],
      next: undefined,
    };
    const k = slot(hashName(name, 0, name.length), type, edns);
    let prev: CachedReply<M> | undefined;
    for (let e = this.map.get(k); e; prev = e, e = e.next) {
      if (e.type === type && e.edns === edns && Buffer.compare(e.name, name) === 0) {
        // Replace in place.
        entry.next = e.next;
        if (prev) prev.next = entry;
        else this.map.set(k, entry);
        return entry;
      }
    }
    entry.next = this.map.get(k);
    this.map.set(k, entry);
    this.count++;
    return entry;
  }

  clear(): void {
    this.map.clear();
    this.count = 0;
  }
}
