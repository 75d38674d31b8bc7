// The transports on real loopback sockets: TCP framing and pipelining, per-client connection caps,
// idle timeouts, back-pressure on pending replies, UDP pending caps, FORMERR and drops. Every case
// runs with both UDP implementations; on Linux a missing native addon fails the 'native' ones.
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import dnsPacket from 'dns-packet';
import { Forwarder } from './forwarder.ts';
import { DnsHandler } from './handler.ts';
import { DnsMetrics } from './metrics.ts';
import { DnsIndex } from './records.ts';
import { type DnsHandlerLike, DnsServer, type DnsServerLimits, type UdpIo } from './server.ts';
import { startFakeUpstream } from './testdata/fake-upstream.ts';
import { svc } from './testdata/objects.ts';

const servers: DnsServer[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const s of servers.splice(0)) await s.stop();
});

function realHandler(metrics?: DnsMetrics): DnsHandler {
  const ix = new DnsIndex({ zone: 'cluster.local' });
  ix.onService(undefined, svc('default', 'kubernetes', { clusterIP: '10.96.0.1' }));
  return new DnsHandler(ix, { podMode: 'insecure', negativeTtl: 5, ...(metrics ? { metrics } : {}) });
}

const udpModes: UdpIo[] = process.platform === 'linux' ? ['dgram', 'native'] : ['dgram'];

async function serve(
  udpIo: UdpIo,
  handler: DnsHandlerLike,
  limits: Partial<DnsServerLimits> = {},
  metrics?: DnsMetrics,
): Promise<number> {
  // 'native' without the addon throws here, naming scripts/build-native.sh.
  const s = new DnsServer({
    listen: [{ host: '127.0.0.1', port: 0 }],
    handler,
    limits,
    udpIo,
    ...(metrics ? { metrics } : {}),
  });
  assert.equal(s.udpIo, udpIo);
  servers.push(s);
  return (await s.start())[0]?.port ?? 0;
}

const q = (id: number, name = 'kubernetes.default.svc.cluster.local') =>
  dnsPacket.encode({ id, type: 'query', questions: [{ name, type: 'A' }] });
const frame = (b: Buffer) => Buffer.concat([Buffer.from([b.length >> 8, b.length & 255]), b]);

function tcp(port: number): Promise<{ sock: Socket; replies: dnsPacket.DecodedPacket[]; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    sockets.push(sock);
    const replies: dnsPacket.DecodedPacket[] = [];
    let buf = Buffer.alloc(0);
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        replies.push(dnsPacket.decode(buf.subarray(2, 2 + buf.readUInt16BE(0))));
        buf = buf.subarray(2 + buf.readUInt16BE(0));
      }
    });
    const closed = new Promise<void>((r) => sock.on('close', () => r()));
    sock.on('error', () => {});
    sock.once('connect', () => resolve({ sock, replies, closed }));
    sock.once('error', reject);
  });
}

const until = async (cond: () => boolean, ms = 2000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
};

