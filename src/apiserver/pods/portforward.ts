// pods/portforward: the portforward.k8s.io protocol over SPDY/3.1, either straight on the
// upgraded connection or tunnelled through WebSocket binary messages (subprotocol
// "SPDY/3.1+portforward.k8s.io", kubectl's default since 1.31). For each local connection the
// client opens two streams with the same requestid: an error stream (the server writes why the
// forward failed, then closes it) and a data stream (the bytes, both ways, each side ending its
// half with FIN). The server closes the error stream once the data stream is done, which is
// what tells the client the connection is over.
import type { Duplex } from 'node:stream';
import type { Pod } from '../../api/types.ts';
import type { KubeletConnection } from './kubelet.ts';
import { SpdySession, type SpdyStream, type SpdyTransport } from './spdy.ts';

export const portForwardProtocol = 'portforward.k8s.io';
export const portForwardTunnelProtocol = 'SPDY/3.1+portforward.k8s.io';

/** Open connections per session: a client cannot hold unbounded sockets into a pod. */
const maxPairsPerSession = 1024;

interface Pair {
  error?: SpdyStream;
  data?: SpdyStream;
  started: boolean;
}

function podLabel(pod: Pod): string {
  const m = pod.metadata ?? {};
  return `${m.name ?? ''}_${m.namespace ?? ''}, uid ${m.uid ?? ''}`;
}

export function portForwardSession(transport: SpdyTransport, pod: Pod, kubelet: KubeletConnection): SpdySession {
  const pairs = new Map<string, Pair>();
  const forward = async (key: string, p: Pair) => {
    const { data, error } = p;
    if (!data || !error) return;
    const portText = data.headers.get('port') ?? '';
    const port = Number(portText);
    const fail = (why: string) => {
      error.end(`error forwarding port ${portText} to pod ${podLabel(pod)}: ${why}`);
      data.end();
      pairs.delete(key);
    };
    if (!/^\d+$/.test(portText) || port < 1 || port > 65535) return fail(`invalid port ${JSON.stringify(portText)}`);
    let sock: Duplex;
    try {
      sock = await kubelet.portForward(pod, port);
    } catch (e) {
      const code = (e as { code?: string }).code;
      return fail(
        `failed to connect to localhost:${port} inside the pod's network namespace: ${code ?? (e as Error).message}`,
      );
    }
    let pending = 2;
    const halfDone = () => {
      if (--pending > 0) return;
      error.end();
      pairs.delete(key);
    };
    sock.on('data', (b: Buffer) => {
      if (!data.write(b)) sock.pause();
    });
    data.on('drain', () => sock.resume());
    sock.once('end', () => {
      data.end();
      halfDone();
    });
    data.on('data', (b: Buffer) => sock.write(b));
    data.once('end', () => {
      sock.end();
      halfDone();
    });
    const abort = () => {
      sock.destroy();
      if (!error.writableEnded) error.end();
      pairs.delete(key);
    };
    sock.once('error', abort);
    data.once('close', () => {
      if (pending > 0) abort();
    });
  };
  return new SpdySession(transport, (s) => {
    const key = s.headers.get('requestid') ?? s.headers.get('port') ?? '';
    const kind = s.headers.get('streamtype');
    if ((kind !== 'error' && kind !== 'data') || (!pairs.has(key) && pairs.size >= maxPairsPerSession)) {
      s.reset();
      return;
    }
    const p = pairs.get(key) ?? { started: false };
    pairs.set(key, p);
    p[kind] = s;
    if (p.data && p.error && !p.started) {
      p.started = true;
      void forward(key, p);
    }
  });
}
