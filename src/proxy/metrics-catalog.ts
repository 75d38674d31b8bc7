// Every metric svcnet's components expose, gathered from the registries themselves (the agent's
// kube-proxy set, each data plane's, cluster DNS's), for the docs table, the Grafana dashboard
// and the drift test (metrics-catalog.test.ts).
import { DnsMetrics } from '../dns/metrics.ts';
import { kernelPlaneMetrics, proxyMetrics, Registry } from './metrics.ts';
import { planeModes, planes } from './planes.ts';

export interface CatalogEntry {
  readonly name: string;
  readonly type: string;
  /** Declared label names where the registry declares them (DNS); undefined otherwise. */
  readonly labels?: readonly string[];
  readonly component: 'agent' | 'dns';
}

export async function metricsCatalog(): Promise<CatalogEntry[]> {
  const reg = new Registry();
  proxyMetrics(reg);
  kernelPlaneMetrics(reg);
  const created = planeModes.map((m) =>
    planes[m].create({ serviceCIDRs: ['10.96.0.0/16'], masqueradeAll: false, metrics: reg, log: () => {} }),
  );
  const out: CatalogEntry[] = [];
  for (const line of reg.render().split('\n')) {
    const t = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (t) out.push({ name: t[1] ?? '', type: t[2] ?? '', component: 'agent' });
  }
  const dns = new DnsMetrics();
  const declared = new Map<string, readonly string[]>();
  for (const v of Object.values(dns)) {
    const m = v as { name?: unknown; labelNames?: unknown };
    if (typeof m?.name === 'string' && Array.isArray(m.labelNames)) declared.set(m.name, m.labelNames as string[]);
  }
  for (const line of dns.expose().split('\n')) {
    const t = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (!t) continue;
    const labels = declared.get(t[1] ?? '');
    out.push({ name: t[1] ?? '', type: t[2] ?? '', component: 'dns', ...(labels ? { labels } : {}) });
  }
  for (const p of created) await p.stop();
  return out.sort((a, b) => a.name.localeCompare(b.name));
}
