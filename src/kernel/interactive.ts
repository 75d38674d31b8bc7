// Commands a user runs interactively in a lab pod (`kubectl exec`): stdin, stdout and stderr as
// streams, or one terminal for all three with -t. The terminal is a pseudo-terminal from the
// native pty addon; the command runs under `setsid --ctty` so it is the terminal's session
// leader (^C reaches it, shells do job control).
import { spawn } from 'node:child_process';
import { closeSync } from 'node:fs';
import { type Readable, Writable } from 'node:stream';
import { ReadStream } from 'node:tty';
import { loadNativeAddon } from './entry.ts';

interface PtyAddon {
  open(cols: number, rows: number): [number, number];
  resize(fd: number, cols: number, rows: number): number;
}

function load(): PtyAddon | null {
  return loadNativeAddon<PtyAddon>('pty', 'pty');
}

/** Whether terminals can be given (the addon is built). */
export function ptyAvailable(): boolean {
  return load() !== null;
}

export interface InteractiveOptions {
  env: Record<string, string>;
  tty: boolean;
  /** Initial terminal size. */
  cols?: number;
  rows?: number;
}

export interface InteractiveProcess {
  /** What the user types (with a terminal: into it). */
  readonly stdin: Writable;
  /** With a terminal, everything the program writes comes here. */
  readonly stdout: Readable;
  /** Undefined with a terminal. */
  readonly stderr: Readable | undefined;
  resize(cols: number, rows: number): void;
  kill(signal: NodeJS.Signals): void;
  /** The exit code; 128 + n for death by signal n, 127 when the program cannot start. */
  readonly exited: Promise<number>;
}

const signalNumbers: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

export function spawnInteractive(argv: readonly string[], opts: InteractiveOptions): InteractiveProcess {
  const [cmd = '', ...args] = argv;
  if (!opts.tty) {
    const child = spawn(cmd, args, { env: opts.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const exited = new Promise<number>((resolve) => {
      child.once('error', () => resolve(127));
      child.once('close', (code, signal) => resolve(code ?? 128 + (signal ? (signalNumbers[signal] ?? 0) : 0)));
    });
    // A program that exits without reading its input closes the pipe: not the user's error.
    child.stdin.on('error', () => {});
    return {
      stdin: child.stdin,
      stdout: child.stdout,
      stderr: child.stderr,
      resize() {},
      kill: (s) => child.kill(s),
      exited,
    };
  }
  const pty = load();
  if (!pty) throw new Error('terminals need the native pty addon (scripts/build-native.sh)');
  const [master, slave] = pty.open(opts.cols ?? 80, opts.rows ?? 24);
  const child = spawn('setsid', ['--ctty', '--wait', cmd, ...args], {
    env: { TERM: 'xterm', ...opts.env },
    stdio: [slave, slave, slave],
  });
  closeSync(slave);
  const term = new ReadStream(master);
  // Reading the master after the last slave closes fails with EIO: that is the end of output.
  term.on('error', () => term.push(null));
  const exited = new Promise<number>((resolve) => {
    child.once('error', () => resolve(127));
    child.once('exit', (code, signal) => resolve(code ?? 128 + (signal ? (signalNumbers[signal] ?? 0) : 0)));
  });
  void exited.then(() => {
    // Output still in the terminal's buffer is read before the stream ends (EIO after it).
    setTimeout(() => term.destroy(), 200);
  });
  // The end of the user's input is ^D on a terminal (the line discipline turns it into EOF for
  // the program); closing the master would end the session and lose its output.
  const input = new Writable({
    write(chunk: Buffer, _enc, cb) {
      if (term.destroyed) cb();
      else term.write(chunk, () => cb());
    },
    final(cb) {
      if (!term.destroyed) term.write('\x04');
      cb();
    },
  });
  return {
    stdin: input,
    stdout: term,
    stderr: undefined,
    resize(cols, rows) {
      if (cols > 0 && rows > 0) pty.resize(master, cols, rows);
    },
    kill: (s) => child.kill(s),
    exited,
  };
}
