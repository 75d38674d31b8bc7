// The dashboard's routes that need the node agents (set on the API server by `svcnet up`):
// `explain` runs exactly what `svcnet explain` runs; `counters` asks every node's agent for its
// data plane's flow counts (/counters) and its cluster DNS's query count (/metrics), so the page
// can show per-Service and per-endpoint connections and DNS query rates.
import type { KubeObject } from '../api/types.ts';
import type { UiRoute } from '../apiserver/ui/serve.ts';
import type { Client } from '../client/client.ts';
import { agentBaseURL } from './explain.ts';
import { CliError } from './util.ts';

type NodeObj = KubeObject & { status?: { addresses?: { type: string; address: string }[] } };

/** Sum of every series of `name` in a Prometheus text exposition. */
export function sumSeries(text: string, name: string): number | undefined {
  let sum: number | undefined;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== '{' && rest[0] !== ' ') continue;
    const v = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(v)) sum = (sum ?? 0) + v;
  }
  return sum;
}

const agentTimeoutMs = 3000;

async function nodeCounters(node: NodeObj): Promise<Record<string, unknown>> {
  const name = node.metadata.name;
  const base = agentBaseURL(node);
  if (!base) return { node: name, error: 'no agent address (no annotation, no InternalIP)' };
  try {
    const [c, m] = await Promise.all([
      fetch(`${base}/counters`, { signal: AbortSignal.timeout(agentTimeoutMs) }),
      fetch(`${base}/metrics`, { signal: AbortSignal.timeout(agentTimeoutMs) }),
    ]);
    const counters = (await c.json()) as Record<string, unknown>;
    if (!c.ok) return { node: name, error: String(counters.message ?? `HTTP ${c.status}`) };
    const metrics = m.ok ? await m.text() : '';
    return { ...counters, node: name, dnsRequests: sumSeries(metrics, 'coredns_dns_requests_total') ?? null };
  } catch (e) {
    return { node: name, error: `agent at ${new URL(base).host} unreachable: ${(e as Error).message}` };
  }
}

export function dashboardRoutes(client: Client): Record<string, UiRoute> {
  return {
    explain: async (q) => {
      const { runExplain } = await import('./explain.ts');
      try {
        const r = await runExplain(
          {
            from: q.get('from') ?? '',
            to: q.get('to') ?? '',
            namespace: 'default',
            output: 'json',
            ...(q.get('proto') ? { proto: q.get('proto') ?? '' } : {}),
          },
          client,
        );
        return { status: 200, body: r.explanation as unknown };
      } catch (e) {
        return {
          status: e instanceof CliError ? 400 : 500,
          body: { message: e instanceof Error ? e.message : String(e) },
        };
      }
    },
    counters: async () => {
      const nodes = (await client.list<NodeObj>('nodes')).items;
      return { status: 200, body: { at: Date.now(), nodes: await Promise.all(nodes.map(nodeCounters)) } };
    },
  };
}
