// A minimal Prometheus registry (text exposition format 0.0.4) and the agent's metrics under
// kube-proxy's names (pkg/proxy/metrics/metrics.go), so existing dashboards and alerts work.

type Labels = Readonly<Record<string, string>>;

function labelKey(labels: Labels | undefined): string {
  if (!labels) return '';
  const keys = Object.keys(labels).sort();
  if (keys.length === 0) return '';
  return `{${keys.map((k) => `${k}="${escapeLabel(labels[k] ?? '')}"`).join(',')}}`;
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function fmt(v: number): string {
  if (v === Number.POSITIVE_INFINITY) return '+Inf';
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(12)));
}

interface Metric {
  readonly name: string;
  render(out: string[]): void;
}

export class Counter implements Metric {
  private readonly values = new Map<string, number>();
  constructor(
    readonly name: string,
    private readonly help: string,
  ) {}
  inc(labels?: Labels, v = 1): void {
    const k = labelKey(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + v);
  }
  get(labels?: Labels): number {
    return this.values.get(labelKey(labels)) ?? 0;
  }
  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`);
    if (this.values.size === 0) out.push(`${this.name} 0`);
    for (const [k, v] of this.values) out.push(`${this.name}${k} ${fmt(v)}`);
  }
}

export class Gauge implements Metric {
  private readonly values = new Map<string, number>();
  constructor(
    readonly name: string,
    private readonly help: string,
  ) {}
  set(v: number, labels?: Labels): void {
    this.values.set(labelKey(labels), v);
  }
  get(labels?: Labels): number {
    return this.values.get(labelKey(labels)) ?? 0;
  }
  /** Replaces every labelled value (for gauges recomputed as a whole, e.g. ejected endpoints). */
  reset(): void {
    this.values.clear();
  }
  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} gauge`);
    if (this.values.size === 0) out.push(`${this.name} 0`);
    for (const [k, v] of this.values) out.push(`${this.name}${k} ${fmt(v)}`);
  }
}

export class Histogram implements Metric {
  private readonly counts: number[];
  private sum = 0;
  private count = 0;
  constructor(
    readonly name: string,
    private readonly help: string,
    private readonly buckets: readonly number[],
  ) {
    this.counts = buckets.map(() => 0);
  }
  observe(v: number): void {
    this.sum += v;
    this.count++;
    for (let i = 0; i < this.buckets.length; i++) {
      if (v <= (this.buckets[i] ?? 0)) this.counts[i] = (this.counts[i] ?? 0) + 1;
    }
  }
  getCount(): number {
    return this.count;
  }
  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`);
    this.buckets.forEach((b, i) => {
      out.push(`${this.name}_bucket{le="${fmt(b)}"} ${this.counts[i] ?? 0}`);
    });
    out.push(
      `${this.name}_bucket{le="+Inf"} ${this.count}`,
      `${this.name}_sum ${fmt(this.sum)}`,
      `${this.name}_count ${this.count}`,
    );
  }
}

export class Registry {
  private readonly metrics = new Map<string, Metric>();
  counter(name: string, help: string): Counter {
    return this.add(new Counter(name, help));
  }
  gauge(name: string, help: string): Gauge {
    return this.add(new Gauge(name, help));
  }
  histogram(name: string, help: string, buckets: readonly number[]): Histogram {
    return this.add(new Histogram(name, help, buckets));
  }
  private add<M extends Metric>(m: M): M {
    const existing = this.metrics.get(m.name);
    if (existing) return existing as M;
    this.metrics.set(m.name, m);
    return m;
  }
  render(): string {
    const out: string[] = [];
    for (const m of this.metrics.values()) m.render(out);
    return `${out.join('\n')}\n`;
  }
}

export function exponentialBuckets(start: number, factor: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => start * factor ** i);
}

function linearBuckets(start: number, width: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => start + width * i);
}

/** The kube-proxy metrics every data plane shares. */
export function proxyMetrics(reg: Registry) {
  const syncBuckets = exponentialBuckets(0.001, 2, 15);
  return {
    syncDuration: reg.histogram(
      'kubeproxy_sync_proxy_rules_duration_seconds',
      'SyncProxyRules latency in seconds',
      syncBuckets,
    ),
    syncFullDuration: reg.histogram(
      'kubeproxy_sync_full_proxy_rules_duration_seconds',
      'SyncProxyRules latency in seconds for full resyncs',
      syncBuckets,
    ),
    syncPartialDuration: reg.histogram(
      'kubeproxy_sync_partial_proxy_rules_duration_seconds',
      'SyncProxyRules latency in seconds for partial resyncs',
      syncBuckets,
    ),
    networkProgramming: reg.histogram(
      'kubeproxy_network_programming_duration_seconds',
      'In Cluster Network Programming Latency in seconds',
      [
        ...linearBuckets(0.25, 0.25, 2),
        ...linearBuckets(1, 1, 59),
        ...linearBuckets(60, 5, 12),
        ...linearBuckets(120, 30, 7),
      ],
    ),
    lastTimestamp: reg.gauge(
      'kubeproxy_sync_proxy_rules_last_timestamp_seconds',
      'The last time proxy rules were successfully synced',
    ),
    lastQueuedTimestamp: reg.gauge(
      'kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds',
      'The last time a sync of proxy rules was queued',
    ),
    serviceChangesTotal: reg.counter(
      'kubeproxy_sync_proxy_rules_service_changes_total',
      'Cumulative proxy rules Service changes',
    ),
    serviceChangesPending: reg.gauge(
      'kubeproxy_sync_proxy_rules_service_changes_pending',
      'Pending proxy rules Service changes',
    ),
    endpointChangesTotal: reg.counter(
      'kubeproxy_sync_proxy_rules_endpoint_changes_total',
      'Cumulative proxy rules Endpoint changes',
    ),
    endpointChangesPending: reg.gauge(
      'kubeproxy_sync_proxy_rules_endpoint_changes_pending',
      'Pending proxy rules Endpoint changes',
    ),
    syncFailures: reg.counter(
      'svcnet_proxy_sync_failures_total',
      'Data plane syncs that failed (the next one is full)',
    ),
    deniedExternalIPs: reg.gauge(
      'svcnet_proxy_denied_external_ips',
      'spec.externalIPs not honoured because the admin allow-list does not permit them (CVE-2020-8554)',
    ),
    rejectedLoadBalancerIPs: reg.counter(
      'svcnet_proxy_rejected_load_balancer_ips_total',
      'status.loadBalancer.ingress IPs refused (special, service-CIDR, or in no pool nor --lb-ip-allow), per Service change',
    ),
  };
}

export type ProxyMetrics = ReturnType<typeof proxyMetrics>;

/** What every kernel plane shares: the UDP conntrack cleanup and the [::1] relay. */
export function kernelPlaneMetrics(reg: Registry) {
  return {
    conntrackDeleted: reg.counter(
      'kubeproxy_conntrack_reconciler_deleted_entries_total',
      'Cumulative stale UDP conntrack entries deleted after syncs',
    ),
    relayListeners: reg.gauge('svcnet_localhost_relay_listeners', 'Listeners of the [::1] NodePort relay'),
  };
}

export type KernelPlaneMetrics = ReturnType<typeof kernelPlaneMetrics>;
