import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { BGPError, decode, ErrorCode, encode, HeaderSub, type Message, split, UpdateSub } from './wire.ts';

const hex = (b: Buffer) => b.toString('hex');
const roundTrip = (m: Message, as4 = true) => decode(encode(m, as4), as4);

const open: Message = {
  type: 'open',
  version: 4,
  as: 4200000001,
  holdTime: 90,
  bgpId: '192.0.2.11',
  capabilities: { multiprotocol: ['ipv4-unicast', 'ipv6-unicast'], routeRefresh: true, as4: 4200000001, other: [] },
};
const update: Message = {
  type: 'update',
  withdrawn: ['192.0.2.0/24'],
  attributes: {
    origin: 'igp',
    asPath: [4200000001],
    nextHop: '192.0.2.11',
    localPref: 100,
    communities: [0xffff0000 + 65282],
    largeCommunities: [[1, 2, 3]],
    mpReach: { family: 'ipv6-unicast', nextHop: 'fd00::11', prefixes: ['fd00:1::5/128'] },
    mpUnreach: { family: 'ipv6-unicast', prefixes: ['fd00:1::/64'] },
  },
  nlri: ['198.51.100.7/32', '10.0.0.0/8', '0.0.0.0/0'],
};

describe('BGP wire codec', () => {
  it('KEEPALIVE is the 19-octet header alone (RFC 4271 4.4)', () => {
    assert.equal(hex(encode({ type: 'keepalive' })), `${'ff'.repeat(16)}001304`);
  });

  it('OPEN with a 4-octet AS puts AS_TRANS in My AS and the real one in the capability', () => {
    const b = encode(open);
    assert.equal(b.readUInt16BE(20), 23456);
    assert.equal(hex(b.subarray(29)), '02140104000100010104000200010200410 4fa56ea01'.replace(/ /g, ''));
    assert.deepEqual(roundTrip(open), open);
  });

  it('UPDATE, NOTIFICATION and ROUTE-REFRESH round-trip', () => {
    assert.deepEqual(roundTrip(update), update);
    const n: Message = { type: 'notification', code: 6, subcode: 2, data: Buffer.from('bye') };
    assert.deepEqual(roundTrip(n), n);
    assert.deepEqual(roundTrip({ type: 'routeRefresh', family: 'ipv6-unicast' }), {
      type: 'routeRefresh',
      family: 'ipv6-unicast',
    });
  });

  it('2-octet AS_PATH when the peer lacks RFC 6793', () => {
    const u: Message = {
      type: 'update',
      withdrawn: [],
      attributes: { origin: 'igp', asPath: [64512, 65000], nextHop: '192.0.2.1' },
      nlri: ['192.0.2.200/32'],
    };
    assert.deepEqual(roundTrip(u, false), u);
  });

  it('splits a stream at message boundaries and keeps the partial tail', () => {
    const stream = Buffer.concat([encode({ type: 'keepalive' }), encode(update), encode(open).subarray(0, 20)]);
    const { messages, rest } = split(stream);
    assert.equal(messages.length, 2);
    assert.equal(rest.length, 20);
  });

  it('malformed input gets the RFC 4271 §6 error', () => {
    const err = (f: () => unknown): [number, number] => {
      try {
        f();
      } catch (e) {
        assert.ok(e instanceof BGPError, String(e));
        return [e.code, e.subcode];
      }
      assert.fail('no error');
    };
    const ka = encode({ type: 'keepalive' });
    const badMarker = Buffer.from(ka);
    badMarker[3] = 0;
    assert.deepEqual(
      err(() => split(badMarker)),
      [ErrorCode.header, HeaderSub.notSynchronized],
    );
    const badLen = Buffer.from(ka);
    badLen.writeUInt16BE(18, 16);
    assert.deepEqual(
      err(() => split(badLen)),
      [ErrorCode.header, HeaderSub.badLength],
    );
    const badType = Buffer.from(ka);
    badType[18] = 9;
    assert.deepEqual(
      err(() => decode(badType)),
      [ErrorCode.header, HeaderSub.badType],
    );
    const v3 = encode(open);
    v3[19] = 3;
    assert.deepEqual(
      err(() => decode(v3)),
      [ErrorCode.open, 1],
    );
    // NLRI without NEXT_HOP: missing well-known attribute, data = the attribute type.
    const noNH = encode({
      type: 'update',
      withdrawn: [],
      attributes: { origin: 'igp', asPath: [] },
      nlri: ['192.0.2.1/32'],
    });
    assert.deepEqual(
      err(() => decode(noNH)),
      [ErrorCode.update, UpdateSub.missingWellKnown],
    );
    const badOrigin = encode({ type: 'update', withdrawn: [], attributes: { origin: 'igp' }, nlri: [] });
    badOrigin[badOrigin.length - 1] = 7;
    assert.deepEqual(
      err(() => decode(badOrigin)),
      [ErrorCode.update, UpdateSub.invalidOrigin],
    );
  });

  it('fuzz: any bytes and any mutation of a valid message decode or fail with BGPError only', () => {
    const valid = [encode(open), encode(update), encode({ type: 'keepalive' })];
    fc.assert(
      fc.property(
        fc.constantFrom(...valid),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
        fc.uint8Array({ maxLength: 64 }),
        (base, edits, tail) => {
          const b = Buffer.concat([base, Buffer.from(tail)]);
          for (const [i, v] of edits) b[19 + (i % Math.max(1, b.length - 19))] = v;
          try {
            for (const m of split(b).messages) decode(m);
          } catch (e) {
            if (!(e instanceof BGPError)) throw e;
          }
        },
      ),
      { numRuns: 3000 },
    );
  });
});
