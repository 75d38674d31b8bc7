// kube-proxy's configuration vocabulary for `svcnet agent`: a KubeProxyConfiguration file
// (kubeproxy.config.k8s.io/v1alpha1, --config) read for the fields svcnet has. Every other field
// is reported by its path, never ignored: a setting that silently does nothing is worse than a
// refusal. Flags given on the command line win over the file.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { canonicalCIDR } from '../api/ip.ts';
import { CliError } from './util.ts';

export interface KubeProxySettings {
  mode?: string;
  clusterCIDRs?: string[];
  masqueradeAll?: boolean;
  nodeName?: string;
  healthz?: string;
  nodePortAddresses?: string[];
  syncPeriod?: string;
  minSyncPeriod?: string;
  ipvsScheduler?: string;
}

const group = 'kubeproxy.config.k8s.io/v1alpha1';

/** Fields svcnet reads, by path; `detectLocalMode` is checked for the one value svcnet does. */
const known = new Set([
  'apiVersion',
  'kind',
  'mode',
  'clusterCIDR',
  'hostnameOverride',
  'healthzBindAddress',
  'nodePortAddresses',
  'detectLocalMode',
  'syncPeriod',
  'minSyncPeriod',
  'iptables',
  'iptables.masqueradeAll',
  'iptables.syncPeriod',
  'iptables.minSyncPeriod',
  'nftables',
  'nftables.masqueradeAll',
  'nftables.syncPeriod',
  'nftables.minSyncPeriod',
  'ipvs',
  'ipvs.scheduler',
  'ipvs.syncPeriod',
  'ipvs.minSyncPeriod',
]);

function fields(o: Record<string, unknown>, prefix = ''): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(o)) {
    const path = prefix + k;
    out.push(path);
    if (v && typeof v === 'object' && !Array.isArray(v) && known.has(path))
      out.push(...fields(v as Record<string, unknown>, `${path}.`));
  }
  return out;
}

const str = (v: unknown, path: string): string => {
  if (typeof v !== 'string') throw new CliError(`--config: ${path} must be a string`);
  return v;
};

/** Parses a KubeProxyConfiguration; a one-line CliError names the first problem. */
export function parseKubeProxyConfig(text: string, file = 'config'): KubeProxySettings {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw new CliError(`--config ${file}: not YAML or JSON: ${(e as Error).message.split('\n')[0]}`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new CliError(`--config ${file}: not an object`);
  const o = doc as Record<string, unknown>;
  if (o.kind !== 'KubeProxyConfiguration' || o.apiVersion !== group)
    throw new CliError(`--config ${file}: want kind KubeProxyConfiguration, apiVersion ${group}`);
  const unknown = fields(o).filter((f) => !known.has(f));
  if (unknown.length > 0)
    throw new CliError(`--config ${file}: fields svcnet does not implement: ${unknown.join(', ')}`);
  const out: KubeProxySettings = {};
  if (o.mode !== undefined && o.mode !== '') out.mode = str(o.mode, 'mode');
  if (o.clusterCIDR !== undefined && o.clusterCIDR !== '') {
    const cidrs = str(o.clusterCIDR, 'clusterCIDR')
      .split(',')
      .map((c) => c.trim());
    const bad = cidrs.find((c) => canonicalCIDR(c) === undefined);
    if (bad !== undefined) throw new CliError(`--config ${file}: clusterCIDR: ${JSON.stringify(bad)} is not a CIDR`);
    out.clusterCIDRs = cidrs;
  }
  if (o.detectLocalMode !== undefined && o.detectLocalMode !== '' && o.detectLocalMode !== 'ClusterCIDR')
    throw new CliError(
      `--config ${file}: detectLocalMode ${JSON.stringify(o.detectLocalMode)}: svcnet does ClusterCIDR only`,
    );
  if (o.hostnameOverride) out.nodeName = str(o.hostnameOverride, 'hostnameOverride');
  if (o.healthzBindAddress) out.healthz = str(o.healthzBindAddress, 'healthzBindAddress');
  if (o.nodePortAddresses !== undefined && o.nodePortAddresses !== null) {
    if (!Array.isArray(o.nodePortAddresses) || o.nodePortAddresses.some((x) => typeof x !== 'string'))
      throw new CliError(`--config ${file}: nodePortAddresses must be a list of strings`);
    if (o.nodePortAddresses.length > 0) out.nodePortAddresses = o.nodePortAddresses as string[];
  }
  // The mode's own section wins over the top-level periods (older files put them there).
  const section = (o[out.mode ?? 'iptables'] ?? {}) as Record<string, unknown>;
  const masq = section.masqueradeAll ?? (o.iptables as Record<string, unknown> | undefined)?.masqueradeAll;
  if (masq !== undefined) {
    if (typeof masq !== 'boolean') throw new CliError(`--config ${file}: masqueradeAll must be true or false`);
    out.masqueradeAll = masq;
  }
  const sync = section.syncPeriod ?? o.syncPeriod;
  if (sync !== undefined) out.syncPeriod = str(sync, 'syncPeriod');
  const minSync = section.minSyncPeriod ?? o.minSyncPeriod;
  if (minSync !== undefined) out.minSyncPeriod = str(minSync, 'minSyncPeriod');
  const sched = (o.ipvs as Record<string, unknown> | undefined)?.scheduler;
  if (sched !== undefined && sched !== '') out.ipvsScheduler = str(sched, 'ipvs.scheduler');
  return out;
}

export function readKubeProxyConfig(file: string): KubeProxySettings {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new CliError(`--config ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return parseKubeProxyConfig(text, file);
}
