// The native batched UDP path (native/udp-batch) on real loopback sockets: bursts answered to the
// right sources with the right ids in few batches, IPv6, datagrams and replies larger than a slot,
// forwarded (late) replies, close while traffic flows or from inside a batch, restart on the same
// port, bind errors, and many open/close cycles through GC. Linux only; there, a missing addon is a
// failure naming scripts/build-native.sh, never a skip.
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { connect, createServer } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import dnsPacket from 'dns-packet';
import { Forwarder } from './forwarder.ts';
import { DnsHandler } from './handler.ts';
import { DnsMetrics } from './metrics.ts';
import { DnsIndex } from './records.ts';
import { type DnsHandlerLike, DnsServer, type Listen } from './server.ts';
import { type FakeUpstream, startFakeUpstream } from './testdata/fake-upstream.ts';
import { svc } from './testdata/objects.ts';
import { BUILD_HINT, udpNative } from './udp-native.ts';

const linux = process.platform === 'linux';

const servers: DnsServer[] = [];
const clients: Socket[] = [];
const upstreams: FakeUpstream[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of servers.splice(0)) await s.stop();
  for (const u of upstreams.splice(0)) await u.close();
});

function index(): DnsIndex {
  const ix = new DnsIndex({ zone: 'cluster.local' });
  for (let i = 0; i < 20; i++)
    ix.onService(
      undefined,
      svc('default', `s${i}`, { clusterIP: `10.96.0.${10 + i}`, clusterIPs: [`10.96.0.${10 + i}`] }),
    );
  return ix;
}

async function serve(
  handler: DnsHandlerLike,
  opts: { host?: string; port?: number; metrics?: DnsMetrics; limits?: { udpPendingPerClient?: number } } = {},
): Promise<{ server: DnsServer; addr: Listen }> {
  const server = new DnsServer({
    listen: [{ host: opts.host ?? '127.0.0.1', port: opts.port ?? 0 }],
    handler,
    udpIo: 'native',
    socketBufferBytes: 1 << 20,
    ...(opts.metrics ? { metrics: opts.metrics } : {}),
    ...(opts.limits ? { limits: opts.limits } : {}),
  });
  const [addr] = await server.start();
  assert.ok(addr);
  servers.push(server);
  return { server, addr };
}

interface Client {
  sock: Socket;
  got: dnsPacket.DecodedPacket[];
  raw: Buffer[];
  send(b: Buffer): void;
}

async function client(port: number, host = '127.0.0.1'): Promise<Client> {
  const sock = createSocket({ type: host.includes(':') ? 'udp6' : 'udp4', recvBufferSize: 1 << 20 });
  clients.push(sock);
  await new Promise<void>((r) => sock.bind(0, host, () => r()));
  const c: Client = {
    sock,
    got: [],
    raw: [],
    send: (b) => sock.send(b, port, host),
  };
  sock.on('message', (m) => {
    c.raw.push(m);
    c.got.push(dnsPacket.decode(m));
  });
  return c;
}

const q = (id: number, name: string, type: dnsPacket.RecordType = 'A') =>
  dnsPacket.encode({ id, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type }] });
const aData = (p: dnsPacket.DecodedPacket) => (p.answers ?? []).map((a) => (a.type === 'A' ? a.data : a.type));
const rcodeOf = (p: dnsPacket.DecodedPacket) => (p as { rcode?: string }).rcode;

