// Runs inside the IPVS VM (scripts/vm/run.sh; test/vm.test.ts boots it): the kernel's IPVS with
// nothing of svcnet in between, so a failure here is the VM or the kernel, not a data plane.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createLab, type Lab, probe } from '../../src/proxy/testing/lab.ts';

let lab: Lab;
before(async () => {
  lab = await createLab('vmipvs', 2);
});
after(async () => {
  await lab?.close();
});

test('ipvsadm programs a NAT virtual server in a namespace and traffic is balanced round robin', async () => {
  await lab.sh(
    lab.node,
    `modprobe ip_vs; ip link add vs0 type dummy; ip addr add 10.96.0.1/32 dev vs0
     ipvsadm -A -t 10.96.0.1:80 -s rr
     ${lab.pods.map((p) => `ipvsadm -a -t 10.96.0.1:80 -r ${p.ip}:8080 -m`).join('\n')}`,
  );
  const saved = await lab.sh(lab.node, 'ipvsadm -S -n');
  assert.match(saved, /-A -t 10\.96\.0\.1:80 -s rr/);
  const replies = await probe(lab.client.ns, { proto: 'tcp', host: '10.96.0.1', port: 80, n: 4 });
  const names = replies.map((r) => r.split(' ')[0]);
  assert.deepEqual([...names].sort(), ['pod1', 'pod1', 'pod2', 'pod2'], replies.join(', '));
  // Masquerade mode without SNAT: the endpoint saw the client's own address.
  for (const r of replies) assert.equal(r.split(' ')[1], lab.client.ip);
  assert.match(await lab.sh(lab.node, 'ipvsadm -L -n --stats'), /10\.244\.0\.1[12]:8080/);
});

test('IPVS is per network namespace: the node namespace has the service, a fresh one has none', async () => {
  assert.equal((await lab.sh(lab.outside.ns, 'ipvsadm -S -n')).trim(), '');
});
