// Long-running processes (the lab's containers): spawned with their own process group so a
// signal reaches helpers they fork, output appended to a CRI log file, exit reported once.
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { CriLogWriter } from './cri-log.ts';

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
  /** stdout and stderr are appended here as CRI log records (cri-log.ts). */
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
    const log = new CriLogWriter(opts.logFile);
    const [cmd = '', ...args] = argv;
    const child = spawn(cmd, args, {
      env: opts.env,
      cwd: opts.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    child.stdout?.on('data', (b: Buffer) => log.write('stdout', b));
    child.stderr?.on('data', (b: Buffer) => log.write('stderr', b));
    child.stdout?.once('end', () => log.end('stdout'));
    child.stderr?.once('end', () => log.end('stderr'));
    const status = new Promise<ProcessExit>((resolve) => {
      child.once('error', () => resolve({ code: 127, signal: null }));
      child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    // Reported once the output is in the log too ('close' follows 'exit' and the pipes' end), so
    // a reader of the log after the exit sees all of it. A helper the program forked may keep the
    // pipes open: the exit is then reported without waiting for them.
    const exited = status.then(
      (e) =>
        new Promise<ProcessExit>((resolve) => {
          let finished = false;
          const done = () => {
            if (finished) return;
            finished = true;
            clearTimeout(t);
            log.close();
            resolve(e);
          };
          const t = setTimeout(done, 2_000);
          if (child.stdout?.readableEnded !== false && child.stderr?.readableEnded !== false) done();
          else child.once('close', done);
        }),
    );
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
