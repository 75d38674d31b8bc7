// The shared packet-flow suite on the nftables plane: render the fixture, apply it to the fake
// kernel (atomic, reference-checked) and walk the resulting rules with the tracer.
import { describeConformance, describeKubeProxyScenarios } from '../conformance/describe.ts';
import { kernelConformancePlane, kernelConformanceSkip } from '../conformance/kernel.ts';
import type { ConformancePlane, TraceVerdict } from '../conformance/types.ts';
import type { ProxySnapshot } from '../snapshot.ts';
import { FakeNft } from './fake.ts';
import { createNftablesPlane } from './plane.ts';
import { NftablesRenderer } from './render.ts';
import { NftTracer } from './trace.ts';

// 5.14 as kube-proxy's nftables mode does it: an address in the service CIDR that is not in
// cluster-ips is dropped after DNAT had its chance. An ignored Service's ClusterIP is such an
// address: another proxy that DNATs it earlier still works, but with none the trace is DROP.
const ignoredReason =
  'kernel planes drop service-CIDR addresses they do not serve (5.14); the trace says DROP, not UNHANDLED';

function plane(): ConformancePlane {
  const nft = new FakeNft();
  let tracer: NftTracer | undefined;
  return {
    name: 'nftables',
    load(s: ProxySnapshot) {
      const r = new NftablesRenderer({ families: ['ip', 'ip6'], serviceCIDRs: ['10.96.0.0/16'], masqueradeAll: false });
      r.update(s);
      for (const tx of r.renderFull({})) nft.apply(tx);
      tracer = new NftTracer(nft, { localAddresses: s.node.ips });
    },
    skips: {
      'service-proxy-name label: not proxied': ignoredReason,
      'headless label: not proxied': ignoredReason,
    },
    trace(p): TraceVerdict {
      if (!tracer) throw new Error('not loaded');
      const v = tracer.trace(p);
      return v.kind === 'endpoints' ? { kind: 'endpoints', endpoints: v.endpoints, masq: v.masq } : { kind: v.kind };
    },
  };
}

describeConformance('conformance: nftables plane (fake kernel + tracer)', plane, { exactly: 2 });

describeKubeProxyScenarios('kube-proxy scenarios: nftables plane (fake kernel + tracer)', (sc) => {
  const nft = new FakeNft();
  const r = new NftablesRenderer({
    families: ['ip'],
    serviceCIDRs: ['172.30.0.0/16'],
    masqueradeAll: sc.masqueradeAll,
  });
  r.update(sc.snapshot);
  for (const tx of r.renderFull({})) nft.apply(tx);
  const tracer = new NftTracer(nft, { localAddresses: sc.localAddresses });
  return (p) => {
    const v = tracer.trace(p);
    return v.kind === 'endpoints' ? { kind: 'endpoints', endpoints: v.endpoints, masq: v.masq } : { kind: v.kind };
  };
});

describeConformance(
  'conformance: nftables plane (real kernel, real traffic)',
  () =>
    kernelConformancePlane(
      {
        name: 'nftables',
        create: (netns, cfg) => createNftablesPlane({ netns, serviceCIDRs: cfg.serviceCIDRs, families: ['ip'] }),
        skips: { 'service-proxy-name label: not proxied': ignoredReason, 'headless label: not proxied': ignoredReason },
      },
      { prefix: `ncf${process.pid % 10000}` },
    ),
  { exactly: 2 },
  { skip: kernelConformanceSkip() },
);
