// LoadBalancer IPAM end to end: the LB controller runs in-process against the same registry a
// real HTTPS API server serves, and real kubectl applies MetalLB-style manifests and reads back
// what users see (EXTERNAL-IP, <pending>, Events in `kubectl describe`).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { InProcessClient } from '../src/client/in-process.ts';
import { ipAddressPoolAdmission } from '../src/controllers/loadbalancer/admission.ts';
import {
  type LoadBalancerController,
  startLoadBalancerController,
} from '../src/controllers/loadbalancer/controller.ts';
import { startTestApiServer, type TestApiServer } from './helpers/apiserver.ts';
import { eventually } from './helpers/eventually.ts';

const poolManifest = `apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata:
  name: lab-pool
  namespace: metallb-system
spec:
  addresses:
  - 192.0.2.10-192.0.2.11
`;

function lbService(name: string, port: number, annotations: Record<string, string> = {}): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, annotations },
    spec: { type: 'LoadBalancer', selector: { app: name }, ports: [{ name: 'p', port, protocol: 'TCP' }] },
  });
}

describe('LoadBalancer IPAM with kubectl', () => {
  let s: TestApiServer;
  let ctrl: LoadBalancerController;
  const errors: unknown[] = [];

  /** EXTERNAL-IP column of `kubectl get svc NAME`. */
  const externalIP = async (name: string): Promise<string> => {
    const out = await s.kc(['get', 'svc', name, '--no-headers']);
    const cols = out.trim().split(/\s+/);
    return cols[3] ?? '';
  };
  const waitIP = (name: string, want: (ip: string) => boolean) =>
    eventually(`EXTERNAL-IP of ${name}`, async () => {
      const ip = await externalIP(name);
      return want(ip) ? ip : undefined;
    });

  before(async () => {
    s = await startTestApiServer();
    ctrl = startLoadBalancerController(new InProcessClient(s.server.registry), { onError: (e) => errors.push(e) });
    await ctrl.synced();
  });
  after(async () => {
    await ctrl?.stop();
    await s?.close();
  });

  it('gives the seed service an EXTERNAL-IP from a MetalLB pool manifest', async () => {
    await s.kc(['apply', '-f', '-'], poolManifest);
    await s.kc(['apply', '-f', '-'], readFileSync('examples/db-mariadb-slave-lb.yaml', 'utf8'));
    assert.equal(await waitIP('db-mariadb-slave-lb', (ip) => ip !== '<pending>'), '192.0.2.10');
    const svc = JSON.parse(await s.kc(['get', 'svc', 'db-mariadb-slave-lb', '-o', 'json']));
    assert.deepEqual(svc.status.loadBalancer.ingress, [{ ip: '192.0.2.10', ipMode: 'VIP' }]);
    assert.equal(svc.metadata.annotations['metallb.io/ip-allocated-from-pool'], 'lab-pool');
    const events = await s.kc(['get', 'events', '--field-selector', 'involvedObject.name=db-mariadb-slave-lb']);
    assert.match(events, /IPAllocated\s+service\/db-mariadb-slave-lb\s+Assigned IP \["192.0.2.10"\]/);
  });

  it('shows <pending> and a describe-visible Event when the pool is exhausted', async () => {
    await s.kc(['apply', '-f', '-'], lbService('web-lb', 80));
    assert.equal(await waitIP('web-lb', (ip) => ip !== '<pending>'), '192.0.2.11');
    await s.kc(['apply', '-f', '-'], lbService('extra-lb', 8080));
    const described = await eventually('AllocationFailed in describe', async () => {
      const d = await s.kc(['describe', 'service', 'extra-lb']);
      return /AllocationFailed/.test(d) ? d : undefined;
    });
    assert.match(
      described,
      /Warning\s+AllocationFailed\s+.*Failed to allocate IP for "default\/extra-lb": no available IPs/,
    );
    assert.equal(await externalIP('extra-lb'), '<pending>');
  });

  it('deleting a service frees its address for the pending one', async () => {
    await s.kc(['delete', 'svc', 'db-mariadb-slave-lb']);
    assert.equal(await waitIP('extra-lb', (ip) => ip !== '<pending>'), '192.0.2.10');
  });

  it('refuses (controller side) a pool change that would strand a live address', async () => {
    await s.kc([
      'patch',
      'ipaddresspool',
      '-n',
      'metallb-system',
      'lab-pool',
      '--type=merge',
      '-p',
      JSON.stringify({ spec: { addresses: ['192.0.2.10/32'] } }),
    ]);
    const d = await eventually('PoolChangeRefused on web-lb', async () => {
      const out = await s.kc(['describe', 'service', 'web-lb']);
      return /PoolChangeRefused/.test(out) ? out : undefined;
    });
    assert.match(d, /service "default\/web-lb" cannot own "192\.0\.2\.11" under new config/);
    assert.equal(await externalIP('web-lb'), '192.0.2.11');
    await s.kc([
      'patch',
      'ipaddresspool',
      '-n',
      'metallb-system',
      'lab-pool',
      '--type=merge',
      '-p',
      JSON.stringify({ spec: { addresses: ['192.0.2.10-192.0.2.11'] } }),
    ]);
  });

  it('services with the same sharing key share an address when ports do not clash', async () => {
    await s.kc(['delete', 'svc', 'web-lb']);
    const key = { 'metallb.io/allow-shared-ip': 'team-a' };
    await s.kc(['apply', '-f', '-'], lbService('shared-http', 80, key));
    const ip = await waitIP('shared-http', (v) => v !== '<pending>');
    assert.equal(ip, '192.0.2.11');
    await s.kc(['apply', '-f', '-'], lbService('shared-https', 443, key));
    assert.equal(await waitIP('shared-https', (v) => v !== '<pending>'), ip);
    // Same key, clashing port, no other free address: stays pending.
    await s.kc(['apply', '-f', '-'], lbService('shared-clash', 80, key));
    await eventually('AllocationFailed for shared-clash', async () => {
      const d = await s.kc(['describe', 'service', 'shared-clash']);
      return /no available IPs/.test(d) ? d : undefined;
    });
    assert.equal(await externalIP('shared-clash'), '<pending>');
    // A pool that grows retries the pending service.
    await s.kc([
      'patch',
      'ipaddresspool',
      '-n',
      'metallb-system',
      'lab-pool',
      '--type=merge',
      '-p',
      JSON.stringify({ spec: { addresses: ['192.0.2.10-192.0.2.12'] } }),
    ]);
    assert.equal(await waitIP('shared-clash', (v) => v !== '<pending>'), '192.0.2.12');
    // A shared address stays with its remaining user.
    await s.kc(['delete', 'svc', 'shared-http']);
    await eventually('shared-http released', async () =>
      ctrl.allocations().some((a) => a.service === 'default/shared-http') ? undefined : true,
    );
    assert.equal(await externalIP('shared-https'), ip);
  });

  it('type change away from LoadBalancer clears the status and frees the address', async () => {
    await s.kc(['patch', 'svc', 'extra-lb', '--type=merge', '-p', JSON.stringify({ spec: { type: 'ClusterIP' } })]);
    await eventually('extra-lb released', async () =>
      ctrl.allocations().some((a) => a.service === 'default/extra-lb') ? undefined : true,
    );
    const svc = JSON.parse(await s.kc(['get', 'svc', 'extra-lb', '-o', 'json']));
    assert.deepEqual(svc.status.loadBalancer ?? {}, {});
    assert.equal(svc.metadata.annotations?.['metallb.io/ip-allocated-from-pool'], undefined);
    await s.kc(['delete', 'svc', 'shared-https', 'shared-clash', 'extra-lb']);
    await eventually('all released', async () => (ctrl.allocations().length === 0 ? true : undefined));
    assert.deepEqual(errors, []);
  });
});

