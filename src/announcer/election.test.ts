import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planBGP } from './bgp/plan.ts';
import { electOwner } from './election.ts';
import { layer2Owners, planLayer2 } from './layer2/plan.ts';
import { lbService, node, slice, world } from './testing.ts';

const owner = (w: ReturnType<typeof world>, key = 'default/web 192.0.2.10'): string | undefined =>
  layer2Owners(w).get(key);

describe('layer 2 election', () => {
  const base = { services: [lbService('web', '192.0.2.10')], slices: [slice('web', [{ node: 'n2' }])] };

  it('elects one owner, the same from every node, and only the owner announces', () => {
    const owners = ['n1', 'n2', 'n3'].map((self) => owner(world({ ...base, self })));
    assert.equal(new Set(owners).size, 1);
    const announcing = ['n1', 'n2', 'n3'].filter((self) => planLayer2(world({ ...base, self })).announce.length > 0);
    assert.deepEqual(announcing, [owners[0]]);
  });

  it('is MetalLB sha256("node#ip") order, independent of the order nodes are listed in', () => {
    assert.equal(electOwner('192.0.2.10', ['n1', 'n2', 'n3']), electOwner('192.0.2.10', ['n3', 'n1', 'n2']));
    assert.equal(electOwner('192.0.2.10', []), undefined);
    // Different addresses spread over nodes rather than all landing on one.
    const spread = new Set(Array.from({ length: 40 }, (_, i) => electOwner(`192.0.2.${i}`, ['n1', 'n2', 'n3'])));
    assert.equal(spread.size, 3);
  });

  it('moves when the owner stops renewing its liveness, and only then', () => {
    const w = world(base);
    const first = owner(w) ?? '';
    const seen = new Map(w.livenessSeenMs);
    seen.set(first, w.nowMs - 601);
    const next = owner(world({ ...base, livenessSeenMs: seen }));
    assert.ok(next && next !== first);
    // A different node going quiet does not move the address.
    const other = ['n1', 'n2', 'n3'].find((n) => n !== first && n !== next) ?? '';
    const seen2 = new Map(w.livenessSeenMs);
    seen2.set(other, 0);
    assert.equal(owner(world({ ...base, livenessSeenMs: seen2 })), first);
  });

  it('skips NotReady nodes, excluded nodes and nodes never seen alive', () => {
    const nodes = [
      node('n1', {}, 'Unknown'),
      node('n2', { 'node.kubernetes.io/exclude-from-external-load-balancers': '' }),
      node('n3'),
    ];
    assert.equal(owner(world({ ...base, nodes })), 'n3');
    const seen = new Map([['n1', 10_000]]);
    const w = world({ ...base, livenessSeenMs: seen });
    assert.equal(owner(w), 'n1');
  });

  it('with eTP=Local only nodes with a local ready endpoint are eligible', () => {
    const services = [lbService('web', '192.0.2.10', { policy: 'Local' })];
    assert.equal(
      owner(world({ services, slices: [slice('web', [{ node: 'n3' }, { node: 'n2', ready: false }])] })),
      'n3',
    );
    const none = planLayer2(world({ services, slices: [slice('web', [{ node: 'n2', ready: false }])] }));
    assert.equal(none.withheld.get('default/web 192.0.2.10'), 'noEndpoints');
    const p = planLayer2(world({ services, self: 'n1', slices: [slice('web', [{ node: 'n3' }])] }));
    assert.equal(p.withheld.get('default/web 192.0.2.10'), 'notOwner');
  });

  it('honours L2Advertisement pools, pool selectors, node selectors and interfaces', () => {
    const nodes = [node('n1', { rack: 'a' }), node('n2', { rack: 'b' }), node('n3', { rack: 'b' })];
    const l2 = [
      { metadata: { name: 'a' }, spec: { ipAddressPools: ['other'] } },
      {
        metadata: { name: 'b' },
        spec: {
          ipAddressPoolSelectors: [{ matchLabels: { tier: 'front' } }],
          nodeSelectors: [{ matchLabels: { rack: 'b' } }],
          interfaces: ['eth1', 'eth0'],
        },
      },
    ];
    const w = world({ ...base, nodes, l2 });
    const o = owner(w) ?? '';
    assert.ok(o === 'n2' || o === 'n3');
    const p = planLayer2(world({ ...base, nodes, l2, self: o }));
    assert.deepEqual(
      p.announce.map((a) => [a.ip, a.interfaces]),
      [['192.0.2.10', ['eth0', 'eth1']]],
    );
    const uncovered = world({ ...base, l2: [{ metadata: { name: 'a' }, spec: { ipAddressPools: ['other'] } }] });
    assert.equal(planLayer2(uncovered).withheld.get('default/web 192.0.2.10'), 'noAdvertisement');
  });

  it('leaves Services of another loadBalancerClass alone', () => {
    const w = world({ services: [lbService('web', '192.0.2.10', { lbClass: 'other.io/lb' })], slices: base.slices });
    assert.equal(layer2Owners(w).size, 0);
  });

  it("announces svcnet's IPAM class (a provider serves the class-less ones), never a balancer's ipMode Proxy address", () => {
    const w = world({
      services: [
        lbService('by-ipam', '192.0.2.10', { lbClass: 'svcnet.io/ipam' }),
        lbService('by-edge', '192.0.2.11', { ipMode: 'Proxy' }),
        lbService('by-class', '192.0.2.12', { lbClass: 'svcnet.io/haproxy', ipMode: 'Proxy' }),
      ],
      slices: ['by-ipam', 'by-edge', 'by-class'].map((s) => slice(s, [{ node: 'n1' }])),
    });
    assert.deepEqual([...layer2Owners(w).keys()], ['default/by-ipam 192.0.2.10']);
    assert.deepEqual(
      planBGP({ ...w, bgpAdvertisements: [{ metadata: { name: 'b' } }] }).announce.map((a) => a.ip),
      ['192.0.2.10'],
    );
  });
});

describe('BGP eligibility', () => {
  it('every eligible node announces, with aggregation, localPref and resolved communities', () => {
    const w = world({
      services: [lbService('web', '192.0.2.10', { policy: 'Local' })],
      slices: [slice('web', [{ node: 'n1' }, { node: 'n2' }])],
      communities: [
        { metadata: { name: 'c' }, spec: { communities: [{ name: 'no-advertise', value: '65535:65282' }] } },
      ],
      bgpAdvertisements: [
        {
          metadata: { name: 'b' },
          spec: { aggregationLength: 24, localPref: 50, communities: ['no-advertise', 'large:1:2:3'], peers: ['r1'] },
        },
      ],
    });
    const announcing = ['n1', 'n2', 'n3'].filter((self) => planBGP({ ...w, self }).announce.length > 0);
    assert.deepEqual(announcing, ['n1', 'n2']);
    assert.deepEqual(planBGP(w).announce[0]?.bgp, [
      { prefix: '192.0.2.0/24', localPref: 50, communities: ['65535:65282', 'large:1:2:3'], peers: ['r1'] },
    ]);
    assert.equal(planBGP({ ...w, self: 'n3' }).withheld.get('default/web 192.0.2.10'), 'noLocalEndpoint');
  });
});
