// The agent's state between syncs and the read-only snapshot each sync hands to a data plane.
// A data plane renders from the snapshot alone (DESIGN.md convention 2) and may use `changes`
// to do a partial update; with `changes.full` it must converge from scratch (first sync, after
// a failure, periodic resync).
import type { EndpointsChange, EndpointsMap } from './endpoints.ts';
import type { ServiceChange, ServicePortMap } from './services.ts';
import type { EndpointInfo, NodeInfo, ServiceKey, ServicePortInfo, ServicePortKey } from './types.ts';

export interface ProxySnapshot {
  /** Increases by one per snapshot. */
  readonly generation: number;
  readonly node: NodeInfo;
  readonly services: ServicePortMap;
  readonly endpoints: EndpointsMap;
  /** Node addresses NodePorts answer on (resolved `--nodeport-addresses`), loopback excluded. */
  readonly nodePortIPs: readonly string[];
  /** NodePorts also answer on 127.0.0.1 and ::1 (userspace only; kernel planes ignore it, 5.15). */
  readonly localhostNodePorts: boolean;
}

export interface StaleUDPEndpoint {
  readonly servicePort: ServicePortInfo;
  readonly endpoint: EndpointInfo;
}

/** What changed since the previous snapshot (kube-proxy's UpdateServiceMapResult + UpdateEndpointsMapResult). */
export interface SyncChanges {
  readonly full: boolean;
  /** Service ports added, changed or removed. */
  readonly services: ReadonlySet<ServicePortKey>;
  /** Service ports whose endpoints changed. */
  readonly endpoints: ReadonlySet<ServicePortKey>;
  readonly deletedServices: readonly ServicePortInfo[];
  /** 5.25: UDP service ports that went from 0 to >0 endpoints (flush their conntrack entries). */
  readonly newlyActiveUDP: readonly ServicePortKey[];
  /** 5.25: UDP endpoints that disappeared (flush NAT entries towards them). */
  readonly staleUDPEndpoints: readonly StaleUDPEndpoint[];
  /** Trigger times (ms) of the endpoint changes in this sync, for network programming latency. */
  readonly triggerTimesMs: readonly number[];
}

export const emptyChanges: SyncChanges = Object.freeze({
  full: true,
  services: new Set<ServicePortKey>(),
  endpoints: new Set<ServicePortKey>(),
  deletedServices: [],
  newlyActiveUDP: [],
  staleUDPEndpoints: [],
  triggerTimesMs: [],
});

/** A partial sync's changes (tests, benchmarks): nothing changed unless `o` says so. */
export function syncChanges(o: Partial<SyncChanges> = {}): SyncChanges {
  return { ...emptyChanges, full: false, services: new Set(), endpoints: new Set(), ...o };
}

/** The mutable maps the trackers' changes are applied to. */
export class ProxyState {
  private readonly services = new Map<ServicePortKey, ServicePortInfo>();
  private readonly endpoints = new Map<ServicePortKey, readonly EndpointInfo[]>();
  private generation = 0;

  apply(
    svcChanges: ReadonlyMap<ServiceKey, ServiceChange>,
    epChanges: ReadonlyMap<ServiceKey, EndpointsChange>,
    full: boolean,
  ): SyncChanges {
    const services = new Set<ServicePortKey>();
    const endpoints = new Set<ServicePortKey>();
    const deletedServices: ServicePortInfo[] = [];
    const staleUDPEndpoints: StaleUDPEndpoint[] = [];
    const triggerTimesMs: number[] = [];
    const hadEndpoints = (k: ServicePortKey) => (this.endpoints.get(k)?.length ?? 0) > 0;
    const wasActive = new Set<ServicePortKey>();

    for (const change of svcChanges.values()) {
      for (const [k, info] of change.previous) {
        if (!change.current.has(k)) {
          this.services.delete(k);
          deletedServices.push(info);
          services.add(k);
        }
      }
      for (const [k, info] of change.current) {
        this.services.set(k, info);
        services.add(k);
      }
    }
    for (const change of epChanges.values()) {
      triggerTimesMs.push(change.triggerTimeMs);
      for (const k of new Set([...change.previous.keys(), ...change.current.keys()])) {
        if (hadEndpoints(k)) wasActive.add(k);
        const prev = change.previous.get(k) ?? [];
        const cur = change.current.get(k) ?? [];
        const curKeys = new Set(cur.map((e) => e.key));
        const svc = this.services.get(k) ?? deletedServices.find((s) => s.key === k);
        if (svc?.protocol === 'UDP') {
          for (const ep of prev) if (!curKeys.has(ep.key)) staleUDPEndpoints.push({ servicePort: svc, endpoint: ep });
        }
        if (cur.length > 0) this.endpoints.set(k, Object.freeze([...cur]));
        else this.endpoints.delete(k);
        endpoints.add(k);
      }
    }
    const newlyActiveUDP: ServicePortKey[] = [];
    for (const k of endpoints) {
      if (!wasActive.has(k) && hadEndpoints(k) && this.services.get(k)?.protocol === 'UDP') newlyActiveUDP.push(k);
    }
    return { full, services, endpoints, deletedServices, newlyActiveUDP, staleUDPEndpoints, triggerTimesMs };
  }

  snapshot(node: NodeInfo, nodePortIPs: readonly string[], localhostNodePorts: boolean): ProxySnapshot {
    this.generation++;
    return Object.freeze({
      generation: this.generation,
      node,
      services: new Map(this.services),
      endpoints: new Map(this.endpoints),
      nodePortIPs: Object.freeze([...nodePortIPs]),
      localhostNodePorts,
    });
  }
}
