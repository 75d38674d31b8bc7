// Upgraded connections to the pod subresources exec and portforward: WebSocket (kubectl's
// default, client libraries) or plain SPDY/3.1 (kubectl's fallback, older clients). Everything a
// request can be refused for is decided before the upgrade, so the client gets an HTTP status
// with a Kubernetes Status body, as from kube-apiserver ("unable to upgrade connection: …").
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { ApiError, newBadRequest, newServiceUnavailable, toStatus } from '../../api/status.ts';
import type { KubeObject, Pod } from '../../api/types.ts';
import type { GenericRegistry } from '../registry/generic.ts';
import { parseRequestInfo } from '../request-info.ts';
import { chooseContainer, nodeOf } from './container.ts';
import { execOptions, execProtocols, relayExec } from './exec.ts';
import { type KubeletConnection, KubeletError } from './kubelet.ts';
import { portForwardProtocol, portForwardSession, portForwardTunnelProtocol } from './portforward.ts';
import { forwardPorts, portForwardChannelProtocol, relayPortForwardChannels } from './portforward-ws.ts';

/** WebSocket messages larger than this end the connection (bounded memory per client). */
const maxMessageBytes = 4 << 20;

export interface UpgradeDeps {
  registry: GenericRegistry;
  kubelet: () => KubeletConnection | undefined;
}

function refuse(socket: Duplex, e: unknown): void {
  const status = toStatus(e);
  const body = JSON.stringify(status);
  const text = `HTTP/1.1 ${status.code} ${status.reason || 'Error'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
  socket.end(text);
}

function wanted(header: string | string[] | undefined): string[] {
  const v = Array.isArray(header) ? header.join(',') : (header ?? '');
  return v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

export function createUpgradeHandler(deps: UpgradeDeps) {
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: maxMessageBytes,
    // The subprotocol was chosen before the upgrade; handleUpgrade only confirms it.
    handleProtocols: (offered: Set<string>, req: IncomingMessage) => {
      const chosen = (req as IncomingMessage & { svcnetProtocol?: string }).svcnetProtocol;
      return chosen && offered.has(chosen) ? chosen : false;
    },
  });

  async function prepare(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const info = parseRequestInfo(req.method ?? 'GET', url.pathname, false);
    const sub = info.kind === 'resource' ? info.subresource : '';
    if (info.kind !== 'resource' || info.info.resource !== 'pods' || (sub !== 'exec' && sub !== 'portforward')) {
      throw newBadRequest(`upgrade is only served for pods/exec and pods/portforward, not ${url.pathname}`);
    }
    const pod = (await deps.registry.get({ info: info.info, namespace: info.namespace }, info.name)) as Pod &
      KubeObject;
    const name = info.name;
    const isWs = (req.headers.upgrade ?? '').toLowerCase() === 'websocket';
    const offered = isWs
      ? wanted(req.headers['sec-websocket-protocol'])
      : wanted(req.headers['x-stream-protocol-version']);
    const q = url.searchParams;
    if (sub === 'exec') {
      const o = execOptions(q);
      const container = chooseContainer(pod, o.container, name);
      const node = nodeOf(pod, name);
      const phase = pod.status?.phase;
      if (phase === 'Succeeded' || phase === 'Failed') {
        throw newBadRequest(`cannot exec into a container in a completed pod; current phase is ${phase}`);
      }
      const protocol = isWs ? execProtocols.find((p) => offered.includes(p)) : undefined;
      if (!protocol) {
        throw newBadRequest(
          `exec is served over WebSocket with subprotocol ${execProtocols.join(' or ')}; offered: ${offered.join(', ') || 'none'}`,
        );
      }
      const kubelet = deps.kubelet();
      if (!kubelet) throw newServiceUnavailable(`no kubelet is reachable for node ${node}`);
      const session = await kubelet.exec(pod, { container, command: o.command, stdin: o.stdin, tty: o.tty });
      (req as IncomingMessage & { svcnetProtocol?: string }).svcnetProtocol = protocol;
      wss.handleUpgrade(req, socket, head, (ws) => relayExec(ws, session, o));
      return;
    }
    const node = nodeOf(pod, name);
    const kubelet = deps.kubelet();
    if (!kubelet) throw newServiceUnavailable(`no kubelet is reachable for node ${node}`);
    if (isWs && !offered.includes(portForwardTunnelProtocol)) {
      if (!offered.includes(portForwardChannelProtocol)) {
        throw newBadRequest(
          `port-forward over WebSocket needs subprotocol ${portForwardTunnelProtocol} or ${portForwardChannelProtocol}`,
        );
      }
      const ports = forwardPorts(q);
      (req as IncomingMessage & { svcnetProtocol?: string }).svcnetProtocol = portForwardChannelProtocol;
      wss.handleUpgrade(req, socket, head, (ws) => relayPortForwardChannels(ws, pod, ports, kubelet));
      return;
    }
    if (isWs) {
      (req as IncomingMessage & { svcnetProtocol?: string }).svcnetProtocol = portForwardTunnelProtocol;
      wss.handleUpgrade(req, socket, head, (ws) => {
        const session = portForwardSession({ write: (b) => ws.send(b), close: () => ws.close(1000) }, pod, kubelet);
        ws.on('message', (data: Buffer) => session.feed(data));
        ws.on('close', () => session.close());
      });
      return;
    }
    if ((req.headers.upgrade ?? '').toLowerCase() !== 'spdy/3.1' || !offered.includes(portForwardProtocol)) {
      throw newBadRequest(
        `port-forward needs Upgrade: SPDY/3.1 with X-Stream-Protocol-Version: ${portForwardProtocol}`,
      );
    }
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: ${portForwardProtocol}\r\n\r\n`,
    );
    const session = portForwardSession({ write: (b) => socket.write(b), close: () => socket.end() }, pod, kubelet);
    if (head.length) session.feed(head);
    socket.on('data', (b: Buffer) => session.feed(b));
    socket.on('close', () => session.close());
    socket.on('error', () => session.close());
  }

  return (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => socket.destroy());
    prepare(req, socket, head).catch((e: unknown) => {
      if (e instanceof KubeletError) e = newBadRequest(e.message);
      else if (!(e instanceof ApiError)) console.error('svcnet apiserver: upgrade:', e);
      refuse(socket, e);
    });
  };
}
