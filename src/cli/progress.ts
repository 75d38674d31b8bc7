// Progress for long steps (building the lab, a cold sync of thousands of Services): one line
// rewritten in place on a terminal, nothing at all otherwise, so logs and pipes stay clean.
import type { WriteStream } from 'node:tty';

export interface Progress {
  /** Shows what is happening now (replaces the previous step's line). */
  step(message: string): void;
  /** Ends the current step: its line stays, with `note` (e.g. "done in 1.2 s"). */
  done(note?: string): void;
}

const quiet: Progress = { step() {}, done() {} };

/** Progress on `stream` when it is a terminal; a no-op otherwise. */
export function progress(stream: Pick<WriteStream, 'isTTY' | 'write'> = process.stderr): Progress {
  if (!stream.isTTY) return quiet;
  let current: { message: string; since: number } | undefined;
  return {
    step(message) {
      current = { message, since: performance.now() };
      stream.write(`\r\x1b[K${message}…`);
    },
    done(note) {
      if (!current) return;
      const took = `${((performance.now() - current.since) / 1000).toFixed(1)} s`;
      stream.write(`\r\x1b[K${current.message}: ${note ?? 'done'} (${took})\n`);
      current = undefined;
    },
  };
}
