import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normalizeClusterIPs } from './normalize.ts';
import { harness, svcOf } from './testing.ts';

const port = [{ name: 'http', port: 80 }];

describe('1.40 NormalizeClusterIPs', () => {
  it('1.40 create with only clusterIP copies it into clusterIPs', () => {
    const h = harness();
    const s = h.create('a', { ports: port, clusterIP: '10.0.0.9' });
    assert.deepEqual(s.spec?.clusterIPs, ['10.0.0.9']);
  });

  it('1.40 update with the same clusterIP and no clusterIPs gets the old clusterIPs back', () => {
    const old = svcOf('a', { clusterIP: '10.0.0.9', clusterIPs: ['10.0.0.9', 'fd00::9'] });
    const s = svcOf('a', { clusterIP: '10.0.0.9' });
    normalizeClusterIPs(old, s);
    assert.deepEqual(s.spec?.clusterIPs, ['10.0.0.9', 'fd00::9']);
  });

  it('1.40 update clearing clusterIP with clusterIPs unchanged clears clusterIPs', () => {
    const old = svcOf('a', { clusterIP: '10.0.0.9', clusterIPs: ['10.0.0.9'] });
    const s = svcOf('a', { clusterIPs: ['10.0.0.9'] });
    normalizeClusterIPs(old, s);
    assert.equal(s.spec?.clusterIPs, undefined);
  });

  it('1.40 update changing clusterIP with clusterIPs unchanged sets clusterIPs to [new]', () => {
    const h = harness();
    const old = h.create('a', { ports: port, clusterIP: '10.0.0.9' });
    const next = structuredClone(old);
    next.spec!.clusterIP = '10.0.0.10';
    h.begin.update(next, old).commit();
    assert.deepEqual(next.spec?.clusterIPs, ['10.0.0.10']);
    // Immutability (1.42) is validation's verdict; no allocation happened for the new value.
    assert.ok(!h.ip().has('10.0.0.10'));
  });
});

describe('1.41 patchAllocatedValues', () => {
  it('1.41 re-submitting the same manifest keeps allocated IPs, node ports (by name) and the health-check port', () => {
    const h = harness();
    const manifest = {
      type: 'LoadBalancer',
      externalTrafficPolicy: 'Local',
      ports: [
        { name: 'http', port: 80 },
        { name: 'https', port: 443 },
      ],
    };
    const old = h.create('a', manifest);
    const used = h.ports.used();
    const put = svcOf('a', { ...manifest, ports: [manifest.ports[1]!, manifest.ports[0]!] });
    h.begin.update(put, old).commit();
    assert.equal(put.spec?.clusterIP, old.spec?.clusterIP);
    assert.deepEqual(put.spec?.clusterIPs, old.spec?.clusterIPs);
    assert.equal(put.spec?.ports?.[0]?.nodePort, old.spec?.ports?.[1]?.nodePort, 'matched by name, not index');
    assert.equal(put.spec?.ports?.[1]?.nodePort, old.spec?.ports?.[0]?.nodePort);
    assert.equal(put.spec?.healthCheckNodePort, old.spec?.healthCheckNodePort);
    assert.equal(h.ports.used(), used);
    assert.equal(h.ip().used(), 1);
  });
});

describe('1.44 trimFieldsForDualStackDowngrade', () => {
  it('1.44 setting only the policy to SingleStack downgrades', () => {
    const h = harness({ serviceCIDRs: ['10.0.0.0/24', 'fd00::/120'] });
    const old = h.create('a', { ports: port, ipFamilyPolicy: 'PreferDualStack' });
    assert.equal(old.spec?.clusterIPs?.length, 2);
    const s = h.update(old, (x) => {
      x.spec!.ipFamilyPolicy = 'SingleStack';
    });
    assert.deepEqual(s.spec?.clusterIPs, old.spec?.clusterIPs?.slice(0, 1));
    assert.deepEqual(s.spec?.ipFamilies, ['IPv4']);
    assert.equal(h.ip('IPv6').used(), 0);
  });
});

