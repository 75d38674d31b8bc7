// One UDP listener with a per-client flow table. Each client (ip:port) gets its own upstream
// socket, so replies can be told apart and sent back from the VIP the client talked to. A flow
// lives until idle for idleMs; when its endpoint stops being eligible the flow is re-steered at
// once (kube-proxy flushes conntrack for the same reason, 5.25: a stale entry black-holes).
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { ipFamilyOf } from '../../api/ip.ts';
import type { EndpointInfo } from '../types.ts';
import { type ListenerContext, plainAddress } from './context.ts';
import type { ListenerSpec } from './render.ts';

interface Flow {
  readonly clientAddress: string;
  readonly clientPort: number;
  ep: EndpointInfo;
  upstream: Socket;
  lastSeen: number;
}

export class UdpListener {
  private readonly socket: Socket;
  private readonly flows = new Map<string, Flow>();
  private sweeper: NodeJS.Timeout | undefined;

  constructor(
    readonly spec: ListenerSpec,
    private readonly ctx: ListenerContext,
    private readonly idleMs: number,
  ) {
    this.socket = createSocket({ type: ipFamilyOf(spec.host) === 'IPv6' ? 'udp6' : 'udp4', reuseAddr: false });
    this.socket.on('message', (msg, rinfo) => this.onMessage(msg, rinfo));
    this.socket.on('error', () => this.ctx.stats.listenerErrors.inc({ proto: 'UDP' }));
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.socket.once('error', onError);
      this.socket.bind({ address: this.spec.host, port: this.spec.port, exclusive: true }, () => {
        this.socket.off('error', onError);
        this.sweeper = setInterval(() => this.sweep(), Math.max(50, Math.floor(this.idleMs / 2)));
        this.sweeper.unref();
        resolve();
      });
    });
  }

  flowCount(): number {
    return this.flows.size;
  }

  /** Endpoint of each flow by "ip:port" of the client (for tests and explain). */
  flowEndpoints(): Map<string, string> {
    return new Map([...this.flows].map(([k, f]) => [k, f.ep.key]));
  }

  /** After a sync: move flows whose endpoint is no longer eligible for their client. */
  resteer(): void {
    for (const [key, flow] of this.flows) {
      const route = this.ctx.route(this.spec, flow.clientAddress);
      if (route?.verdict.kind !== 'endpoints') {
        this.closeFlow(key, flow);
        continue;
      }
      if (route.verdict.endpoints.some((e) => e.key === flow.ep.key)) continue;
      const ep = route.balancer.pick(route.verdict.endpoints, flow.clientAddress, undefined);
      if (!ep) this.closeFlow(key, flow);
      else this.retarget(flow, ep);
    }
  }

  close(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    for (const [k, f] of this.flows) this.closeFlow(k, f);
    try {
      this.socket.close();
    } catch {
      // already closed
    }
  }

  private onMessage(msg: Buffer, rinfo: RemoteInfo): void {
    const client = plainAddress(rinfo.address);
    const key = `${client}:${rinfo.port}`;
    let flow = this.flows.get(key);
    if (!flow) {
      const route = this.ctx.route(this.spec, client);
      if (route?.verdict.kind !== 'endpoints') {
        this.ctx.stats.udpDropped.inc({
          reason: route ? route.verdict.reason : 'no-endpoints',
        });
        return;
      }
      const ep = route.balancer.pick(route.verdict.endpoints, client, undefined);
      if (!ep) {
        this.ctx.stats.udpDropped.inc({ reason: 'no-healthy-endpoints' });
        return;
      }
      flow = this.openFlow(key, client, rinfo.port, ep);
      this.ctx.landed(this.spec, client, ep);
    }
    flow.lastSeen = Date.now();
    flow.upstream.send(msg, flow.ep.port, flow.ep.ip);
  }

  private openFlow(key: string, clientAddress: string, clientPort: number, ep: EndpointInfo): Flow {
    const flow: Flow = { clientAddress, clientPort, ep, upstream: this.upstreamFor(ep), lastSeen: Date.now() };
    this.wire(flow);
    this.flows.set(key, flow);
    this.ctx.stats.udpFlows.set(this.ctx.stats.udpFlows.get() + 1);
    return flow;
  }

  private upstreamFor(ep: EndpointInfo): Socket {
    return createSocket(ipFamilyOf(ep.ip) === 'IPv6' ? 'udp6' : 'udp4');
  }

  private wire(flow: Flow): void {
    const up = flow.upstream;
    up.on('message', (m, r) => {
      // Only the flow's current endpoint may answer (a re-steered flow ignores the old one).
      if (r.port !== flow.ep.port || plainAddress(r.address) !== flow.ep.ip) return;
      flow.lastSeen = Date.now();
      this.socket.send(m, flow.clientPort, flow.clientAddress);
    });
    up.on('error', () => {});
  }

  private retarget(flow: Flow, ep: EndpointInfo): void {
    if (ipFamilyOf(ep.ip) !== ipFamilyOf(flow.ep.ip)) {
      flow.upstream.close();
      flow.ep = ep;
      flow.upstream = this.upstreamFor(ep);
      this.wire(flow);
      return;
    }
    flow.ep = ep;
  }

  private closeFlow(key: string, flow: Flow): void {
    this.flows.delete(key);
    this.ctx.stats.udpFlows.set(this.ctx.stats.udpFlows.get() - 1);
    try {
      flow.upstream.close();
    } catch {
      // already closed
    }
  }

  private sweep(): void {
    const cutoff = Date.now() - this.idleMs;
    for (const [k, f] of this.flows) if (f.lastSeen < cutoff) this.closeFlow(k, f);
  }
}
