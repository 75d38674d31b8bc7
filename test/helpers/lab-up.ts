// `svcnet up` as a user runs it, inside a network namespace the test owns (DESIGN.md network
// safety): real kubectl with a fresh cache dir, `svcnet exec` into pods and `--outside`, and
// `svcnet node …`. start() waits until every node's agent reported; close() stops svcnet with
// SIGINT, kills what is left and deletes the namespace, also after a failed test.
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from './eventually.ts';

const repo = join(import.meta.dirname, '..', '..');
const svcnet = join(repo, 'bin', 'svcnet');

export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

export interface LabUpOptions {
  /** Namespace name for the test (≤ 15 characters). */
  ns: string;
  args: string[];
  /** How many "svcnet agent: node" lines to wait for. */
  nodes: number;
  timeoutMs?: number;
  /** What starts svcnet instead of `bin/svcnet up` (e.g. `npm start --`); the data dir follows. */
  launcher?: string[];
}

/** The lab's namespaces still present: the node namespace and its pods' (`<node>-<id>`). */
export function labNamespaces(node: string): string[] {
  return execFileSync('ip', ['netns', 'list'])
    .toString()
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n === node || n.startsWith(`${node}-`));
}

export class LabUp {
  readonly dir: string;
  private child: ChildProcess | undefined;
  private nsCreated = false;
  log = '';

  constructor(private readonly o: LabUpOptions) {
    this.dir = mkdtempSync(join(tmpdir(), 'svcnet-lab-'));
  }

  get dataDir(): string {
    return join(this.dir, 'data');
  }

  /** `input`, when given, is the command's stdin. */
  run(cmd: string, args: string[], timeoutMs = 60_000, input?: string): Promise<Ran> {
    return new Promise((resolve) => {
      const child = execFile(
        'nsenter',
        [`--net=/run/netns/${this.o.ns}`, cmd, ...args],
        { cwd: repo, env: this.env, timeout: timeoutMs, maxBuffer: 16 << 20 },
        (err, stdout, stderr) =>
          resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
      if (input !== undefined) child.stdin?.end(input);
    });
  }

  /** kubectl with this lab's kubeconfig and a fresh cache dir; any exit status. */
  kubectlRun(args: string[], input?: string): Promise<Ran> {
    return this.run('kubectl', ['--cache-dir', this.kubectlCacheDir, ...args], 60_000, input);
  }

  get kubectlCacheDir(): string {
    return join(this.dir, 'kc');
  }

  /** The environment a command run in the lab's namespace gets (KUBECONFIG, HOME). */
  get env(): NodeJS.ProcessEnv {
    return { ...process.env, KUBECONFIG: join(this.dataDir, 'kubeconfig'), HOME: this.dir };
  }

  async kubectl(args: string[], input?: string): Promise<string> {
    const r = await this.kubectlRun(args, input);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  }

  async json<T = unknown>(args: string[]): Promise<T> {
    return JSON.parse(await this.kubectl([...args, '-o', 'json'])) as T;
  }

  svcnet(args: string[], timeoutMs?: number): Promise<Ran> {
    return this.run(svcnet, args, timeoutMs);
  }

  /** A shell command in the outside client namespace. */
  outside(script: string): Promise<Ran> {
    return this.svcnet(['exec', '--outside', '--', 'bash', '-c', script]);
  }

  podExec(pod: string, script: string): Promise<Ran> {
    return this.svcnet(['exec', pod, '--', 'bash', '-c', script]);
  }

  /** Creates the test's namespace on first use; again after stop() or kill() it starts svcnet anew. */
  async start(): Promise<void> {
    if (!this.nsCreated) {
      execFileSync('ip', ['netns', 'add', this.o.ns]);
      execFileSync('ip', ['-n', this.o.ns, 'link', 'set', 'lo', 'up']);
      this.nsCreated = true;
    }
    await this.spawnUp();
  }

  get ns(): string {
    return this.o.ns;
  }

  /** The lab node namespace svcnet up reported (single-node labs). */
  get nodeNamespace(): string {
    return /lab node namespace (svn-\w+)/.exec(this.log)?.[1] ?? 'svn-?';
  }

  /** A crash: SIGKILL to svcnet and everything it started, leaving the kernel state behind. */
  kill(): void {
    this.child = undefined;
    try {
      execFileSync('pkill', ['-KILL', '-f', `data-dir ${this.dataDir}`], { stdio: 'ignore' });
    } catch {
      // Nothing left running.
    }
  }

  /** Ctrl-C, then a second `svcnet up` on the same data directory. */
  async restart(): Promise<void> {
    await this.stop();
    await this.spawnUp();
  }

  private async spawnUp(): Promise<void> {
    this.log = '';
    const p = spawn(
      'nsenter',
      [
        `--net=/run/netns/${this.o.ns}`,
        ...(this.o.launcher ?? [svcnet, 'up']),
        '--data-dir',
        this.dataDir,
        ...this.o.args,
      ],
      { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HOME: this.dir } },
    );
    this.child = p;
    p.stdout?.on('data', (d) => {
      this.log += String(d);
    });
    p.stderr?.on('data', (d) => {
      this.log += String(d);
    });
    await eventually(
      `${this.o.nodes} agents up`,
      async () => {
        if (p.exitCode !== null) throw new Error(`svcnet up exited: ${this.log}`);
        return (this.log.match(/svcnet agent: node \S+ \(/g) ?? []).length >= this.o.nodes ? true : undefined;
      },
      this.o.timeoutMs ?? 90_000,
      100,
    );
  }

  /** Node name → InternalIP, from the log svcnet up prints. */
  nodeIPs(): Map<string, string> {
    const out = new Map<string, string>();
    for (const m of this.log.matchAll(/svcnet: node (\S+): namespace \S+, InternalIP ([\d.]+)/g))
      out.set(m[1] ?? '', m[2] ?? '');
    return out;
  }

  async stop(): Promise<void> {
    const p = this.child;
    this.child = undefined;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    // A launcher such as npm runs svcnet as its child: signal svcnet itself, as Ctrl-C reaches
    // the whole foreground process group.
    if (this.o.launcher) execFileSync('pkill', ['-INT', '-f', `data-dir ${this.dataDir}`]);
    else p.kill('SIGINT');
    // Tearing a lab down under load takes seconds; a bound keeps a hung svcnet from hanging the suite.
    await Promise.race([exited, new Promise((r) => setTimeout(r, 60_000))]);
  }

  async close(): Promise<void> {
    await this.stop().catch(() => {});
    this.kill();
    await this.svcnet(['cleanup', '--data-dir', this.dataDir]).catch(() => undefined);
    try {
      execFileSync('ip', ['netns', 'del', this.o.ns], { stdio: 'ignore' });
    } catch {
      // Already gone.
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
