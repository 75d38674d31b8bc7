// The one Prometheus registry every component registers in (text exposition format 0.0.4; the
// OpenMetrics form is exposition.ts's). Pure: nothing here listens; each component serves it.

export type Labels = Readonly<Record<string, string>>;

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

interface HistogramSeries {
  readonly counts: number[];
  sum: number;
  count: number;
}

export class Histogram implements Metric {
  private readonly series = new Map<string, HistogramSeries>();
  constructor(
    readonly name: string,
    private readonly help: string,
    private readonly buckets: readonly number[],
  ) {}
  observe(v: number, labels?: Labels): void {
    const k = labelKey(labels);
    let s = this.series.get(k);
    if (!s) this.series.set(k, (s = { counts: this.buckets.map(() => 0), sum: 0, count: 0 }));
    s.sum += v;
    s.count++;
    for (let i = 0; i < this.buckets.length; i++) {
      if (v <= (this.buckets[i] ?? 0)) s.counts[i] = (s.counts[i] ?? 0) + 1;
    }
  }
  getCount(labels?: Labels): number {
    if (labels) return this.series.get(labelKey(labels))?.count ?? 0;
    let n = 0;
    for (const s of this.series.values()) n += s.count;
    return n;
  }
  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`);
    const all =
      this.series.size > 0 ? this.series : new Map([['', { counts: this.buckets.map(() => 0), sum: 0, count: 0 }]]);
    for (const [k, s] of all) {
      // The series' labels with `le` last: {a="x",le="0.1"}.
      const with_ = (le: string) => (k === '' ? `{le="${le}"}` : `${k.slice(0, -1)},le="${le}"}`);
      this.buckets.forEach((b, i) => {
        out.push(`${this.name}_bucket${with_(fmt(b))} ${s.counts[i] ?? 0}`);
      });
      out.push(
        `${this.name}_bucket${with_('+Inf')} ${s.count}`,
        `${this.name}_sum${k} ${fmt(s.sum)}`,
        `${this.name}_count${k} ${s.count}`,
      );
    }
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

export function linearBuckets(start: number, width: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => start + width * i);
}
