// The encoded-answer cache and the handler's hot path over it: a reply served from the cache is
// byte for byte the reply the general path builds (ID, RD/CD, the client's 0x20 case, EDNS,
// NXDOMAIN/NODATA, truncation), it is never staler than the index, and lookups never confuse
// names, types or EDNS presence.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AnswerCache, hashName } from './answer-cache.ts';
import { encodeMessage, Flag, nameToWire, questionOf, T } from './codec.ts';
import { DnsHandler, type QueryContext } from './handler.ts';
import { DnsIndex } from './records.ts';
import { slice, svc } from './testdata/objects.ts';

const UDP: QueryContext = { proto: 'udp', family: 4 };
const opts = { podMode: 'insecure' as const, negativeTtl: 5 };

function query(id: number, name: string, type: number, o: { flags?: number; edns?: number; dnssecOk?: boolean } = {}) {
  const q = encodeMessage({
    id,
    flags: o.flags ?? Flag.RD,
    rcode: 0,
    question: questionOf(name, type),
    answers: [],
    authority: [],
    additional: [],
    ...(o.edns ? { opt: { udpSize: o.edns } } : {}),
  });
  // The DO bit sits in the OPT TTL's flags, 4 bytes from the end (no options follow).
  if (o.dnssecOk) q[q.length - 4] = (q[q.length - 4] ?? 0) | 0x80;
  return q;
}

function index(): DnsIndex {
  const ix = new DnsIndex({ zone: 'cluster.local' });
  ix.onService(
    undefined,
    svc('default', 'kubernetes', { clusterIP: '10.96.0.1', ports: [{ name: 'https', port: 443 }] }),
  );
  ix.onService(
    undefined,
    svc('prod', 'dual', { clusterIP: '10.96.0.7', clusterIPs: ['10.96.0.7', 'fd00::7'], ipFamilies: ['IPv4', 'IPv6'] }),
  );
  ix.onService(undefined, svc('prod', 'wide', { clusterIP: 'None' }));
  const eps = Array.from({ length: 40 }, (_, i) => ({ ip: `10.244.1.${i + 1}` }));
  ix.onEndpointSlice(undefined, slice('prod', 'wide', 'wide-1', eps));
  return ix;
}

function reply(h: DnsHandler, q: Buffer, ctx = UDP): Buffer {
  const r = h.handle(q, ctx);
  assert.ok(r instanceof Buffer, 'a synchronous reply');
  return r;
}

