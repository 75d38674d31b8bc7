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

/** A Go-style duration ("50s", "500ms", "1m30s") in milliseconds, as kube-controller-manager's flags take. */
export function parseDuration(flag: string, s: string): number {
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const parts = [...s.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (!s || parts.map((p) => p[0]).join('') !== s) {
    throw new CliError(`${flag}: ${JSON.stringify(s)} is not a duration (like 50s, 500ms, 1m)`);
  }
  const ms = parts.reduce((t, p) => t + Number(p[1]) * (units[p[2] ?? 's'] ?? 0), 0);
  if (ms <= 0) throw new CliError(`${flag}: must be more than 0, not ${s}`);
  return ms;
}
