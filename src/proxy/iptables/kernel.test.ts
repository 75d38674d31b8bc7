// The shared packet-flow cases with real traffic on a real kernel (conformance/kernel.ts), the
// iptables plane programming the lab's node namespace through each iptables backend the machine
// has: iptables-nft (nf_tables underneath) and iptables-legacy (x_tables).
import { execFileSync } from 'node:child_process';
import { describeConformance } from '../conformance/describe.ts';
import {
  unservedServiceIPReason as ignoredReason,
  kernelConformancePlane,
  kernelConformanceSkip,
} from '../conformance/kernel.ts';
import { createIptablesPlane } from './plane.ts';

function installed(program: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${program}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

for (const backend of ['nft', 'legacy'] as const) {
  const skip =
    kernelConformanceSkip() ||
    (installed(`iptables-${backend}-restore`) ? false : `iptables-${backend} is not installed`);
  describeConformance(
    `conformance: iptables plane through iptables-${backend} (real kernel, real traffic)`,
    () =>
      kernelConformancePlane(
        {
          name: `iptables-${backend}`,
          create: (netns, cfg) =>
            createIptablesPlane({ netns, serviceCIDRs: cfg.serviceCIDRs, families: ['IPv4'], backend }),
          skips: {
            'service-proxy-name label: not proxied': ignoredReason,
            'headless label: not proxied': ignoredReason,
          },
        },
        { prefix: `i${backend[0]}${process.pid % 10000}` },
      ),
    { exactly: 2 },
    { skip },
  );
}
