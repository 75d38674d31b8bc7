// CLI helpers: user errors print one line and exit non-zero (no stack traces).
export class CliError extends Error {
  override name = 'CliError';
}

export function parseHostPort(s: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(s);
  if (!m) throw new CliError(`invalid address ${JSON.stringify(s)}: want HOST:PORT`);
  const port = Number(m[3]);
  if (port > 65535) throw new CliError(`invalid port in ${JSON.stringify(s)}`);
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port };
}

/** Resolves when SIGINT or SIGTERM arrives. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (sig: NodeJS.Signals) => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(sig);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

const durationUnits: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Go time.Duration as kube-proxy's flags take it ("30s", "1m30s", "500ms"), in milliseconds. */
export function parseDuration(flag: string, s: string): number {
  const parts = [...s.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== s) {
    throw new CliError(`${flag}: ${JSON.stringify(s)} is not a duration (e.g. 30s, 1m, 500ms)`);
  }
  return parts.reduce((ms, p) => ms + Number(p[1]) * (durationUnits[p[2] ?? 's'] ?? 0), 0);
}
