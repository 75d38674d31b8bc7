// The `svcnet` command. Each subcommand's module is loaded only when that subcommand runs: a
// user typing `svcnet exec …` or `svcnet --version` must not pay for the API server, the data
// planes and DNS being loaded (bench/cli.ts measures it). Help lists every command, so it loads
// them all.
import { Command } from 'commander';
import { CliError } from './util.ts';
import { version } from './version.ts';

type Register = (program: Command) => unknown;

/** Subcommand → loader of its registration function, in the order help lists them. */
const commands: Record<string, () => Promise<Register>> = {
  up: async () => (await import('./up.ts')).registerUpCommand,
  apiserver: async () => (await import('./apiserver.ts')).registerApiServerCommand,
  controller: async () => (await import('./controller.ts')).registerControllerCommand,
  agent: async () => (await import('./agent.ts')).registerAgentCommand,
  lb: async () => (await import('./lb.ts')).registerLbCommand,
  cleanup: async () => (await import('./cleanup.ts')).registerCleanupCommand,
  explain: async () => (await import('./explain.ts')).registerExplainCommand,
  dns: async () => (await import('../dns/command.ts')).registerDnsCommand,
  exec: async () => (await import('../lab/exec.ts')).registerExecCommand,
  node: async () => (await import('../lab/node-command.ts')).registerNodeCommand,
  echo: async () => (await import('../lab/echo/command.ts')).registerEchoCommand,
};

/** The subcommand named on the command line (the first argument that is not an option). */
function subcommandOf(argv: readonly string[]): string | undefined {
  return argv.slice(2).find((a) => !a.startsWith('-'));
}

async function main(argv: string[]): Promise<void> {
  const program = new Command();
  program
    .name('svcnet')
    .description('Kubernetes Service networking: API server, allocators, endpoints, data planes, DNS')
    .version(version);
  const sub = subcommandOf(argv);
  const wanted = sub !== undefined && sub in commands ? [sub] : Object.keys(commands);
  // `--version` alone needs no command at all.
  if (!(sub === undefined && (argv.includes('--version') || argv.includes('-V')))) {
    for (const name of wanted) (await commands[name]?.())?.(program);
  }
  await program.parseAsync(argv);
}

try {
  await main(process.argv);
} catch (e) {
  const msg = e instanceof Error ? e.message : String(e);
  console.error(`svcnet: ${msg}`);
  if (!(e instanceof CliError) && process.env.SVCNET_DEBUG) console.error(e);
  process.exit(1);
}
