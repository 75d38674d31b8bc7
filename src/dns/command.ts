// `svcnet dns`: cluster DNS against any API server (svcnet's or a real kube-apiserver), the
// replacement for CoreDNS's `kubernetes` + `forward` + `cache` + `prometheus` plugins.
import type { Command } from 'commander';
import { CliError, parseHostPort, untilSignal } from '../cli/util.ts';
import { createClient } from '../client/kubeconfig.ts';
import { startClusterDns } from './cluster-dns.ts';
import type { Upstream } from './forwarder.ts';
import type { PodMode } from './records.ts';

export interface DnsFlags {
  kubeconfig?: string;
  context?: string;
  listen: string;
  zone: string;
  ttl: string;
  pods: string;
  upstream?: string;
  metrics?: string;
}

const list = (s: string) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);

export function parseUpstreams(s: string): Upstream[] {
  return list(s).map((u) => {
    // "1.1.1.1", "1.1.1.1:53", "[2606:4700::1111]:53", "2606:4700::1111"
    if (/^\[.*\]:\d+$/.test(u) || /^[^:]+:\d+$/.test(u)) return parseHostPort(u);
    return { host: u.replace(/^\[|\]$/g, ''), port: 53 };
  });
}

export function registerDnsCommand(program: Command): Command {
  return program
    .command('dns')
    .description(
      'serve cluster DNS (Kubernetes DNS schema 1.1.0) from Services and EndpointSlices, forwarding other names',
    )
    .option('--kubeconfig <file>', 'kubeconfig (default: $KUBECONFIG, ~/.kube/config or in-cluster)')
    .option('--context <name>', 'kubeconfig context')
    .option('--listen <addrs>', 'HOST:PORT list, comma-separated; UDP and TCP on each', '127.0.0.1:1053')
    .option('--zone <domain>', 'cluster domain', 'cluster.local')
    .option('--ttl <seconds>', 'TTL of cluster records (0-3600)', '5')
    .option('--pods <mode>', 'pod records: disabled, insecure or verified', 'insecure')
    .option('--upstream <addrs>', 'upstream resolvers (default: nameservers of /etc/resolv.conf; "none" to disable)')
    .option('--metrics <host:port>', 'serve Prometheus metrics on http://HOST:PORT/metrics')
    .action(async (flags: DnsFlags) => {
      const ttl = Number(flags.ttl);
      if (!Number.isInteger(ttl) || ttl < 0 || ttl > 3600) throw new CliError('--ttl must be an integer 0..3600');
      if (!['disabled', 'insecure', 'verified'].includes(flags.pods)) {
        throw new CliError('--pods must be disabled, insecure or verified');
      }
      const client = createClient({
        ...(flags.kubeconfig ? { kubeconfig: flags.kubeconfig } : {}),
        ...(flags.context ? { context: flags.context } : {}),
      });
      const dns = await startClusterDns({
        client,
        listen: list(flags.listen).map(parseHostPort),
        zone: flags.zone,
        ttl,
        podMode: flags.pods as PodMode,
        ...(flags.upstream ? { upstreams: flags.upstream === 'none' ? [] : parseUpstreams(flags.upstream) } : {}),
        ...(flags.metrics ? { metricsListen: parseHostPort(flags.metrics) } : {}),
      });
      for (const a of dns.addresses) console.log(`svcnet dns: serving ${flags.zone} on ${a.host}:${a.port} (udp+tcp)`);
      if (dns.forwarder)
        console.log(
          `svcnet dns: forwarding to ${dns.forwarder.upstreams.map((u) => `${u.host}:${u.port}`).join(', ')}`,
        );
      if (dns.metricsPort !== undefined) console.log(`svcnet dns: metrics on port ${dns.metricsPort}`);
      const sig = await untilSignal();
      console.log(`svcnet dns: ${sig}, shutting down`);
      await dns.close();
    });
}
