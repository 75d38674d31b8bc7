// The shared packet-flow cases with real traffic through the IPVS plane on a kernel with IPVS
// (inside the VM: test/vm.test.ts). The runner knows nothing of IPVS; the plane plugs in by a factory.
import { describeConformance } from '../conformance/describe.ts';
import { kernelConformancePlane, kernelConformanceSkip } from '../conformance/kernel.ts';
import { IpvsPlane } from './plane.ts';

// As for the nftables plane: a Service the proxy ignores has a ClusterIP in the service CIDR
// that nothing binds, and unbound service-CIDR addresses are dropped (5.14).
const ignoredReason =
  'kernel planes drop service-CIDR addresses they do not serve (5.14); the trace says DROP, not UNHANDLED';
export const ipvsSkips = {
  'service-proxy-name label: not proxied': ignoredReason,
  'headless label: not proxied': ignoredReason,
};

describeConformance(
  'conformance: IPVS plane (real kernel, real traffic)',
  () =>
    kernelConformancePlane(
      {
        name: 'ipvs',
        create: (netns, cfg) => new IpvsPlane({ netns, serviceCIDRs: cfg.serviceCIDRs, families: ['IPv4'] }),
        skips: ipvsSkips,
      },
      { prefix: `icf${process.pid % 10000}` },
    ),
  { exactly: 2 },
  { skip: kernelConformanceSkip() },
);
