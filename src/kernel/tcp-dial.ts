// Outgoing TCP connections for protocols that keep long sessions with routers (BGP): a connect
// with a deadline, an optional source address, no Nagle (a KEEPALIVE must not wait behind an ACK),
// and the socket handed over only once connected, so the caller sees one outcome per attempt.
import { connect, type Socket } from 'node:net';
import { KernelError } from './errors.ts';

export interface DialOptions {
  host: string;
  port: number;
  localAddress?: string;
  timeoutMs: number;
}

export type Dial = (o: DialOptions) => Promise<Socket>;

export const dialTCP: Dial = (o) =>
  new Promise((resolve, reject) => {
    const sock = connect({
      host: o.host,
      port: o.port,
      ...(o.localAddress ? { localAddress: o.localAddress } : {}),
      noDelay: true,
    });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new KernelError('FAILED', `connect to ${o.host}:${o.port}: timed out after ${o.timeoutMs} ms`));
    }, o.timeoutMs);
    sock.once('connect', () => {
      clearTimeout(timer);
      sock.removeAllListeners('error');
      resolve(sock);
    });
    sock.once('error', (e) => {
      clearTimeout(timer);
      sock.destroy();
      reject(e);
    });
  });
