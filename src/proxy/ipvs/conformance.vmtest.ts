// The shared packet-flow cases with real traffic through the IPVS plane on a kernel with IPVS
// (inside the VM: test/vm.test.ts). The runner knows nothing of IPVS; the plane plugs in by a factory.
import { describeConformance } from '../conformance/describe.ts';
import { kernelConformancePlane, kernelConformanceSkip } from '../conformance/kernel.ts';
import { ipvsSkips } from './conformance-skips.ts';
import { IpvsPlane } from './plane.ts';

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
