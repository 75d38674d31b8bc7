// `svcnet cleanup`: removes everything svcnet programmed — the lab of a data directory (every
// node's and pod's namespace, their /etc/netns files, the LAN and outside namespaces, the parent link) and, with --netns, what every data
// plane programs in a namespace an agent ran in (planes.ts knows how). Safe to run twice;
// touches nothing else.
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { canonicalCIDR } from '../api/ip.ts';
import { hasNetAdmin } from '../kernel/exec.ts';
import { IpNetns } from '../kernel/netns.ts';
import { MountedUtsNamespaces, pruneOrphanUts } from '../kernel/uts.ts';
import { LabLan, maxLabNodes } from '../lab/lan.ts';
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
      const dataDir = resolve(flags.dataDir);
      const lan = new LabLan({ dataDir });
      // Every node a lab of this data directory can have; their uplinks hang off the LAN.
      for (let i = 0; i < maxLabNodes; i++) {
        const topology = new LabTopology({ dataDir, mode: 'netns', nodeIndex: i, lan: lan.attachment(i) });
        await topology.cleanup();
        if (i === 0) console.log(`svcnet: removed lab ${topology.names.nodeNetns} (if present)`);
      }
      // A lab started before the LAN existed had its node's link in this namespace.
      await new LabTopology({ dataDir, mode: 'netns' }).cleanup();
      await lan.cleanup();
      // Pod UTS namespaces of labs that are gone (this one's, and any other crashed lab's).
      await pruneOrphanUts(new MountedUtsNamespaces(), await new IpNetns().list());
      console.log(`svcnet: removed the lab LAN ${lan.names.lanNetns} and outside ${lan.outsideNetns} (if present)`);
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
