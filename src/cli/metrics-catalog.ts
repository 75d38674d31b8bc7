// Every metric svcnet's components expose, gathered from the registries themselves (the agent's
// kube-proxy set, each data plane's, the announcer's MetalLB set, cluster DNS's, the API server's
// and the controllers' workqueues), for the docs table, the Grafana dashboard and the drift test
// (metrics-catalog.test.ts). Lives in cli/ because it reaches every layer.

import { layer2Metrics } from '../announcer/layer2/announcer.ts';
import { speakerMetrics } from '../announcer/speaker.ts';
import { Registry } from '../api/metrics.ts';
import { apiserverMetrics, requestLabels } from '../apiserver/metrics.ts';
import { parseRequestInfo } from '../apiserver/request-info.ts';
import { WorkQueue } from '../controllers/runtime/workqueue.ts';
import { setWorkqueueMetrics } from '../controllers/runtime/workqueue-metrics.ts';
import { DnsMetrics } from '../dns/metrics.ts';
import { kernelPlaneMetrics, proxyMetrics } from '../proxy/metrics.ts';
import { planeModes, planes } from '../proxy/planes.ts';

export type Component = 'agent' | 'dns' | 'apiserver' | 'controllers';

export interface CatalogEntry {
  readonly name: string;
  readonly type: string;
  /** Label names where they are known (declared, or seen on an exercised series); undefined otherwise. */
  readonly labels?: readonly string[];
  readonly component: Component;
}

/** TYPE lines of an exposition, with the label names of the first series (for histograms: `_count`). */
function entries(text: string, component: Component, withLabels: boolean): CatalogEntry[] {
  const out: CatalogEntry[] = [];
  const lines = text.split('\n');
  for (const line of lines) {
    const t = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (!t) continue;
    const [, name = '', type = ''] = t;
    if (!withLabels) {
      out.push({ name, type, component });
      continue;
    }
    const sample = type === 'histogram' ? `${name}_count` : name;
    const first = lines.find((l) => l.startsWith(`${sample}{`));
    const labels = first ? [...(first.slice(sample.length).matchAll(/([a-z_]+)="/g) ?? [])].map((m) => m[1] ?? '') : [];
    out.push({ name, type, component, labels });
  }
  return out;
}

export async function metricsCatalog(): Promise<CatalogEntry[]> {
  const reg = new Registry();
  proxyMetrics(reg);
  kernelPlaneMetrics(reg);
  const created = planeModes.map((m) =>
    planes[m].create({ serviceCIDRs: ['10.96.0.0/16'], masqueradeAll: false, metrics: reg, log: () => {} }),
  );
  const out = entries(reg.render(), 'agent', false);

  // The announcer's metrics sit on the agent's listener; exercised once so their labels show.
  const announcer = new Registry();
  speakerMetrics(announcer).announced.set(1, { ip: '192.0.2.1', node: 'n', protocol: 'layer2', service: 'a/b' });
  const l2 = layer2Metrics(announcer);
  for (const c of [l2.requestsReceived, l2.responsesSent, l2.gratuitousSent]) c.inc({ ip: '192.0.2.1' });
  out.push(...entries(announcer.render(), 'agent', true));

  const dns = new DnsMetrics();
  const declared = new Map<string, readonly string[]>();
  for (const v of Object.values(dns)) {
    const m = v as { name?: unknown; labelNames?: unknown };
    if (typeof m?.name === 'string' && Array.isArray(m.labelNames)) declared.set(m.name, m.labelNames as string[]);
  }
  for (const e of entries(dns.expose(), 'dns', false)) {
    const labels = declared.get(e.name);
    out.push({ ...e, ...(labels ? { labels } : {}) });
  }

  const api = new Registry();
  const am = apiserverMetrics(api);
  am.observe(
    requestLabels('GET', parseRequestInfo('GET', '/api/v1/namespaces/default/services', false), false, false),
    200,
    0.01,
  );
  out.push(...entries(api.render(), 'apiserver', true));

  const controllers = new Registry();
  setWorkqueueMetrics(controllers);
  const q = new WorkQueue<string>({ name: 'catalogue' });
  setWorkqueueMetrics(undefined);
  q.add('k');
  const k = await q.get();
  if (k !== undefined) {
    q.addRateLimited(k);
    q.done(k);
  }
  q.shutDown();
  out.push(...entries(controllers.render(), 'controllers', true));

  for (const p of created) await p.stop();
  return out.sort((a, b) => a.name.localeCompare(b.name));
}
