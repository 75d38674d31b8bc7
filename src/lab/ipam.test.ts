import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IpamError, loopbackPodCIDR, nodePodCIDR, PodIPAM } from './ipam.ts';

const code = (c: string) => (e: unknown) => e instanceof IpamError && e.code === c;

describe('nodePodCIDR', () => {
  it('hands out the n-th /24 of the cluster CIDR', () => {
    assert.equal(nodePodCIDR('10.244.0.0/16', 0), '10.244.0.0/24');
    assert.equal(nodePodCIDR('10.244.0.0/16', 1), '10.244.1.0/24');
    assert.equal(nodePodCIDR('10.244.0.0/16', 255), '10.244.255.0/24');
    assert.equal(nodePodCIDR('10.244.0.0/16', 3, 26), '10.244.0.192/26');
    assert.throws(() => nodePodCIDR('10.244.0.0/16', 256), code('IPAM_EXHAUSTED'));
    assert.throws(() => nodePodCIDR('10.244.0.0/16', 0, 8), code('IPAM_INVALID'));
    assert.throws(() => nodePodCIDR('10.244.0/16', 0), code('IPAM_INVALID'));
  });
});

describe('PodIPAM', () => {
  it('skips network, gateway and broadcast; idempotent per key', () => {
    const ipam = new PodIPAM('10.244.0.0/24');
    assert.equal(ipam.gateway(), '10.244.0.1');
    assert.equal(ipam.allocate('a'), '10.244.0.2');
    assert.equal(ipam.allocate('a'), '10.244.0.2');
    assert.equal(ipam.allocate('b'), '10.244.0.3');
    assert.equal(ipam.capacity(), 253);
  });

  it('is next-fit: a released IP is reused only after the range wraps', () => {
    const ipam = new PodIPAM('10.0.0.0/29'); // hosts .2 .. .6
    assert.deepEqual(
      ['a', 'b', 'c'].map((k) => ipam.allocate(k)),
      ['10.0.0.2', '10.0.0.3', '10.0.0.4'],
    );
    ipam.release('a');
    assert.equal(ipam.allocate('d'), '10.0.0.5');
    assert.equal(ipam.allocate('e'), '10.0.0.6');
    assert.equal(ipam.allocate('f'), '10.0.0.2');
    assert.throws(() => ipam.allocate('g'), code('IPAM_EXHAUSTED'));
    ipam.release('c');
    assert.equal(ipam.allocate('g'), '10.0.0.4');
  });

  it('reserve claims a given IP and refuses one in use or out of range', () => {
    const ipam = new PodIPAM('10.0.0.0/24');
    ipam.reserve('a', '10.0.0.9');
    assert.equal(ipam.get('a'), '10.0.0.9');
    assert.throws(() => ipam.reserve('b', '10.0.0.9'), code('IPAM_IN_USE'));
    assert.throws(() => ipam.reserve('b', '10.0.0.1'), code('IPAM_NOT_IN_RANGE'));
    assert.throws(() => ipam.reserve('b', '10.0.1.5'), code('IPAM_NOT_IN_RANGE'));
    assert.equal(ipam.inUse(), 1);
  });

  it('the rootless range has no gateway and never the host 127.0.0.0/16', () => {
    const cidr = loopbackPodCIDR(0);
    assert.equal(cidr, '127.1.0.0/16');
    assert.equal(loopbackPodCIDR(253), '127.254.0.0/16');
    const ipam = new PodIPAM(cidr, { gateway: false });
    assert.equal(ipam.allocate('a'), '127.1.0.1');
  });
});