for (const udpIo of udpModes)
  describe(`dns server transports (udp ${udpIo})`, () => {
    it('answers pipelined TCP queries on one connection, in one write', async () => {
      const port = await serve(udpIo, realHandler());
      const c = await tcp(port);
      c.sock.write(Buffer.concat(Array.from({ length: 10 }, (_, i) => frame(q(100 + i)))));
      await until(() => c.replies.length === 10);
      assert.deepEqual(
        c.replies.map((r) => r.id).sort(),
        Array.from({ length: 10 }, (_, i) => 100 + i),
      );
      for (const r of c.replies)
        assert.deepEqual(
          r.answers?.map((a) => (a.type === 'A' ? a.data : '')),
          ['10.96.0.1'],
        );
    });

    it('caps TCP connections per client and closes idle ones', async () => {
      const metrics = new DnsMetrics();
      const port = await serve(udpIo, realHandler(), { tcpConnectionsPerClient: 3, tcpIdleTimeoutMs: 300 }, metrics);
      const conns = await Promise.all(Array.from({ length: 5 }, () => tcp(port)));
      await until(() => metrics.tcpRejected.get(['per-client']) === 2);
      // The three admitted ones still work…
      const ok = conns.filter((c) => !c.sock.destroyed);
      ok[0]?.sock.write(frame(q(7)));
      // …and all of them are closed by the idle timeout.
      const t0 = Date.now();
      await Promise.all(conns.map((c) => c.closed));
      assert.ok(Date.now() - t0 < 2000);
      assert.ok(conns.some((c) => c.replies.some((r) => r.id === 7)));
    });

    it('a TCP client dripping a query byte by byte is cut at the message deadline', async () => {
      const metrics = new DnsMetrics();
      const port = await serve(udpIo, realHandler(), { tcpIdleTimeoutMs: 1000, tcpMessageTimeoutMs: 600 }, metrics);
      const c = await tcp(port);
      const bytes = frame(q(9));
      let i = 0;
      const t0 = Date.now();
      // One byte every 200 ms: the idle timeout (1 s) never fires.
      const drip = setInterval(() => {
        if (!c.sock.destroyed && i < bytes.length) c.sock.write(bytes.subarray(i, ++i));
      }, 200);
      await c.closed;
      clearInterval(drip);
      const ms = Date.now() - t0;
      assert.ok(ms < 1000, `closed after ${ms} ms`);
      assert.equal(metrics.dropped.get(['tcp-message-timeout']), 1);
      // A whole query arriving in pieces within the deadline is answered.
      const d = await tcp(port);
      d.sock.write(bytes.subarray(0, 5));
      await new Promise((r) => setTimeout(r, 200));
      d.sock.write(bytes.subarray(5));
      await until(() => d.replies.length === 1);
    });

    it('forwarded UDP queries past the per-client in-flight limit are REFUSED before going upstream', async () => {
      const up = await startFakeUpstream({ records: [], delayMs: 300 });
      const fwd = new Forwarder({
        upstreams: [{ host: '127.0.0.1', port: up.port }],
        cacheSize: 0,
        maxInflightPerClient: 20,
      });
      try {
        const ix = new DnsIndex({ zone: 'cluster.local' });
        const port = await serve(udpIo, new DnsHandler(ix, { podMode: 'insecure', negativeTtl: 5, forwarder: fwd }));
        const sock = createSocket('udp4');
        await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
        const got: dnsPacket.DecodedPacket[] = [];
        sock.on('message', (m) => got.push(dnsPacket.decode(m)));
        for (let i = 0; i < 200; i++) sock.send(q(1000 + i, `n${i}.example.com`), port, '127.0.0.1');
        await until(() => got.length === 200, 5000);
        sock.close();
        const rcodes = (p: dnsPacket.DecodedPacket) => (p as { rcode?: string }).rcode;
        assert.equal(got.filter((g) => rcodes(g) === 'REFUSED').length, 180);
        assert.equal(up.seen.length, 20, 'only the admitted queries reached the upstream');
      } finally {
        fwd.close();
        await up.close();
      }
    });

    it('pauses reading past the pending cap instead of dropping (back-pressure)', async () => {
      let inHandler = 0;
      let maxInHandler = 0;
      const slow: DnsHandlerLike = {
        handle(msg) {
          inHandler++;
          maxInHandler = Math.max(maxInHandler, inHandler);
          return new Promise((r) =>
            setTimeout(() => {
              inHandler--;
              const reply = Buffer.from(msg);
              reply[2] = (reply[2] ?? 0) | 0x80;
              r(reply);
            }, 20),
          );
        },
      };
      const port = await serve(udpIo, slow, { tcpPendingPerConnection: 2 });
      const c = await tcp(port);
      c.sock.write(Buffer.concat(Array.from({ length: 8 }, (_, i) => frame(q(i)))));
      await until(() => c.replies.length === 8);
      assert.equal(maxInHandler, 2);
    });

    it('UDP: FORMERR with the id for a bad query, silence for garbage, cap on pending replies', async () => {
      const metrics = new DnsMetrics();
      let calls = 0;
      const never: DnsHandlerLike = {
        handle(msg, ctx) {
          calls++;
          if (msg.length > 14 && msg[13] === 0x78) return new Promise(() => {}); // "x…": hang forever
          return realHandler().handle(msg, ctx);
        },
      };
      const port = await serve(udpIo, never, { udpPendingPerClient: 3 }, metrics);
      const sock = createSocket('udp4');
      await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
      const got: dnsPacket.DecodedPacket[] = [];
      sock.on('message', (m) => got.push(dnsPacket.decode(m)));
      const noQuestion = Buffer.from([0x12, 0x34, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
      sock.send(noQuestion, port, '127.0.0.1');
      sock.send(Buffer.from([1, 2, 3]), port, '127.0.0.1');
      for (let i = 0; i < 5; i++) sock.send(q(500 + i, `x${i}.example.com`), port, '127.0.0.1');
      sock.send(q(99), port, '127.0.0.1');
      await until(
        () => got.some((g) => g.id === 99) && calls === 8 && metrics.dropped.get(['udp-pending-limit']) === 2,
      );
      sock.close();
      const formerr = got.find((g) => g.id === 0x1234);
      assert.equal((formerr as { rcode?: string } | undefined)?.rcode, 'FORMERR');
      assert.equal(got.length, 2);
    });
  });
