// `svcnet apiserver` (and, until the node agent lands, `svcnet up`): the API server on the
// embedded SQLite store in a data directory, with a kubeconfig written beside it.
import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { bigIntToIP, formatIP, ipToBigInt, parseCIDRSloppy } from '../api/ip.ts';
import { loadOrCreateToken } from '../apiserver/auth.ts';
import { writeKubeconfig } from '../apiserver/kubeconfig.ts';
import { ApiServer, type ApiServerOptions } from '../apiserver/server.ts';
import { ensureServingCert, type TlsMaterial } from '../apiserver/tls.ts';
import { ipAddressPoolAdmission } from '../controllers/loadbalancer/admission.ts';
import { openStore } from '../store/open.ts';
import { CliError, parseDuration, parseHostPort, untilSignal } from './util.ts';

export interface ApiServerFlags {
  dataDir: string;
  listen: string;
  serviceClusterIpRange: string;
  serviceNodePortRange: string;
  store: string;
  tlsCertFile?: string;
  tlsKeyFile?: string;
  verbose?: boolean;
  eventTtl?: string;
  /** commander's --no-ui. */
  ui?: boolean;
}

export function addApiServerFlags(cmd: Command): Command {
  return cmd
    .option('--data-dir <dir>', 'where the database, token and kubeconfig live', './.svcnet')
    .option('--listen <host:port>', 'API listen address (non-loopback requires TLS)', '127.0.0.1:6443')
    .option('--service-cluster-ip-range <cidrs>', 'service CIDRs, one per family, comma-separated', '10.96.0.0/12')
    .option('--service-node-port-range <range>', 'node port range', '30000-32767')
    .option('--store <kind>', 'sqlite (durable, default) or memory', 'sqlite')
    .option(
      '--tls-cert-file <file>',
      'serving certificate (PEM); default: a CA and certificate made with openssl in the data directory',
    )
    .option('--tls-key-file <file>', 'serving key (PEM)')
    .option('--event-ttl <duration>', 'how long Events are kept after their last update (0s: forever)', '1h')
    .option('--no-ui', 'do not serve the dashboard under /ui/')
    .option('-v, --verbose', 'log every request');
}

export interface RunningApiServer {
  server: ApiServer;
  url: string;
  token: string;
  tls: TlsMaterial;
  kubeconfig: string;
  close(): Promise<void>;
}

/** The kubernetes Service's ClusterIP: the first address of the service range. */
function firstServiceIP(cidr: string): string | undefined {
  const c = parseCIDRSloppy(cidr);
  if (!c) return undefined;
  const base = ipToBigInt(formatIP(c.network));
  return base ? bigIntToIP(base.family, base.value + 1n) : undefined;
}

export async function runApiServer(
  flags: ApiServerFlags,
  extra: Pick<ApiServerOptions, 'extraHosts' | 'allowLoopbackEndpoints' | 'advertiseAddress'> = {},
): Promise<RunningApiServer> {
  const dataDir = resolve(flags.dataDir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const { host, port } = parseHostPort(flags.listen);
  let tls: TlsMaterial;
  if (flags.tlsCertFile || flags.tlsKeyFile) {
    if (!flags.tlsCertFile || !flags.tlsKeyFile) throw new CliError('--tls-cert-file and --tls-key-file go together');
    const cert = readFileSync(flags.tlsCertFile, 'utf8');
    tls = { cert, key: readFileSync(flags.tlsKeyFile, 'utf8'), ca: cert };
  } else {
    // Always TLS: client-go (kubectl) never sends a bearer token over plain http.
    // In-cluster clients reach the API at the kubernetes Service's ClusterIP or DNS names.
    const first = firstServiceIP(flags.serviceClusterIpRange.split(',')[0]?.trim() ?? '');
    tls = ensureServingCert(dataDir, [
      host,
      ...(extra.extraHosts ?? []),
      ...(first ? [first] : []),
      'kubernetes',
      'kubernetes.default',
      'kubernetes.default.svc',
      'kubernetes.default.svc.cluster.local',
    ]);
  }
  if (flags.store !== 'sqlite' && flags.store !== 'memory')
    throw new CliError(`--store must be sqlite or memory, not ${flags.store}`);
  const store =
    flags.store === 'memory'
      ? await openStore({ kind: 'memory' })
      : await openStore({ kind: 'sqlite', path: join(dataDir, 'svcnet.db') });
  const token = loadOrCreateToken(join(dataDir, 'token'));
  const eventTTLSeconds =
    flags.eventTtl === undefined ? undefined : parseDuration('--event-ttl', flags.eventTtl) / 1000;
  const server = new ApiServer({
    store,
    host,
    port,
    token,
    tls,
    serviceCIDRs: flags.serviceClusterIpRange.split(',').map((s) => s.trim()),
    nodePortRange: flags.serviceNodePortRange,
    log: flags.verbose ? (l) => console.error(l) : undefined,
    admission: [ipAddressPoolAdmission],
    ...(eventTTLSeconds !== undefined ? { eventTTLSeconds } : {}),
    ui: flags.ui !== false,
    ...extra,
  });
  let url: string;
  try {
    url = await server.start();
  } catch (e) {
    await store.close();
    throw e;
  }
  const kubeconfig = join(dataDir, 'kubeconfig');
  writeKubeconfig(kubeconfig, { server: url, token, caPem: tls.ca });
  console.log(`svcnet: API server listening on ${url}`);
  console.log(`svcnet: kubeconfig written to ${kubeconfig}`);
  console.log(`svcnet: try: export KUBECONFIG=${kubeconfig}; kubectl get svc -A`);
  return {
    server,
    url,
    token,
    tls,
    kubeconfig,
    async close() {
      await server.stop();
      await store.close();
    },
  };
}

export function registerApiServerCommand(program: Command): Command {
  return addApiServerFlags(
    program
      .command('apiserver')
      .description('serve the Kubernetes API for Services and friends over the embedded store'),
  ).action(async (flags: ApiServerFlags) => {
    const { close } = await runApiServer(flags);
    const sig = await untilSignal();
    console.log(`svcnet: ${sig}, shutting down`);
    await close();
  });
}
