// The `svcnet` command. Subcommands are added as their subsystems land.
import { Command } from 'commander';

const program = new Command();
program
  .name('svcnet')
  .description('Kubernetes Service networking: API server, allocators, endpoints, data planes, DNS');
program.version('0.1.0');
await program.parseAsync(process.argv);
