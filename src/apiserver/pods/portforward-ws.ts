// pods/portforward over WebSocket with the channel protocol (v4.channel.k8s.io), as client
// libraries speak it (the official Python client among them): the ports are in the query
// (`ports=8080,9090`), port i gets channel 2i for data and 2i+1 for errors, and the server opens
// each channel with a frame holding the port number (2 bytes, little-endian). A connection to
// each port is made when the WebSocket opens; its end closes the WebSocket.
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { newBadRequest } from '../../api/status.ts';
import type { Pod } from '../../api/types.ts';
import type { KubeletConnection } from './kubelet.ts';
import { throttle } from './ws-backpressure.ts';

export const portForwardChannelProtocol = 'v4.channel.k8s.io';

export function forwardPorts(q: URLSearchParams): number[] {
  const raw = q.getAll('ports').flatMap((v) => v.split(','));
  if (raw.length === 0) throw newBadRequest('query parameter "port" is required');
  const ports = raw.map((p) => {
    const n = Number(p);
    if (!/^\d+$/.test(p) || n < 1 || n > 65535) throw newBadRequest(`unable to parse "${p}" as a port: invalid port`);
    return n;
  });
  return ports;
}

function frame(ch: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([ch]), body]);
}

export function relayPortForwardChannels(ws: WebSocket, pod: Pod, ports: number[], kubelet: KubeletConnection): void {
  const socks: (Duplex | undefined)[] = ports.map(() => undefined);
  let closed = false;
  const closeAll = () => {
    if (closed) return;
    closed = true;
    for (const s of socks) s?.destroy();
    ws.close(1000);
  };
  ws.on('close', () => {
    closed = true;
    for (const s of socks) s?.destroy();
  });
  ws.on('message', (data: Buffer) => {
    const ch = data[0];
    if (ch === undefined || ch % 2 === 1) return;
    socks[ch / 2]?.write(data.subarray(1));
  });
  ports.forEach((port, i) => {
    const portBytes = Buffer.from([port & 0xff, port >> 8]);
    ws.send(frame(2 * i, portBytes));
    ws.send(frame(2 * i + 1, portBytes));
    kubelet.portForward(pod, port).then(
      (sock) => {
        if (closed) {
          sock.destroy();
          return;
        }
        socks[i] = sock;
        sock.on('data', (b: Buffer) => {
          ws.send(frame(2 * i, b));
          throttle(ws, sock, () => closed);
        });
        sock.once('close', closeAll);
        sock.once('error', closeAll);
      },
      (e: unknown) => {
        const why = (e as { code?: string }).code ?? (e as Error).message;
        ws.send(frame(2 * i + 1, Buffer.from(`error forwarding port ${port}: ${why}`)), closeAll);
      },
    );
  });
}
