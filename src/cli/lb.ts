// `svcnet lb show NAMESPACE/NAME`: a LoadBalancer Service as its provider sees it — the external
// IP, and every backend node with its health and traffic counters, read from the balancer itself
// (HAProxy's runtime API), not from the cluster. The provider is the one `svcnet up` or `svcnet
// controller` runs with this data directory (they record its name there).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { isNotFound } from '../api/status.ts';
import type { KubeObject, Service } from '../api/types.ts';
import { loadBalancerClasses } from '../api/well-known.ts';
import type { Client } from '../client/client.ts';
import type { LoadBalancerView } from '../controllers/lbprovider/provider.ts';
import { createLbProvider, defaultLbProvider, type EdgeHost } from '../controllers/lbprovider/registry.ts';
import { CliError } from './util.ts';

const recordFile = (dataDir: string) => join(dataDir, 'lb-provider');

interface Recorded {
  name: string;
  edges?: EdgeHost[];
  floatingIP?: string;
  prefix?: number;
}

/** Written by whoever runs the controllers, so `svcnet lb show` asks the same provider, on the same edges. */
export function recordLbProvider(dataDir: string, name: string, where: Omit<Recorded, 'name'> = {}): void {
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(recordFile(dataDir), `${JSON.stringify({ name, ...where })}\n`);
}

function readRecord(dataDir: string): Recorded | undefined {
  if (!existsSync(recordFile(dataDir))) return undefined;
  try {
    const r = JSON.parse(readFileSync(recordFile(dataDir), 'utf8')) as Recorded;
    return typeof r.name === 'string' ? r : undefined;
  } catch {
    return undefined;
  }
}

export interface LbShowFlags {
  kubeconfig?: string;
  context?: string;
  dataDir: string;
  output: string;
}

/** NAMESPACE/NAME, or NAME in "default" as kubectl reads it. */
export function parseServiceRef(ref: string): { namespace: string; name: string } {
  const parts = ref.split('/');
  const [a = '', b] = parts;
  const ns = parts.length === 2 ? a : 'default';
  const name = parts.length === 2 ? (b ?? '') : a;
  const dns = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
  if (parts.length > 2 || !dns.test(ns) || !dns.test(name) || name.length > 63 || ns.length > 63)
    throw new CliError(`lb show: want NAMESPACE/NAME of a Service, not ${JSON.stringify(ref)}`);
  return { namespace: ns, name };
}

export interface LbShowResult {
  service: string;
  provider: string;
  ingress: { ip?: string; hostname?: string; ipMode?: string }[];
  view: LoadBalancerView;
}

/** The provider recorded in the data directory; a one-line error when there is none. */
export function recordedLbProvider(dataDir: string): Recorded {
  const rec = readRecord(dataDir);
  if (!rec || rec.name === defaultLbProvider)
    throw new CliError(
      `lb show: no load-balancer provider runs with data directory ${dataDir} (svcnet up --lb-provider NAME); the IPAM's addresses are the nodes' own`,
    );
  return rec;
}

export async function lbShow(ref: string, flags: LbShowFlags, client: Client): Promise<LbShowResult> {
  const { namespace, name } = parseServiceRef(ref);
  const dataDir = resolve(flags.dataDir);
  const rec = recordedLbProvider(dataDir);
  const provider = rec.name;
  let svc: Service & KubeObject;
  try {
    svc = await client.get<Service & KubeObject>('services', namespace, name);
  } catch (e) {
    if (isNotFound(e)) throw new CliError(`lb show: service ${namespace}/${name} not found`);
    throw e;
  }
  if (svc.spec?.type !== 'LoadBalancer')
    throw new CliError(`lb show: ${namespace}/${name} is type ${svc.spec?.type ?? 'ClusterIP'}, not LoadBalancer`);
  const cls = svc.spec.loadBalancerClass;
  if (cls && cls !== loadBalancerClasses.provider(provider))
    throw new CliError(`lb show: ${namespace}/${name} has loadBalancerClass ${cls}: not the ${provider} provider's`);
  // Built only to ask: it starts nothing (no close), it reads the running balancer's runtime API.
  const { name: _, ...where } = rec;
  const p = createLbProvider(provider, { client, dataDir, ...where });
  let view: LoadBalancerView | undefined;
  try {
    view = await p?.describe?.('kubernetes', svc);
  } catch (e) {
    throw new CliError(`lb show: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!view) throw new CliError(`lb show: the ${provider} provider has no balancer for ${namespace}/${name} (yet)`);
  return { service: `${namespace}/${name}`, provider, ingress: svc.status?.loadBalancer?.ingress ?? [], view };
}

export function formatLbShow(r: LbShowResult): string {
  const ips = r.ingress.map((i) => `${i.ip ?? i.hostname ?? ''}${i.ipMode ? ` (ipMode ${i.ipMode})` : ''}`);
  const head = [
    `Service:      ${r.service}`,
    `Provider:     ${r.provider}, balancer ${r.view.balancer}${r.view.location ? ` in ${r.view.location}` : ''}`,
    `External IP:  ${ips.join(', ') || '<pending>'}`,
    '',
  ];
  const rows = [
    ['LISTENER', 'NODE', 'ADDRESS', 'HEALTH', 'CHECK', 'ACTIVE', 'TOTAL', 'BYTES-IN', 'BYTES-OUT', 'CONNECT-ERRORS'],
    ...r.view.backends.map((b) => [
      b.listener,
      b.node,
      b.address,
      b.health,
      b.check,
      String(b.active),
      String(b.total),
      String(b.bytesIn),
      String(b.bytesOut),
      String(b.connectErrors),
    ]),
  ];
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length))) ?? [];
  const table = rows.map((row) =>
    row
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd(),
  );
  if (r.view.backends.length === 0) table.push('(no eligible nodes: connections are refused)');
  return [...head, ...table].join('\n');
}

export function registerLbCommand(program: Command): void {
  const lb = program.command('lb').description("a load-balancer provider's view of LoadBalancer Services");
  lb.command('show <service>')
    .description('NAMESPACE/NAME: external IP and every backend node with health and counters, from the balancer')
    .option('--kubeconfig <file>', 'kubeconfig (default: $KUBECONFIG, ~/.kube/config)')
    .option('--context <name>', 'kubeconfig context')
    .option('--data-dir <dir>', 'the data directory svcnet up / svcnet controller runs with', './.svcnet')
    .option('-o, --output <format>', 'table or json', 'table')
    .action(async (ref: string, flags: LbShowFlags) => {
      if (flags.output !== 'table' && flags.output !== 'json')
        throw new CliError(`lb show: --output must be table or json, not ${JSON.stringify(flags.output)}`);
      parseServiceRef(ref);
      recordedLbProvider(resolve(flags.dataDir));
      const { createClient } = await import('../client/kubeconfig.ts');
      const client = createClient({
        ...(flags.kubeconfig ? { kubeconfig: flags.kubeconfig } : {}),
        ...(flags.context ? { context: flags.context } : {}),
      });
      const r = await lbShow(ref, flags, client);
      console.log(flags.output === 'json' ? JSON.stringify(r, null, 2) : formatLbShow(r));
    });
}
