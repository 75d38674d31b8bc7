// `svcnet cleanup`: removes everything svcnet programmed — the lab of a data directory (node and
// pod namespaces, their /etc/netns files, the parent link) and, with --netns, what every data
// plane programs in a namespace an agent ran in (planes.ts knows how). Safe to run twice;
// touches nothing else.
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { canonicalCIDR } from '../api/ip.ts';
import { hasNetAdmin } from '../kernel/exec.ts';
import { LabTopology } from '../lab/topology.ts';
import { planeModes, planes } from '../proxy/planes.ts';
import { CliError } from './util.ts';

export function registerCleanupCommand(program: Command): void {
  program
    .command('cleanup')
    .description("remove what svcnet programmed: a data directory's lab namespaces and links, and every plane's rules")
    .option('--data-dir <dir>', 'the data directory whose lab to remove', './.svcnet')
    .option('--netns <name>', 'also remove what every data plane programmed in this named network namespace')
    .option('--service-cidrs <cidrs>', 'service CIDRs (userspace VIPs inside them are removed)', '10.96.0.0/12')
    .action(async (flags: { dataDir: string; netns?: string; serviceCidrs: string }) => {
      if (!hasNetAdmin())
        throw new CliError('cleanup needs root (CAP_NET_ADMIN); a rootless lab leaves nothing in the kernel');
      const topology = new LabTopology({ dataDir: resolve(flags.dataDir), mode: 'netns' });
      await topology.cleanup();
      console.log(`svcnet: removed lab ${topology.names.nodeNetns} (if present)`);
      if (flags.netns) {
        const serviceCIDRs = flags.serviceCidrs.split(',').map((c) => c.trim());
        const bad = serviceCIDRs.find((c) => canonicalCIDR(c) === undefined);
        if (bad !== undefined) throw new CliError(`--service-cidrs: ${JSON.stringify(bad)} is not a CIDR`);
        for (const mode of planeModes) {
          await planes[mode].cleanup({ netns: flags.netns, serviceCIDRs });
          console.log(`svcnet: removed ${mode} state in ${flags.netns}`);
        }
      }
    });
}
