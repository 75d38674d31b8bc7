// The wire codec: query parsing (pointers, loops, EDNS, bad opcodes), compression checked by
// decoding with dns-packet, the UDP size limit, and name helpers.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import dnsPacket from 'dns-packet';
import {
  encodeMessage,
  encodeWithLimit,
  Flag,
  type Message,
  parseQuery,
  questionOf,
  Rcode,
  type Rr,
  T,
  udpLimit,
} from './codec.ts';
import { dashedIp, ipFromPodLabel, reverseName } from './names.ts';

const query = (name: string, type: dnsPacket.RecordType, edns?: number) =>
  dnsPacket.encode({
    id: 0xbeef,
    type: 'query',
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ name, type }],
    ...(edns ? { additionals: [{ type: 'OPT', name: '.', udpPayloadSize: edns } as dnsPacket.Answer] } : {}),
  });

describe('parseQuery', () => {
  it('reads the question, keeps the wire case, folds the key', () => {
    const p = parseQuery(query('KuBe.Default.svc.cluster.local', 'A', 4096));
    assert.ok(p.ok);
    assert.equal(p.query.id, 0xbeef);
    assert.equal(p.query.question.key, 'kube.default.svc.cluster.local');
    assert.equal(Buffer.from(p.query.question.wire).toString('latin1').slice(1, 5), 'KuBe');
    assert.deepEqual(p.query.edns, { udpSize: 4096, version: 0, dnssecOk: false });
    assert.equal(udpLimit(p.query.edns), 1232);
    assert.equal(udpLimit(undefined), 512);
  });

  it('follows a backward compression pointer in the question, rejects loops and forward pointers', () => {
    // header + a name at 12 that is just a pointer to itself (a loop)
    const loop = Buffer.from([0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1]);
    const r = parseQuery(loop);
    assert.ok(!r.ok && !r.drop && r.rcode === Rcode.FORMERR);
    const fwd = Buffer.from([0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 30, 0, 1, 0, 1]);
    const f = parseQuery(fwd);
    assert.ok(!f.ok && !f.drop && f.rcode === Rcode.FORMERR);
    // A question name that points back into... the header is nonsense but legal-looking: the
    // id bytes (0x01 'a') read as a label, then a pointer: must not crash either way.
    const odd = Buffer.from([1, 0x61, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 0, 0, 1, 0, 1]);
    const o = parseQuery(odd);
    assert.ok(o.ok || !o.drop);
  });

  it('drops responses and short packets; NOTIMP for other opcodes; BADVERS for EDNS 1', () => {
    const resp = Buffer.from(query('a.b', 'A'));
    resp[2] = (resp[2] ?? 0) | 0x80;
    assert.deepEqual(parseQuery(resp), { ok: false, drop: true, reason: 'response' });
    assert.ok(!parseQuery(Buffer.alloc(11)).ok);
    const notify = Buffer.from(query('a.b', 'SOA'));
    notify[2] = ((notify[2] ?? 0) & 0x87) | (4 << 3);
    const n = parseQuery(notify);
    assert.ok(!n.ok && !n.drop && n.rcode === Rcode.NOTIMP);
    const v1 = Buffer.from(query('a.b', 'A', 1232));
    v1[v1.length - 5] = 1; // OPT: …, TTL = ext-rcode, VERSION, flags(2), then RDLEN(2)
    const b = parseQuery(v1);
    assert.ok(!b.ok && !b.drop && b.rcode === Rcode.BADVERS);
  });

  it('escapes odd label bytes so they can never match a cluster name', () => {
    const buf = Buffer.from([
      0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, 0x61, 0x2e, 0x62, 3, 0x73, 0x76, 0x63, 0, 0, 1, 0, 1,
    ]);
    const p = parseQuery(buf);
    assert.ok(p.ok);
    assert.equal(p.query.question.key, 'a\\046b.svc');
  });
});

