import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeNet } from '../kernel/fake-net.ts';
import { defaultLinkCIDR, LabTopology, labNames } from './topology.ts';

async function started(k: FakeNet, dataDir = '/var/lib/svcnet') {
  const t = new LabTopology({ dataDir, parentNetns: 'host', mode: 'netns', netns: k, links: k });
  await t.start();
  return t;
}

describe('LabTopology (on the kernel fake)', () => {
  it('names from the data directory hash, all within 15 characters', () => {
    const n = labNames('/var/lib/svcnet');
    assert.match(n.nodeNetns, /^svn-[0-9a-f]{6}$/);
    assert.notEqual(labNames('/var/lib/other').hash, n.hash);
    assert.equal(labNames('/var/lib/svcnet/').hash, n.hash);
    for (let i = 0; i < 200; i++)
      assert.doesNotMatch(defaultLinkCIDR(i.toString(16).padStart(6, '0')), /^169\.254\.169\./);
  });

  it('builds node namespace, bridge, parent link; pods hang off the bridge with a default route', async () => {
    const k = new FakeNet();
    await k.add('host');
    const t = await started(k);
    const node = t.names.nodeNetns;
    const links = await k.links(node);
    assert.deepEqual(
      links.map((l) => [l.name, l.kind, l.up, l.addresses]),
      [
        ['lo', undefined, true, []],
        ['br0', 'bridge', true, ['10.244.0.1/24']],
        ['eth0', 'veth', true, [`${t.nodeIP}/30`]],
      ],
    );
    assert.deepEqual(
      (await k.links('host')).map((l) => [l.name, l.addresses]),
      [
        ['lo', []],
        [node, [`${t.parentIP}/30`]],
      ],
    );
    assert.equal(k.sysctl(node, 'net.ipv4.ip_forward'), '1');
    assert.ok(!(await k.routes(node)).some((r) => r.dst === 'default'));

    const a = await t.addPod('uid-a');
    const b = await t.addPod('uid-b');
    assert.deepEqual([a.ip, b.ip], ['10.244.0.2', '10.244.0.3']);
    assert.equal(a.netns, `${node}-0000`);
    assert.ok((a.netns ?? '').length <= 15);
    assert.deepEqual(await k.routes(a.netns ?? ''), [
      { dst: 'default', gateway: '10.244.0.1', dev: 'eth0' },
      { dst: '10.244.0.0/24', gateway: undefined, dev: 'eth0' },
    ]);
    assert.equal((await k.links(node)).find((l) => l.name === 'v0000')?.master, 'br0');
    await k.writeEtc(a.netns ?? '', 'resolv.conf', 'nameserver 10.96.0.10\n');
    await t.removePod('uid-a');
    assert.deepEqual(await k.list(), ['host', node, `${node}-0001`]);
    assert.deepEqual(await k.listEtc(), []);
    await t.stop();
    assert.deepEqual(await k.list(), ['host']);
    assert.deepEqual(
      (await k.links('host')).map((l) => l.name),
      ['lo'],
    );
  });

  it('removes what a crashed run left behind, and only that', async () => {
    const k = new FakeNet();
    await k.add('host');
    const crashed = await started(k);
    const x = await crashed.addPod('x');
    k.pids.set(x.netns ?? '', [4242]); // a container still running
    await k.add('svn-ffffff'); // another lab's namespace
    const snapshot = k.dump(); // the process died here
    const k2 = new FakeNet();
    k2.load(snapshot);
    k2.pids.set(x.netns ?? '', [4242]);
    const again = await started(k2);
    const node = again.names.nodeNetns;
    assert.deepEqual((await k2.list()).sort(), ['host', node, 'svn-ffffff']);
    assert.equal(k2.pids.size, 0, 'leftover processes killed');
    await again.stop();
    assert.deepEqual((await k2.list()).sort(), ['host', 'svn-ffffff']);
  });

  it('a failed start leaves nothing behind', async () => {
    const k = new FakeNet();
    // No "host" namespace: creating the parent link fails half-way.
    const t = new LabTopology({ dataDir: '/d', parentNetns: 'host', mode: 'netns', netns: k, links: k });
    await assert.rejects(t.start());
    assert.deepEqual(await k.list(), []);
  });

  it('rootless: loopback addresses, no namespaces', async () => {
    const k = new FakeNet();
    const t = new LabTopology({ dataDir: '/d', mode: 'rootless', netns: k, links: k });
    await t.start();
    const a = await t.addPod('a');
    assert.equal(a.netns, undefined);
    assert.match(a.ip, /^127\.([1-9]|[1-9]\d|1\d\d|2[0-4]\d|25[0-4])\.0\.1$/);
    assert.equal(t.nodeIP, '127.0.0.1');
    assert.deepEqual(await k.list(), []);
    await t.stop();
  });
});
