import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { errorBody, Path } from '../field.ts';
import {
  isValidCIDR,
  isValidCIDRForLegacyField,
  isValidIP,
  isValidIPForLegacyField,
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
