import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { countTranslatedFlows } from '../../kernel/conntrack.ts';
import { ep, snapshotOf, svcPort } from '../testing/fixtures.ts';
import { groupFlows } from './counters.ts';
import { trackedFlows } from './tracked.ts';

// `conntrack -L` as conntrack-tools 1.4.7 prints it (a ClusterIP flow DNATed twice to one
// endpoint and once to another, a NodePort flow, a UDP DNS flow, a flow straight to a pod).
const listed = `tcp      6 117 TIME_WAIT src=10.244.0.3 dst=10.96.10.5 sport=40100 dport=80 src=10.244.0.4 dst=10.244.0.3 sport=8080 dport=40100 [ASSURED] mark=0 use=1
tcp      6 431999 ESTABLISHED src=10.244.0.3 dst=10.96.10.5 sport=40102 dport=80 src=10.244.0.4 dst=10.244.0.3 sport=8080 dport=40102 [ASSURED] mark=0 use=1
tcp      6 117 TIME_WAIT src=10.244.0.3 dst=10.96.10.5 sport=40104 dport=80 src=10.244.0.5 dst=10.244.0.3 sport=8080 dport=40104 [ASSURED] mark=0 use=1
tcp      6 117 TIME_WAIT src=192.168.77.9 dst=192.168.77.1 sport=5000 dport=30080 src=10.244.0.5 dst=192.168.77.1 sport=8080 dport=5000 [ASSURED] mark=0 use=1
udp      17 28 src=10.244.0.3 dst=10.96.0.10 sport=5353 dport=53 src=10.244.0.1 dst=10.244.0.3 sport=53 dport=5353 mark=0 use=1
tcp      6 117 TIME_WAIT src=10.244.0.3 dst=10.244.0.4 sport=40200 dport=8080 src=10.244.0.4 dst=10.244.0.3 sport=8080 dport=40200 [ASSURED] mark=0 use=1
tcp      6 117 TIME_WAIT src=10.244.0.3 dst=10.96.99.99 sport=40300 dport=80 src=10.244.0.9 dst=10.244.0.3 sport=80 dport=40300 [ASSURED] mark=0 use=1
`;

describe('flow counters', () => {
  it('counts translated conntrack entries per (destination, endpoint) and skips untranslated ones', () => {
    const c = countTranslatedFlows(listed);
    assert.deepEqual(
      c.find((x) => x.dst === '10.96.10.5' && x.endpointIP === '10.244.0.4'),
      { proto: 'TCP', dst: '10.96.10.5', dport: 80, endpointIP: '10.244.0.4', endpointPort: 8080, flows: 2 },
    );
    assert.equal(c.length, 5);
    assert.ok(!c.some((x) => x.dst === '10.244.0.4'));
  });

  it('groups them by the Service port the destination is (ClusterIP and NodePort alike)', async () => {
    const web = svcPort('default', 'web', { clusterIPs: ['10.96.10.5'], nodePort: 30080 });
    const dns = svcPort('kube-system', 'kube-dns', { clusterIPs: ['10.96.0.10'], port: 53, protocol: 'UDP' });
    const snap = snapshotOf([
      [web, [ep('10.244.0.4', 8080), ep('10.244.0.5', 8080)]],
      [dns, [ep('10.244.0.1', 53)]],
    ]);
    const flows = await trackedFlows(undefined, async () => ({ stdout: listed, stderr: '' }) as never);
    // The runner answers both family listings with the same text: the first five are one listing.
    const g = groupFlows(snap, 'nftables', { kind: 'tracked', counts: flows.counts.slice(0, 5) });
    assert.equal(g.node, 'node-a');
    assert.equal(g.kind, 'tracked');
    const w = g.services.find((s) => s.name === 'web');
    // Three ClusterIP flows and the NodePort one.
    assert.equal(w?.total, 4);
    assert.deepEqual(w?.endpoints, [
      { endpoint: '10.244.0.4:8080', count: 2 },
      { endpoint: '10.244.0.5:8080', count: 2 },
    ]);
    assert.equal(g.services.find((s) => s.name === 'kube-dns')?.total, 1);
    const all = groupFlows(snap, 'nftables', flows);
    assert.equal(all.unmatched, 2, 'the flow to an address that is no Service port, once per family listing');
  });
});
