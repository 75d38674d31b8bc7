import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  bigIntToIP,
  canonicalCIDR,
  canonicalIP,
  cidrContains,
  cidrFamilyOf,
  ipFamilyOf,
  ipToBigInt,
  isDualStackIPs,
  isIPv4,
  isIPv6,
  isLoopbackIP,
  joinHostPort,
} from './ip.ts';

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
  it('loopback in every spelling', () => {
    for (const ip of ['127.0.0.1', '127.255.0.9', '127.0.0.01', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1'])
      assert.equal(isLoopbackIP(ip), true, ip);
    for (const ip of ['128.0.0.1', '10.127.0.1', '::2', '::', 'fd00::1', 'nope', ''])
      assert.equal(isLoopbackIP(ip), false, ip);
  });
  it('integers as wide as the family, and back', () => {
    assert.deepEqual(ipToBigInt('10.0.0.1'), { family: 'IPv4', value: 0x0a000001n });
    assert.deepEqual(ipToBigInt('::ffff:10.0.0.1'), { family: 'IPv4', value: 0x0a000001n });
    assert.deepEqual(ipToBigInt('fd00::1'), { family: 'IPv6', value: (0xfd00n << 112n) | 1n });
    assert.equal(ipToBigInt('10.0.0'), undefined);
    assert.equal(bigIntToIP('IPv4', 0xc0a80001n), '192.168.0.1');
    assert.equal(bigIntToIP('IPv6', 1n), '::1');
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), (ip) => {
        const v = ipToBigInt(ip);
        return v !== undefined && bigIntToIP(v.family, v.value) === canonicalIP(ip);
      }),
    );
  });
  it('host:port as Go joins it', () => {
    assert.equal(joinHostPort('10.0.0.1', 80), '10.0.0.1:80');
    assert.equal(joinHostPort('fd00::1', 80), '[fd00::1]:80');
    assert.equal(joinHostPort('localhost', '8080'), 'localhost:8080');
  });
});
