// Loader and typed view of the batched UDP addon (native/udp-batch, Linux): recvmmsg/sendmmsg on a
// socket the addon owns, one JS call per batch of up to `layout.slots` datagrams. Built by
// scripts/build-native.sh (setup.sh runs it). When it is missing the DNS server keeps dgram.
import { createRequire } from 'node:module';
import { endianness } from 'node:os';
import { nativeAddonPath } from '../kernel/entry.ts';

/** What the C side exports; offsets are into the socket's shared `memory`. */
export interface UdpBatchLayout {
  version: number;
  slots: number;
  inSlot: number;
  outSlot: number;
  addrStride: number;
  offIn: number;
  offOut: number;
  offAddr: number;
  offLens: number;
  offOutLens: number;
  offStats: number;
  statCount: number;
  batchesPerPoll: number;
  queueMaxEntries: number;
  queueMaxBytes: number;
  afInet: number;
  afInet6: number;
}

export interface UdpBatchHandle {
  readonly memory: ArrayBuffer;
  readonly port: number;
  readonly family: 4 | 6;
}

export interface UdpBatchAddon {
  layout: UdpBatchLayout;
  open(
    host: string,
    port: number,
    bufferBytes: number,
    onBatch: (n: number) => void,
    onEvent: () => void,
  ): UdpBatchHandle;
  sendTo(h: UdpBatchHandle, data: Uint8Array, addr: Uint8Array): number;
  close(h: UdpBatchHandle): void;
}

/** Indices into the stats array (the C enum's order). */
export const Stat = {
  packets: 0,
  batches: 1,
  truncated: 2,
  sent: 3,
  queued: 4,
  queueFull: 5,
  sendErrors: 6,
  recvErrors: 7,
} as const;

const LAYOUT_VERSION = 1;
export const ADDON_PATH = nativeAddonPath('udp-batch', 'udp_batch');
export const BUILD_HINT = 'run scripts/build-native.sh (scripts/setup.sh builds it)';

export type NativeAvailability = { ok: true; addon: UdpBatchAddon } | { ok: false; reason: string };

let cached: NativeAvailability | undefined;

/** Loads the addon once; says why not when it cannot be used. */
export function udpNative(): NativeAvailability {
  if (cached) return cached;
  if (process.platform !== 'linux')
    return (cached = { ok: false, reason: `recvmmsg is Linux-only (${process.platform})` });
  try {
    const addon = createRequire(import.meta.url)(ADDON_PATH) as UdpBatchAddon;
    if (addon.layout?.version !== LAYOUT_VERSION)
      cached = { ok: false, reason: `udp-batch addon is stale (layout ${addon.layout?.version}): ${BUILD_HINT}` };
    else cached = { ok: true, addon };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    cached = {
      ok: false,
      reason:
        code === 'MODULE_NOT_FOUND'
          ? `udp-batch addon not built (${ADDON_PATH}): ${BUILD_HINT}`
          : `udp-batch addon failed to load: ${(e as Error).message}; ${BUILD_HINT}`,
    };
  }
  return cached;
}

/**
 * One bound socket. `onBatch(n)` runs with queries in slots 0..n-1 (`lens[i]` bytes at
 * `offIn + i * inSlot`, -1 for a dropped oversized one); it answers query i by writing the reply
 * at `offOut + i * outSlot` and its length to `outLens[i]`, and the addon sends them all at once
 * when it returns. Replies that do not fit a slot, or come later, go through `sendTo`.
 */
export class NativeUdpSocket {
  readonly port: number;
  readonly family: 4 | 6;
  readonly u8: Uint8Array;
  readonly lens: Int32Array;
  readonly outLens: Int32Array;
  readonly stats: Float64Array;
  readonly layout: UdpBatchLayout;
  private readonly h: UdpBatchHandle;
  private isClosed = false;

  constructor(
    private readonly addon: UdpBatchAddon,
    host: string,
    port: number,
    bufferBytes: number,
    onBatch: (n: number) => void,
    onEvent: () => void,
  ) {
    const L = addon.layout;
    this.layout = L;
    this.h = addon.open(host, port, bufferBytes, onBatch, onEvent);
    this.port = this.h.port;
    this.family = this.h.family;
    const mem = this.h.memory;
    this.u8 = new Uint8Array(mem);
    this.lens = new Int32Array(mem, L.offLens, L.slots);
    this.outLens = new Int32Array(mem, L.offOutLens, L.slots);
    this.stats = new Float64Array(mem, L.offStats, L.statCount);
  }

  /** A copy of slot i's source address, for a reply sent later (sendTo). */
  source(i: number): Uint8Array {
    const at = this.layout.offAddr + i * this.layout.addrStride;
    return this.u8.slice(at, at + this.layout.addrStride);
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /**
   * 0 sent, 1 queued (EAGAIN), 2 dropped (queue full), negative errno: dropped by the kernel.
   * Throws ERR_SOCKET_CLOSED once closed, like dgram's send.
   */
  sendTo(data: Uint8Array, addr: Uint8Array): number {
    if (this.isClosed) throw Object.assign(new Error('udp-batch socket is closed'), { code: 'ERR_SOCKET_CLOSED' });
    return this.addon.sendTo(this.h, data, addr);
  }

  /** Frees the port at once; the addon's poll handle goes on the next loop turn. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.addon.close(this.h);
  }
}

const LITTLE_ENDIAN = endianness() === 'LE';

/** The client's IP as text, from a sockaddr_in / sockaddr_in6 copy (source()). */
export function addressOf(addr: Uint8Array, layout: UdpBatchLayout): string {
  // sa_family is in host byte order, the rest in network order.
  const family = new DataView(addr.buffer, addr.byteOffset, 2).getUint16(0, LITTLE_ENDIAN);
  if (family === layout.afInet) return `${addr[4]}.${addr[5]}.${addr[6]}.${addr[7]}`;
  const groups: string[] = [];
  for (let g = 0; g < 8; g++) groups.push((((addr[8 + 2 * g] ?? 0) << 8) | (addr[9 + 2 * g] ?? 0)).toString(16));
  return groups.join(':');
}
