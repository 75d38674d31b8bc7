// Entry point of the svcnet/echo image when the pod runner starts it directly
// (`node --import tsx src/lab/echo/main.ts …`), without loading the whole CLI.
import { Command } from 'commander';
import { registerEchoCommand } from './command.ts';

const program = new Command('svcnet').exitOverride();
registerEchoCommand(program);
await program.parseAsync(['echo', ...process.argv.slice(2)], { from: 'user' });
