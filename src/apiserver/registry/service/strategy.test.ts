import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createServiceAllocators, createServiceStrategy } from './strategy.ts';
import { harness, svcOf } from './testing.ts';

describe('service strategy', () => {
  it('1.48 prepareForCreate discards client status', () => {
    const h = harness();
    const s = svcOf('a', { ports: [{ port: 80 }] }, { status: { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } } });
    h.strategy.prepareForCreate?.(s);
    assert.deepEqual(s.status, { loadBalancer: {} });
  });

  it('prepareForUpdate keeps the old status', () => {
    const h = harness();
    const old = svcOf('a', {}, { status: { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } } });
    const s = svcOf('a', {}, { status: { loadBalancer: {} } });
    h.strategy.prepareForUpdate?.(s, old);
    assert.deepEqual(s.status, old.status);
  });

  it('1.47 prepareForStatusUpdate keeps the old spec, metadata changes apply', () => {
    const h = harness();
    const old = h.create('a', { ports: [{ port: 80 }] });
    const s = structuredClone(old);
    s.spec!.type = 'NodePort';
    s.metadata.annotations = { note: 'x' };
    h.strategy.prepareForStatusUpdate?.(s, old);
    assert.deepEqual(s.spec, old.spec);
    assert.deepEqual(s.metadata.annotations, { note: 'x' });
  });

  it('validateCreate/validateUpdate/validateStatusUpdate delegate to the Service validation', () => {
    const h = harness();
    const good = h.create('a', { ports: [{ port: 80 }], selector: { app: 'x' } });
    assert.deepEqual(h.strategy.validateCreate(good), []);
    const bad = structuredClone(good);
    bad.spec!.ports = [{ port: 0, protocol: 'TCP', targetPort: 80 }];
    assert.ok(h.strategy.validateCreate(bad).some((e) => e.field === 'spec.ports[0].port'));
    (good.metadata as { resourceVersion?: string }).resourceVersion = '7';
    assert.deepEqual(h.strategy.validateUpdate(structuredClone(good), good), []);
    assert.ok(h.strategy.validateStatusUpdate);
  });

  it('0.8 allocation fills fields before validation runs (no Required clusterIP/nodePort errors)', () => {
    const h = harness();
    const s = h.create('a', { type: 'LoadBalancer', externalTrafficPolicy: 'Local', ports: [{ port: 80 }] });
    assert.deepEqual(h.strategy.validateCreate(s), []);
  });

  it('rejects bad configuration with kube-apiserver texts', () => {
    assert.throws(() => createServiceAllocators({ serviceCIDRs: [] }), /must contain at least one valid cidr/);
    assert.throws(
      () => createServiceAllocators({ serviceCIDRs: ['10.0.0.0/24', '10.1.0.0/24'] }),
      /must be of different IP family/,
    );
    assert.throws(
      () => createServiceAllocators({ serviceCIDRs: ['a', 'b', 'c'] }),
      /not contain more than two entries/,
    );
    const { allocators } = createServiceStrategy({ serviceCIDRs: ['10.96.0.0/12', 'fd00:10:96::/108'] });
    assert.equal(allocators.defaultFamily, 'IPv4');
    assert.equal(allocators.nodePorts.range, '30000-32767');
    assert.equal(allocators.ip.get('IPv6')?.cidr, 'fd00:10:96::/108');
  });
});

describe('firstServiceIP', () => {
  it('3.3 is the first usable address of the primary CIDR', () => {
    assert.equal(createServiceStrategy({ serviceCIDRs: ['10.96.0.0/12'] }).firstServiceIP(), '10.96.0.1');
    assert.equal(
      createServiceStrategy({ serviceCIDRs: ['fd00:10:96::/108', '10.96.0.0/12'] }).firstServiceIP(),
      'fd00:10:96::1',
    );
  });
});
