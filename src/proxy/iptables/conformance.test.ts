// The shared packet-flow suite on the iptables plane: render the fixture, apply the plans to the
// fake kernel (restores atomic and reference-checked, sets typed) and walk the resulting rules
// with the tracer; kube-proxy's own scenarios the same way.
import { FakeIpset } from '../../kernel/fake-ipset.ts';
import { FakeIptables } from '../../kernel/fake-iptables.ts';
import { describeConformance, describeKubeProxyScenarios } from '../conformance/describe.ts';
import { unservedServiceIPReason as ignoredReason } from '../conformance/kernel.ts';
import type { ConformancePlane, TraceVerdict } from '../conformance/types.ts';
import type { ProxySnapshot } from '../snapshot.ts';
import { IptablesApplier } from './applier.ts';
import { IptablesRenderer } from './render.ts';
import { IptablesTracer, type TracePacket } from './trace.ts';

async function loaded(
  s: ProxySnapshot,
  o: { serviceCIDRs: string[]; masqueradeAll: boolean; families: ('IPv4' | 'IPv6')[] },
  local: readonly string[],
) {
  const ipset = new FakeIpset();
  const ipt = new FakeIptables(ipset);
  const applier = new IptablesApplier(ipt, ipset);
  const r = new IptablesRenderer(o);
  r.update(s);
  for (const [f, plan] of r.renderFull()) await applier.apply(f, plan);
  const tracer = new IptablesTracer(ipt, ipset, { localAddresses: local });
  return (p: TracePacket): TraceVerdict => {
    const v = tracer.trace(p);
    return v.kind === 'endpoints' ? { kind: 'endpoints', endpoints: v.endpoints, masq: v.masq } : { kind: v.kind };
  };
}

function plane(): ConformancePlane {
  let trace: ((p: TracePacket) => TraceVerdict) | undefined;
  return {
    name: 'iptables',
    async load(s) {
      trace = await loaded(
        s,
        { families: ['IPv4', 'IPv6'], serviceCIDRs: ['10.96.0.0/16'], masqueradeAll: false },
        s.node.ips,
      );
    },
    skips: { 'service-proxy-name label: not proxied': ignoredReason, 'headless label: not proxied': ignoredReason },
    trace(p) {
      if (!trace) throw new Error('not loaded');
      return trace(p);
    },
  };
}

describeConformance('conformance: iptables plane (fake kernel + tracer)', plane, { exactly: 2 });

describeKubeProxyScenarios('kube-proxy scenarios: iptables plane (fake kernel + tracer)', (sc) => {
  // Scenarios are synchronous; the fakes apply synchronously underneath the async seam.
  const ipset = new FakeIpset();
  const ipt = new FakeIptables(ipset);
  const r = new IptablesRenderer({
    families: ['IPv4'],
    serviceCIDRs: ['172.30.0.0/16'],
    masqueradeAll: sc.masqueradeAll,
  });
  r.update(sc.snapshot);
  for (const [f, plan] of r.renderFull()) {
    ipset.restoreSync(plan.ipsetPre, { exist: true });
    ipt.restoreSync(f, plan.iptables, { noflush: true });
    ipset.restoreSync(plan.ipsetPost, { exist: true });
  }
  const tracer = new IptablesTracer(ipt, ipset, { localAddresses: sc.localAddresses });
  return (p) => {
    const v = tracer.trace(p);
    return v.kind === 'endpoints' ? { kind: 'endpoints', endpoints: v.endpoints, masq: v.masq } : { kind: v.kind };
  };
});
