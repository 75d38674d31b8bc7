// Long-running processes (the lab's containers): spawned with their own process group so a
// signal reaches helpers they fork, output appended to a log file, exit reported once.
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';

export interface ProcessExit {
  /** Exit status, or null when killed by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ProcessHandle {
  readonly pid: number | undefined;
  kill(signal: NodeJS.Signals): void;
  readonly exited: Promise<ProcessExit>;
}

export interface SpawnOptions {
  env: Record<string, string>;
  /** stdout and stderr are appended here. */
  logFile: string;
  cwd?: string;
}

export interface Spawner {
  /** Never throws: a program that cannot start exits with code 127 (like a shell). */
  spawn(argv: readonly string[], opts: SpawnOptions): ProcessHandle;
}

export const systemSpawner: Spawner = {
  spawn(argv, opts) {
    // A pod's output is its own: readable by svcnet's user only (kubelet's logs are 0640 root).
    mkdirSync(dirname(opts.logFile), { recursive: true, mode: 0o700 });
    const fd = openSync(opts.logFile, 'a', 0o600);
    const [cmd = '', ...args] = argv;
    const child = spawn(cmd, args, {
      env: opts.env,
      cwd: opts.cwd,
      stdio: ['ignore', fd, fd],
      detached: true,
    });
    closeSync(fd);
    const exited = new Promise<ProcessExit>((resolve) => {
      child.once('error', () => resolve({ code: 127, signal: null }));
      child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    return {
      pid: child.pid,
      kill(signal) {
        if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
        try {
          // The whole group: `ip netns exec` execs the program, but shells fork children.
          process.kill(-child.pid, signal);
        } catch {
          child.kill(signal);
        }
      },
      exited,
    };
  },
};

/** A spawner whose processes end when the test says so; records every spawn. */
export class FakeSpawner implements Spawner {
  readonly spawned: { argv: string[]; opts: SpawnOptions; signals: NodeJS.Signals[]; exit(e: ProcessExit): void }[] =
    [];
  /** Called on kill(); default: SIGKILL ends the process, other signals are recorded only. */
  onSignal: (index: number, signal: NodeJS.Signals) => void = (i, s) => {
    if (s === 'SIGKILL') this.spawned[i]?.exit({ code: null, signal: 'SIGKILL' });
  };

  spawn(argv: readonly string[], opts: SpawnOptions): ProcessHandle {
    let exit: (e: ProcessExit) => void = () => {};
    const exited = new Promise<ProcessExit>((r) => {
      exit = r;
    });
    const index = this.spawned.length;
    const rec = { argv: [...argv], opts, signals: [] as NodeJS.Signals[], exit };
    this.spawned.push(rec);
    return {
      pid: 100_000 + index,
      kill: (s) => {
        rec.signals.push(s);
        this.onSignal(index, s);
      },
      exited,
    };
  }
}
