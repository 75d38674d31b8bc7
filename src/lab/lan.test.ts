import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeNet } from '../kernel/fake-net.ts';
import { defaultLanCIDR, LabLan } from './lan.ts';
import { LabTopology } from './topology.ts';

describe('LabLan and nodes on it (on the kernel fake)', () => {
  it('one bridge joins the parent, the outside client and every node; all of it goes on stop', async () => {
    const k = new FakeNet();
    await k.add('host');
    const lan = new LabLan({ dataDir: '/d', parentNetns: 'host', cidr: '169.254.9.0/24', netns: k, links: k });
    await lan.start();
    const nodes = [0, 1].map(
      (i) =>
        new LabTopology({
          dataDir: '/d',
          mode: 'netns',
          nodeIndex: i,
          podCIDR: `10.244.${i}.0/24`,
          lan: lan.attachment(i),
          netns: k,
          links: k,
        }),
    );
    for (const n of nodes) await n.start();
    const [n0, n1] = nodes;
    assert.ok(n0 && n1);
    assert.notEqual(n0.names.nodeNetns, n1.names.nodeNetns);
    const l = lan.names.lanNetns;
    assert.deepEqual(
      (await k.links(l)).map((x) => [x.name, x.master ?? '']),
      [
        ['lo', ''],
        ['br0', ''],
        ['parent', 'br0'],
        ['out', 'br0'],
        ['n0', 'br0'],
        ['n1', 'br0'],
      ],
    );
    assert.deepEqual((await k.links('host')).find((x) => x.name === lan.names.parentLink)?.addresses, [
      '169.254.9.1/24',
    ]);
    assert.deepEqual((await k.links(lan.outsideNetns)).find((x) => x.name === 'eth0')?.addresses, ['169.254.9.2/24']);
    assert.deepEqual((await k.links(n1.names.nodeNetns)).find((x) => x.name === 'eth0')?.addresses, [
      '169.254.9.12/24',
    ]);

    await n1.setNodeIP('169.254.9.40');
    assert.equal(n1.nodeIP, '169.254.9.40');
    assert.deepEqual((await k.links(n1.names.nodeNetns)).find((x) => x.name === 'eth0')?.addresses, [
      '169.254.9.40/24',
    ]);

    // A crash takes the node's namespaces and its LAN port; the node starts again.
    await n1.addPod('p');
    await n1.crash();
    assert.ok(!(await k.list()).some((n) => n.startsWith(n1.names.nodeNetns)));
    assert.ok(!(await k.links(l)).some((x) => x.name === 'n1'));
    await n1.start();
    assert.ok((await k.links(l)).some((x) => x.name === 'n1'));

    for (const n of nodes) await n.stop();
    await lan.stop();
    assert.deepEqual(await k.list(), ['host']);
    assert.deepEqual(
      (await k.links('host')).map((x) => x.name),
      ['lo'],
    );
  });

  it('default LAN: a /24 of 169.254/16 other than the reserved and metadata ones', () => {
    for (let i = 0; i < 70000; i += 7) {
      const c = defaultLanCIDR(i.toString(16).padStart(6, '0'));
      assert.match(c, /^169\.254\.([1-9]|[1-9]\d|1\d\d|2[0-4]\d|25[0-4])\.0\/24$/);
      assert.notEqual(c, '169.254.169.0/24');
    }
  });
});
