// One TCP listener: accept, pick an endpoint, connect (retrying other endpoints within the same
// client connection), then splice both directions with stream backpressure (pipe). Half-close
// is preserved end to end (allowHalfOpen), so request/response protocols that shut down their
// write side still get their answer.
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { EndpointInfo, EndpointKey } from '../types.ts';
import { type ListenerContext, plainAddress, type Route } from './context.ts';
import type { ListenerSpec } from './render.ts';

function resetOrDestroy(s: Socket): void {
  if (s.destroyed) return;
  // resetAndDestroy sends RST (Node ≥ 16.17); a client then sees ECONNRESET instead of a
  // clean EOF that could be mistaken for an empty answer.
  if (typeof s.resetAndDestroy === 'function' && !s.connecting) s.resetAndDestroy();
  else s.destroy();
}

export class TcpListener {
  private readonly server: Server;
  private readonly conns = new Set<Socket>();

  constructor(
    readonly spec: ListenerSpec,
    private readonly ctx: ListenerContext,
  ) {
    this.server = createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true }, (c) => this.accept(c));
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.server.once('error', onError);
      this.server.listen({ host: this.spec.host, port: this.spec.port, exclusive: true, backlog: 4096 }, () => {
        this.server.off('error', onError);
        resolve();
      });
    });
  }

  /** Stops accepting; established connections carry on (endpoint removal must not cut them). */
  stopAccepting(): void {
    this.server.close();
  }

  connectionCount(): number {
    return this.conns.size;
  }

  /** Resolves when every connection has ended or `ms` passed; then cuts the rest. */
  async drain(ms: number): Promise<void> {
    this.stopAccepting();
    const deadline = Date.now() + ms;
    while (this.conns.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const c of this.conns) c.destroy();
  }

  private accept(client: Socket): void {
    const src = plainAddress(client.remoteAddress);
    const route = this.ctx.route(this.spec, src);
    const stats = this.ctx.stats;
    if (route?.verdict.kind !== 'endpoints') {
      stats.rejected.inc({
        reason: route ? route.verdict.reason : 'no-endpoints',
      });
      resetOrDestroy(client);
      return;
    }
    this.conns.add(client);
    client.once('close', () => this.conns.delete(client));
    client.on('error', () => {});
    this.attempt(client, src, route, route.verdict.endpoints, undefined, 0);
  }

  private attempt(
    client: Socket,
    src: string,
    route: Route,
    candidates: readonly EndpointInfo[],
    tried: Set<EndpointKey> | undefined,
    n: number,
  ): void {
    const { balancer, svc } = route;
    const ctx = this.ctx;
    const ep = balancer.pick(candidates, src, ctx.health, tried);
    if (!ep || client.destroyed) {
      ctx.stats.rejected.inc({ reason: 'no-healthy-endpoints' });
      resetOrDestroy(client);
      return;
    }
    const up = connect({ host: ep.ip, port: ep.port, allowHalfOpen: true, noDelay: true });
    let connected = false;
    const timer = setTimeout(
      () => up.destroy(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' })),
      ctx.connectTimeoutMs,
    );
    const onConnectError = () => {
      clearTimeout(timer);
      if (connected) return;
      ctx.stats.connectFailures.inc({ endpoint: ep.key });
      if (ctx.health.failure(ep.key)) ctx.endpointEjected(svc, ep);
      if (n < svc.connectRetries && !client.destroyed) {
        ctx.stats.retries.inc();
        const t = tried ?? new Set<EndpointKey>();
        t.add(ep.key);
        this.attempt(client, src, route, candidates, t, n + 1);
      } else {
        ctx.stats.rejected.inc({ reason: 'no-healthy-endpoints' });
        resetOrDestroy(client);
      }
    };
    up.once('error', onConnectError);
    up.once('connect', () => {
      clearTimeout(timer);
      connected = true;
      up.off('error', onConnectError);
      ctx.health.success(ep.key);
      balancer.acquire(ep.key);
      ctx.stats.connections.inc();
      ctx.stats.active.set(ctx.stats.active.get() + 1);
      // An abortive close on one side is passed on as an abortive close on the other.
      up.on('error', () => resetOrDestroy(client));
      client.on('error', () => resetOrDestroy(up));
      up.once('close', () => {
        balancer.release(ep.key);
        ctx.stats.active.set(ctx.stats.active.get() - 1);
        if (!client.destroyed && !client.writableEnded) client.end();
      });
      client.once('close', () => {
        if (!up.destroyed && !up.writableEnded) up.end();
      });
      client.pipe(up);
      up.pipe(client);
      client.resume();
    });
  }
}
