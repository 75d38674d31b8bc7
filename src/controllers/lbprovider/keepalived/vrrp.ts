// Runs keepalived (VRRP only) in one network namespace and reloads it with a new configuration:
// `keepalived -t` checks the text first, SIGHUP makes the running daemon re-read it (addresses
// added or removed without a new election while it stays master).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../../../kernel/exec.ts';
import { inNetns } from '../../../kernel/netns.ts';

export interface VrrpDaemonOptions {
  dir: string;
  netns?: string;
  bin?: string;
  onError?: (err: unknown) => void;
}

export class VrrpDaemon {
  private child: ChildProcess | undefined;
  private applied = '';
  readonly configPath: string;

  constructor(private readonly o: VrrpDaemonOptions) {
    mkdirSync(o.dir, { recursive: true, mode: 0o700 });
    this.configPath = join(o.dir, 'keepalived.conf');
  }

  get netns(): string | undefined {
    return this.o.netns;
  }

  async apply(text: string): Promise<void> {
    if (text === this.applied && this.running()) return;
    const next = `${this.configPath}.next`;
    writeFileSync(next, text, { mode: 0o600 });
    try {
      await run(inNetns(this.o.netns, [this.o.bin ?? 'keepalived', '-t', '-f', next]));
    } catch (e) {
      rmSync(next, { force: true });
      throw new Error(`keepalived refused the rendered configuration: ${e instanceof Error ? e.message : String(e)}`);
    }
    renameSync(next, this.configPath);
    if (this.running()) this.child?.kill('SIGHUP');
    else {
      // -n: stays our child (and `ip netns exec` execs it), so the signals reach the parent daemon.
      const argv = inNetns(this.o.netns, [
        this.o.bin ?? 'keepalived',
        '-n',
        '-l',
        '-P',
        '-G',
        '-f',
        this.configPath,
        '-p',
        join(this.o.dir, 'keepalived.pid'),
        '-r',
        join(this.o.dir, 'vrrp.pid'),
      ]);
      const [cmd = 'keepalived', ...args] = argv;
      const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      child.stderr?.setEncoding('utf8').on('data', (d: string) => {
        if (/error|fail/i.test(d)) this.o.onError?.(new Error(`keepalived: ${d.trim()}`));
      });
      this.child = child;
    }
    this.applied = text;
  }

  private running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Stops the daemon; it removes the addresses it held (a clean handover to the peer). */
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