const until = async (cond: () => boolean, what: string, ms = 5000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('native batched UDP (udp-batch addon)', { skip: linux ? false : 'recvmmsg is Linux-only' }, () => {
  // Each test below fails on its own without the addon (DnsServer throws the same reason).
  it('loads the addon (else: run scripts/build-native.sh)', () => {
    const n = udpNative();
    assert.ok(n.ok, n.ok ? '' : n.reason);
    assert.match(BUILD_HINT, /scripts\/build-native\.sh/);
    assert.equal(new DnsServer({ listen: [], handler: { handle: () => undefined } }).udpIo, 'native');
  });

  it('answers a burst from many sources to the right source with the right ids, in few batches', async () => {
    const { server, addr } = await serve(new DnsHandler(index(), { podMode: 'insecure', negativeTtl: 5 }));
    const cs = await Promise.all(Array.from({ length: 8 }, () => client(addr.port)));
    // All sent before the loop polls again: the server sees them as one backlog.
    cs.forEach((c, k) => {
      for (let j = 0; j < 40; j++) {
        const i = (k * 7 + j) % 25; // s20..s24 do not exist: NXDOMAIN
        c.send(q(k * 1000 + j, `s${i}.default.svc.cluster.local`));
      }
    });
    await until(() => cs.every((c) => c.got.length >= 40), 'all replies');
    cs.forEach((c, k) => {
      assert.deepEqual(
        c.got.map((g) => g.id ?? -1).sort((a, b) => a - b),
        Array.from({ length: 40 }, (_, j) => k * 1000 + j),
      );
      for (const g of c.got) {
        const i = (k * 7 + (g.id ?? 0) - k * 1000) % 25;
        assert.equal(g.questions?.[0]?.name, `s${i}.default.svc.cluster.local`);
        if (i < 20) assert.deepEqual(aData(g), [`10.96.0.${10 + i}`]);
        else assert.equal(rcodeOf(g), 'NXDOMAIN');
      }
    });
    const st = server.udpNativeStats();
    assert.ok(st);
    assert.equal(st.packets, 320);
    assert.ok(st.batches <= 320 / 8, `${st.batches} batches for ${st.packets} datagrams`);
  });

  it('serves IPv6 on ::1, UDP and TCP on the same port, late replies included', async () => {
    const up = await startFakeUpstream({
      records: [{ name: 'www.example.org', type: 'A', ttl: 60, data: '192.0.2.7' }],
      delayMs: 30,
    });
    upstreams.push(up);
    const forwarder = new Forwarder({ upstreams: [{ host: '127.0.0.1', port: up.port }] });
    const { server, addr } = await serve(new DnsHandler(index(), { podMode: 'insecure', negativeTtl: 5, forwarder }), {
      host: '::1',
    });
    try {
      assert.equal(server.udpIo, 'native');
      const c = await client(addr.port, '::1');
      c.send(q(1, 's3.default.svc.cluster.local'));
      c.send(q(2, 'www.example.org'));
      await until(() => c.got.length === 2, 'two replies over IPv6');
      const byId = new Map(c.got.map((g) => [g.id, g]));
      assert.deepEqual(aData(byId.get(1) as dnsPacket.DecodedPacket), ['10.96.0.13']);
      assert.deepEqual(aData(byId.get(2) as dnsPacket.DecodedPacket), ['192.0.2.7']);
      // TCP listens on the UDP socket's port.
      const tcpReply = await new Promise<dnsPacket.DecodedPacket>((resolve, reject) => {
        const s = connect(addr.port, '::1');
        const m = q(3, 's4.default.svc.cluster.local');
        s.on('error', reject);
        s.on('connect', () => s.write(Buffer.concat([Buffer.from([0, m.length]), m])));
        let buf = Buffer.alloc(0);
        s.on('data', (d) => {
          buf = Buffer.concat([buf, d]);
          if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
            s.destroy();
            resolve(dnsPacket.decode(buf.subarray(2)));
          }
        });
      });
      assert.deepEqual(aData(tcpReply), ['10.96.0.14']);
    } finally {
      forwarder.close();
    }
  });

  it('drops and counts datagrams larger than a slot; sends replies larger than a slot on their own', async () => {
    const metrics = new DnsMetrics();
    const native = udpNative();
    assert.ok(native.ok);
    const { layout } = native.addon;
    const big: DnsHandlerLike = {
      handle(msg) {
        // Echo the id; the size asked for is in the first label's length byte (×100).
        const out = Buffer.alloc(msg[12] === 50 ? 6000 : 40);
        msg.copy(out, 0, 0, 2);
        out[2] = 0x80;
        return out;
      },
    };
    const { addr } = await serve(big, { metrics });
    const c = await client(addr.port);
    const oversized = Buffer.alloc(layout.inSlot + 1000);
    oversized.writeUInt16BE(0x4242, 0);
    c.send(oversized);
    const wantsBig = Buffer.alloc(100);
    wantsBig.writeUInt16BE(7, 0);
    wantsBig[12] = 50;
    c.send(wantsBig);
    const small = Buffer.alloc(30);
    small.writeUInt16BE(8, 0);
    c.send(small);
    await until(() => c.raw.length === 2, 'the big and the small reply');
    await until(() => metrics.dropped.get(['udp-oversized']) === 1, 'the oversized drop counted');
    const sizes = new Map(c.raw.map((r) => [r.readUInt16BE(0), r.length]));
    assert.deepEqual([...sizes.entries()].sort(), [
      [7, 6000],
      [8, 40],
    ]);
    assert.ok(6000 > layout.outSlot);
  });

  it('forwarded replies keep their id and question case while later batches reuse the slots', async () => {
    const up = await startFakeUpstream({
      records: Array.from({ length: 50 }, (_, i) => ({
        name: `h${i}.example.org`,
        type: 'A' as const,
        ttl: 60,
        data: `192.0.2.${i}`,
      })),
      delayMs: 40,
    });
    upstreams.push(up);
    const forwarder = new Forwarder({ upstreams: [{ host: '127.0.0.1', port: up.port }] });
    const metrics = new DnsMetrics();
    const { addr } = await serve(new DnsHandler(index(), { podMode: 'insecure', negativeTtl: 5, forwarder, metrics }), {
      metrics,
    });
    try {
      const c = await client(addr.port);
      // 0x20-style mixed case: the reply must echo exactly the bytes this query carried.
      const mixed = (i: number) => `H${i}.ExAmPlE.oRg`;
      for (let i = 0; i < 50; i++) c.send(q(5000 + i, mixed(i)));
      // Meanwhile, in-zone queries overwrite every slot many times over.
      for (let round = 0; round < 10; round++) {
        for (let j = 0; j < 64; j++) c.send(q(j + round * 64, `s${j % 20}.default.svc.cluster.local`));
        await new Promise((r) => setTimeout(r, 2));
      }
      await until(() => c.got.length === 50 + 640, 'all replies');
      assert.equal(new Set(c.got.map((g) => g.id)).size, 50 + 640);
      for (const g of c.got.filter((g) => (g.id ?? 0) >= 5000)) {
        const i = (g.id ?? 0) - 5000;
        assert.equal(g.questions?.[0]?.name, mixed(i));
        assert.deepEqual(aData(g), [`192.0.2.${i}`]);
      }
      assert.equal(metrics.dropped.get(['udp-pending-limit']), 0);
    } finally {
      forwarder.close();
    }
  });

  it('stops cleanly while traffic flows and with replies still upstream', async () => {
    const metrics = new DnsMetrics();
    const real = new DnsHandler(index(), { podMode: 'insecure', negativeTtl: 5 });
    const held: (() => void)[] = [];
    const late: DnsHandlerLike = {
      handle(msg, ctx) {
        if (msg.readUInt16BE(0) < 60000) return real.handle(msg, ctx);
        return new Promise((r) => held.push(() => r(real.handle(msg, ctx) as Buffer)));
      },
    };
    const { server, addr } = await serve(late, { metrics });
    const c = await client(addr.port);
    for (let i = 0; i < 20; i++) c.send(q(60000 + i, 's1.default.svc.cluster.local'));
    let sending = true;
    let id = 0;
    const flood = (async () => {
      while (sending) {
        for (let j = 0; j < 32; j++) c.send(q(id++ % 50000, 's2.default.svc.cluster.local'));
        await new Promise((r) => setImmediate(r));
      }
    })();
    await until(() => c.got.length > 500 && held.length === 20, 'replies during the flood');
    await server.stop();
    servers.splice(servers.indexOf(server), 1);
    // The port is free at once (UDP and TCP): a new socket can take it.
    const probe = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.bind(addr.port, '127.0.0.1', () => resolve());
    });
    probe.close();
    // The held replies come after the stop: dropped and counted, not thrown into the void.
    for (const release of held) release();
    await until(() => metrics.dropped.get(['udp-socket-error']) === 20, 'the late replies counted');
    sending = false;
    await flood;
    assert.equal(c.got.filter((g) => (g.id ?? 0) >= 60000).length, 0);
  });

  it('survives a stop() called from inside a batch', async () => {
    let server: DnsServer | undefined;
    let stopped: Promise<void> | undefined;
    const real = new DnsHandler(index(), { podMode: 'insecure', negativeTtl: 5 });
    const h: DnsHandlerLike = {
      handle(msg, ctx) {
        if (msg.readUInt16BE(0) === 999 && server && !stopped) stopped = server.stop();
        return real.handle(msg, ctx);
      },
    };
    const started = await serve(h);
    server = started.server;
    const c = await client(started.addr.port);
    for (let i = 0; i < 60; i++) c.send(q(i === 30 ? 999 : i, 's5.default.svc.cluster.local'));
    await until(() => stopped !== undefined, 'the stop');
    await stopped;
    servers.splice(servers.indexOf(server), 1);
    // Replies of the batch in progress are not sent: the socket closed under it.
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(c.got.length < 60, `${c.got.length} replies`);
  });

  it('restarts on the same port, again and again', async () => {
    const handler = new DnsHandler(index(), { podMode: 'insecure', negativeTtl: 5 });
    let { server, addr } = await serve(handler);
    const port = addr.port;
    for (let round = 0; round < 5; round++) {
      await server.stop();
      servers.splice(servers.indexOf(server), 1);
      ({ server, addr } = await serve(handler, { port }));
      assert.equal(addr.port, port);
      const c = await client(port);
      c.send(q(round, 's6.default.svc.cluster.local'));
      await until(() => c.got.length === 1, `an answer after restart ${round}`);
      assert.deepEqual(aData(c.got[0] as dnsPacket.DecodedPacket), ['10.96.0.16']);
    }
  });

  it('throws bind errors with their errno code', async () => {
    // The held port is one TCP's autobind just found free, so the TCP listener (opened first)
    // succeeds and the UDP bind is what fails.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const free = (probe.address() as { port: number }).port;
    await new Promise((r) => probe.close(r));
    const holder = createSocket('udp4');
    await new Promise<void>((r) => holder.bind(free, '127.0.0.1', () => r()));
    try {
      const s = new DnsServer({
        listen: [{ host: '127.0.0.1', port: holder.address().port }],
        handler: new DnsHandler(index(), { podMode: 'insecure', negativeTtl: 5 }),
        udpIo: 'native',
      });
      await assert.rejects(s.start(), (e: NodeJS.ErrnoException) => {
        assert.equal(e.code, 'EADDRINUSE');
        assert.equal(e.syscall, 'bind');
        assert.equal(e.errno, -98);
        return true;
      });
    } finally {
      holder.close();
    }
  });

  it('opens and closes many sockets, with garbage collection in between', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const handler = new DnsHandler(index(), { podMode: 'insecure', negativeTtl: 5 });
    for (let i = 0; i < 100; i++) {
      const s = new DnsServer({ listen: [{ host: '127.0.0.1', port: 0 }], handler, udpIo: 'native' });
      await s.start();
      await s.stop();
      if (i % 20 === 0) gc();
    }
    gc();
    await new Promise((r) => setTimeout(r, 20));
    gc();
    // Still serving afterwards.
    const { addr } = await serve(handler);
    const c = await client(addr.port);
    c.send(q(1, 's7.default.svc.cluster.local'));
    await until(() => c.got.length === 1, 'an answer');
  });
});
