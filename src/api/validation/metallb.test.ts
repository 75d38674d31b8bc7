import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultBGPPeer, defaultIPAddressPool } from '../defaults/metallb.ts';
import { errorBody, type FieldError } from '../field.ts';
import type { BFDProfile, BGPAdvertisement, BGPPeer, Community, IPAddressPool, L2Advertisement } from '../types.ts';
import {
  formatCommunity,
  parseCommunity,
  parseGoDuration,
  parsePoolEntry,
  validateBFDProfile,
  validateBGPAdvertisement,
  validateBGPPeer,
  validateCommunity,
  validateIPAddressPool,
  validateL2Advertisement,
} from './metallb.ts';

const causes = (errs: FieldError[]): [string, string, string][] => errs.map((e) => [e.type, e.field, errorBody(e)]);
const metadata = { name: 'pool', namespace: 'metallb-system' };

const pool = (addresses: string[]): IPAddressPool => ({
  apiVersion: 'metallb.io/v1beta1',
  kind: 'IPAddressPool',
  metadata,
  spec: { addresses },
});

const help =
  'must be a CIDR (e.g. 192.168.10.0/24) or an address range of one family (e.g. 192.168.10.10-192.168.10.20)';

describe('IPAddressPool', () => {
  it('defaults autoAssign and avoidBuggyIPs', () => {
    const p = pool(['10.0.0.0/24']);
    defaultIPAddressPool(p);
    assert.equal(p.spec.autoAssign, true);
    assert.equal(p.spec.avoidBuggyIPs, false);
  });

  it('accepts CIDRs and ranges of either family', () => {
    assert.deepEqual(
      validateIPAddressPool(pool(['192.168.1.0/24', '10.0.0.10-10.0.0.20', 'fd00::/120', 'fd01::1 - fd01::9'])),
      [],
    );
  });

  it('rejects bad entries with a message per problem', () => {
    assert.deepEqual(
      causes(
        validateIPAddressPool(
          pool(['10.0.0.0/33', 'nope', '10.0.0.9-fd00::1', '10.0.0.9-10.0.0.1', '10.0.0.1-10.0.0.2-10.0.0.3']),
        ),
      ),
      [
        ['FieldValueInvalid', 'spec.addresses[0]', `Invalid value: "10.0.0.0/33": ${help}`],
        ['FieldValueInvalid', 'spec.addresses[1]', `Invalid value: "nope": ${help}`],
        [
          'FieldValueInvalid',
          'spec.addresses[2]',
          'Invalid value: "10.0.0.9-fd00::1": range start and end must be of the same IP family',
        ],
        [
          'FieldValueInvalid',
          'spec.addresses[3]',
          'Invalid value: "10.0.0.9-10.0.0.1": range start must not be after range end',
        ],
        ['FieldValueInvalid', 'spec.addresses[4]', `Invalid value: "10.0.0.1-10.0.0.2-10.0.0.3": ${help}`],
      ],
    );
  });

  it('requires addresses and rejects overlaps inside the pool', () => {
    assert.deepEqual(causes(validateIPAddressPool(pool([]))), [
      ['FieldValueRequired', 'spec.addresses', 'Required value: at least one CIDR or address range is required'],
    ]);
    assert.deepEqual(causes(validateIPAddressPool(pool(['10.0.0.0/24', '10.0.0.200-10.0.1.5']))), [
      [
        'FieldValueInvalid',
        'spec.addresses[1]',
        'Invalid value: "10.0.0.200-10.0.1.5": overlaps with spec.addresses[0] ("10.0.0.0/24")',
      ],
    ]);
  });

  it('parsePoolEntry gives inclusive bounds', () => {
    const r = parsePoolEntry('10.0.0.0/30');
    assert.ok(typeof r !== 'string');
    assert.equal(r.family, 'IPv4');
    assert.equal(r.last - r.first, 3n);
    const v6 = parsePoolEntry('fd00::/64');
    assert.ok(typeof v6 !== 'string');
    assert.equal(v6.family, 'IPv6');
    assert.equal(v6.last - v6.first, 2n ** 64n - 1n);
  });
});

describe('BGPPeer', () => {
  const peer = (spec: Partial<BGPPeer['spec']>): BGPPeer => {
    const p: BGPPeer = {
      apiVersion: 'metallb.io/v1beta2',
      kind: 'BGPPeer',
      metadata,
      spec: { myASN: 64500, peerASN: 64501, peerAddress: '10.0.0.1', ...spec },
    };
    defaultBGPPeer(p);
    return p;
  };
  it('accepts a normal peer and defaults the port', () => {
    const p = peer({ holdTime: '90s', keepaliveTime: '30s' });
    assert.equal(p.spec.peerPort, 179);
    assert.deepEqual(validateBGPPeer(p), []);
  });
  it('checks ASNs, addresses and ports', () => {
    assert.deepEqual(
      causes(validateBGPPeer(peer({ myASN: 0, peerASN: 4294967296, peerAddress: '10.0.0.300', peerPort: 70000 }))),
      [
        ['FieldValueRequired', 'spec.myASN', 'Required value: an AS number between 1 and 4294967295 is required'],
        ['FieldValueInvalid', 'spec.peerASN', 'Invalid value: 4294967296: must be between 1 and 4294967295, inclusive'],
        ['FieldValueInvalid', 'spec.peerAddress', 'Invalid value: "10.0.0.300": must be a valid IP address'],
        ['FieldValueInvalid', 'spec.peerPort', 'Invalid value: 70000: must be between 1 and 16384, inclusive'],
      ],
    );
    assert.deepEqual(causes(validateBGPPeer(peer({ holdTime: 'soon', routerID: 'fd00::1' }))), [
      ['FieldValueInvalid', 'spec.routerID', 'Invalid value: "fd00::1": must be a valid IPv4 address'],
      ['FieldValueInvalid', 'spec.holdTime', 'Invalid value: "soon": must be a duration such as "90s" or "1m30s"'],
    ]);
  });
});

