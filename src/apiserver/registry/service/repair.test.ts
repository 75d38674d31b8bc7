import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newRepairState, repairAllocators, repairNodePorts } from './repair.ts';
import { createServiceAllocators } from './strategy.ts';
import { svcOf } from './testing.ts';

const alloc = () =>
  createServiceAllocators({ serviceCIDRs: ['10.0.0.0/24', 'fd00::/120'], nodePortRange: '30000-32767' });

describe('3.22 repairAllocators', () => {
  it('3.22 rebuilds empty allocators from stored Services without noise on the first pass', () => {
    const al = alloc();
    const services = [
      svcOf('a', {
        type: 'NodePort',
        clusterIP: '10.0.0.5',
        clusterIPs: ['10.0.0.5', 'fd00::5'],
        ports: [{ port: 80, nodePort: 30080 }],
      }),
      svcOf('b', { clusterIP: 'None', clusterIPs: ['None'] }),
      svcOf('c', { type: 'ExternalName', externalName: 'x.example' }),
      svcOf('d', {
        type: 'LoadBalancer',
        clusterIP: '10.0.0.6',
        clusterIPs: ['10.0.0.6'],
        externalTrafficPolicy: 'Local',
        healthCheckNodePort: 30999,
        ports: [
          { port: 53, protocol: 'TCP', nodePort: 30053 },
          { port: 53, protocol: 'UDP', nodePort: 30053 },
        ],
      }),
    ];
    const r = repairAllocators(services, al);
    assert.deepEqual(r.findings, []);
    assert.ok(al.ip.get('IPv4')?.has('10.0.0.5') && al.ip.get('IPv4')?.has('10.0.0.6'));
    assert.ok(al.ip.get('IPv6')?.has('fd00::5'));
    assert.deepEqual(
      [30080, 30053, 30999].map((p) => al.nodePorts.has(p)),
      [true, true, true],
    );
    assert.equal(al.nodePorts.used(), 3);
  });

  it('3.22 duplicates and out-of-range values are reported with Event reasons and texts', () => {
    const al = alloc();
    const services = [
      svcOf('a', {
        clusterIP: '10.0.0.5',
        clusterIPs: ['10.0.0.5'],
        type: 'NodePort',
        ports: [{ port: 80, nodePort: 30080 }],
      }),
      svcOf('b', {
        clusterIP: '10.0.0.5',
        clusterIPs: ['10.0.0.5'],
        type: 'NodePort',
        ports: [{ port: 80, nodePort: 30080 }],
      }),
      svcOf('c', {
        clusterIP: '10.9.0.1',
        clusterIPs: ['10.9.0.1'],
        type: 'NodePort',
        ports: [{ port: 80, nodePort: 80 }],
      }),
    ];
    const r = repairAllocators(services, al);
    const got = r.findings.map((f) => [f.involvedObject.name, f.reason, f.message]);
    assert.deepEqual(got, [
      [
        'b',
        'ClusterIPAlreadyAllocated',
        'Cluster IP [IPv4]:10.0.0.5 was assigned to multiple services; please recreate service',
      ],
      [
        'c',
        'ClusterIPOutOfRange',
        'Cluster IP [IPv4]:10.9.0.1 is not within the service CIDR 10.0.0.0/24; please recreate service',
      ],
      ['b', 'PortAlreadyAllocated', 'Port 30080 was assigned to multiple services; please recreate service'],
      ['c', 'PortOutOfRange', 'Port 80 is not within the port range 30000-32767; please recreate service'],
    ]);
    assert.ok(r.findings.every((f) => f.type === 'Warning' && f.involvedObject.kind === 'Service'));
    assert.equal(r.findings[0]?.involvedObject.namespace, 'default');
  });

  it('3.22 later passes report in-use values missing from the allocator', () => {
    const al = alloc();
    const state = newRepairState();
    repairAllocators([], al, state);
    const r = repairAllocators(
      [
        svcOf('a', {
          clusterIP: '10.0.0.5',
          clusterIPs: ['10.0.0.5'],
          type: 'NodePort',
          ports: [{ port: 80, nodePort: 30080 }],
        }),
      ],
      al,
      state,
    );
    assert.deepEqual(
      r.findings.map((f) => [f.reason, f.message]),
      [
        ['ClusterIPNotAllocated', 'Cluster IP [IPv4]:10.0.0.5 is not allocated; repairing'],
        ['PortNotAllocated', 'Port 30080 is not allocated; repairing'],
      ],
    );
    assert.ok(al.ip.get('IPv4')?.has('10.0.0.5'));
  });

  it('3.22 leaked entries are freed only after 3 consecutive passes', () => {
    const al = alloc();
    const state = newRepairState();
    al.ip.get('IPv4')?.allocate('10.0.0.99');
    al.nodePorts.allocate(31000);
    for (let pass = 1; pass <= 2; pass++) {
      const r = repairAllocators([], al, state);
      assert.deepEqual(r.suspectedIPLeaks, ['10.0.0.99'], `pass ${pass}`);
      assert.deepEqual(r.suspectedPortLeaks, [31000]);
      assert.ok(al.ip.get('IPv4')?.has('10.0.0.99'));
    }
    const r = repairAllocators([], al, state);
    assert.deepEqual(r.freedIPs, ['10.0.0.99']);
    assert.deepEqual(r.freedPorts, [31000]);
    assert.ok(!al.ip.get('IPv4')?.has('10.0.0.99'));
    assert.equal(al.nodePorts.used(), 0);
  });

  it('3.22 a leak that is used again is no longer counted', () => {
    const al = alloc();
    const state = newRepairState();
    al.ip.get('IPv4')?.allocate('10.0.0.99');
    repairAllocators([], al, state);
    repairAllocators([svcOf('a', { clusterIP: '10.0.0.99', clusterIPs: ['10.0.0.99'] })], al, state);
    repairAllocators([], al, state);
    const r = repairAllocators([], al, state);
    assert.deepEqual(r.freedIPs, []);
    assert.ok(al.ip.get('IPv4')?.has('10.0.0.99'));
  });

  it('repair collects node ports like repair.go: same port under TCP and UDP once, plus health check', () => {
    const s = svcOf('a', {
      healthCheckNodePort: 30999,
      ports: [
        { port: 53, protocol: 'TCP', nodePort: 30053 },
        { port: 53, protocol: 'UDP', nodePort: 30053 },
        { port: 54, protocol: 'TCP', nodePort: 30053 },
      ],
    });
    assert.deepEqual(repairNodePorts(s), [30053, 30053, 30999]);
  });

  it('a Service whose family is no longer configured is reported', () => {
    const al = createServiceAllocators({ serviceCIDRs: ['10.0.0.0/24'] });
    const r = repairAllocators([svcOf('a', { clusterIP: '10.0.0.5', clusterIPs: ['10.0.0.5', 'fd00::5'] })], al);
    assert.deepEqual(
      r.findings.map((f) => [f.reason, f.message]),
      [
        [
          'ClusterIPNotValid',
          'Cluster IP fd00::5(IPv6) is of ip family that is no longer configured on cluster; please recreate service',
        ],
      ],
    );
  });
});
