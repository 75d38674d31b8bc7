// The `svcnet` command. Subcommands are added as their subsystems land.
import { Command } from 'commander';
import { registerDnsCommand } from '../dns/command.ts';
import { registerEchoCommand } from '../lab/echo/command.ts';
import { registerExecCommand } from '../lab/exec.ts';
import { planeModes } from '../proxy/planes.ts';
import { registerAgentCommand } from './agent.ts';
import { type ApiServerFlags, addApiServerFlags, runApiServer } from './apiserver.ts';
import { registerCleanupCommand } from './cleanup.ts';
import { registerControllerCommand } from './controller.ts';
import { runUp } from './up.ts';
import { CliError, untilSignal } from './util.ts';

async function serve(flags: ApiServerFlags): Promise<void> {
  const { close } = await runApiServer(flags);
  const sig = await untilSignal();
  console.log(`svcnet: ${sig}, shutting down`);
  await close();
}

const program = new Command();
program
  .name('svcnet')
  .description('Kubernetes Service networking: API server, allocators, endpoints, data planes, DNS')
  .version('0.1.0');

addApiServerFlags(
  program
    .command('up')
    .description('bring up the whole cluster network on this machine: API server, controllers, lab node, agent, DNS'),
)
  .option('--mode <mode>', `data plane: auto (nftables as root, userspace otherwise), ${planeModes.join(', ')}`, 'auto')
  .option('--node-name <name>', 'name of the lab node', 'svcnet-node')
  .action(runUp);

addApiServerFlags(
  program.command('apiserver').description('serve the Kubernetes API for Services and friends over the embedded store'),
).action(serve);

registerControllerCommand(program);
registerAgentCommand(program);
registerCleanupCommand(program);
registerDnsCommand(program);
registerExecCommand(program);
registerEchoCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  const msg = e instanceof Error ? e.message : String(e);
  console.error(`svcnet: ${msg}`);
  if (!(e instanceof CliError) && process.env.SVCNET_DEBUG) console.error(e);
  process.exit(1);
}
