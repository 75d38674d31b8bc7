// Fuzzing the query path with fast-check: random bytes, well-formed queries with random case,
// types and EDNS, and those queries mutated (bit flips, truncation, splices). Zero crashes; every
// reply parses with dns-packet, echoes the id, is a response, and respects the UDP limit.
// CI runs a 20,000-packet slice; SVCNET_FUZZ_N=1000000 runs the full million. The socket part runs
// with both UDP implementations (dgram, and the native batched one on Linux).
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { after, describe, it } from 'node:test';
import dnsPacket from 'dns-packet';
import fc from 'fast-check';
import { Flag } from './codec.ts';
import { DnsHandler } from './handler.ts';
import { DnsIndex } from './records.ts';
import { DnsServer, type UdpIo } from './server.ts';
import { slice, svc } from './testdata/objects.ts';

const N = Number(process.env.SVCNET_FUZZ_N ?? 20_000);

function index(): DnsIndex {
  const ix = new DnsIndex({ zone: 'cluster.local' });
  ix.onService(
    undefined,
    svc('default', 'kubernetes', { clusterIP: '10.96.0.1', ports: [{ name: 'https', port: 443 }] }),
  );
  ix.onService(
    undefined,
    svc('default', 'dual', {
      clusterIPs: ['10.96.0.2', 'fd00::2'],
      ports: [{ name: 'dns', port: 53, protocol: 'UDP' }],
    }),
  );
  ix.onService(undefined, svc('default', 'hl', { clusterIP: 'None', ports: [{ name: 'http', port: 80 }] }));
  ix.onEndpointSlice(
    undefined,
    slice(
      'default',
      'hl',
      'hl-1',
      Array.from({ length: 90 }, (_, i) => ({ ip: `10.4.${i >> 8}.${i & 255}` })),
    ),
  );
  ix.onService(undefined, svc('prod', 'ext', { type: 'ExternalName', externalName: 'redis.example.com' }));
  ix.onService(
    undefined,
    svc('prod', 'in', { type: 'ExternalName', externalName: 'kubernetes.default.svc.cluster.local' }),
  );
  return ix;
}

const names = [
  'kubernetes.default.svc.cluster.local',
  'dual.default.svc.cluster.local',
  'hl.default.svc.cluster.local',
  '_http._tcp.hl.default.svc.cluster.local',
  '10-4-0-7.hl.default.svc.cluster.local',
  'ext.prod.svc.cluster.local',
  'in.prod.svc.cluster.local',
  'dns-version.cluster.local',
  'cluster.local',
  '10-1-2-3.default.pod.cluster.local',
  '1.0.96.10.in-addr.arpa',
  'nope.default.svc.cluster.local',
  'www.example.com',
];
const types: dnsPacket.RecordType[] = [
  'A',
  'AAAA',
  'SRV',
  'PTR',
  'TXT',
  'CNAME',
  'SOA',
  'NS',
  'ANY' as dnsPacket.RecordType,
  'MX',
  'AXFR',
];

const randomCase = (s: string, bits: number[]) =>
  [...s].map((c, i) => ((bits[i % bits.length] ?? 0) ? c.toUpperCase() : c)).join('');

const wellFormed = fc
  .record({
    id: fc.integer({ min: 0, max: 0xffff }),
    name: fc.constantFrom(...names),
    caseBits: fc.array(fc.integer({ min: 0, max: 1 }), { minLength: 1, maxLength: 16 }),
    type: fc.constantFrom(...types),
    edns: fc.option(fc.integer({ min: 0, max: 0xffff })),
    rd: fc.boolean(),
  })
  .map((q) =>
    dnsPacket.encode({
      id: q.id,
      type: 'query',
      flags: q.rd ? dnsPacket.RECURSION_DESIRED : 0,
      questions: [{ name: randomCase(q.name, q.caseBits), type: q.type }],
      ...(q.edns !== null
        ? { additionals: [{ type: 'OPT', name: '.', udpPayloadSize: q.edns } as dnsPacket.Answer] }
        : {}),
    }),
  );

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('splice' as const), at: fc.nat(), bytes: fc.uint8Array({ maxLength: 8 }) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.constantFrom(0, 0xc0, 0xff, 0x3f, 0x40, 12) }),
);

