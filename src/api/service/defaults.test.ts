import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Service } from '../types.ts';
import { setDefaultsService } from './defaults.ts';
import { externalPolicyLocal, isExternallyAccessible, isHeadless, needsHealthCheck } from './util.ts';

function defaulted(spec: Service['spec'], status?: Service['status']): Service {
  const svc: Service = status ? { metadata: { name: 'x' }, spec, status } : { metadata: { name: 'x' }, spec };
  setDefaultsService(svc);
  return svc;
}

describe('setDefaultsService', () => {
  it('2.1 an empty type becomes ClusterIP', () => {
    assert.equal(defaulted({}).spec?.type, 'ClusterIP');
    assert.equal(defaulted({ type: 'NodePort' }).spec?.type, 'NodePort');
  });
  it('2.2 sessionAffinity defaults to None and None drops the config', () => {
    const svc = defaulted({ sessionAffinityConfig: { clientIP: { timeoutSeconds: 5 } } });
    assert.equal(svc.spec?.sessionAffinity, 'None');
    assert.equal(svc.spec?.sessionAffinityConfig, undefined);
  });
  it('2.2 ClientIP gets a 10800s timeout when any part is missing, and keeps a given one', () => {
    for (const cfg of [undefined, {}, { clientIP: {} }]) {
      const spec: NonNullable<Service['spec']> = { sessionAffinity: 'ClientIP' };
      if (cfg) spec.sessionAffinityConfig = cfg;
      assert.deepEqual(defaulted(spec).spec?.sessionAffinityConfig, { clientIP: { timeoutSeconds: 10800 } });
    }
    const kept = defaulted({
      sessionAffinity: 'ClientIP',
      sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } },
    });
    assert.deepEqual(kept.spec?.sessionAffinityConfig, { clientIP: { timeoutSeconds: 60 } });
  });
  it('2.3 ports get protocol TCP', () => {
    const svc = defaulted({ ports: [{ port: 53 }, { port: 53, protocol: 'UDP' }] });
    assert.deepEqual(
      svc.spec?.ports?.map((p) => p.protocol),
      ['TCP', 'UDP'],
    );
  });
  it('2.4 a zero or empty targetPort becomes port as an integer', () => {
    const svc = defaulted({
      ports: [
        { port: 80 },
        { port: 81, targetPort: 0 },
        { port: 82, targetPort: '' },
        { port: 83, targetPort: 'http' },
      ],
    });
    assert.deepEqual(
      svc.spec?.ports?.map((p) => p.targetPort),
      [80, 81, 82, 'http'],
    );
  });
  it('2.5 externalTrafficPolicy Cluster only for externally accessible services', () => {
    assert.equal(defaulted({ type: 'NodePort' }).spec?.externalTrafficPolicy, 'Cluster');
    assert.equal(defaulted({ type: 'LoadBalancer' }).spec?.externalTrafficPolicy, 'Cluster');
    assert.equal(defaulted({ externalIPs: ['1.2.3.4'] }).spec?.externalTrafficPolicy, 'Cluster');
    assert.equal(defaulted({}).spec?.externalTrafficPolicy, undefined);
    assert.equal(defaulted({ type: 'NodePort', externalTrafficPolicy: 'Local' }).spec?.externalTrafficPolicy, 'Local');
  });
  it('2.6 internalTrafficPolicy Cluster except for ExternalName', () => {
    for (const type of ['ClusterIP', 'NodePort', 'LoadBalancer']) {
      assert.equal(defaulted({ type }).spec?.internalTrafficPolicy, 'Cluster');
    }
    assert.equal(defaulted({ type: 'ExternalName' }).spec?.internalTrafficPolicy, undefined);
    assert.equal(defaulted({ internalTrafficPolicy: 'Local' }).spec?.internalTrafficPolicy, 'Local');
  });
  it('2.7 LoadBalancer gets allocateLoadBalancerNodePorts true, false is kept', () => {
    assert.equal(defaulted({ type: 'LoadBalancer' }).spec?.allocateLoadBalancerNodePorts, true);
    assert.equal(
      defaulted({ type: 'LoadBalancer', allocateLoadBalancerNodePorts: false }).spec?.allocateLoadBalancerNodePorts,
      false,
    );
    assert.equal(defaulted({ type: 'NodePort' }).spec?.allocateLoadBalancerNodePorts, undefined);
  });
  it('2.8 LoadBalancer ingress with an ip gets ipMode VIP', () => {
    const svc = defaulted(
      { type: 'LoadBalancer' },
      {
        loadBalancer: {
          ingress: [{ ip: '1.2.3.4' }, { hostname: 'lb.example.com' }, { ip: '1.2.3.5', ipMode: 'Proxy' }],
        },
      },
    );
    assert.deepEqual(svc.status?.loadBalancer?.ingress, [
      { ip: '1.2.3.4', ipMode: 'VIP' },
      { hostname: 'lb.example.com' },
      { ip: '1.2.3.5', ipMode: 'Proxy' },
    ]);
    const notLB = defaulted({ type: 'ClusterIP' }, { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } });
    assert.deepEqual(notLB.status?.loadBalancer?.ingress, [{ ip: '1.2.3.4' }]);
  });
  it('does nothing else: ipFamilyPolicy, ipFamilies and clusterIPs are the registry’s', () => {
    const svc = defaulted({ selector: { app: 'x' } });
    assert.equal(svc.spec?.ipFamilyPolicy, undefined);
    assert.equal(svc.spec?.ipFamilies, undefined);
    assert.equal(svc.spec?.clusterIPs, undefined);
  });
});

describe('service predicates', () => {
  it('1.32 externally accessible', () => {
    assert.equal(isExternallyAccessible({ spec: { type: 'NodePort' } }), true);
    assert.equal(isExternallyAccessible({ spec: { type: 'LoadBalancer' } }), true);
    assert.equal(isExternallyAccessible({ spec: { type: 'ClusterIP', externalIPs: ['1.2.3.4'] } }), true);
    assert.equal(isExternallyAccessible({ spec: { type: 'ClusterIP' } }), false);
    assert.equal(isExternallyAccessible({ spec: { type: 'ExternalName', externalIPs: ['1.2.3.4'] } }), false);
  });
  it('1.4 headless means clusterIPs == ["None"]', () => {
    assert.equal(isHeadless({ spec: { clusterIPs: ['None'] } }), true);
    assert.equal(isHeadless({ spec: { clusterIP: 'None' } }), false);
    assert.equal(isHeadless({ spec: { clusterIPs: ['None', 'fd00::1'] } }), false);
  });
  it('1.33 health check only for LoadBalancer with ETP Local', () => {
    assert.equal(needsHealthCheck({ spec: { type: 'LoadBalancer', externalTrafficPolicy: 'Local' } }), true);
    assert.equal(needsHealthCheck({ spec: { type: 'NodePort', externalTrafficPolicy: 'Local' } }), false);
    assert.equal(externalPolicyLocal({ spec: { type: 'NodePort', externalTrafficPolicy: 'Local' } }), true);
    assert.equal(needsHealthCheck({ spec: { type: 'LoadBalancer', externalTrafficPolicy: 'Cluster' } }), false);
  });
});
