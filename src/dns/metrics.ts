// Counters and histograms with CoreDNS's metric names, in the Prometheus text exposition format
// (version 0.0.4), served on GET /metrics. Written here rather than with prom-client: the hot
// path needs a Map lookup per observation, not a labels object per call.
import { createServer, type Server } from 'node:http';
import { negotiate } from '../proxy/exposition.ts';

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function labelText(names: readonly string[], values: readonly string[], extra = ''): string {
  const parts = names.map((n, i) => `${n}="${escapeLabel(values[i] ?? '')}"`);
  if (extra) parts.push(extra);
  return parts.length ? `{${parts.join(',')}}` : '';
}

abstract class Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
  ) {}
  abstract readonly kind: 'counter' | 'histogram' | 'gauge';
  abstract lines(): string[];
  header(): string[] {
    return [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.kind}`];
  }
}

export class Counter extends Metric {
  readonly kind = 'counter';
  private readonly values = new Map<string, { labels: string[]; v: number }>();

  /** Label values in labelNames order. */
  inc(values: readonly string[] = [], by = 1): void {
    const k = values.join('\x00');
    const e = this.values.get(k);
    if (e) e.v += by;
    else this.values.set(k, { labels: [...values], v: by });
  }

  get(values: readonly string[] = []): number {
    return this.values.get(values.join('\x00'))?.v ?? 0;
  }

  /** The series for these label values, for hot paths that keep it: `series(...).v++`. */
  series(values: readonly string[]): { v: number } {
    const k = values.join('\x00');
    let e = this.values.get(k);
    if (!e) this.values.set(k, (e = { labels: [...values], v: 0 }));
    return e;
  }

  lines(): string[] {
    return [...this.values.values()].map((e) => `${this.name}${labelText(this.labelNames, e.labels)} ${e.v}`);
  }
}

export class Gauge extends Metric {
  readonly kind = 'gauge';
  constructor(
    name: string,
    help: string,
    private readonly read: () => number,
  ) {
    super(name, help, []);
  }
  lines(): string[] {
    return [`${this.name} ${this.read()}`];
  }
}

export interface HistogramSeries {
  labels: string[];
  counts: number[];
  sum: number;
  n: number;
}

export class Histogram extends Metric {
  readonly kind = 'histogram';
  private readonly series = new Map<string, HistogramSeries>();

  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    readonly buckets: readonly number[],
  ) {
    super(name, help, labelNames);
  }

  observe(values: readonly string[], v: number): void {
    this.observeSeries(this.seriesOf(values), v);
  }

  /** The series for these label values, for hot paths that keep it. */
  seriesOf(values: readonly string[]): HistogramSeries {
    const k = values.join('\x00');
    let s = this.series.get(k);
    if (!s) {
      s = { labels: [...values], counts: new Array<number>(this.buckets.length).fill(0), sum: 0, n: 0 };
      this.series.set(k, s);
    }
    return s;
  }

  observeSeries(s: HistogramSeries, v: number): void {
    // Non-cumulative here, summed at exposition time: observation stays O(log buckets).
    let lo = 0;
    let hi = this.buckets.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (v <= (this.buckets[mid] ?? 0)) hi = mid;
      else lo = mid + 1;
    }
    if (lo < this.buckets.length) s.counts[lo] = (s.counts[lo] ?? 0) + 1;
    s.sum += v;
    s.n++;
  }

  count(values: readonly string[]): number {
    return this.series.get(values.join('\x00'))?.n ?? 0;
  }

  lines(): string[] {
    const out: string[] = [];
    for (const s of this.series.values()) {
      let acc = 0;
      this.buckets.forEach((b, i) => {
        acc += s.counts[i] ?? 0;
        out.push(`${this.name}_bucket${labelText(this.labelNames, s.labels, `le="${b}"`)} ${acc}`);
      });
      out.push(`${this.name}_bucket${labelText(this.labelNames, s.labels, 'le="+Inf"')} ${s.n}`);
      out.push(`${this.name}_sum${labelText(this.labelNames, s.labels)} ${s.sum}`);
      out.push(`${this.name}_count${labelText(this.labelNames, s.labels)} ${s.n}`);
    }
    return out;
  }
}

// CoreDNS's buckets: plugin/pkg/... TimeBuckets (0.25 ms doubling to ~8 s), size buckets.
const timeBuckets = [
  0.00025, 0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192,
];
const sizeBuckets = [0, 100, 200, 300, 400, 511, 1023, 2047, 4095, 8291, 16000, 32000, 48000, 64000];

export class DnsMetrics {
  readonly requests = new Counter(
    'coredns_dns_requests_total',
    'Counter of DNS requests made per zone, protocol and family.',
    ['server', 'zone', 'proto', 'family', 'type'],
  );
  readonly responses = new Counter('coredns_dns_responses_total', 'Counter of response status codes.', [
    'server',
    'zone',
    'rcode',
    'plugin',
  ]);
  readonly duration = new Histogram(
    'coredns_dns_request_duration_seconds',
    'Histogram of the time (in seconds) each request took per zone.',
    ['server', 'zone', 'type'],
    timeBuckets,
  );
  readonly requestSize = new Histogram(
    'coredns_dns_request_size_bytes',
    'Size of the EDNS0 UDP buffer in bytes (64K for TCP) per zone and protocol.',
    ['server', 'zone', 'proto'],
    sizeBuckets,
  );
  readonly responseSize = new Histogram(
    'coredns_dns_response_size_bytes',
    'Size of the returned response in bytes.',
    ['server', 'zone', 'proto'],
    sizeBuckets,
  );
  readonly cacheHits = new Counter('coredns_cache_hits_total', 'The count of cache hits.', ['server', 'type']);
  readonly cacheMisses = new Counter('coredns_cache_misses_total', 'The count of cache misses.', ['server']);
  readonly forwardRequests = new Counter('coredns_forward_requests_total', 'Counter of requests made per upstream.', [
    'to',
  ]);
  readonly forwardResponses = new Counter(
    'coredns_forward_responses_total',
    'Counter of responses received per upstream.',
    ['to', 'rcode'],
  );
  readonly forwardErrors = new Counter(
    'coredns_forward_request_errors_total',
    'Upstream queries that timed out or failed.',
    ['to'],
  );
  readonly forwardMaxConcurrentRejects = new Counter(
    'coredns_forward_max_concurrent_rejects_total',
    'Queries refused because the in-flight upstream query limit (global or per client) was reached.',
    ['scope'],
  );
  readonly dropped = new Counter('svcnet_dns_dropped_total', 'Packets dropped without an answer, by reason.', [
    'reason',
  ]);
  readonly tcpRejected = new Counter(
    'svcnet_dns_tcp_rejected_total',
    'TCP connections refused by per-client or global limits.',
    ['reason'],
  );
  private readonly extra: Metric[] = [];

  gauge(name: string, help: string, read: () => number): void {
    this.extra.push(new Gauge(name, help, read));
  }

  expose(): string {
    const all: Metric[] = [
      this.requests,
      this.responses,
      this.duration,
      this.requestSize,
      this.responseSize,
      this.cacheHits,
      this.cacheMisses,
      this.forwardRequests,
      this.forwardResponses,
      this.forwardErrors,
      this.forwardMaxConcurrentRejects,
      this.dropped,
      this.tcpRejected,
      ...this.extra,
    ];
    const out: string[] = [];
    for (const m of all) out.push(...m.header(), ...m.lines());
    return `${out.join('\n')}\n`;
  }
}

/** Serves GET /metrics (and /health, /ready like CoreDNS's plugins) on host:port. */
export function serveMetrics(
  metrics: DnsMetrics,
  host: string,
  port: number,
  ready: () => boolean = () => true,
): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    if (req.url === '/metrics') {
      const m = negotiate(req, metrics.expose());
      res.writeHead(200, { 'content-type': m.type });
      res.end(m.body);
    } else if (req.url === '/health') {
      res.end('OK');
    } else if (req.url === '/ready') {
      const ok = ready();
      res.writeHead(ok ? 200 : 503);
      res.end(ok ? 'OK' : 'not synced');
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const addr = server.address();
      resolve({ server, port: typeof addr === 'object' && addr ? addr.port : port });
    });
  });
}