const mutated = fc.tuple(wellFormed, fc.array(mutation, { minLength: 1, maxLength: 4 })).map(([buf, muts]) => {
  let b = Buffer.from(buf);
  for (const m of muts) {
    const at = b.length === 0 ? 0 : m.at % b.length;
    if (m.kind === 'flip' && b.length) b[at] = (b[at] ?? 0) ^ (1 << m.bit);
    else if (m.kind === 'cut') b = b.subarray(0, at);
    else if (m.kind === 'splice') b = Buffer.concat([b.subarray(0, at), Buffer.from(m.bytes), b.subarray(at)]);
    else if (m.kind === 'set' && b.length) b[at] = m.value;
  }
  return b;
});

const packet = fc.oneof(
  { arbitrary: fc.uint8Array({ maxLength: 600 }).map((u) => Buffer.from(u)), weight: 2 },
  { arbitrary: wellFormed, weight: 1 },
  { arbitrary: mutated, weight: 5 },
);

function hasOpt(buf: Buffer): boolean {
  try {
    return (dnsPacket.decode(buf).additionals ?? []).some((a) => a.type === 'OPT');
  } catch {
    return true; // unknown: allow the larger limit
  }
}

describe(`dns fuzzing (${N} packets)`, () => {
  it('never crashes; every reply parses, echoes the id and fits the limit', async () => {
    const handler = new DnsHandler(index(), { podMode: 'insecure', negativeTtl: 5 });
    let replies = 0;
    await fc.assert(
      fc.asyncProperty(packet, async (buf) => {
        const r = handler.handle(buf, { proto: 'udp', family: 4 });
        const out = r instanceof Promise ? await r : r;
        if (!out) {
          // Only non-queries are dropped: too short for a header, or the QR bit set.
          assert.ok(buf.length < 12 || ((buf[2] ?? 0) & 0x80) !== 0, `dropped a query: ${buf.toString('hex')}`);
          return;
        }
        replies++;
        const d = dnsPacket.decode(out);
        assert.equal(d.id, buf.readUInt16BE(0));
        assert.ok(out.readUInt16BE(2) & Flag.QR);
        assert.ok(out.length <= (hasOpt(buf) ? 1232 : 512), `reply of ${out.length} bytes`);
      }),
      { numRuns: N },
    );
    assert.ok(replies > N / 3);
  });

  const udpModes: UdpIo[] = process.platform === 'linux' ? ['dgram', 'native'] : ['dgram'];
  for (const udpIo of udpModes)
    describe(`over a real UDP socket (udp ${udpIo})`, () => {
      let server: DnsServer | undefined;
      let port = 0;
      // In the test, not a before hook: 'native' without the addon throws here (naming
      // scripts/build-native.sh) and that must count as a failed test.
      const start = async () => {
        server = new DnsServer({
          listen: [{ host: '127.0.0.1', port: 0 }],
          handler: new DnsHandler(index(), { podMode: 'insecure', negativeTtl: 5 }),
          udpIo,
        });
        port = (await server.start())[0]?.port ?? 0;
      };
      after(() => server?.stop());

      it('keeps answering after a burst of garbage', async () => {
        await start();
        const sock = createSocket('udp4');
        await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
        const got: Buffer[] = [];
        sock.on('message', (m) => got.push(m));
        const samples = fc.sample(packet, Math.min(2000, N));
        for (let i = 0; i < samples.length; i++) {
          sock.send(samples[i] as Buffer, port, '127.0.0.1');
          if (i % 100 === 0) await new Promise((r) => setImmediate(r));
        }
        const probe = dnsPacket.encode({
          id: 4242,
          type: 'query',
          questions: [{ name: 'kubernetes.default.svc.cluster.local', type: 'A' }],
        });
        const deadline = Date.now() + 3000;
        let answer: dnsPacket.DecodedPacket | undefined;
        while (!answer && Date.now() < deadline) {
          sock.send(probe, port, '127.0.0.1');
          await new Promise((r) => setTimeout(r, 50));
          answer = got.map((m) => dnsPacket.decode(m)).find((d) => d.id === 4242);
        }
        sock.close();
        assert.ok(answer, 'no answer after the burst');
        assert.deepEqual(
          answer.answers?.map((a) => (a.type === 'A' ? a.data : '')),
          ['10.96.0.1'],
        );
        for (const m of got) dnsPacket.decode(m);
      });
    });
});
