// The shared packet-flow suite on the IPVS plane's fake kernel: the plane syncs the fixture into
// FakeIpvs and the helper table text, and the explain walker (what `svcnet explain` shows) traces
// each case over that programmed state. The real-kernel run is conformance.vmtest.ts.
import { describeConformance } from '../conformance/describe.ts';
import type { ConformancePlane, TraceVerdict } from '../conformance/types.ts';
import { FakeRelay } from '../localhost-relay.ts';
import type { ProxySnapshot } from '../snapshot.ts';
import { syncChanges } from '../snapshot.ts';
import { FakeIpvsApplier } from './applier.ts';
import { ipvsSkips } from './conformance-skips.ts';
import { IpvsPlane } from './plane.ts';

// The relay for 127.0.0.1 NodePorts is a process, not programmed state: the fake has no socket.
const relayReason = 'the 127.0.0.1 NodePort is the localhost relay (a process), traced on the real kernel only';

function plane(): ConformancePlane {
  const applier = new FakeIpvsApplier();
  let snapshot: ProxySnapshot | undefined;
  let p: IpvsPlane | undefined;
  return {
    name: 'ipvs',
    async load(s) {
      snapshot = s;
      p = new IpvsPlane({
        serviceCIDRs: ['10.96.0.0/16'],
        applier,
        conntrack: { clean: async () => 0 },
        relay: new FakeRelay(),
      });
      await p.sync(s, syncChanges({ full: true }));
    },
    skips: { ...ipvsSkips, 'nodePort on 127.0.0.1': relayReason },
    async trace(packet): Promise<TraceVerdict> {
      if (!p || !snapshot) throw new Error('not loaded');
      return (await p.explainer.explain(packet, snapshot)).verdict;
    },
    async close() {
      await p?.stop();
    },
  };
}

describeConformance('conformance: IPVS plane (fake kernel + explain walker)', plane, { exactly: 3 });
