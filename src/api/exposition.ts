// One /metrics, two formats: Prometheus text 0.0.4 (what every registry here renders) and
// OpenMetrics 1.0 for scrapers that ask for it (Accept: application/openmetrics-text). The
// conversion follows the OpenMetrics rules that differ: a counter family is named without its
// `_total` suffix (its samples keep it), a counter whose samples lack the suffix cannot be a
// counter and is exposed as `unknown`, and the exposition ends with `# EOF`.
import type { IncomingMessage } from 'node:http';

export const prometheusContentType = 'text/plain; version=0.0.4; charset=utf-8';
export const openMetricsContentType = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

export function wantsOpenMetrics(req: IncomingMessage): boolean {
  return /application\/openmetrics-text/.test(req.headers.accept ?? '');
}

export function toOpenMetrics(text: string): string {
  const lines = text.split('\n');
  // Family name and OpenMetrics type of each metric, from its TYPE line.
  const family = new Map<string, { name: string; type: string }>();
  for (const line of lines) {
    const t = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (!t) continue;
    const [, name = '', type = ''] = t;
    if (type !== 'counter') family.set(name, { name, type });
    else if (name.endsWith('_total')) family.set(name, { name: name.slice(0, -'_total'.length), type });
    else family.set(name, { name, type: 'unknown' });
  }
  const out: string[] = [];
  for (const line of lines) {
    const m = /^# (TYPE|HELP) (\S+) (.*)$/.exec(line);
    if (m) {
      const f = family.get(m[2] ?? '');
      out.push(`# ${m[1]} ${f?.name ?? m[2]} ${m[1] === 'TYPE' ? (f?.type ?? m[3]) : m[3]}`);
    } else if (line.trim() !== '') out.push(line);
  }
  out.push('# EOF');
  return `${out.join('\n')}\n`;
}

/** The body and content type for a scrape of `text`, negotiated on the request's Accept. */
export function negotiate(req: IncomingMessage, text: string): { type: string; body: string } {
  return wantsOpenMetrics(req)
    ? { type: openMetricsContentType, body: toOpenMetrics(text) }
    : { type: prometheusContentType, body: text };
}
