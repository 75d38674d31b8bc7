// The one place svcnet spawns helper programs (ip, nft, sysctl, curl…). Every kernel seam goes
// through a `Runner`, so unit tests swap in a fake and real runs get errors that carry the
// program's stderr and exit code instead of a bare "Command failed".
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

export type ExecErrorCode = 'EXEC_NOT_FOUND' | 'EXEC_FAILED' | 'EXEC_TIMEOUT' | 'EXEC_SIGNALED';

export class ExecError extends Error {
  readonly code: ExecErrorCode;
  readonly argv: readonly string[];
  readonly exitCode: number | null;
  readonly stderr: string;
  readonly stdout: string;

  constructor(
    code: ExecErrorCode,
    argv: readonly string[],
    detail: { exitCode?: number | null; stderr?: string; stdout?: string; cause?: unknown },
  ) {
    const stderr = detail.stderr ?? '';
    const what = argv.join(' ');
    const why =
      code === 'EXEC_NOT_FOUND'
        ? 'program not found'
        : code === 'EXEC_TIMEOUT'
          ? 'timed out'
          : code === 'EXEC_SIGNALED'
            ? 'killed by a signal'
            : `exit code ${detail.exitCode ?? '?'}`;
    super(`${what}: ${why}${stderr.trim() ? `: ${stderr.trim()}` : ''}`, { cause: detail.cause });
    this.name = 'ExecError';
    this.code = code;
    this.argv = argv;
    this.exitCode = detail.exitCode ?? null;
    this.stderr = stderr;
    this.stdout = detail.stdout ?? '';
  }
}

export function isExecError(e: unknown, code?: ExecErrorCode): e is ExecError {
  return e instanceof ExecError && (code === undefined || e.code === code);
}

export interface ExecOptions {
  /** Written to stdin, which is then closed. */
  input?: string;
  /** Kill with SIGKILL after this long; the error is EXEC_TIMEOUT. */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
}

/** Runs argv[0] with argv[1..]; resolves on exit code 0, otherwise rejects with ExecError. */
export type Runner = (argv: readonly string[], opts?: ExecOptions) => Promise<ExecResult>;

export const run: Runner = (argv, opts = {}) =>
  new Promise((resolve, reject) => {
    const [cmd, ...args] = argv;
    if (cmd === undefined) {
      reject(new ExecError('EXEC_NOT_FOUND', argv, {}));
      return;
    }
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: opts.env ?? process.env });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer =
      opts.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            child.kill('SIGKILL');
          }, opts.timeoutMs);
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (timer) clearTimeout(timer);
      const code = err.code === 'ENOENT' ? 'EXEC_NOT_FOUND' : 'EXEC_FAILED';
      reject(new ExecError(code, argv, { stderr, stdout, cause: err }));
    });
    child.on('close', (exitCode, signal) => {
      if (timer) clearTimeout(timer);
      if (timedOut) reject(new ExecError('EXEC_TIMEOUT', argv, { stderr, stdout }));
      else if (signal) reject(new ExecError('EXEC_SIGNALED', argv, { stderr, stdout }));
      else if (exitCode !== 0) reject(new ExecError('EXEC_FAILED', argv, { exitCode, stderr, stdout }));
      else resolve({ stdout, stderr });
    });
    // A program that exits without reading stdin gives EPIPE here; its exit status tells the story.
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });

/** Whether this process may create network namespaces and program links (CAP_NET_ADMIN). */
export function hasNetAdmin(): boolean {
  // Effective capabilities from /proc: bit 12 is CAP_NET_ADMIN. Root without it (a rootless
  // container) must take the loopback fallback just like an ordinary user.
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
    if (!m?.[1]) return false;
    return (BigInt(`0x${m[1]}`) & (1n << 12n)) !== 0n;
  } catch {
    return false;
  }
}

export interface AttachedResult {
  /** The exit status; 128 + signal number when killed by a signal (shell convention). */
  code: number;
  stdout: string;
  stderr: string;
}

const signalNumbers: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15 };

/**
 * Runs a user's command to completion with stdio inherited (or captured with 'pipe'), for
 * `svcnet exec`: a failing exit code is a result here, not an error.
 */
export function runAttached(
  argv: readonly string[],
  opts: { stdio: 'inherit' | 'pipe'; env?: NodeJS.ProcessEnv },
): Promise<AttachedResult> {
  return new Promise((resolve, reject) => {
    const [cmd, ...args] = argv;
    if (cmd === undefined) {
      reject(new ExecError('EXEC_NOT_FOUND', argv, {}));
      return;
    }
    const child = spawn(cmd, args, { stdio: opts.stdio, env: opts.env ?? process.env });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', (err: NodeJS.ErrnoException) => {
      reject(new ExecError(err.code === 'ENOENT' ? 'EXEC_NOT_FOUND' : 'EXEC_FAILED', argv, { cause: err }));
    });
    child.on('close', (code, signal) => {
      resolve({ code: code ?? 128 + (signal ? (signalNumbers[signal] ?? 0) : 0), stdout, stderr });
    });
  });
}
