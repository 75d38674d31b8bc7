// What a listener asks its plane for on every new connection or flow. Routing is looked up per
// connection (not captured at listen time) so a sync takes effect for the next connection at
// once while existing connections keep their endpoint.
import type { Verdict } from '../eligibility.ts';
import type { Counter, Gauge } from '../metrics.ts';
import type { EndpointInfo, ServicePortInfo } from '../types.ts';
import type { Balancer, EndpointHealth } from './balancer.ts';
import type { DeadlineQueue } from './deadlines.ts';
import type { ListenerSpec } from './render.ts';
import type { Relay } from './tcp.ts';

export interface Route {
  readonly svc: ServicePortInfo;
  readonly verdict: Verdict;
  readonly balancer: Balancer;
}

export interface UserspaceStats {
  connections: Counter;
  rejected: Counter;
  connectFailures: Counter;
  retries: Counter;
  ejections: Counter;
  ejected: Gauge;
  active: Gauge;
  udpDropped: Counter;
  udpFlows: Gauge;
  listenerErrors: Counter;
}

export interface ListenerContext {
  route(spec: ListenerSpec, src: string): Route | undefined;
  readonly health: EndpointHealth;
  readonly stats: UserspaceStats;
  readonly connectTimeoutMs: number;
  /** Upstream connect deadlines of every TCP listener (one timer for the plane). */
  readonly connectDeadlines: DeadlineQueue<Relay>;
  endpointEjected(svc: ServicePortInfo, ep: EndpointInfo): void;
  /** A connection or flow from `src` reached `ep` (the landing table `svcnet explain --probe` reads). */
  landed(spec: ListenerSpec, src: string, ep: EndpointInfo): void;
}

/** `::ffff:1.2.3.4` (dual-stack sockets) → `1.2.3.4`. */
export function plainAddress(addr: string | undefined): string {
  if (!addr) return '';
  return addr.startsWith('::ffff:') && addr.includes('.') ? addr.slice(7) : addr;
}

/** Waits until `count()` is 0 or `ms` passed: the graceful part of a listener's drain. */
export async function waitForDrain(count: () => number, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (count() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}
