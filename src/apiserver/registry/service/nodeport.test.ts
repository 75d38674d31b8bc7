import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { harness, svcOf, throwsApi } from './testing.ts';

describe('node port allocation', () => {
  it('2.12 NodePort and LoadBalancer get node ports; ClusterIP does not', () => {
    const h = harness();
    assert.ok((h.create('np', { type: 'NodePort', ports: [{ port: 80 }] }).spec?.ports?.[0]?.nodePort ?? 0) > 0);
    assert.ok((h.create('lb', { type: 'LoadBalancer', ports: [{ port: 80 }] }).spec?.ports?.[0]?.nodePort ?? 0) > 0);
    assert.equal(h.create('ci', { ports: [{ port: 80 }] }).spec?.ports?.[0]?.nodePort, undefined);
    assert.equal(h.ports.used(), 2);
  });

  it('2.12 LoadBalancer + Local gets a healthCheckNodePort; + Cluster does not', () => {
    const h = harness();
    const local = h.create('a', { type: 'LoadBalancer', externalTrafficPolicy: 'Local', ports: [{ port: 80 }] });
    assert.ok((local.spec?.healthCheckNodePort ?? 0) >= 30000);
    assert.notEqual(local.spec?.healthCheckNodePort, local.spec?.ports?.[0]?.nodePort);
    const cluster = h.create('b', { type: 'LoadBalancer', ports: [{ port: 80 }] });
    assert.equal(cluster.spec?.healthCheckNodePort, undefined);
  });

  it('3.15 a requested port outside the range is 422 at spec.ports[i].nodePort', () => {
    const h = harness();
    throwsApi(
      () =>
        h.create('x', {
          type: 'NodePort',
          ports: [
            { port: 80, name: 'a' },
            { port: 81, name: 'b', nodePort: 80 },
          ],
        }),
      422,
      'Service "x" is invalid: spec.ports[1].nodePort: Invalid value: 80: provided port is not in the valid range. The range of valid ports is 30000-32767',
      'spec.ports[1].nodePort',
    );
    assert.equal(h.ports.used(), 0, 'the port allocated for ports[0] was rolled back');
    assert.equal(h.ip().used(), 0, 'and so was the cluster IP');
  });

  it('3.15 a taken port is 422 "provided port is already allocated"', () => {
    const h = harness();
    h.create('a', { type: 'NodePort', ports: [{ port: 80, nodePort: 30080 }] });
    throwsApi(
      () => h.create('b', { type: 'NodePort', ports: [{ port: 80, nodePort: 30080 }] }),
      422,
      /30080: provided port is already allocated$/,
      'spec.ports[0].nodePort',
    );
  });

  it('3.16 automatic node ports start in the dynamic band (30086 with a zero RNG)', () => {
    const h = harness();
    assert.equal(h.create('a', { type: 'NodePort', ports: [{ port: 80 }] }).spec?.ports?.[0]?.nodePort, 30086);
  });

  it('3.17 same port number gets same nodePort', () => {
    const h = harness();
    const s = h.create('dns', {
      type: 'NodePort',
      ports: [
        { name: 'dns-tcp', port: 53, protocol: 'TCP' },
        { name: 'dns-udp', port: 53, protocol: 'UDP' },
      ],
    });
    const [a, b] = s.spec?.ports ?? [];
    assert.ok(a?.nodePort);
    assert.equal(a?.nodePort, b?.nodePort);
    assert.equal(h.ports.used(), 1);
  });

  it('3.17 an explicit nodePort on one of them is reused for the others', () => {
    const h = harness();
    const s = h.create('dns', {
      type: 'NodePort',
      ports: [
        { name: 'dns-tcp', port: 53, protocol: 'TCP' },
        { name: 'dns-udp', port: 53, protocol: 'UDP', nodePort: 30053 },
      ],
    });
    assert.deepEqual(
      s.spec?.ports?.map((p) => p.nodePort),
      [30053, 30053],
    );
    assert.equal(h.ports.used(), 1);
  });

  it('3.18 allocateLoadBalancerNodePorts=false: no automatic ports, explicit ones honoured', () => {
    const h = harness();
    const s = h.create('lb', {
      type: 'LoadBalancer',
      allocateLoadBalancerNodePorts: false,
      ports: [
        { name: 'a', port: 80 },
        { name: 'b', port: 81, nodePort: 30081 },
      ],
    });
    assert.equal(s.spec?.ports?.[0]?.nodePort, undefined);
    assert.equal(s.spec?.ports?.[1]?.nodePort, 30081);
    assert.equal(h.ports.used(), 1);
  });

  it('3.19 an exhausted range is 500 "failed to allocate a nodePort: range is full"', () => {
    const h = harness({ nodePortRange: '30000-30001' });
    h.create('a', {
      type: 'NodePort',
      ports: [
        { name: 'a', port: 80 },
        { name: 'b', port: 81 },
      ],
    });
    throwsApi(
      () => h.create('b', { type: 'NodePort', ports: [{ port: 80 }] }),
      500,
      'Internal error occurred: failed to allocate a nodePort: range is full',
    );
    assert.equal(h.ip().used(), 1, 'the cluster IP of the failed create was released');
  });

  it('3.19 health-check port failures are 500 with their own texts', () => {
    const h = harness();
    h.create('a', { type: 'NodePort', ports: [{ port: 80, nodePort: 30100 }] });
    throwsApi(
      () =>
        h.create('b', {
          type: 'LoadBalancer',
          externalTrafficPolicy: 'Local',
          healthCheckNodePort: 30100,
          ports: [{ port: 80 }],
        }),
      500,
      'Internal error occurred: failed to allocate requested HealthCheck NodePort 30100: provided port is already allocated',
    );
    assert.equal(h.ports.used(), 1, "b's service node port was rolled back");

    const full = harness({ nodePortRange: '30000-30000' });
    throwsApi(
      () => full.create('c', { type: 'LoadBalancer', externalTrafficPolicy: 'Local', ports: [{ port: 80 }] }),
      500,
      'Internal error occurred: failed to allocate a HealthCheck NodePort 0: range is full',
    );
    assert.equal(full.ports.used(), 0);
  });

  it('3.19 health-check ports come from the node-port pool', () => {
    const h = harness();
    const s = h.create('a', {
      type: 'LoadBalancer',
      externalTrafficPolicy: 'Local',
      healthCheckNodePort: 31000,
      ports: [{ port: 80 }],
    });
    assert.equal(s.spec?.healthCheckNodePort, 31000);
    assert.ok(h.ports.has(31000));
  });

  it('3.20 update: new ports allocated, zeros auto-filled, dropped ports released after commit', () => {
    const h = harness();
    const old = h.create('a', {
      type: 'NodePort',
      ports: [
        { name: 'a', port: 80, nodePort: 30080 },
        { name: 'b', port: 81, nodePort: 30081 },
      ],
    });
    const next = structuredClone(old);
    next.spec!.ports = [
      { name: 'a', port: 80, nodePort: 30080 },
      { name: 'c', port: 82, nodePort: 30082 },
      { name: 'd', port: 83 },
    ];
    const txn = h.begin.update(next, old);
    assert.ok(h.ports.has(30082));
    assert.ok(h.ports.has(30081), 'release waits for commit');
    const auto = next.spec?.ports?.[2]?.nodePort ?? 0;
    assert.ok(auto >= 30000 && h.ports.has(auto));
    txn.commit();
    assert.ok(!h.ports.has(30081));
    assert.ok(h.ports.has(30080));
    assert.equal(h.ports.used(), 3);
  });

  it('3.20 a failed update keeps the old ports and drops the new ones', () => {
    const h = harness();
    const old = h.create('a', { type: 'NodePort', ports: [{ name: 'a', port: 80, nodePort: 30080 }] });
    const next = structuredClone(old);
    next.spec!.ports = [{ name: 'b', port: 81, nodePort: 30090 }];
    h.begin.update(next, old).revert();
    assert.ok(h.ports.has(30080));
    assert.ok(!h.ports.has(30090));
  });

  it('3.20 NodePort/LB → ClusterIP releases all node ports', () => {
    const h = harness();
    const old = h.create('a', {
      type: 'LoadBalancer',
      externalTrafficPolicy: 'Local',
      ports: [{ name: 'a', port: 80 }],
    });
    assert.equal(h.ports.used(), 2);
    const s = h.update(old, (x) => {
      x.spec!.type = 'ClusterIP';
    });
    assert.equal(h.ports.used(), 0);
    assert.equal(s.spec?.ports?.[0]?.nodePort, 0);
    assert.equal(s.spec?.healthCheckNodePort, undefined);
  });

  it('3.20 health-check port allocated entering LB+Local, released leaving it', () => {
    const h = harness();
    const old = h.create('a', { type: 'LoadBalancer', ports: [{ name: 'a', port: 80 }] });
    assert.equal(h.ports.used(), 1);
    const local = h.update(old, (x) => {
      x.spec!.externalTrafficPolicy = 'Local';
    });
    const hc = local.spec?.healthCheckNodePort ?? 0;
    assert.ok(hc > 0 && h.ports.has(hc));
    const back = h.update(local, (x) => {
      x.spec!.externalTrafficPolicy = 'Cluster';
    });
    assert.equal(back.spec?.healthCheckNodePort, undefined);
    assert.ok(!h.ports.has(hc));
    assert.equal(h.ports.used(), 1);
  });

  it('3.21 after delete the same nodePort can be requested again', () => {
    const h = harness();
    const s = h.create('a', { type: 'NodePort', ports: [{ port: 80, nodePort: 30500 }] });
    h.strategy.afterDelete?.(s, { dryRun: false, namespace: 'default' });
    const again = svcOf('b', { type: 'NodePort', ports: [{ port: 80, nodePort: 30500 }] });
    h.begin.create(again).commit();
    assert.ok(h.ports.has(30500));
  });
});
