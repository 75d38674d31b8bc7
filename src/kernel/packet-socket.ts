// Raw Ethernet frames on one interface of the current namespace (the native packet-socket
// addon): the layer 2 announcer answers ARP/NDP for addresses no interface holds. Frames are
// read when the fd is readable (a libuv poll handle in the addon), never on a timer.
import { createRequire } from 'node:module';
import { constants } from 'node:os';
import { nativeAddonPath } from './entry.ts';
import { KernelError } from './errors.ts';

interface PacketSocketAddon {
  open(ifname: string, ethertype: number): number;
  ifinfo(ifname: string): [number, Buffer] | number;
  recv(fd: number, buf: Buffer): number;
  send(fd: number, buf: Buffer): number;
  watch(fd: number, cb: () => void): number;
  unwatch(id: number): number;
  close(fd: number): number;
}

let addon: PacketSocketAddon | null | undefined;

function load(): PacketSocketAddon | null {
  if (addon === undefined) {
    try {
      addon = createRequire(import.meta.url)(nativeAddonPath('packet-socket', 'packet_socket')) as PacketSocketAddon;
    } catch {
      addon = null;
    }
  }
  return addon;
}

export function packetSocketsAvailable(): boolean {
  return load() !== null;
}

const errnoNames = new Map<number, string>(Object.entries(constants.errno).map(([k, v]) => [v, k]));
const errName = (rc: number): string => errnoNames.get(-rc) ?? `errno ${-rc}`;

function need(): PacketSocketAddon {
  const a = load();
  if (!a)
    throw new KernelError(
      'FAILED',
      'layer 2 announcement needs the native packet-socket addon (scripts/build-native.sh)',
    );
  return a;
}

export interface PacketSocket {
  readonly ifname: string;
  readonly mac: string;
  send(frame: Buffer): void;
  close(): void;
}

/** Opens an AF_PACKET socket for one EtherType on `ifname`; `onFrame` gets every frame received. */
export function openPacketSocket(ifname: string, etherType: number, onFrame: (frame: Buffer) => void): PacketSocket {
  const a = need();
  const info = a.ifinfo(ifname);
  if (typeof info === 'number') throw new KernelError('FAILED', `interface ${ifname}: ${errName(info)}`);
  const mac = Array.from(info[1], (x) => x.toString(16).padStart(2, '0')).join(':');
  const fd = a.open(ifname, etherType);
  if (fd < 0) throw new KernelError('FAILED', `packet socket on ${ifname}: ${errName(fd)}`);
  const buf = Buffer.alloc(2048);
  let closed = false;
  const watch = a.watch(fd, () => {
    // Drain everything queued: one readiness callback may stand for many frames.
    for (let i = 0; i < 256 && !closed; i++) {
      const n = a.recv(fd, buf);
      // EAGAIN: drained. Anything else (ENETDOWN while a link flaps) ends this round too;
      // the poll handle fires again when frames arrive.
      if (n < 0) return;
      onFrame(Buffer.from(buf.subarray(0, n)));
    }
  });
  if (watch < 0) {
    a.close(fd);
    throw new KernelError('FAILED', `packet socket on ${ifname}: poll: ${errName(watch)}`);
  }
  return {
    ifname,
    mac,
    send(frame) {
      if (closed) return;
      const n = a.send(fd, frame);
      if (n < 0) throw new KernelError('FAILED', `send on ${ifname}: ${errName(n)}`);
    },
    close() {
      if (closed) return;
      closed = true;
      a.unwatch(watch);
      a.close(fd);
    },
  };
}
