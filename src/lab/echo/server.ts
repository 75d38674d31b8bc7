// svcnet's built-in test image `svcnet/echo`: the endpoints of agnhost `netexec` that the
// Kubernetes e2e Service tests use, so test recipes written for agnhost work unchanged.
//   HTTP  /hostname → the pod name      /clientip → "ip:port" of the peer (Go's RemoteAddr)
//         /echo?msg=X → X               /healthz → 200 ok      /exit?code=N → process exits
//         /header?key=K → that request header                  / → "NOW: <time>"
//   UDP   "hostname" → the pod name, "echo X" → X, "clientip" → "ip:port" of the peer
import { createSocket, type Socket } from 'node:dgram';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname as osHostname } from 'node:os';
import { joinHostPort } from '../../api/ip.ts';

export interface EchoOptions {
  httpPort?: number;
  udpPort?: number;
  /** Where to listen; the rootless lab gives each pod its own 127.x.y.z. */
  bindAddress?: string;
  /** Default: $HOSTNAME (the kubelet sets it to the pod name), then the OS hostname. */
  hostname?: string;
  /** `/exit?code=N`; the default exits the process. */
  onExit?: (code: number) => void;
}

export interface EchoServer {
  httpPort: number;
  udpPort: number;
  close(): Promise<void>;
}

export const defaultHttpPort = 8080;
export const defaultUdpPort = 8081;

/** Go's net.Addr text: IPv6 in brackets, IPv4-mapped IPv6 shown as IPv4. */
function hostPort(address: string | undefined, port: number | undefined): string {
  const a = (address ?? '').replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1');
  return joinHostPort(a, port ?? 0);
}

function text(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(body);
}

export function udpReply(msg: string, name: string, peer: string): string | undefined {
  const s = msg.trim();
  if (s === 'hostname') return name;
  if (s === 'clientip') return peer;
  if (s.startsWith('echo ')) return s.slice(5);
  return undefined;
}

export async function startEcho(opts: EchoOptions = {}): Promise<EchoServer> {
  const name = opts.hostname ?? process.env.HOSTNAME ?? osHostname();
  const bind = opts.bindAddress ?? '0.0.0.0';
  const onExit = opts.onExit ?? ((code: number) => process.exit(code));
  /** [status, body] for a request; `/exit` also arranges the exit once the reply is out. */
  const route = (req: IncomingMessage, res: ServerResponse): [number, string] => {
    const url = new URL(req.url ?? '/', 'http://x');
    switch (url.pathname) {
      case '/hostname':
        return [200, name];
      case '/clientip':
        return [200, hostPort(req.socket.remoteAddress, req.socket.remotePort)];
      case '/echo':
        return [200, url.searchParams.get('msg') ?? ''];
      case '/healthz':
        return [200, 'ok'];
      case '/header': {
        const v = req.headers[(url.searchParams.get('key') ?? '').toLowerCase()];
        return [200, Array.isArray(v) ? v.join(',') : (v ?? '')];
      }
      case '/exit': {
        const code = Number.parseInt(url.searchParams.get('code') ?? '0', 10);
        res.on('finish', () => onExit(Number.isFinite(code) ? code : 0));
        return [200, ''];
      }
      case '/':
        return [200, `NOW: ${new Date().toISOString()}`];
      default:
        return [404, '404 page not found\n'];
    }
  };
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const [status, body] = route(req, res);
    text(res, status, body);
  };
  const http: Server = createServer(handle);
  http.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(opts.httpPort ?? defaultHttpPort, bind, () => resolve());
  });
  const udp: Socket = createSocket({ type: bind.includes(':') ? 'udp6' : 'udp4' });
  udp.on('message', (msg, rinfo) => {
    const reply = udpReply(msg.toString('utf8'), name, hostPort(rinfo.address, rinfo.port));
    if (reply !== undefined) udp.send(reply, rinfo.port, rinfo.address);
  });
  try {
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(opts.udpPort ?? defaultUdpPort, bind, () => resolve());
    });
  } catch (e) {
    http.close();
    throw e;
  }
  return {
    httpPort: (http.address() as AddressInfo).port,
    udpPort: udp.address().port,
    async close() {
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
      await new Promise<void>((r) => udp.close(() => r()));
    },
  };
}
