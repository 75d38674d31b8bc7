// One TCP listener: accept, pick an endpoint, connect (retrying other endpoints within the same
// client connection), then relay both directions with backpressure. Half-close is preserved end
// to end (allowHalfOpen), so request/response protocols that shut down their write side still
// get their answer.
//
// The fallback relay: where native/tcp-relay is built, the plane uses tcp-native.ts instead
// (same behaviour, bytes spliced in the kernel). Here, too, a connection costs one Relay
// object and nothing else of ours: the event handlers are module-level functions that find their
// Relay on the emitting socket (no closures, no pipe() bookkeeping, no Promise), the connect
// timeout is a slot in the plane's shared DeadlineQueue (no timer per connection), and the
// client is read from the moment it is accepted: its first bytes are held by the Relay while the
// upstream connects (so a retry on another endpoint can still send them), instead of pausing
// the client and paying another event-loop turn to resume it.
import { createServer, type Server, Socket } from 'node:net';
import type { EndpointInfo, EndpointKey } from '../types.ts';
import { type ListenerContext, plainAddress, type Route, waitForDrain } from './context.ts';
import type { ListenerSpec } from './render.ts';

function resetOrDestroy(s: Socket): void {
  if (s.destroyed) return;
  // resetAndDestroy sends RST (Node ≥ 16.17); a client then sees ECONNRESET instead of a
  // clean EOF that could be mistaken for an empty answer.
  if (typeof s.resetAndDestroy === 'function' && !s.connecting) s.resetAndDestroy();
  else s.destroy();
}

/** Client bytes held while the upstream connects; beyond this the client is paused. */
const maxPendingBytes = 64 * 1024;

const kRelay = Symbol('svcnet.relay');
type RelaySocket = Socket & { [kRelay]?: Relay };

function relayOf(s: Socket): Relay | undefined {
  return (s as RelaySocket)[kRelay];
}

/** Per client connection: the upstream attempt in progress or established, and what it owes. */
export class Relay {
  up: Socket | undefined;
  ep: EndpointInfo | undefined;
  connected = false;
  attempts = 0;
  tried: Set<EndpointKey> | undefined;
  /** Deadline slot of the connect in progress (-1: none). */
  slot = -1;
  pending: Buffer[] | undefined;
  pendingBytes = 0;
  clientEnded = false;

  constructor(
    readonly listener: TcpListener,
    readonly client: Socket,
    readonly src: string,
    /** The route of the latest attempt: re-read for every retry and after every sync. */
    public route: Route,
  ) {}
}

// ---- client side ------------------------------------------------------------------------------

function onClientData(this: Socket, chunk: Buffer): void {
  const r = relayOf(this);
  if (!r) return;
  if (r.connected && r.up) {
    if (!r.up.write(chunk)) this.pause();
    return;
  }
  (r.pending ??= []).push(chunk);
  r.pendingBytes += chunk.length;
  if (r.pendingBytes >= maxPendingBytes) this.pause();
}

function onClientEnd(this: Socket): void {
  const r = relayOf(this);
  if (!r) return;
  r.clientEnded = true;
  if (r.connected && r.up && !r.up.writableEnded) r.up.end();
}

function onClientDrain(this: Socket): void {
  relayOf(this)?.up?.resume();
}

function onClientError(this: Socket): void {
  // An abortive close on one side is passed on as an abortive close on the other.
  const up = relayOf(this)?.up;
  if (up) resetOrDestroy(up);
}

function onClientClose(this: Socket): void {
  const r = relayOf(this);
  if (!r) return;
  r.listener.forget(this);
  const up = r.up;
  if (!up || up.destroyed) return;
  if (!r.connected) {
    // The client gave up while we were still connecting: nothing to relay, stop the attempt.
    r.listener.cancelDeadline(r);
    up.destroy();
  } else if (!up.writableEnded) up.end();
}

// ---- upstream side ----------------------------------------------------------------------------

function onUpConnect(this: Socket): void {
  const r = relayOf(this);
  if (!r || r.up !== this || !r.ep) return;
  r.listener.connected(r, r.ep);
  const client = r.client;
  let flowing = true;
  if (r.pending) {
    for (const chunk of r.pending) flowing = this.write(chunk);
    r.pending = undefined;
    r.pendingBytes = 0;
  }
  if (r.clientEnded) this.end();
  // A client paused for holding too much while connecting carries on now, unless the upstream
  // is already full (its 'drain' resumes it).
  else if (flowing && client.isPaused()) client.resume();
}

function onUpData(this: Socket, chunk: Buffer): void {
  const client = relayOf(this)?.client;
  if (client && !client.write(chunk)) this.pause();
}

function onUpEnd(this: Socket): void {
  const client = relayOf(this)?.client;
  if (client && !client.destroyed && !client.writableEnded) client.end();
}

function onUpDrain(this: Socket): void {
  relayOf(this)?.client.resume();
}

function onUpError(this: Socket): void {
  const r = relayOf(this);
  if (!r || r.up !== this) return;
  if (r.connected) resetOrDestroy(r.client);
  else r.listener.connectFailed(r);
}

function onUpClose(this: Socket): void {
  const r = relayOf(this);
  if (!r || r.up !== this) return;
  if (r.connected) {
    r.listener.disconnected(r);
    const client = r.client;
    if (!client.destroyed && !client.writableEnded) client.end();
  } else if (r.slot >= 0) {
    // Closed while connecting without an error (destroyed by the client side going away).
    r.listener.cancelDeadline(r);
  }
}

