import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { errorBody, Path } from '../field.ts';
import {
  canonicalCIDR,
  canonicalIP,
  cidrContains,
  cidrFamilyOf,
  ipFamilyOf,
  isDualStackIPs,
  isIPv4,
  isIPv6,
  isValidCIDR,
  isValidCIDRForLegacyField,
  isValidIP,
  isValidIPForLegacyField,
  toIPAddr,
  validateNonSpecialIP,
} from './ip.ts';

const p = Path.of('spec', 'x');
const bodies = (errs: ReturnType<typeof isValidIP>) => errs.map(errorBody);
const badIP = 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)';
const badCIDR = 'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)';

describe('isValidIP (strict, new values)', () => {
  const cases: [string, string[]][] = [
    ['1.2.3.4', []],
    ['0.0.0.0', []],
    ['::', []],
    ['2001:db8::ffff', []],
    ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', []],
    ['1.1.1.01', ['must not have leading 0s']],
    ['::ffff:1.1.1.1', ['must not be an IPv4-mapped IPv6 address']],
    ['0:0:0:0:0:0:0:0', ['must be in canonical form ("::")']],
    ['0001:002:03:4::', ['must be in canonical form ("1:2:3:4::")']],
    ['1234::ABCD', ['must be in canonical form ("1234::abcd")']],
    ['2001:db8:0:0:1:0:0:1', ['must be in canonical form ("2001:db8::1:0:0:1")']],
    ['2001:db8::0:1', ['must be in canonical form ("2001:db8::1")']],
    ['', [badIP]],
    ['aaaaaaa', [badIP]],
    ['myhost.mydomain', [badIP]],
    ['1.2.3.0/24', [badIP]],
    ['1.2.3.256', [badIP]],
    ['1.2.3', [badIP]],
    ['fe80::1%eth0', [badIP]],
    ['1::2::3', [badIP]],
  ];
  for (const [value, want] of cases) {
    it(`1.23 ${JSON.stringify(value)}`, () => {
      assert.deepEqual(
        bodies(isValidIP(p, value)),
        want.map((w) => `Invalid value: ${JSON.stringify(value)}: ${w}`),
      );
    });
  }
  it('errors carry the field path', () => {
    assert.equal(isValidIP(p.index(1), 'x')[0]?.field, 'spec.x[1]');
  });
});

describe('legacy IP validation (stored values)', () => {
  it('lenient mode accepts leading zeros, mapped and non-canonical text', () => {
    for (const v of ['010.002.003.004', '::ffff:1.2.3.4', 'FE80:0:0:0:0:0:0:0abc']) {
      assert.deepEqual(isValidIPForLegacyField(p, v, false), []);
    }
    assert.deepEqual(bodies(isValidIPForLegacyField(p, 'nope', false)), [`Invalid value: "nope": ${badIP}`]);
  });
  it('strict legacy mode rejects ambiguity but not case or compression', () => {
    assert.deepEqual(bodies(isValidIPForLegacyField(p, '010.1.1.1', true)), [
      'Invalid value: "010.1.1.1": must not have leading 0s',
    ]);
    assert.deepEqual(isValidIPForLegacyField(p, 'FE80::1', true), []);
  });
  it('values stored before are not re-checked', () => {
    assert.deepEqual(isValidIPForLegacyField(p, '010.1.1.1', true, ['010.1.1.1']), []);
  });
});

describe('isValidCIDR (strict, new values)', () => {
  const cases: [string, string[]][] = [
    ['10.0.0.0/8', []],
    ['0.0.0.0/0', []],
    ['::/0', []],
    ['2001:db8::/64', []],
    ['10.0.0.1/8', ['must not have bits set beyond the prefix length']],
    ['010.0.0.0/8', ['must not have leading 0s in IP or prefix length']],
    ['10.0.0.0/08', ['must not have leading 0s in IP or prefix length']],
    ['::ffff:1.2.3.0/120', ['must not have an IPv4-mapped IPv6 address']],
    ['2001:DB8::/64', ['must be in canonical form ("2001:db8::/64")']],
    ['1.2.3.4', [badCIDR]],
    ['1.2.3.0/33', [badCIDR]],
    ['2001:db8::/129', [badCIDR]],
    ['1.2.3.0/', [badCIDR]],
    ['', [badCIDR]],
  ];
  for (const [value, want] of cases) {
    it(`1.28 ${JSON.stringify(value)}`, () => {
      assert.deepEqual(
        bodies(isValidCIDR(p, value)),
        want.map((w) => `Invalid value: ${JSON.stringify(value)}: ${w}`),
      );
    });
  }
  it('legacy CIDR: lenient accepts host bits; stored values skip checks', () => {
    assert.deepEqual(isValidCIDRForLegacyField(p, '10.0.0.1/8', false), []);
    assert.deepEqual(isValidCIDRForLegacyField(p, '10.0.0.1/8', true, ['10.0.0.1/8']), []);
    assert.deepEqual(bodies(isValidCIDRForLegacyField(p, '10.0.0.1/8', true)), [
      'Invalid value: "10.0.0.1/8": must not have bits set beyond the prefix length',
    ]);
  });
});

