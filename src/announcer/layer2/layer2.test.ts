import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Plan } from '../contract.ts';
import { layer2 } from './announcer.ts';
import { type ArpPacket, decodeArp, encodeArp, etherTypeARP, gratuitousArp } from './arp.ts';
import { decodeNA, decodeNS, encodeNA, encodeNS, unsolicitedNA } from './ndp.ts';
import { respond } from './responder.ts';

const mac = '02:00:00:00:00:0b';
const client = '02:00:00:00:00:02';
const request: ArpPacket = {
  ethDst: 'ff:ff:ff:ff:ff:ff',
  ethSrc: client,
  op: 'request',
  senderMAC: client,
  senderIP: '192.0.2.2',
  targetMAC: '00:00:00:00:00:00',
  targetIP: '192.0.2.200',
};

describe('ARP codec', () => {
  it('round-trips and matches the bytes arping sends', () => {
    const b = encodeArp(request);
    assert.deepEqual(decodeArp(b), request);
    // Ethernet + ARP header of a request as captured from iputils arping.
    assert.equal(b.subarray(12, 22).toString('hex'), '08060001080006040001');
    for (const n of [0, 10, 41]) assert.equal(decodeArp(b.subarray(0, n)), undefined);
    const rarp = Buffer.from(b);
    rarp.writeUInt16BE(3, 20);
    assert.equal(decodeArp(rarp), undefined);
  });

  it('gratuitous ARP is a broadcast request and reply for the address itself', () => {
    const g = gratuitousArp('192.0.2.200', mac);
    assert.deepEqual(
      g.map((p) => [p.op, p.ethDst, p.senderIP, p.targetIP, p.senderMAC]),
      [
        ['request', 'ff:ff:ff:ff:ff:ff', '192.0.2.200', '192.0.2.200', mac],
        ['reply', 'ff:ff:ff:ff:ff:ff', '192.0.2.200', '192.0.2.200', mac],
      ],
    );
  });
});

describe('NDP codec', () => {
  it('round-trips NS and NA with a valid ICMPv6 checksum', () => {
    const ns = { ethSrc: client, srcIP: 'fd00::2', dstIP: 'ff02::1:ff00:c8', target: 'fd00::c8', sourceMAC: client };
    assert.deepEqual(decodeNS(encodeNS(ns)), ns);
    const na = unsolicitedNA('fd00::c8', mac);
    assert.deepEqual(decodeNA(encodeNA(na)), na);
    // A flipped bit fails the checksum: such frames are never answered.
    const bad = encodeNS(ns);
    bad[70] = (bad[70] ?? 0) ^ 1;
    assert.equal(decodeNS(bad), undefined);
  });
});

describe('responder', () => {
  const owned = new Set(['192.0.2.200', 'fd00::c8']);
  it('answers requests for owned addresses only, unicast to the asker', () => {
    const v = respond(encodeArp(request), mac, owned);
    assert.equal(v.kind, 'answer');
    if (v.kind === 'answer') {
      const r = decodeArp(v.frame);
      assert.deepEqual(r, {
        ethDst: client,
        ethSrc: mac,
        op: 'reply',
        senderMAC: mac,
        senderIP: '192.0.2.200',
        targetMAC: client,
        targetIP: '192.0.2.2',
      });
    }
    assert.deepEqual(respond(encodeArp({ ...request, targetIP: '192.0.2.201' }), mac, owned), {
      kind: 'ignore',
      ip: '192.0.2.201',
      why: 'notOurs',
    });
    assert.equal(respond(encodeArp({ ...request, op: 'reply' }), mac, owned).kind, 'ignore');
    assert.equal(respond(encodeArp(gratuitousArp('192.0.2.200', mac)[0] as ArpPacket), mac, owned).kind, 'ignore');
  });

  it('answers neighbour solicitations with a solicited, override NA', () => {
    const ns = { ethSrc: client, srcIP: 'fd00::2', dstIP: 'ff02::1:ff00:c8', target: 'fd00::c8', sourceMAC: client };
    const v = respond(encodeNS(ns), mac, owned);
    assert.equal(v.kind, 'answer');
    if (v.kind === 'answer') {
      const na = decodeNA(v.frame);
      assert.equal(na?.dstIP, 'fd00::2');
      assert.equal(na?.ethDst, client);
      assert.equal(na?.solicited && na.override, true);
      assert.equal(na?.targetMAC, mac);
    }
  });
});

describe('layer 2 announcer', () => {
  const plan = (ips: string[], interfaces: string[] = []): Plan => ({
    announce: ips.map((ip) => ({ service: 'default/web', ip, family: 'IPv4', pool: 'p', interfaces })),
    withheld: new Map(),
  });

  it('opens sockets where it announces, spams gratuitous ARP on takeover, answers, closes what it drops', async () => {
    const sent: { ifname: string; frame: Buffer }[] = [];
    const open = new Map<string, (f: Buffer) => void>();
    const closed: string[] = [];
    const timers: { fn: () => void; ms: number }[] = [];
    const a = layer2.create('n1', {
      open: (ifname, type, onFrame) => {
        assert.equal(type, etherTypeARP);
        open.set(ifname, onFrame);
        return { mac, send: (frame) => sent.push({ ifname, frame }), close: () => closed.push(ifname) };
      },
      allInterfaces: () => ['eth0', 'eth1'],
      setTimeout: (fn, ms) => timers.push({ fn, ms }),
      clearTimeout: () => {},
    });
    await a.apply(plan(['192.0.2.200'], ['eth0']));
    assert.deepEqual([...open.keys()], ['eth0']);
    assert.equal(sent.length, 2);
    assert.deepEqual(
      timers.map((t) => t.ms),
      [1100, 2200, 3300, 4400],
    );
    // The same plan again sends nothing new.
    await a.apply(plan(['192.0.2.200'], ['eth0']));
    assert.equal(sent.length, 2);
    open.get('eth0')?.(encodeArp(request));
    assert.equal(sent.length, 3);
    assert.equal(decodeArp(sent[2]?.frame ?? Buffer.alloc(0))?.op, 'reply');
    // "All interfaces" moves it to both; eth0 keeps its socket.
    await a.apply(plan(['192.0.2.200']));
    assert.deepEqual([...open.keys()], ['eth0', 'eth1']);
    await a.close('crash');
    assert.deepEqual(closed.sort(), ['eth0', 'eth1']);
    // A repeat firing after the address left sends nothing.
    const before = sent.length;
    for (const t of timers) t.fn();
    assert.equal(sent.length, before);
  });
});
