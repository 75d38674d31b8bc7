// The session runner over real TCP on loopback against a scripted peer speaking the wire codec
// (BIRD is the real peer in test/announce-bgp.test.ts; this covers what BIRD cannot be made to
// do on demand: malformed messages, silence, route refresh).
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { dialTCP } from '../../kernel/tcp-dial.ts';
import type { Plan } from '../contract.ts';
import { routesFor } from './announcer.ts';
import type { StateName } from './fsm.ts';
import { gracefulShutdownCommunity, Session } from './session.ts';
import { decode, encode, type Message, split, type UpdateMessage } from './wire.ts';

interface Peer {
  server: Server;
  port: number;
  got: Message[];
  sock?: Socket;
  conns: number;
  /** Stop the peer's keepalives. */
  quiet: boolean;
  wait(pred: (m: Message[]) => boolean, ms?: number): Promise<void>;
}

/** A peer that answers OPEN with OPEN + KEEPALIVE (AS 64512, hold 3 s) and records what it gets. */
async function peer(opts: { silent?: boolean } = {}): Promise<Peer> {
  const p: Peer = { got: [], conns: 0, quiet: false } as unknown as Peer;
  p.server = createServer((sock) => {
    p.conns++;
    p.sock = sock;
    let rest = Buffer.alloc(0);
    const beat = setInterval(() => {
      if (!p.quiet && !sock.destroyed) sock.write(encode({ type: 'keepalive' }));
    }, 1000);
    sock.on('close', () => clearInterval(beat));
    sock.on('error', () => {});
    sock.on('data', (d: Buffer) => {
      const r = split(Buffer.concat([rest, d]));
      rest = Buffer.from(r.rest);
      for (const raw of r.messages) {
        const m = decode(raw);
        p.got.push(m);
        if (m.type === 'open' && !opts.silent) {
          sock.write(
            encode({
              type: 'open',
              version: 4,
              as: 64512,
              holdTime: 3,
              bgpId: '192.0.2.254',
              capabilities: { multiprotocol: ['ipv4-unicast'], routeRefresh: true, as4: 64512, other: [] },
            }),
          );
          sock.write(encode({ type: 'keepalive' }));
        }
      }
    });
  });
  await new Promise<void>((r) => p.server.listen(0, '127.0.0.1', r));
  p.port = (p.server.address() as { port: number }).port;
  p.wait = async (pred, ms = 5000) => {
    const end = Date.now() + ms;
    while (!pred(p.got)) {
      if (Date.now() > end) throw new Error(`peer never saw it; got ${p.got.map((m) => m.type).join(',')}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  return p;
}

function session(port: number, states: StateName[] = []): Session {
  return new Session({
    config: { myAS: 64513, peerAS: 64512, routerID: '192.0.2.1', holdTime: 3, connectRetry: 1 },
    peerAddress: '127.0.0.1',
    peerPort: port,
    dial: dialTCP,
    onState: (s) => states.push(s),
  });
}

const updates = (got: Message[]) => got.filter((m): m is UpdateMessage => m.type === 'update');

describe('BGP session runner', () => {
  const closers: (() => void)[] = [];
  after(() => {
    for (const c of closers) c();
  });

  it('opens, announces with its own address as next hop, diffs withdrawals, refreshes on request', async () => {
    const p = await peer();
    const s = session(p.port);
    closers.push(
      () => p.server.close(),
      () => s.crash(),
    );
    s.setRoutes([{ prefix: '203.0.113.5/32', communities: [65000 * 65536 + 7], largeCommunities: [[64513, 1, 2]] }]);
    s.start();
    await p.wait((g) => updates(g).length === 1);
    const open = p.got[0];
    assert.equal(open?.type, 'open');
    if (open?.type === 'open') {
      assert.equal(open.as, 64513);
      assert.equal(open.holdTime, 3);
      assert.equal(open.capabilities.as4, 64513);
    }
    assert.equal(s.state, 'Established');
    const u = updates(p.got)[0];
    assert.deepEqual(u?.nlri, ['203.0.113.5/32']);
    assert.equal(u?.attributes.nextHop, '127.0.0.1');
    assert.deepEqual(u?.attributes.asPath, [64513]);
    assert.equal(u?.attributes.localPref, undefined, 'eBGP carries no LOCAL_PREF');
    assert.deepEqual(u?.attributes.communities, [65000 * 65536 + 7]);
    assert.deepEqual(u?.attributes.largeCommunities, [[64513, 1, 2]]);

    // Same routes again: nothing sent. A new one and a removed one: one UPDATE each.
    s.setRoutes([{ prefix: '203.0.113.5/32', communities: [65000 * 65536 + 7], largeCommunities: [[64513, 1, 2]] }]);
    s.setRoutes([{ prefix: '203.0.113.6/32', communities: [], largeCommunities: [] }]);
    await p.wait((g) => updates(g).length === 3);
    const [, w, a] = updates(p.got);
    assert.deepEqual(w?.withdrawn, ['203.0.113.5/32']);
    assert.deepEqual(a?.nlri, ['203.0.113.6/32']);

    p.sock?.write(encode({ type: 'routeRefresh', family: 'ipv4-unicast' }));
    await p.wait((g) => updates(g).length === 4);
    assert.deepEqual(updates(p.got)[3]?.nlri, ['203.0.113.6/32']);
    // Keepalives flow at a third of the 3 s hold time.
    const before = p.got.filter((m) => m.type === 'keepalive').length;
    await p.wait((g) => g.filter((m) => m.type === 'keepalive').length > before, 2500);
  });

  it('graceful stop re-sends routes with GRACEFUL_SHUTDOWN, then a Cease', async () => {
    const p = await peer();
    const s = session(p.port);
    closers.push(() => p.server.close());
    s.setRoutes([{ prefix: '203.0.113.7/32', communities: [], largeCommunities: [] }]);
    s.start();
    await p.wait((g) => updates(g).length === 1);
    await s.stop(100);
    await p.wait((g) => g.some((m) => m.type === 'notification'));
    const u = updates(p.got)[1];
    assert.deepEqual(u?.attributes.communities, [gracefulShutdownCommunity]);
    const n = p.got.find((m) => m.type === 'notification');
    assert.deepEqual(n && n.type === 'notification' ? [n.code, n.subcode] : [], [6, 2]);
    assert.equal(s.state, 'Idle');
  });

  it('a malformed message gets the RFC 4271 NOTIFICATION, closes the session, and it reconnects', async () => {
    const p = await peer();
    const states: StateName[] = [];
    const s = session(p.port, states);
    closers.push(
      () => p.server.close(),
      () => s.crash(),
    );
    s.start();
    await p.wait(() => s.state === 'Established');
    const bad = encode({ type: 'keepalive' });
    bad[0] = 0; // marker not all ones
    p.sock?.write(bad);
    await p.wait((g) => g.some((m) => m.type === 'notification'));
    const n = p.got.find((m) => m.type === 'notification');
    assert.deepEqual(n && n.type === 'notification' ? [n.code, n.subcode] : [], [1, 1]);
    await p.wait(() => p.conns === 2 && s.state === 'Established', 5000);
  });

  it('a silent peer is dropped when the hold timer expires', async () => {
    const p = await peer();
    const states: StateName[] = [];
    const s = session(p.port, states);
    closers.push(
      () => p.server.close(),
      () => s.crash(),
    );
    s.start();
    await p.wait(() => s.state === 'Established');
    // The peer goes quiet with the connection open: only the hold timer can notice.
    p.quiet = true;
    const t0 = Date.now();
    await p.wait(() => s.state !== 'Established', 6000);
    const ms = Date.now() - t0;
    assert.ok(ms >= 1500 && ms < 4500, `hold expiry after ${ms} ms`);
  });

  it('routesFor: per-peer filtering, communities merged, the higher LOCAL_PREF', () => {
    const plan: Plan = {
      announce: [
        {
          service: 'default/a',
          ip: '203.0.113.5',
          family: 'IPv4',
          pool: 'p',
          interfaces: [],
          bgp: [
            { prefix: '203.0.113.5/32', localPref: 50, communities: ['65000:1'], peers: [] },
            { prefix: '203.0.113.5/32', localPref: 200, communities: ['large:1:2:3'], peers: ['a'] },
            { prefix: '203.0.113.0/24', communities: [], peers: ['b'] },
          ],
        },
      ],
      withheld: new Map(),
    };
    const spec = { myASN: 1, peerASN: 2, peerAddress: '192.0.2.9', peerPort: 179, holdTime: 90 };
    assert.deepEqual(routesFor(plan, { name: 'a', ...spec }), [
      { prefix: '203.0.113.5/32', localPref: 200, communities: [65000 * 65536 + 1], largeCommunities: [[1, 2, 3]] },
    ]);
    assert.deepEqual(
      routesFor(plan, { name: 'b', ...spec }).map((r) => r.prefix),
      ['203.0.113.0/24', '203.0.113.5/32'],
    );
  });
});