/** Connect deadlines expire here (called by the plane's shared DeadlineQueue). */
export function expireConnect(r: Relay): void {
  r.slot = -1;
  const up = r.up;
  if (up && !r.connected && !up.destroyed)
    up.destroy(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' }));
}

export class TcpListener {
  private readonly server: Server;
  private readonly conns = new Set<Socket>();

  constructor(
    readonly spec: ListenerSpec,
    private readonly ctx: ListenerContext,
  ) {
    this.server = createServer({ allowHalfOpen: true, noDelay: true }, (c) => this.accept(c));
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
    await waitForDrain(() => this.conns.size, ms);
    for (const c of this.conns) c.destroy();
  }

  forget(client: Socket): void {
    this.conns.delete(client);
  }

  private accept(client: Socket): void {
    const src = plainAddress(client.remoteAddress);
    const route = this.ctx.route(this.spec, src);
    if (route?.verdict.kind !== 'endpoints') {
      this.ctx.stats.rejected.inc({ reason: route ? route.verdict.reason : 'no-endpoints' });
      client.on('error', onClientError);
      resetOrDestroy(client);
      return;
    }
    const r = new Relay(this, client, src, route);
    (client as RelaySocket)[kRelay] = r;
    this.conns.add(client);
    client.on('error', onClientError);
    client.on('close', onClientClose);
    client.on('end', onClientEnd);
    client.on('drain', onClientDrain);
    client.on('data', onClientData);
    this.attempt(r);
  }

  private attempt(r: Relay): void {
    const { balancer, verdict } = r.route;
    const candidates = verdict.kind === 'endpoints' ? verdict.endpoints : [];
    const ep = balancer.pick(candidates, r.src, this.ctx.health, r.tried);
    if (!ep || r.client.destroyed) {
      this.ctx.stats.rejected.inc({ reason: 'no-healthy-endpoints' });
      resetOrDestroy(r.client);
      return;
    }
    const up = new Socket({ allowHalfOpen: true }) as RelaySocket;
    up[kRelay] = r;
    r.up = up;
    r.ep = ep;
    up.on('connect', onUpConnect);
    up.on('error', onUpError);
    up.on('close', onUpClose);
    up.on('data', onUpData);
    up.on('end', onUpEnd);
    up.on('drain', onUpDrain);
    r.slot = this.ctx.connectDeadlines.add(r);
    up.connect({ host: ep.ip, port: ep.port, noDelay: true });
  }

  cancelDeadline(r: Relay): void {
    if (r.slot >= 0) this.ctx.connectDeadlines.cancel(r.slot);
    r.slot = -1;
  }

  connected(r: Relay, ep: EndpointInfo): void {
    this.cancelDeadline(r);
    r.connected = true;
    const ctx = this.ctx;
    ctx.health.success(ep.key);
    ctx.landed(this.spec, r.src, ep);
    r.route.balancer.acquire(ep.key);
    ctx.stats.connections.inc();
    ctx.stats.active.set(ctx.stats.active.get() + 1);
  }

  disconnected(r: Relay): void {
    if (r.ep) r.route.balancer.release(r.ep.key);
    this.ctx.stats.active.set(this.ctx.stats.active.get() - 1);
  }

  connectFailed(r: Relay): void {
    this.cancelDeadline(r);
    const ep = r.ep;
    const ctx = this.ctx;
    const svc = r.route.svc;
    if (ep) {
      ctx.stats.connectFailures.inc({ endpoint: ep.key });
      if (ctx.health.failure(ep.key)) ctx.endpointEjected(svc, ep);
    }
    if (r.attempts < svc.connectRetries && !r.client.destroyed) {
      ctx.stats.retries.inc();
      r.attempts++;
      if (ep) (r.tried ??= new Set<EndpointKey>()).add(ep.key);
      this.reroute(r);
    } else {
      ctx.stats.rejected.inc({ reason: 'no-healthy-endpoints' });
      resetOrDestroy(r.client);
    }
  }

  /**
   * After a sync: a connect still waiting on an endpoint that is no longer eligible (its pod is
   * gone, so the SYN may never be answered) is given up at once and tried on a current endpoint,
   * or the client is refused. It is not the endpoint's fault: no failure is counted against it.
   */
  resteer(): void {
    for (const client of this.conns) {
      const r = relayOf(client);
      if (!r || r.connected || !r.up || !r.ep) continue;
      const route = this.ctx.route(this.spec, r.src);
      const key = r.ep.key;
      if (route?.verdict.kind === 'endpoints' && route.verdict.endpoints.some((e) => e.key === key)) {
        r.route = route;
        continue;
      }
      this.cancelDeadline(r);
      const up = r.up;
      r.up = undefined;
      r.ep = undefined;
      up.destroy();
      this.reroute(r);
    }
  }

  /** Next attempt on the route as it is now: endpoints may have come and gone since accept. */
  private reroute(r: Relay): void {
    const route = this.ctx.route(this.spec, r.src);
    if (route?.verdict.kind !== 'endpoints') {
      this.ctx.stats.rejected.inc({ reason: route ? route.verdict.reason : 'no-endpoints' });
      resetOrDestroy(r.client);
      return;
    }
    r.route = route;
    this.attempt(r);
  }
}
