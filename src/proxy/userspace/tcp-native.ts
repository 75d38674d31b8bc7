// One TCP listener on the native relay engine (native/tcp-relay): the kernel socket work —
// accept, connect, splice both ways, half-close, resets — happens in C, and every decision
// stays here: which endpoint (balancer, affinity, passive health), retries on another endpoint
// within the same client connection, connect deadlines, counters. Same behaviour and interface
// as the JS relay (tcp.ts), which remains the path wherever the addon is not built.
//
// Cost per connection on this side: three calls from the engine (accept, connected, closed) and
// one small record, against a pair of net.Sockets with their stream state in the JS relay.
import type { EndpointInfo, EndpointKey } from '../types.ts';
import { type ListenerContext, plainAddress, type Route, waitForDrain } from './context.ts';
import { DeadlineQueue } from './deadlines.ts';
import type { ListenerSpec } from './render.ts';
import type { NativeListener, TcpRelayAddon } from './tcp-relay-addon.ts';

interface Conn {
  readonly id: number;
  readonly src: string;
  /** The route of the latest attempt: re-read for every retry and after every sync. */
  route: Route;
  ep: EndpointInfo | undefined;
  connected: boolean;
  attempts: number;
  tried: Set<EndpointKey> | undefined;
  /** Deadline slot of the connect in progress (-1: none). */
  slot: number;
}

export class NativeTcpListener {
  private handle: NativeListener | undefined;
  private readonly conns = new Map<number, Conn>();
  private readonly deadlines: DeadlineQueue<Conn>;

  constructor(
    readonly spec: ListenerSpec,
    private readonly ctx: ListenerContext,
    private readonly addon: TcpRelayAddon,
  ) {
    this.deadlines = new DeadlineQueue<Conn>({ timeoutMs: ctx.connectTimeoutMs }, (c) => this.expire(c));
  }

  listen(): Promise<void> {
    try {
      this.handle = this.addon.listen(
        this.spec.host,
        this.spec.port,
        4096,
        (id, src) => this.accept(id, src),
        (id) => this.connected(id),
        (id) => this.failed(id),
        (id) => this.closed(id),
      );
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** The bound port (the spec's, or the kernel's choice for port 0). */
  port(): number {
    return this.handle ? this.addon.listenerPort(this.handle) : 0;
  }

  /** Stops accepting; established connections carry on (endpoint removal must not cut them). */
  stopAccepting(): void {
    if (this.handle) this.addon.stopListening(this.handle);
  }

  connectionCount(): number {
    return this.conns.size;
  }

  /** Resolves when every connection has ended or `ms` passed; then cuts the rest. */
  async drain(ms: number): Promise<void> {
    this.stopAccepting();
    await waitForDrain(() => this.conns.size, ms);
    for (const id of [...this.conns.keys()]) {
      this.addon.abort(id);
      this.closed(id);
    }
    this.deadlines.close();
  }

  private accept(id: number, rawSrc: string): void {
    const src = plainAddress(rawSrc);
    const route = this.ctx.route(this.spec, src);
    if (route?.verdict.kind !== 'endpoints') {
      this.ctx.stats.rejected.inc({ reason: route ? route.verdict.reason : 'no-endpoints' });
      this.addon.reject(id);
      return;
    }
    const c: Conn = {
      id,
      src,
      route,
      ep: undefined,
      connected: false,
      attempts: 0,
      tried: undefined,
      slot: -1,
    };
    this.conns.set(id, c);
    this.attempt(c);
  }

  private attempt(c: Conn): void {
    const { verdict, balancer } = c.route;
    const candidates = verdict.kind === 'endpoints' ? verdict.endpoints : [];
    const ep = balancer.pick(candidates, c.src, this.ctx.health, c.tried);
    if (!ep) {
      this.refuse(c);
      return;
    }
    c.ep = ep;
    if (this.addon.connect(c.id, ep.ip, ep.port) !== 0) {
      this.connectFailed(c);
      return;
    }
    c.slot = this.deadlines.add(c);
  }

  private cancelDeadline(c: Conn): void {
    if (c.slot >= 0) this.deadlines.cancel(c.slot);
    c.slot = -1;
  }

  private connected(id: number): void {
    const c = this.conns.get(id);
    if (!c?.ep) return;
    this.cancelDeadline(c);
    c.connected = true;
    this.ctx.health.success(c.ep.key);
    this.ctx.landed(this.spec, c.src, c.ep);
    c.route.balancer.acquire(c.ep.key);
    this.ctx.stats.connections.inc();
    this.ctx.stats.active.set(this.ctx.stats.active.get() + 1);
  }

  private failed(id: number): void {
    const c = this.conns.get(id);
    if (!c) return;
    this.cancelDeadline(c);
    this.connectFailed(c);
  }

  private expire(c: Conn): void {
    c.slot = -1;
    if (c.connected || this.conns.get(c.id) !== c) return;
    this.addon.connectTimeout(c.id);
    this.connectFailed(c);
  }

  /** A refused, reset or timed-out connect: count it, maybe eject, retry elsewhere or refuse. */
  private connectFailed(c: Conn): void {
    const { ep } = c;
    const ctx = this.ctx;
    const svc = c.route.svc;
    if (ep) {
      ctx.stats.connectFailures.inc({ endpoint: ep.key });
      if (ctx.health.failure(ep.key)) ctx.endpointEjected(svc, ep);
    }
    if (c.attempts < svc.connectRetries) {
      ctx.stats.retries.inc();
      c.attempts++;
      if (ep) (c.tried ??= new Set<EndpointKey>()).add(ep.key);
      this.reroute(c);
    } else this.refuse(c);
  }

  /**
   * After a sync: a connect still waiting on an endpoint that is no longer eligible (its pod is
   * gone, so the SYN may never be answered) is given up at once and tried on a current endpoint,
   * or the client is refused. It is not the endpoint's fault: no failure is counted against it.
   */
  resteer(): void {
    for (const c of [...this.conns.values()]) {
      if (c.connected || !c.ep) continue;
      const route = this.ctx.route(this.spec, c.src);
      const key = c.ep.key;
      if (route?.verdict.kind === 'endpoints' && route.verdict.endpoints.some((e) => e.key === key)) {
        c.route = route;
        continue;
      }
      this.cancelDeadline(c);
      this.addon.connectTimeout(c.id);
      c.ep = undefined;
      this.reroute(c);
    }
  }

  /** Next attempt on the route as it is now: endpoints may have come and gone since accept. */
  private reroute(c: Conn): void {
    const route = this.ctx.route(this.spec, c.src);
    if (route?.verdict.kind !== 'endpoints') {
      this.ctx.stats.rejected.inc({ reason: route ? route.verdict.reason : 'no-endpoints' });
      this.conns.delete(c.id);
      this.addon.reject(c.id);
      return;
    }
    c.route = route;
    this.attempt(c);
  }

  private refuse(c: Conn): void {
    this.ctx.stats.rejected.inc({ reason: 'no-healthy-endpoints' });
    this.conns.delete(c.id);
    this.addon.reject(c.id);
  }

  private closed(id: number): void {
    const c = this.conns.get(id);
    if (!c) return;
    this.conns.delete(id);
    this.cancelDeadline(c);
    if (c.connected && c.ep) {
      c.route.balancer.release(c.ep.key);
      this.ctx.stats.active.set(this.ctx.stats.active.get() - 1);
    }
  }
}
