// `svcnet echo`: runs the svcnet/echo server in the foreground (what a `svcnet/echo` pod runs).
import type { Command } from 'commander';
import { defaultHttpPort, defaultUdpPort, startEcho } from './server.ts';

function port(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`invalid port "${v}"`);
  return n;
}

export function registerEchoCommand(program: Command): Command {
  return program
    .command('echo')
    .description('run the svcnet/echo test server (agnhost netexec compatible: /hostname, /clientip, /echo, UDP)')
    .option('--http-port <port>', 'HTTP port', port, defaultHttpPort)
    .option('--udp-port <port>', 'UDP port', port, defaultUdpPort)
    .option('--bind-address <ip>', 'address to listen on', '0.0.0.0')
    .option('--hostname <name>', 'name to report (default: $HOSTNAME)')
    .action(async (o: { httpPort: number; udpPort: number; bindAddress: string; hostname?: string }) => {
      const server = await startEcho({
        httpPort: o.httpPort,
        udpPort: o.udpPort,
        bindAddress: o.bindAddress,
        hostname: o.hostname,
      });
      process.stdout.write(`echo: serving HTTP on ${server.httpPort}, UDP on ${server.udpPort}\n`);
      // Like agnhost: SIGTERM ends the process at once (graceful-termination tests rely on it).
      const stop = () => {
        void server.close().finally(() => process.exit(0));
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });
}
