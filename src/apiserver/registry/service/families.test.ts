import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { harness, throwsApi } from './testing.ts';

const port = [{ port: 80 }];
const dual = ['10.0.0.0/24', 'fd00::/120'];

describe('1.26 initIPFamilyFields errors (422)', () => {
  it('1.26 SingleStack with two clusterIPs', () => {
    const h = harness({ serviceCIDRs: dual });
    throwsApi(
      () =>
        h.create('a', {
          ports: port,
          ipFamilyPolicy: 'SingleStack',
          clusterIP: '10.0.0.5',
          clusterIPs: ['10.0.0.5', 'fd00::5'],
        }),
      422,
      `Service "a" is invalid: spec.ipFamilyPolicy: Invalid value: "SingleStack": must be 'RequireDualStack' or 'PreferDualStack' when multiple cluster IPs are specified`,
      'spec.ipFamilyPolicy',
    );
  });

  it('1.26 SingleStack with two ipFamilies', () => {
    const h = harness({ serviceCIDRs: dual });
    throwsApi(
      () => h.create('a', { ports: port, ipFamilyPolicy: 'SingleStack', ipFamilies: ['IPv4', 'IPv6'] }),
      422,
      /must be 'RequireDualStack' or 'PreferDualStack' when multiple IP families are specified/,
      'spec.ipFamilyPolicy',
    );
  });

  it('1.26 RequireDualStack on a single-stack cluster', () => {
    const h = harness();
    throwsApi(
      () => h.create('a', { ports: port, ipFamilyPolicy: 'RequireDualStack' }),
      422,
      `Service "a" is invalid: spec.ipFamilyPolicy: Invalid value: "RequireDualStack": this cluster is not configured for dual-stack services`,
    );
  });

  it('1.26 a family not configured', () => {
    const h = harness();
    throwsApi(
      () => h.create('a', { ports: port, ipFamilies: ['IPv6'] }),
      422,
      `Service "a" is invalid: spec.ipFamilies[0]: Invalid value: "IPv6": not configured on this cluster`,
      'spec.ipFamilies[0]',
    );
  });

  it('1.26 a clusterIP of an unconfigured family', () => {
    const h = harness();
    throwsApi(
      () => h.create('a', { ports: port, clusterIP: 'fd00::5', clusterIPs: ['fd00::5'] }),
      422,
      /spec\.clusterIPs\[0\]: Invalid value: \["fd00::5"\]: IPv6 is not configured on this cluster/,
      'spec.clusterIPs[0]',
    );
  });

  it('1.26 reducing to one IP without SingleStack is rejected on update', () => {
    const h = harness({ serviceCIDRs: dual });
    const old = h.create('a', { ports: port, ipFamilyPolicy: 'RequireDualStack' });
    throwsApi(
      () =>
        h.update(old, (s) => {
          s.spec!.clusterIPs = s.spec!.clusterIPs!.slice(0, 1);
        }),
      422,
      /must be 'SingleStack' to release the secondary cluster IP/,
      'spec.ipFamilyPolicy',
    );
  });
});

describe('2.9 ipFamilyPolicy defaulting', () => {
  it('2.9 create without policy gets SingleStack', () => {
    const h = harness({ serviceCIDRs: dual });
    const s = h.create('a', { ports: port, selector: { app: 'x' } });
    assert.equal(s.spec?.ipFamilyPolicy, 'SingleStack');
    assert.deepEqual(s.spec?.ipFamilies, ['IPv4']);
    assert.equal(s.spec?.clusterIPs?.length, 1);
  });

  it('2.9 headless without selector gets RequireDualStack', () => {
    const h = harness();
    const s = h.create('a', { clusterIP: 'None' });
    assert.equal(s.spec?.ipFamilyPolicy, 'RequireDualStack');
    assert.deepEqual(s.spec?.clusterIPs, ['None']);
  });

  it('2.9 headless with a selector gets SingleStack', () => {
    const h = harness();
    const s = h.create('a', { clusterIP: 'None', selector: { app: 'x' } });
    assert.equal(s.spec?.ipFamilyPolicy, 'SingleStack');
    assert.deepEqual(s.spec?.ipFamilies, ['IPv4']);
  });

  it('2.9 update without policy keeps the old policy', () => {
    const h = harness({ serviceCIDRs: dual });
    const old = h.create('a', { ports: port, ipFamilyPolicy: 'PreferDualStack' });
    const s = h.update(old, (x) => {
      delete x.spec!.ipFamilyPolicy;
    });
    assert.equal(s.spec?.ipFamilyPolicy, 'PreferDualStack');
    assert.deepEqual(s.spec?.clusterIPs, old.spec?.clusterIPs);
  });

  it('2.9 update from ExternalName (no policy) gets SingleStack; ExternalName itself stays nil', () => {
    const h = harness({ serviceCIDRs: dual });
    const old = h.create('a', { type: 'ExternalName', externalName: 'example.com' });
    assert.equal(old.spec?.ipFamilyPolicy, undefined);
    assert.equal(old.spec?.ipFamilies, undefined);
    assert.equal(old.spec?.clusterIPs, undefined);
    const s = h.update(old, (x) => {
      x.spec!.type = 'ClusterIP';
      x.spec!.ports = port;
    });
    assert.equal(s.spec?.ipFamilyPolicy, 'SingleStack');
  });
});

describe('2.10 ipFamilies', () => {
  it('2.10 inferred from the given clusterIPs', () => {
    const h = harness({ serviceCIDRs: dual });
    const s = h.create('a', { ports: port, clusterIP: 'fd00::20', clusterIPs: ['fd00::20'] });
    assert.deepEqual(s.spec?.ipFamilies, ['IPv6']);
    assert.equal(s.spec?.clusterIP, 'fd00::20');
  });

  it('2.10 otherwise the family of the first service CIDR', () => {
    const h = harness({ serviceCIDRs: ['fd00::/120', '10.0.0.0/24'] });
    const s = h.create('a', { ports: port });
    assert.deepEqual(s.spec?.ipFamilies, ['IPv6']);
    assert.match(s.spec?.clusterIP ?? '', /^fd00::/);
  });

  it('2.10 PreferDualStack on a dual-stack cluster adds the other family', () => {
    const h = harness({ serviceCIDRs: dual });
    const s = h.create('a', { ports: port, ipFamilyPolicy: 'PreferDualStack' });
    assert.deepEqual(s.spec?.ipFamilies, ['IPv4', 'IPv6']);
    assert.equal(s.spec?.clusterIPs?.length, 2);
    assert.match(s.spec?.clusterIPs?.[1] ?? '', /^fd00::/);
  });

  it('2.10 PreferDualStack on a single-stack cluster stays single', () => {
    const h = harness();
    const s = h.create('a', { ports: port, ipFamilyPolicy: 'PreferDualStack' });
    assert.deepEqual(s.spec?.ipFamilies, ['IPv4']);
  });

  it('2.10 headless without selector gets both families even on a single-stack cluster', () => {
    const h = harness();
    const s = h.create('a', { clusterIP: 'None', ipFamilyPolicy: 'PreferDualStack' });
    assert.deepEqual(s.spec?.ipFamilies, ['IPv4', 'IPv6']);
  });
});