describe('encoded-answer cache', () => {
  it('serves the general path’s exact bytes for every query shape, patching ID, RD/CD and case', () => {
    const ix = index();
    const warm = new DnsHandler(ix, opts);
    const names = [
      'kubernetes.default.svc.cluster.local',
      'dual.prod.svc.cluster.local',
      'nope.prod.svc.cluster.local',
    ];
    const types = [T.A, T.AAAA, T.TXT, T.SRV];
    const shapes = [{}, { edns: 1232 }, { edns: 4096, dnssecOk: true }, { edns: 512 }];
    const flagSets = [Flag.RD, Flag.RD | Flag.CD, 0, Flag.CD];
    let served = 0;
    for (const name of names)
      for (const type of types)
        for (const shape of shapes) {
          reply(warm, query(1, name, type, shape)); // fills the cache through the general path
          for (const flags of flagSets) {
            const mixed = name.replace(/[aeiou]/g, (c) => c.toUpperCase());
            const q = query(0xbeef ^ flags, mixed, type, { ...shape, flags });
            const before = warm.cacheHits;
            const cached = reply(warm, q);
            assert.equal(warm.cacheHits, before + 1, `${mixed} ${type} from the cache`);
            const general = reply(new DnsHandler(ix, opts), q);
            assert.deepEqual(cached, general, `${mixed} type ${type} ${JSON.stringify(shape)} flags ${flags}`);
            // The question is echoed as the client cased it.
            assert.deepEqual(cached.subarray(12, 12 + nameToWire(mixed).length), Buffer.from(nameToWire(mixed)));
            served++;
          }
        }
    assert.equal(served, names.length * types.length * shapes.length * flagSets.length);
  });

  it('leaves replies that do not fit the query’s limit to the general path (TC without EDNS)', () => {
    const ix = index();
    const h = new DnsHandler(ix, opts);
    const name = 'wide.prod.svc.cluster.local';
    reply(h, query(1, name, T.A, { edns: 1232 }));
    const hits = h.cacheHits;
    const small = reply(h, query(2, name, T.A));
    assert.equal(h.cacheHits, hits, 'the 40-address answer does not fit 512 bytes');
    assert.ok(((small[2] ?? 0) & 0x02) !== 0, 'TC set');
    assert.deepEqual(small, reply(new DnsHandler(ix, opts), query(2, name, T.A)));
    const big = reply(h, query(3, name, T.A, { edns: 1232 }));
    assert.equal(h.cacheHits, hits + 1);
    assert.equal(big.readUInt16BE(6), 40);
  });

  it('is never staler than the index: a changed or deleted Service answers at once', () => {
    const ix = index();
    const h = new DnsHandler(ix, opts);
    const name = 'kubernetes.default.svc.cluster.local';
    const ip = (b: Buffer) => [...b.subarray(b.length - 4)].join('.');
    assert.equal(ip(reply(h, query(1, name, T.A))), '10.96.0.1');
    assert.equal(ip(reply(h, query(2, name, T.A))), '10.96.0.1');
    const old = svc('default', 'kubernetes', { clusterIP: '10.96.0.1', ports: [{ name: 'https', port: 443 }] });
    const moved = svc('default', 'kubernetes', { clusterIP: '10.96.0.99', ports: [{ name: 'https', port: 443 }] });
    ix.onService(old, moved);
    assert.equal(ip(reply(h, query(3, name, T.A))), '10.96.0.99');
    ix.onService(moved, undefined);
    const gone = reply(h, query(4, name, T.A));
    assert.equal((gone[3] ?? 0) & 0xf, 3, 'NXDOMAIN');
  });

  it('keys on name (any case), type and EDNS presence, and never confuses neighbours', () => {
    const cache = new AnswerCache<never>(100_000);
    const wireOf = (name: string, type: number, tag: number) => {
      const n = nameToWire(name);
      const b = Buffer.alloc(12 + n.length + 4 + 2);
      b.set(n, 12);
      b.writeUInt16BE(type, 12 + n.length);
      b.writeUInt16BE(tag, b.length - 2);
      return { b, end: 12 + n.length };
    };
    const names = Array.from({ length: 3000 }, (_, i) => `svc-${i}.ns-${i % 7}.svc.cluster.local`);
    for (const [i, name] of names.entries()) {
      for (const type of [T.A, T.AAAA])
        for (const edns of [false, true]) {
          const { b, end } = wireOf(name.toUpperCase(), type, i * 4 + (type === T.A ? 0 : 2) + (edns ? 1 : 0));
          cache.put(b, end, type, edns);
        }
    }
    assert.equal(cache.size, names.length * 4);
    for (const [i, name] of names.entries()) {
      for (const type of [T.A, T.AAAA])
        for (const edns of [false, true]) {
          const { b, end } = wireOf(name, type, 0);
          const e = cache.get(b, 12, end, type, edns);
          assert.ok(e, name);
          assert.equal(e.wire.readUInt16BE(e.wire.length - 2), i * 4 + (type === T.A ? 0 : 2) + (edns ? 1 : 0));
          // Stored lowercased, ID 0.
          assert.deepEqual(Buffer.from(e.name), Buffer.from(nameToWire(name)));
        }
    }
    const miss = (name: string, type: number = T.A) => {
      const { b, end } = wireOf(name, type, 0);
      return cache.get(b, 12, end, type, false);
    };
    assert.equal(miss('svc-1.ns-1.svc.cluster.loca'), undefined);
    assert.equal(miss('svc-1.ns-1.svc.cluster.localx'), undefined);
    assert.equal(miss('svc-1.ns-2.svc.cluster.local'), undefined);
    assert.equal(miss('svc-1.ns-1.svc.cluster.local', T.TXT), undefined);
    assert.equal(hashName(nameToWire('A.b'), 0, 4), hashName(nameToWire('a.B'), 0, 4));
  });

  it('replaces an entry put twice and empties itself at capacity', () => {
    const cache = new AnswerCache<never>(3);
    const entry = (name: string, tag: number) => {
      const n = nameToWire(name);
      const b = Buffer.alloc(12 + n.length + 5);
      b.set(n, 12);
      b[b.length - 1] = tag;
      return { b, end: 12 + n.length };
    };
    const put = (name: string, tag: number) => {
      const { b, end } = entry(name, tag);
      cache.put(b, end, T.A, false);
    };
    const tagOf = (name: string) => {
      const { b, end } = entry(name, 0);
      const e = cache.get(b, 12, end, T.A, false);
      return e?.wire[e.wire.length - 1];
    };
    put('a.x', 1);
    put('a.x', 2);
    assert.equal(cache.size, 1);
    assert.equal(tagOf('a.x'), 2);
    put('b.x', 3);
    put('c.x', 4);
    assert.equal(cache.size, 3);
    put('d.x', 5);
    assert.equal(cache.size, 1);
    assert.equal(tagOf('a.x'), undefined);
    assert.equal(tagOf('d.x'), 5);
  });
});