describe('LoadBalancer IPAM restart', () => {
  it('a restarted controller keeps existing addresses and does not hand them out again', async () => {
    const s = await startTestApiServer();
    const client = new InProcessClient(s.server.registry);
    try {
      await s.kc(['apply', '-f', '-'], poolManifest);
      await s.kc(['apply', '-f', '-'], lbService('first', 80));
      let ctrl = startLoadBalancerController(client);
      await ctrl.synced();
      assert.equal(
        await eventually('first ip', async () => {
          const o = JSON.parse(await s.kc(['get', 'svc', 'first', '-o', 'json']));
          return o.status.loadBalancer?.ingress?.[0]?.ip as string | undefined;
        }),
        '192.0.2.10',
      );
      await ctrl.stop();
      // While the controller is down a new Service arrives whose key sorts (and so queues)
      // before "first": the restarted controller must restore first's address before it
      // allocates anything.
      await s.kc(['apply', '-f', '-'], lbService('aaa', 80));
      ctrl = startLoadBalancerController(client);
      await ctrl.synced();
      const aaa = JSON.parse(await s.kc(['get', 'svc', 'aaa', '-o', 'json']));
      assert.equal(aaa.status.loadBalancer.ingress[0].ip, '192.0.2.11');
      assert.deepEqual(
        ctrl
          .allocations()
          .map((a) => [a.service, a.ips])
          .sort(),
        [
          ['default/aaa', ['192.0.2.11']],
          ['default/first', ['192.0.2.10']],
        ],
      );
      await ctrl.stop();
    } finally {
      await s.close();
    }
  });
});