describe('1.27 special addresses (ValidateNonSpecialIP)', () => {
  const cases: [string, string[]][] = [
    ['8.8.8.8', []],
    ['2001:db8::1', []],
    ['0.0.0.0', ['may not be unspecified (0.0.0.0)']],
    ['::', ['may not be unspecified (::)']],
    ['127.0.0.1', ['may not be in the loopback range (127.0.0.0/8, ::1/128)']],
    ['::1', ['may not be in the loopback range (127.0.0.0/8, ::1/128)']],
    ['169.254.169.254', ['may not be in the link-local range (169.254.0.0/16, fe80::/10)']],
    ['fe80::1', ['may not be in the link-local range (169.254.0.0/16, fe80::/10)']],
    ['224.0.0.251', ['may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)']],
    ['ff02::fb', ['may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)']],
    ['224.0.1.1', []],
    ['::ffff:127.0.0.1', ['may not be in the loopback range (127.0.0.0/8, ::1/128)']],
    ['bogus', ['must be a valid IP address']],
  ];
  for (const [value, want] of cases) {
    it(`1.27 ${value}`, () => {
      assert.deepEqual(
        bodies(validateNonSpecialIP(value, p)),
        want.map((w) => `Invalid value: ${JSON.stringify(value)}: ${w}`),
      );
    });
  }
});

describe('family helpers', () => {
  it('families follow Go (IPv4-mapped counts as IPv4)', () => {
    assert.equal(isIPv4('10.0.0.1'), true);
    assert.equal(isIPv6('10.0.0.1'), false);
    assert.equal(isIPv6('::ffff:10.0.0.1'), false);
    assert.equal(isIPv6('2001:db8::1'), true);
    assert.equal(ipFamilyOf('nope'), undefined);
    assert.equal(ipFamilyOf('fd00::1'), 'IPv6');
    assert.equal(cidrFamilyOf('10.0.0.0/8'), 'IPv4');
    assert.equal(cidrFamilyOf('fd00::/64'), 'IPv6');
  });
  it('canonical forms', () => {
    assert.equal(canonicalIP('010.001.002.003'), '10.1.2.3');
    assert.equal(canonicalIP('2001:DB8:0:0:0:0:0:1'), '2001:db8::1');
    assert.equal(canonicalIP('::1.2.3.4'), '::102:304');
    assert.equal(canonicalCIDR('10.1.1.1/24'), '10.1.1.0/24');
    assert.equal(canonicalCIDR('2001:db8::1/64'), '2001:db8::/64');
  });
  it('dual-stack pairs and containment', () => {
    assert.equal(isDualStackIPs(['10.0.0.1', 'fd00::1']), true);
    assert.equal(isDualStackIPs(['10.0.0.1', '10.0.0.2']), false);
    assert.equal(cidrContains('10.96.0.0/12', '10.96.0.10'), true);
    assert.equal(cidrContains('10.96.0.0/12', '10.112.0.1'), false);
    assert.equal(cidrContains('fd00::/108', 'fd00::1'), true);
    assert.equal(cidrContains('fd00::/108', '10.0.0.1'), false);
  });
  it('ipaddr.js view for arithmetic', () => {
    assert.equal(toIPAddr('::ffff:1.2.3.4')?.kind(), 'ipv4');
    assert.equal(toIPAddr('2001:db8::1')?.toString(), '2001:db8::1');
    assert.equal(toIPAddr('x'), undefined);
  });
});