describe('encodeMessage', () => {
  const owner = 'web.default.svc.cluster.local';
  const srv = (i: number): Rr => ({
    name: `_http._tcp.${owner}`,
    type: T.SRV,
    ttl: 5,
    data: { kind: 'srv', priority: 0, weight: 10, port: 80, target: `h${i}.${owner}` },
  });
  const a = (name: string, ip: string): Rr => ({ name, type: T.A, ttl: 5, data: { kind: 'ip', ip } });

  it('compresses names and decodes back identically with dns-packet', () => {
    const q = questionOf(`_http._tcp.${owner}`, T.SRV);
    const m: Message = {
      id: 7,
      flags: Flag.QR | Flag.AA,
      rcode: 0,
      question: q,
      answers: [srv(1), srv(2)],
      authority: [],
      additional: [a(`h1.${owner}`, '10.0.0.1'), a(`h2.${owner}`, '10.0.0.2')],
      opt: { udpSize: 1232 },
    };
    const wire = encodeMessage(m);
    const d = dnsPacket.decode(wire);
    assert.equal(d.id, 7);
    assert.deepEqual(
      d.answers?.map((x) => (x.type === 'SRV' ? `${x.name} ${x.data.port} ${x.data.target}` : '')),
      [`_http._tcp.${owner} 80 h1.${owner}`, `_http._tcp.${owner} 80 h2.${owner}`],
    );
    assert.deepEqual(
      d.additionals?.flatMap((x) => (x.type === 'A' ? [`${x.name} ${x.data}`] : [])),
      [`h1.${owner} 10.0.0.1`, `h2.${owner} 10.0.0.2`],
    );
    const uncompressed = dnsPacket.encode({
      id: 7,
      type: 'response',
      questions: [{ name: `_http._tcp.${owner}`, type: 'SRV' }],
      answers: d.answers ?? [],
      additionals: d.additionals ?? [],
    });
    assert.ok(wire.length < uncompressed.length * 0.7, `${wire.length} vs ${uncompressed.length}`);
    // SRV targets are never compressed (RFC 2782), owner names are.
    assert.ok(wire.includes(Buffer.from(`\x02h1\x03web`, 'latin1')));
  });

  it('drops additional records first (no TC), then answers with TC', () => {
    const q = questionOf(owner, T.A);
    const many = Array.from({ length: 40 }, (_, i) => a(owner, `10.0.1.${i}`));
    const base: Message = {
      id: 1,
      flags: Flag.QR,
      rcode: 0,
      question: q,
      answers: many.slice(0, 25),
      authority: [],
      additional: many,
    };
    const fitsWithoutAdditional = encodeWithLimit(base, 512);
    const d1 = dnsPacket.decode(fitsWithoutAdditional);
    assert.equal(d1.answers?.length, 25);
    assert.equal(d1.additionals?.length, 0);
    assert.equal(fitsWithoutAdditional.readUInt16BE(2) & Flag.TC, 0);
    const tooBig = encodeWithLimit({ ...base, answers: many }, 512);
    assert.ok(tooBig.readUInt16BE(2) & Flag.TC);
    assert.equal(dnsPacket.decode(tooBig).answers?.length, 0);
    assert.ok(tooBig.length <= 512);
  });
});

describe('names', () => {
  it('reverse names: IPv4 octets, IPv6 all 32 nibbles of the expanded address', () => {
    assert.equal(reverseName('10.96.0.1'), '1.0.96.10.in-addr.arpa');
    assert.equal(
      reverseName('2001:db8::1'),
      '1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa',
    );
    assert.equal(
      reverseName('::ffff:10.0.0.1'),
      '1.0.0.0.0.0.a.0.f.f.f.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa',
    );
    assert.equal(reverseName('nope'), undefined);
  });
  it('pod labels: dashed IPv4 and IPv6', () => {
    assert.equal(ipFromPodLabel('10-244-0-5'), '10.244.0.5');
    assert.equal(ipFromPodLabel('fd00--5'), 'fd00::5');
    assert.equal(ipFromPodLabel('2001-db8-0-0-0-0-0-1'), '2001:db8::1');
    assert.equal(ipFromPodLabel('10-244-0'), undefined);
    assert.equal(ipFromPodLabel('10-244-0-256'), undefined);
    assert.equal(ipFromPodLabel('x-y-z-w'), undefined);
    assert.equal(dashedIp('fd00::5'), 'fd00--5');
  });
});
