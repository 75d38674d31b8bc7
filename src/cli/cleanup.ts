// `svcnet cleanup`: removes everything svcnet programmed — the lab of a data directory (node and
// pod namespaces, their /etc/netns files, the parent link) and, with --netns, svcnet's nftables
// tables in a namespace an agent programmed. Safe to run twice; touches nothing else.
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { hasNetAdmin } from '../kernel/exec.ts';
import { LabTopology } from '../lab/topology.ts';
import { cleanupNftables } from '../proxy/nftables/plane.ts';
import { CliError } from './util.ts';

export function registerCleanupCommand(program: Command): void {
  program
    .command('cleanup')
    .description("remove what svcnet programmed: a data directory's lab namespaces and links, and nftables tables")
    .option('--data-dir <dir>', 'the data directory whose lab to remove', './.svcnet')
    .option('--netns <name>', "also remove svcnet's nftables tables from this named network namespace")
    .action(async (flags: { dataDir: string; netns?: string }) => {
      if (!hasNetAdmin())
        throw new CliError('cleanup needs root (CAP_NET_ADMIN); a rootless lab leaves nothing in the kernel');
      const topology = new LabTopology({ dataDir: resolve(flags.dataDir), mode: 'netns' });
      await topology.cleanup();
      console.log(`svcnet: removed lab ${topology.names.nodeNetns} (if present)`);
      if (flags.netns) {
        await cleanupNftables(flags.netns);
        console.log(`svcnet: removed svcnet nftables tables in ${flags.netns}`);
      }
    });
}