describe('IPAddressPool admission (the API refuses stranding changes)', () => {
  it('rejects a shrink or delete that strands a live address; a safe change passes', async () => {
    const s = await startTestApiServer({ admission: [ipAddressPoolAdmission] });
    const ctrl = startLoadBalancerController(new InProcessClient(s.server.registry));
    try {
      await ctrl.synced();
      await s.kc(['apply', '-f', '-'], poolManifest);
      await s.kc(['apply', '-f', '-'], lbService('held', 80));
      const ip = await eventually('address', async () => {
        const svc = JSON.parse(await s.kc(['get', 'svc', 'held', '-o', 'json']));
        return svc.status?.loadBalancer?.ingress?.[0]?.ip as string | undefined;
      });
      const other = ip === '192.0.2.10' ? '192.0.2.11/32' : '192.0.2.10/32';
      const shrink = await s.kubectl([
        'patch',
        'ipaddresspool',
        '-n',
        'metallb-system',
        'lab-pool',
        '--type=merge',
        '-p',
        JSON.stringify({ spec: { addresses: [other] } }),
      ]);
      assert.notEqual(shrink.code, 0);
      assert.match(
        shrink.stderr,
        new RegExp(
          `spec\\.addresses: Forbidden: new config not compatible with assigned IPs: service "default/held" cannot own "${ip.replace(/\./g, '\\.')}" under new config`,
        ),
      );
      const del = await s.kubectl(['delete', 'ipaddresspool', '-n', 'metallb-system', 'lab-pool']);
      assert.notEqual(del.code, 0);
      assert.match(del.stderr, /cannot own/);
      const pool = JSON.parse(await s.kc(['get', 'ipaddresspool', '-n', 'metallb-system', 'lab-pool', '-o', 'json']));
      assert.deepEqual(pool.spec.addresses, ['192.0.2.10-192.0.2.11'], 'nothing changed');
      // Growing the pool strands nothing.
      await s.kc([
        'patch',
        'ipaddresspool',
        '-n',
        'metallb-system',
        'lab-pool',
        '--type=merge',
        '-p',
        JSON.stringify({ spec: { addresses: ['192.0.2.10-192.0.2.12'] } }),
      ]);
      // Once the Service is gone, the pool may go.
      await s.kc(['delete', 'svc', 'held']);
      await eventually('release', async () => {
        const out = await s.kubectl(['delete', 'ipaddresspool', '-n', 'metallb-system', 'lab-pool']);
        return out.code === 0 ? true : undefined;
      });
    } finally {
      await ctrl.stop();
      await s.close();
    }
  });
});
