// Runs one HAProxy in master-worker mode (optionally inside a network namespace) and applies
// configurations to it. A new configuration is checked with `haproxy -c` first, so a bad render
// never reaches the running balancer; then SIGUSR2 to the master: a new worker takes over the
// listening sockets (`expose-fd listeners`) while the old one finishes its connections —
// HAProxy's hitless reload. The runtime API socket answers `show stat` for counters and health.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { run } from '../../../kernel/exec.ts';
import { inNetns } from '../../../kernel/netns.ts';

export interface HAProxyApplierOptions {
  dir: string;
  netns?: string;
  bin?: string;
  onError?: (err: unknown) => void;
}

export class HAProxyApplier {
  private child: ChildProcess | undefined;
  private applied = '';
  readonly configPath: string;
  readonly statsSocket: string;

  constructor(private readonly opts: HAProxyApplierOptions) {
    mkdirSync(opts.dir, { recursive: true, mode: 0o700 });
    this.configPath = join(opts.dir, 'haproxy.cfg');
    this.statsSocket = join(opts.dir, 'admin.sock');
  }

  get netns(): string | undefined {
    return this.opts.netns;
  }

  private argv(args: string[]): string[] {
    return inNetns(this.opts.netns, [this.opts.bin ?? 'haproxy', ...args]);
  }

  /** Adds or removes an address on the namespace's loopback, where the frontends bind. */
  async address(ip: string, present: boolean): Promise<void> {
    const prefix = ip.includes(':') ? 128 : 32;
    if (present) await run(inNetns(this.opts.netns, ['ip', 'addr', 'replace', `${ip}/${prefix}`, 'dev', 'lo']));
    else
      await run(inNetns(this.opts.netns, ['ip', 'addr', 'del', `${ip}/${prefix}`, 'dev', 'lo'])).catch(() => undefined);
  }

  /** Checks, writes and loads `text`; resolves once the new worker serves the runtime API. */
  async apply(text: string): Promise<void> {
    if (text === this.applied && this.child?.exitCode === null) return;
    const next = `${this.configPath}.next`;
    writeFileSync(next, text, { mode: 0o600 });
    try {
      await run(this.argv(['-c', '-q', '-f', next]));
    } catch (e) {
      rmSync(next, { force: true });
      throw new Error(`haproxy refused the rendered configuration: ${e instanceof Error ? e.message : String(e)}`);
    }
    renameSync(next, this.configPath);
    const before = await this.statsPid();
    if (!this.child || this.child.exitCode !== null || this.child.signalCode !== null) {
      // `ip netns exec` execs haproxy, so the child is the master and takes the reload signal.
      const [cmd = 'haproxy', ...args] = this.argv(['-W', '-db', '-f', this.configPath]);
      const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      child.stderr?.setEncoding('utf8').on('data', (d: string) => {
        // Reloads log WARNINGs for every stopped proxy of the old worker; only ALERTs are faults,
        // except a backend whose every node failed its check: that is the cluster's state, which
        // `svcnet lb show` reports, not a fault of the balancer.
        // Our own SIGTERM at stop makes the master report its worker's exit: not a fault either.
        for (const line of d.split('\n'))
          if (/\[ALERT\]/.test(line) && !/has no server available/.test(line) && this.child === child)
            this.opts.onError?.(new Error(`haproxy: ${line.trim()}`));
      });
      this.child = child;
    } else {
      this.child.kill('SIGUSR2');
    }
    // The admin socket is per worker: a new pid answering means the new configuration serves.
    const deadline = Date.now() + 10_000;
    for (;;) {
      const pid = await this.statsPid();
      if (pid !== undefined && pid !== before) break;
      if (this.child.exitCode !== null) throw new Error(`haproxy exited with ${this.child.exitCode}`);
      if (Date.now() > deadline) throw new Error('haproxy did not load the new configuration within 10 s');
      await new Promise((r) => setTimeout(r, 20));
    }
    this.applied = text;
  }

  /** One runtime API command on the current worker's socket. */
  command(cmd: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const sock = connect(this.statsSocket);
      let out = '';
      sock.setEncoding('utf8');
      sock.on('connect', () => sock.end(`${cmd}\n`));
      sock.on('data', (d: string) => {
        out += d;
      });
      sock.on('end', () => resolve(out));
      sock.on('error', reject);
    });
  }

  private async statsPid(): Promise<string | undefined> {
    try {
      const info = await this.command('show info');
      return /^Pid: (\d+)$/m.exec(info)?.[1];
    } catch {
      return undefined;
    }
  }

  async stop(): Promise<void> {
    const c = this.child;
    this.child = undefined;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill('SIGTERM');
    });
  }
}