describe('L2Advertisement', () => {
  it('validates selectors and pool names', () => {
    const adv: L2Advertisement = {
      apiVersion: 'metallb.io/v1beta1',
      kind: 'L2Advertisement',
      metadata,
      spec: {
        ipAddressPools: ['Bad_Pool'],
        nodeSelectors: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [] }] }],
      },
    };
    const got = causes(validateL2Advertisement(adv));
    assert.deepEqual(
      got.map(([t, f]) => [t, f]),
      [
        ['FieldValueInvalid', 'spec.ipAddressPools[0]'],
        ['FieldValueRequired', 'spec.nodeSelectors[0].matchExpressions[0].values'],
      ],
    );
  });
});

describe('BGP communities, Community and BFDProfile', () => {
  it('parses standard and large communities and prints them back', () => {
    for (const text of ['65535:65282', '0:0', 'large:4294967295:1:2']) {
      const v = parseCommunity(text);
      assert.notEqual(typeof v, 'string', text);
      if (typeof v !== 'string') assert.equal(formatCommunity(v), text);
    }
    for (const bad of ['65536:1', '1:2:3', 'large:1:2', 'a:b', '', ':', '1:-2', 'large:4294967296:0:0'])
      assert.equal(typeof parseCommunity(bad), 'string', bad);
  });

  it('Community: names unique, without colons, values valid', () => {
    const c: Community = {
      metadata,
      spec: {
        communities: [
          { name: 'no-advertise', value: '65535:65282' },
          { name: 'no-advertise', value: '1:1' },
          { name: 'a:b', value: 'large:1:2:3' },
          { name: 'bad', value: '70000:1' },
          { value: '1:1' },
        ],
      },
    };
    assert.deepEqual(
      validateCommunity(c).map((e) => [e.type, e.field]),
      [
        ['FieldValueDuplicate', 'spec.communities[1].name'],
        ['FieldValueInvalid', 'spec.communities[2].name'],
        ['FieldValueInvalid', 'spec.communities[3].value'],
        ['FieldValueRequired', 'spec.communities[4].name'],
      ],
    );
  });

  it('BFDProfile: the CRD bounds', () => {
    const ok: BFDProfile = {
      metadata,
      spec: { receiveInterval: 10, transmitInterval: 60000, detectMultiplier: 3, minimumTtl: 254 },
    };
    assert.deepEqual(validateBFDProfile(ok), []);
    const bad: BFDProfile = {
      metadata,
      spec: { receiveInterval: 9, detectMultiplier: 1, echoInterval: 60001, minimumTtl: 255 },
    };
    assert.deepEqual(
      validateBFDProfile(bad).map((e) => e.field),
      ['spec.receiveInterval', 'spec.detectMultiplier', 'spec.echoInterval', 'spec.minimumTtl'],
    );
  });

  it('BGPAdvertisement: community values must parse, alias names pass', () => {
    const adv: BGPAdvertisement = { metadata, spec: { communities: ['no-advertise', '65535:65282', '1:2:3'] } };
    assert.deepEqual(
      validateBGPAdvertisement(adv).map((e) => [e.field, e.type]),
      [['spec.communities[2]', 'FieldValueInvalid']],
    );
  });

  it('BGPPeer: hold time 0 or ≥ 3s, keepalive ≤ hold, password xor passwordSecret', () => {
    const peer = (spec: Partial<BGPPeer['spec']>): BGPPeer => ({
      metadata,
      spec: { myASN: 64512, peerASN: 64513, peerAddress: '192.0.2.1', ...spec },
    });
    assert.deepEqual(validateBGPPeer(peer({ holdTime: '0s', keepaliveTime: '0s' })), []);
    assert.deepEqual(validateBGPPeer(peer({ holdTime: '1m30s', keepaliveTime: '30s' })), []);
    assert.deepEqual(
      validateBGPPeer(peer({ holdTime: '2s', keepaliveTime: '5s', password: 'x', passwordSecret: { name: 's' } })).map(
        (e) => e.field,
      ),
      ['spec.holdTime', 'spec.keepaliveTime', 'spec.passwordSecret'],
    );
    assert.equal(parseGoDuration('1m30.5s'), 90_500);
    assert.equal(parseGoDuration('-1s'), undefined);
  });
});
