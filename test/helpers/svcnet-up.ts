// `svcnet up` in a network namespace the test creates (never the machine's root namespace), with
// real kubectl (fresh --cache-dir) and the svcnet CLI run inside it. stop() interrupts it the
// way Ctrl-C does and removes the namespace and data directory, also after a failure.
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from './eventually.ts';

const repo = join(import.meta.dirname, '..', '..');

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export interface UpLab {
  readonly ns: string;
  readonly dir: string;
  readonly kubeconfig: string;
  /** Everything `svcnet up` printed so far. */
  log(): string;
  /** Runs a command inside the test's namespace with KUBECONFIG set. */
  inNs(cmd: string, args: string[], timeoutMs?: number): Promise<Run>;
  kubectl(args: string[]): Promise<string>;
  svcnet(args: string[]): Promise<Run>;
  stop(): Promise<void>;
}

export async function startUp(opts: { name: string; mode: string; extraArgs?: string[] }): Promise<UpLab> {
  const ns = `svt-${process.pid % 100000}-${opts.name}`;
  const dir = mkdtempSync(join(tmpdir(), `svcnet-${opts.name}-`));
  const port = 21000 + (process.pid % 9000);
  const kubeconfig = join(dir, 'data', 'kubeconfig');
  execFileSync('ip', ['netns', 'add', ns]);
  execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  let log = '';
  let up: ChildProcess | undefined = spawn(
    'nsenter',
    [
      `--net=/run/netns/${ns}`,
      join(repo, 'bin', 'svcnet'),
      'up',
      '--mode',
      opts.mode,
      '--data-dir',
      join(dir, 'data'),
      '--listen',
      `127.0.0.1:${port}`,
      ...(opts.extraArgs ?? []),
    ],
    { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HOME: dir } },
  );
  up.stdout?.on('data', (d) => {
    log += String(d);
  });
  up.stderr?.on('data', (d) => {
    log += String(d);
  });
  const inNs = (cmd: string, args: string[], timeoutMs = 60_000) =>
    new Promise<Run>((resolve) => {
      execFile(
        'nsenter',
        [`--net=/run/netns/${ns}`, cmd, ...args],
        { cwd: repo, env: { ...process.env, HOME: dir, KUBECONFIG: kubeconfig }, timeout: timeoutMs },
        (err, stdout, stderr) =>
          resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
  const stop = async () => {
    const p = up;
    up = undefined;
    if (p && p.exitCode === null) {
      const exited = new Promise((r) => p.once('exit', r));
      p.kill('SIGINT');
      const t = setTimeout(() => p.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(t);
    }
    try {
      execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    } catch {
      // Already gone.
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const lab: UpLab = {
    ns,
    dir,
    kubeconfig,
    log: () => log,
    inNs,
    async kubectl(args) {
      const r = await inNs('kubectl', ['--cache-dir', join(dir, 'kc'), ...args]);
      if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    },
    svcnet: (args) => inNs(join(repo, 'bin', 'svcnet'), args),
    stop,
  };
  try {
    await eventually(
      'svcnet up ready',
      async () => {
        if (up?.exitCode !== null) throw new Error(`svcnet up exited: ${log}`);
        return /svcnet: ready/.test(log) && /svcnet agent: node \S+ \(|cluster DNS on/.test(log) ? true : undefined;
      },
      90_000,
      100,
    );
  } catch (e) {
    await stop();
    throw e;
  }
  return lab;
}
