import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isKernelError } from './errors.ts';
import { FakeNet } from './fake-net.ts';

const code = (c: string) => (e: unknown) => isKernelError(e) && e.code === c;

describe('FakeNet behaves like the kernel', () => {
  it('namespaces: unique names, lo inside, deleting a missing one fails', async () => {
    const k = new FakeNet();
    await k.add('a');
    await assert.rejects(k.add('a'), code('ALREADY_EXISTS'));
    assert.deepEqual(await k.list(), ['a']);
    assert.deepEqual(
      (await k.links('a')).map((l) => l.name),
      ['lo'],
    );
    await k.delete('a');
    await assert.rejects(k.delete('a'), code('NOT_FOUND'));
    await assert.rejects(k.links('a'), code('NOT_FOUND'));
  });

  it('a veth pair dies as a whole: deleting one end or the namespace of one end', async () => {
    const k = new FakeNet();
    await k.add('n');
    await k.add('p');
    await k.addVeth('n', 'v0', 'eth0', 'p');
    await assert.rejects(k.addVeth('n', 'v0', 'x', 'p'), code('ALREADY_EXISTS'));
    await k.deleteLink('p', 'eth0');
    assert.deepEqual(
      (await k.links('n')).map((l) => l.name),
      ['lo'],
    );
    await k.addVeth(undefined, 'up0', 'eth0', 'n');
    await k.delete('n');
    assert.deepEqual(await k.links(undefined), []);
    await assert.rejects(k.deleteLink('p', 'lo'), code('INVALID'));
    await assert.rejects(k.addBridge('p', 'a-very-long-name'), code('INVALID'));
  });

  it('addresses once; routes via a gateway need a connected subnet on an up link', async () => {
    const k = new FakeNet();
    await k.add('p');
    await k.addVeth('p', 'eth0', 'peer', undefined);
    await k.addAddress('p', 'eth0', '10.0.0.2/24');
    await assert.rejects(k.addAddress('p', 'eth0', '10.0.0.2/24'), code('ALREADY_EXISTS'));
    await assert.rejects(k.addRoute('p', { dst: 'default', via: '10.0.0.1' }), code('INVALID'));
    await k.setUp('p', 'eth0');
    await k.addRoute('p', { dst: 'default', via: '10.0.0.1' });
    await assert.rejects(k.addRoute('p', { dst: 'default', via: '10.0.0.1' }), code('ALREADY_EXISTS'));
    await assert.rejects(k.addRoute('p', { dst: '10.9.0.0/16', via: '10.1.0.1' }), code('INVALID'));
    assert.deepEqual(await k.routes('p'), [
      { dst: 'default', gateway: '10.0.0.1', dev: 'eth0' },
      { dst: '10.0.0.0/24', gateway: undefined, dev: 'eth0' },
    ]);
    // The route goes with its device.
    await k.deleteLink(undefined, 'peer');
    assert.deepEqual(await k.routes('p'), []);
  });

  it('bridges: master must be a bridge; deleting the bridge frees its ports', async () => {
    const k = new FakeNet();
    await k.add('n');
    await k.addBridge('n', 'br0');
    await k.add('p');
    await k.addVeth('n', 'v1', 'eth0', 'p');
    await assert.rejects(k.setMaster('n', 'v1', 'lo'), code('INVALID'));
    await k.setMaster('n', 'v1', 'br0');
    assert.equal((await k.links('n')).find((l) => l.name === 'v1')?.master, 'br0');
    await k.deleteLink('n', 'br0');
    assert.equal((await k.links('n')).find((l) => l.name === 'v1')?.master, undefined);
  });

  it('sysctls only in named namespaces; dump/load round trip', async () => {
    const k = new FakeNet();
    await assert.rejects(k.setSysctl('', 'net.ipv4.ip_forward', '1'), code('REFUSED'));
    await k.add('n');
    await k.setSysctl('n', 'net.ipv4.ip_forward', '1');
    await k.addBridge('n', 'br0');
    const copy = new FakeNet();
    copy.load(k.dump());
    assert.deepEqual(copy.dump(), k.dump());
    assert.equal(copy.sysctl('n', 'net.ipv4.ip_forward'), '1');
    await assert.rejects(k.exec('gone', ['true']), code('NOT_FOUND'));
  });
});
