// The data planes' flow counts and the DNS query counts, sampled from /ui/counters (the API
// server asks each node's agent). These are the one thing the page samples: counters live in the
// kernel and the agents, not in API objects, so there is nothing to watch. Rates are the change
// between two samples.
import { useEffect, useState } from 'preact/hooks';

export interface ServicePortCounters {
  namespace: string;
  name: string;
  portName: string;
  port: number;
  protocol: string;
  total: number;
  endpoints: { endpoint: string; count: number }[];
}

export interface NodeCounters {
  node: string;
  plane?: string;
  /** tracked: flows in the kernel's connection table now; accepted: connections since the proxy started. */
  kind?: 'tracked' | 'accepted';
  services?: ServicePortCounters[];
  unmatched?: number;
  dnsRequests?: number | null;
  error?: string;
}

export interface CounterView {
  /** Per "namespace/name": flows summed over ports and nodes. */
  byService: ReadonlyMap<string, number>;
  /** Per "namespace/name" then endpoint "ip:port". */
  byEndpoint: ReadonlyMap<string, ReadonlyMap<string, number>>;
  /** Queries per second over every node's cluster DNS since the previous sample; undefined at first. */
  dnsRate: number | undefined;
  kinds: ReadonlySet<string>;
  errors: string[];
  at: number;
}

export const sampleMs = 2000;

function view(nodes: NodeCounters[], at: number, prev: { at: number; dns: number } | undefined): CounterView {
  const byService = new Map<string, number>();
  const byEndpoint = new Map<string, Map<string, number>>();
  const kinds = new Set<string>();
  const errors: string[] = [];
  let dns = 0;
  for (const n of nodes) {
    if (n.error) errors.push(`${n.node}: ${n.error}`);
    if (n.kind) kinds.add(n.kind);
    dns += n.dnsRequests ?? 0;
    for (const s of n.services ?? []) {
      const k = `${s.namespace}/${s.name}`;
      byService.set(k, (byService.get(k) ?? 0) + s.total);
      let eps = byEndpoint.get(k);
      if (!eps) byEndpoint.set(k, (eps = new Map()));
      for (const e of s.endpoints) eps.set(e.endpoint, (eps.get(e.endpoint) ?? 0) + e.count);
    }
  }
  const dnsRate = prev && at > prev.at ? Math.max(0, (dns - prev.dns) / ((at - prev.at) / 1000)) : undefined;
  return { byService, byEndpoint, dnsRate, kinds, errors, at };
}

export function useCounters(): CounterView | undefined {
  const [v, setV] = useState<CounterView | undefined>();
  useEffect(() => {
    let stopped = false;
    let prev: { at: number; dns: number } | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async () => {
      try {
        const r = await fetch('/ui/counters', { credentials: 'same-origin' });
        if (r.ok) {
          const body = (await r.json()) as { at: number; nodes: NodeCounters[] };
          const next = view(body.nodes, body.at, prev);
          prev = { at: body.at, dns: body.nodes.reduce((a, n) => a + (n.dnsRequests ?? 0), 0) };
          if (!stopped) setV(next);
        }
      } catch {
        // The next sample tries again.
      }
      if (!stopped) timer = setTimeout(tick, sampleMs);
    };
    void tick();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, []);
  return v;
}

export function countLabel(kinds: ReadonlySet<string>): string {
  if (kinds.has('tracked') && kinds.has('accepted')) return 'flows';
  return kinds.has('accepted') ? 'connections since start' : 'tracked flows';
}
