// The nftables plane on a real kernel, inside namespaces this test creates (lab.ts): real
// rules from the renderer, real TCP/UDP traffic from a client pod, the node and an outside host.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { hasNetAdmin, run } from '../../kernel/exec.ts';
import { inNetns } from '../../kernel/netns.ts';
import { syncChanges } from '../snapshot.ts';
import { ep, snapshotOf, svcPort } from '../testing/fixtures.ts';
import { createLab, type Lab, probe, sendRawSyn6 } from '../testing/lab.ts';
import type { EndpointInfo, NodeInfo, ServicePortInfo, ServicePortKey } from '../types.ts';
import { createNftablesPlane, type NftablesPlane } from './plane.ts';

const skip = hasNetAdmin() ? false : 'needs root (CAP_NET_ADMIN) to create network namespaces';
const prefix = `nt${process.pid % 100000}`;

const changes = syncChanges;

const names = (rs: string[]) => [...new Set(rs.map((r) => r.split(' ')[0] ?? r))].sort();

describe('nftables plane on a real kernel', { skip, concurrency: false }, () => {
  let lab: Lab;
  let plane: NftablesPlane;
  let node: NodeInfo;
  let p1: EndpointInfo, p2: EndpointInfo, p3: EndpointInfo, p1u: EndpointInfo, p2u: EndpointInfo, p3u: EndpointInfo;
  let web: ServicePortInfo, dns: ServicePortInfo, empty: ServicePortInfo, aff: ServicePortInfo, local: ServicePortInfo;
  let entries: Map<ServicePortKey, [ServicePortInfo, EndpointInfo[]]>;
  const snap = () => snapshotOf([...entries.values()], { node, nodePortIPs: [lab.nodeIP], localhostNodePorts: true });

  before(async () => {
    lab = await createLab(prefix, 3);
    node = { name: 'node-a', zone: '', ips: [lab.nodeIP], podCIDRs: ['10.244.0.0/24'] };
    const [a, b, c] = lab.pods;
    assert.ok(a && b && c);
    const tcpEp = (ip: string) => ep(ip, 8080, { isLocal: true });
    const udpEp = (ip: string) => ep(ip, 8081, { isLocal: true });
    [p1, p2, p3] = [tcpEp(a.ip), tcpEp(b.ip), tcpEp(c.ip)];
    [p1u, p2u, p3u] = [udpEp(a.ip), udpEp(b.ip), udpEp(c.ip)];
    web = svcPort('default', 'web', { clusterIPs: ['10.96.0.10'], port: 80, nodePort: 30080 });
    dns = svcPort('default', 'web', {
      clusterIPs: ['10.96.0.10'],
      port: 53,
      nodePort: 30053,
      protocol: 'UDP',
      portName: 'dns',
    });
    empty = svcPort('default', 'empty', { clusterIPs: ['10.96.0.20'], nodePort: 30020 });
    aff = svcPort('default', 'aff', { clusterIPs: ['10.96.0.30'], affinityTimeoutSeconds: 300 });
    local = svcPort('default', 'local', {
      type: 'LoadBalancer',
      clusterIPs: ['10.96.0.40'],
      nodePort: 30040,
      externalPolicyLocal: true,
    });
    const remote = ep('10.244.1.50', 8080, { isLocal: false });
    entries = new Map([
      [web.key, [web, [p1, p2]]],
      [dns.key, [dns, [p1u, p2u]]],
      [empty.key, [empty, []]],
      [aff.key, [aff, [p1, p2, p3]]],
      [local.key, [local, [ep(lab.pods[0]?.ip ?? '', 8080, { isLocal: true }), remote]]],
    ]);
    plane = createNftablesPlane({
      netns: lab.node,
      serviceCIDRs: ['10.96.0.0/16'],
      families: ['ip'],
      log: (m) => console.error(m),
    });
    await plane.sync(snap(), changes({ full: true }));
  });
  after(async () => {
    await plane?.stop();
    await lab?.close();
  });

  it('ClusterIP TCP is balanced over endpoints and keeps the pod source address', async () => {
    const rs = await probe(lab.client.ns, { proto: 'tcp', host: '10.96.0.10', port: 80, n: 24 });
    assert.deepEqual(names(rs), ['pod1', 'pod2']);
    assert.ok(
      rs.every((r) => r.endsWith(lab.client.ip)),
      rs.join(),
    );
  });

  it('ClusterIP UDP is balanced over endpoints (fresh sockets)', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 12 && seen.size < 2; i++)
      for (const r of await probe(lab.client.ns, { proto: 'udp', host: '10.96.0.10', port: 53 }))
        seen.add(r.split(' ')[0] ?? '');
    assert.deepEqual([...seen].sort(), ['pod1', 'pod2']);
  });

  it('NodePort from outside works and is masqueraded (ETP Cluster)', async () => {
    const rs = await probe(lab.outside.ns, { proto: 'tcp', host: lab.nodeIP, port: 30080, n: 6 });
    assert.ok(
      rs.every((r) => /^pod[12] 10\.244\.0\.1$/.test(r)),
      rs.join(),
    );
  });

  it('no endpoints: ClusterIP and NodePort refuse (REJECT → ECONNREFUSED)', async () => {
    assert.deepEqual(await probe(lab.client.ns, { proto: 'tcp', host: '10.96.0.20', port: 80 }), ['ECONNREFUSED']);
    assert.deepEqual(await probe(lab.outside.ns, { proto: 'tcp', host: lab.nodeIP, port: 30020 }), ['ECONNREFUSED']);
  });

  it('an unknown port on a live ClusterIP is refused; an unallocated service address times out', async () => {
    assert.deepEqual(await probe(lab.client.ns, { proto: 'tcp', host: '10.96.0.10', port: 81 }), ['ECONNREFUSED']);
    const dropped = async () =>
      Number(/packets (\d+)/.exec(await lab.sh(lab.node, 'nft list chain ip svcnet cluster-ips-check'))?.[1] ?? -1);
    const before = await dropped();
    assert.deepEqual(await probe(lab.client.ns, { proto: 'tcp', host: '10.96.0.77', port: 80, timeout: 800 }), [
      'TIMEOUT',
    ]);
    // Dropped by the service-CIDR rule, not lost on the way (the node has a default route).
    assert.ok((await dropped()) > before);
  });

  it('ClientIP affinity pins a client to one endpoint', async () => {
    const rs = await probe(lab.client.ns, { proto: 'tcp', host: '10.96.0.30', port: 80, n: 12 });
    assert.equal(names(rs).length, 1, rs.join());
  });

  it('ETP Local: an outside client reaches only the local endpoint and keeps its address', async () => {
    const rs = await probe(lab.outside.ns, { proto: 'tcp', host: lab.nodeIP, port: 30040, n: 8 });
    assert.ok(
      rs.every((r) => r === `pod1 ${lab.outside.ip}`),
      rs.join(),
    );
  });

  it('localhost NodePort works from the node (TCP and UDP)', async () => {
    const t = await probe(lab.node, { proto: 'tcp', host: '127.0.0.1', port: 30080, n: 4 });
    assert.ok(
      t.every((r) => /^pod[12] /.test(r)),
      t.join(),
    );
    const u = await probe(lab.node, { proto: 'udp', host: '127.0.0.1', port: 30053 });
    assert.ok(
      u.every((r) => /^pod[12] /.test(r)),
      u.join(),
    );
  });

  it('localhost NodePort on ::1 works from the node through the relay (TCP and UDP)', async () => {
    assert.equal(plane.stats.relayListeners, 4, 'web (TCP), dns (UDP), empty and local have NodePorts');
    const t = await probe(lab.node, { proto: 'tcp', host: '::1', port: 30080, n: 6 });
    assert.ok(
      t.every((r) => /^pod[12] /.test(r)),
      t.join(),
    );
    const u = await probe(lab.node, { proto: 'udp', host: '::1', port: 30053, n: 3 });
    assert.ok(u.length === 3 && u.every((r) => /^pod[12] /.test(r)), u.join());
    // No endpoints: the relay passes the kernel's REJECT on as a reset.
    assert.deepEqual(await probe(lab.node, { proto: 'tcp', host: '::1', port: 30020 }), ['ECONNRESET']);
  });

  it('::1 arriving on a non-loopback interface never reaches the relay', async () => {
    // An attacker on the LAN hand-crafts a SYN to [::1]:30080 (its own kernel would not send it).
    const mac = /link\/ether (\S+)/.exec(await lab.sh(lab.node, 'ip link show eth0'))?.[1] ?? '';
    const hdrErrors = async () =>
      Number(/Ip6InHdrErrors\s+(\d+)/.exec(await lab.sh(lab.node, 'cat /proc/net/snmp6'))?.[1] ?? -1);
    const before = await hdrErrors();
    await sendRawSyn6(lab.outside.ns, { ifname: 'eth0', dstMac: mac, src: 'fe80::2', dst: '::1', dport: 30080 });
    await new Promise((r) => setTimeout(r, 200));
    // Linux drops a packet to ::1 from a non-loopback device in ip6_rcv_core, before netfilter
    // and long before the relay's socket; it counts it as a header error.
    assert.ok((await hdrErrors()) > before, 'the kernel dropped the SYN to ::1 as a header error');
  });

  it('127.0.0.1 arriving on a non-loopback interface is dropped (and would be served without the guard)', async () => {
    const count = async () =>
      Number(/packets (\d+)/.exec(await lab.sh(lab.node, 'nft list chain ip svcnet raw-prerouting'))?.[1] ?? -1);
    const before = await count();
    assert.deepEqual(await probe(lab.outside.ns, { proto: 'tcp', host: '127.0.0.1', port: 30080, timeout: 800 }), [
      'TIMEOUT',
    ]);
    assert.ok((await count()) > before, 'the guard rule counted the packet');
    const ct = await lab.sh(lab.node, `conntrack -L -d 127.0.0.1 -s ${lab.outside.ip} 2>/dev/null || true`);
    assert.doesNotMatch(ct, /dport=30080/);
    // Control: without the guard the same packet is DNATed to a pod (the CVE-2020-8558 hole).
    await lab.sh(lab.node, 'nft flush chain ip svcnet raw-prerouting');
    await probe(lab.outside.ns, { proto: 'tcp', host: '127.0.0.1', port: 30080, timeout: 800 });
    const ct2 = await lab.sh(lab.node, `conntrack -L -d 127.0.0.1 -s ${lab.outside.ip} 2>/dev/null || true`);
    assert.match(ct2, /dport=30080.*src=10\.244\.0\.1[12] /);
    // The periodic full sync repairs the edited table.
    await plane.sync(snap(), changes({ full: true }));
    assert.match(await lab.sh(lab.node, 'nft list chain ip svcnet raw-prerouting'), /127\.0\.0\.0\/8 counter/);
  });

  it('an endpoint change is applied as a partial sync and takes effect', async () => {
    entries.set(web.key, [web, [p3]]);
    const partials = plane.stats.partialSyncs;
    await plane.sync(snap(), changes({ endpoints: new Set([web.key]) }));
    assert.equal(plane.stats.partialSyncs, partials + 1);
    assert.deepEqual(names(await probe(lab.client.ns, { proto: 'tcp', host: '10.96.0.10', port: 80, n: 8 })), ['pod3']);
  });

  it('UDP: a removed endpoint’s flows move to a live endpoint (ClusterIP and NodePort)', async () => {
    for (const [ns, host, port, sport] of [
      [lab.client.ns, '10.96.0.10', 53, 40001],
      [lab.outside.ns, lab.nodeIP, 30053, 40002],
    ] as const) {
      entries.set(dns.key, [dns, [p1u, p2u]]);
      await plane.sync(snap(), changes({ endpoints: new Set([dns.key]) }));
      const [first = ''] = await probe(ns, { proto: 'udp', host, port, sport });
      const pinned = first.split(' ')[0];
      const gone = pinned === 'pod1' ? p1u : p2u;
      const keep = pinned === 'pod1' ? p2u : p1u;
      entries.set(dns.key, [dns, [keep]]);
      await plane.sync(
        snap(),
        changes({ endpoints: new Set([dns.key]), staleUDPEndpoints: [{ servicePort: dns, endpoint: gone }] }),
      );
      const [next = ''] = await probe(ns, { proto: 'udp', host, port, sport });
      assert.equal(next.split(' ')[0], pinned === 'pod1' ? 'pod2' : 'pod1', `${host}:${port}: ${first} then ${next}`);
    }
  });

  it('UDP: N→0 then 0→N reaches the new endpoint from the same socket', async () => {
    const sport = 40003;
    entries.set(dns.key, [dns, [p1u]]);
    await plane.sync(snap(), changes({ endpoints: new Set([dns.key]) }));
    assert.match(
      (await probe(lab.client.ns, { proto: 'udp', host: '10.96.0.10', port: 53, sport }))[0] ?? '',
      /^pod1 /,
    );
    entries.set(dns.key, [dns, []]);
    await plane.sync(
      snap(),
      changes({ endpoints: new Set([dns.key]), staleUDPEndpoints: [{ servicePort: dns, endpoint: p1u }] }),
    );
    assert.deepEqual(await probe(lab.client.ns, { proto: 'udp', host: '10.96.0.10', port: 53, sport, timeout: 600 }), [
      'TIMEOUT',
    ]);
    entries.set(dns.key, [dns, [p3u]]);
    await plane.sync(snap(), changes({ endpoints: new Set([dns.key]), newlyActiveUDP: [dns.key] }));
    assert.match(
      (await probe(lab.client.ns, { proto: 'udp', host: '10.96.0.10', port: 53, sport }))[0] ?? '',
      /^pod3 /,
    );
  });

  it('UDP: an agent restart keeps healthy flows (no flush of DNATed entries)', async () => {
    const sport = 40004;
    const [first = ''] = await probe(lab.client.ns, { proto: 'udp', host: '10.96.0.10', port: 53, sport });
    const entriesBefore = await lab.sh(lab.node, `conntrack -L -p udp --sport ${sport} 2>/dev/null`);
    assert.match(entriesBefore, /dport=53/);
    // A new agent: every UDP port looks "newly active" to a fresh ProxyState. The old one is gone
    // (its ::1 relay sockets with it); its rules stay.
    await plane.stop();
    const restarted = createNftablesPlane({ netns: lab.node, serviceCIDRs: ['10.96.0.0/16'], families: ['ip'] });
    await restarted.sync(snap(), changes({ full: true, newlyActiveUDP: [dns.key] }));
    assert.equal(restarted.stats.conntrackDeleted, 0);
    assert.match(await lab.sh(lab.node, `conntrack -L -p udp --sport ${sport} 2>/dev/null`), /dport=53/);
    assert.equal((await probe(lab.client.ns, { proto: 'udp', host: '10.96.0.10', port: 53, sport }))[0], first);
    plane = restarted;
  });

  it('UDP: a deleted service port has its ClusterIP entries flushed', async () => {
    await probe(lab.client.ns, { proto: 'udp', host: '10.96.0.10', port: 53, sport: 40005 });
    entries.delete(dns.key);
    await plane.sync(
      snap(),
      changes({ services: new Set([dns.key]), endpoints: new Set([dns.key]), deletedServices: [dns] }),
    );
    assert.doesNotMatch(
      await lab.sh(lab.node, 'conntrack -L -p udp --orig-dst 10.96.0.10 2>/dev/null || true'),
      /dport=53/,
    );
  });

  it('cleanup removes the tables', async () => {
    await plane.cleanup();
    assert.doesNotMatch((await run(inNetns(lab.node, ['nft', 'list', 'tables']))).stdout, /svcnet/);
  });
});
