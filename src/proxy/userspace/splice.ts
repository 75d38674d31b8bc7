// The zero-copy relay (native/splice-pump): once a connection has shown itself to be a bulk
// transfer, its bytes move socket → pipe → socket inside the kernel instead of through two
// userspace copies. Optional: without the built addon (not Linux, or `scripts/build-native.sh`
// not run) every connection stays on the JS relay, which is complete on its own.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** Opaque handle of a running pump. */
export type PumpHandle = { readonly __pump: unique symbol };

export interface SplicePump {
  /**
   * Relays both directions between two connected sockets until both have ended (half-close
   * preserved). The caller must have stopped reading and flushed its writes on both. `done`
   * gets 0 or an errno (ECONNRESET, EPIPE…) and the bytes moved each way.
   */
  pump(fdA: number, fdB: number, done: (errno: number, aToB: number, bToA: number) => void): PumpHandle;
  /** Stops a pump early: its descriptors are closed, `done` never runs. */
  abort(h: PumpHandle): void;
}

export const splicePumpPath = fileURLToPath(
  new URL('../../../native/splice-pump/build/Release/splice_pump.node', import.meta.url),
);

let loaded: SplicePump | null | undefined;

/** The addon, or null when it is not built (or fails to load) on this machine. */
export function splicePump(): SplicePump | null {
  if (loaded !== undefined) return loaded;
  loaded = null;
  if (process.platform === 'linux' && existsSync(splicePumpPath)) {
    try {
      loaded = createRequire(import.meta.url)(splicePumpPath) as SplicePump;
    } catch {
      loaded = null;
    }
  }
  return loaded;
}
