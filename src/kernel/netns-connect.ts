// TCP connections made from inside a named network namespace (the native netns-connect addon),
// wrapped as Node sockets: how `kubectl port-forward` reaches a lab pod's own loopback.
import { Socket } from 'node:net';
import { constants } from 'node:os';
import { loadNativeAddon } from './entry.ts';
import { KernelError } from './errors.ts';

interface NetnsConnectAddon {
  connect(nsPath: string, ip: string, port: number): number;
}

function load(): NetnsConnectAddon | null {
  return loadNativeAddon<NetnsConnectAddon>('netns-connect', 'netns_connect');
}

const errnoNames = new Map<number, string>(Object.entries(constants.errno).map(([k, v]) => [v, k]));

/** Connects to ip:port from inside /run/netns/<netns>; rejects with the errno's name (ECONNREFUSED…). */
export async function connectInNetns(netns: string, ip: string, port: number): Promise<Socket> {
  const a = load();
  if (!a)
    throw new KernelError(
      'FAILED',
      'connections into a pod need the native netns-connect addon (scripts/build-native.sh)',
    );
  const fd = a.connect(`/run/netns/${netns}`, ip, port);
  if (fd < 0) {
    const name = errnoNames.get(-fd) ?? `errno ${-fd}`;
    throw Object.assign(new Error(`connect ${ip}:${port} in ${netns}: ${name}`), { code: name });
  }
  return new Socket({ fd, readable: true, writable: true });
}