describe('1.45 dropTypeDependentFields', () => {
  it('1.45 going to ExternalName clears clusterIP(s), ipFamilies and ipFamilyPolicy', () => {
    const h = harness();
    const old = h.create('a', { ports: port });
    const s = h.update(old, (x) => {
      x.spec!.type = 'ExternalName';
      x.spec!.externalName = 'example.com';
    });
    assert.equal(s.spec?.clusterIP, undefined);
    assert.equal(s.spec?.clusterIPs, undefined);
    assert.equal(s.spec?.ipFamilies, undefined);
    assert.equal(s.spec?.ipFamilyPolicy, undefined);
    assert.deepEqual(s.spec?.selector, old.spec?.selector, 'selectors are never wiped');
  });

  it('1.45 NodePort → ClusterIP zeroes node ports that were not changed', () => {
    const h = harness();
    const old = h.create('a', { type: 'NodePort', ports: port });
    const s = h.update(old, (x) => {
      x.spec!.type = 'ClusterIP';
    });
    assert.equal(s.spec?.ports?.[0]?.nodePort, 0);
    assert.equal(s.spec?.externalTrafficPolicy, undefined, 'no longer externally accessible');
  });

  it('1.45 a new nodePort sent with the type change is kept (validation then rejects it)', () => {
    const h = harness();
    const old = h.create('a', { type: 'NodePort', ports: port });
    const s = h.update(old, (x) => {
      x.spec!.type = 'ClusterIP';
      x.spec!.ports![0]!.nodePort = 31999;
    });
    assert.equal(s.spec?.ports?.[0]?.nodePort, 31999);
  });

  it('1.45 leaving LoadBalancer clears allocateLoadBalancerNodePorts, loadBalancerClass, healthCheckNodePort and LB status', () => {
    const h = harness();
    const old = h.create('a', {
      type: 'LoadBalancer',
      externalTrafficPolicy: 'Local',
      loadBalancerClass: 'example.com/lb',
      ports: port,
    });
    (old as { status?: unknown }).status = { loadBalancer: { ingress: [{ ip: '192.0.2.1' }] } };
    const s = h.update(old, (x) => {
      x.spec!.type = 'NodePort';
    });
    assert.equal(s.spec?.allocateLoadBalancerNodePorts, undefined);
    assert.equal(s.spec?.loadBalancerClass, undefined);
    assert.equal(s.spec?.healthCheckNodePort, undefined);
    assert.equal(s.spec?.externalTrafficPolicy, 'Local', 'NodePort is still externally accessible');
    assert.deepEqual(s.status?.loadBalancer, {});
    assert.equal(s.spec?.ports?.[0]?.nodePort, old.spec?.ports?.[0]?.nodePort, 'node ports stay');
  });
});

describe('1.46 type transitions allocate and release cluster IPs', () => {
  it('1.46 ExternalName → ClusterIP allocates; the user may pick the IP', () => {
    const h = harness();
    const old = h.create('a', { type: 'ExternalName', externalName: 'example.com' });
    const s = h.update(old, (x) => {
      x.spec!.type = 'NodePort';
      delete x.spec!.externalName;
      x.spec!.clusterIP = '10.0.0.77';
      x.spec!.ports = port;
    });
    assert.deepEqual(s.spec?.clusterIPs, ['10.0.0.77']);
    assert.ok(h.ip().has('10.0.0.77'));
    assert.ok((s.spec?.ports?.[0]?.nodePort ?? 0) > 0);
  });

  it('1.46 ClusterIP → ExternalName releases IPs and node ports only after commit', () => {
    const h = harness();
    const old = h.create('a', { type: 'NodePort', ports: port });
    const ip = old.spec?.clusterIP ?? '';
    const next = structuredClone(old);
    next.spec!.type = 'ExternalName';
    next.spec!.externalName = 'example.com';
    const txn = h.begin.update(next, old);
    assert.ok(h.ip().has(ip));
    assert.equal(h.ports.used(), 1);
    txn.commit();
    assert.ok(!h.ip().has(ip));
    assert.equal(h.ports.used(), 0);
  });

  it('1.46 a failed →ExternalName update releases nothing', () => {
    const h = harness();
    const old = h.create('a', { ports: port });
    const next = structuredClone(old);
    next.spec!.type = 'ExternalName';
    next.spec!.externalName = 'example.com';
    h.begin.update(next, old).revert();
    assert.ok(h.ip().has(old.spec?.clusterIP ?? ''));
  });
});
