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
