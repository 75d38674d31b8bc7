// WebSocket sends have no 'drain': what a slow client has not read piles up in the socket's
// buffer. A source that outruns it is paused above a high-water mark and resumed once half of it
// has gone out, so each session holds a bounded amount of memory.
import type { Readable } from 'node:stream';
import type { WebSocket } from 'ws';

export const highWaterBytes = 1 << 20;

/** Call after each send from `source`. */
export function throttle(ws: WebSocket, source: Pick<Readable, 'pause' | 'resume'>, closed: () => boolean): void {
  if (ws.bufferedAmount <= highWaterBytes) return;
  source.pause();
  const wait = setInterval(() => {
    if (closed() || ws.bufferedAmount <= highWaterBytes / 2) {
      clearInterval(wait);
      source.resume();
    }
  }, 10);
}
