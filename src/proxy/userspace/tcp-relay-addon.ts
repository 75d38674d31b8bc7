// The native TCP relay (native/tcp-relay): an accept/connect/splice engine driven from
// TypeScript (tcp-native.ts). Optional: without the built addon (not Linux, or
// `scripts/build-native.sh` not run) the plane uses the JS relay (tcp.ts), complete on its own.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { nativeAddonPath } from '../../kernel/entry.ts';

/** Opaque handle of a listening socket. */
export type NativeListener = { readonly __listener: unique symbol };

export interface TcpRelayAddon {
  /** Throws a Node-style error (`code` EADDRINUSE, EADDRNOTAVAIL…) when it cannot listen. */
  listen(
    host: string,
    port: number,
    backlog: number,
    onAccept: (id: number, src: string) => void,
    onConnected: (id: number) => void,
    onFailed: (id: number, errno: number) => void,
    onClosed: (id: number, errno: number, clientToUp: number, upToClient: number) => void,
  ): NativeListener;
  listenerPort(l: NativeListener): number;
  /** Closes the listening socket; its connections carry on. */
  stopListening(l: NativeListener): void;
  /** Starts connecting connection `id` upstream: 0, or the errno of a synchronous failure. */
  connect(id: number, ip: string, port: number): number;
  /** Gives up the connect in progress (no callback). */
  connectTimeout(id: number): void;
  /** Resets the client (RST) and forgets the connection (no callback). */
  reject(id: number): void;
  /** Closes both sides and forgets the connection (no callback). */
  abort(id: number): void;
}

export const tcpRelayPath = nativeAddonPath('tcp-relay', 'tcp_relay');

let loaded: TcpRelayAddon | null | undefined;

/** The addon, or null when it is not built (or fails to load) on this machine. */
export function tcpRelayAddon(): TcpRelayAddon | null {
  if (loaded !== undefined) return loaded;
  loaded = null;
  if (process.platform === 'linux' && existsSync(tcpRelayPath)) {
    try {
      loaded = createRequire(import.meta.url)(tcpRelayPath) as TcpRelayAddon;
    } catch {
      loaded = null;
    }
  }
  return loaded;
}
