// The seam between the service controller and whatever builds load balancers: the shape of
// k8s.io/cloud-provider's LoadBalancer interface, so a provider written against it (a cloud's
// API, an HAProxy on the LAN, a VRRP pair) plugs into the same controller. The controller owns
// the Kubernetes side (finalizer, status, Events, retries, node sets); a provider only talks to
// its balancer and answers with the status to publish.
import type { Node, Service } from '../../api/types.ts';

/** status.loadBalancer of a Service, as the provider reports it. */
export interface LoadBalancerStatus {
  ingress?: LoadBalancerIngress[];
}

export interface LoadBalancerIngress {
  ip?: string;
  hostname?: string;
  /** VIP: nodes may short-circuit traffic to the IP; Proxy: it must go through the balancer. */
  ipMode?: 'VIP' | 'Proxy';
  ports?: { port: number; protocol: string; error?: string }[];
}

export interface LoadBalancerProvider {
  /** The name `--lb-provider` selects it by. */
  readonly name: string;
  /** Whether the balancer exists, and its status if so. Must not change anything. */
  getLoadBalancer(clusterName: string, service: Service): Promise<{ exists: boolean; status?: LoadBalancerStatus }>;
  /** The balancer's name on the provider's side; stable for the Service's lifetime. */
  getLoadBalancerName(clusterName: string, service: Service): string;
  /**
   * Creates or updates the balancer so it forwards the Service's ports to `nodes` (already
   * filtered by the controller) and returns the status to publish. Must be idempotent: the
   * controller calls it again after any failure and after every relevant Service change.
   */
  ensureLoadBalancer(clusterName: string, service: Service, nodes: readonly Node[]): Promise<LoadBalancerStatus>;
  /** Only the node set changed; `nodes` replaces the backends. Must be idempotent. */
  updateLoadBalancer(clusterName: string, service: Service, nodes: readonly Node[]): Promise<void>;
  /**
   * Deletes the balancer if it exists; success when it is gone (also when it never existed).
   * Only then does the controller release the Service's finalizer.
   */
  ensureLoadBalancerDeleted(clusterName: string, service: Service): Promise<void>;
  /** Frees what the provider holds (processes, sockets) on controller shutdown; balancers stay. */
  close?(): Promise<void>;
  /**
   * The balancer as the provider sees it (`svcnet lb show`): its backends, their health and
   * traffic. Read-only, and answerable by a provider built only to ask (another process than
   * the controller's). undefined: no such balancer.
   */
  describe?(clusterName: string, service: Service): Promise<LoadBalancerView | undefined>;
}

export interface LoadBalancerView {
  balancer: string;
  /** Where the balancer runs (an edge host, a VRRP master), when the provider knows it. */
  location?: string;
  backends: LoadBalancerBackend[];
}

export interface LoadBalancerBackend {
  /** The listener (frontend) this backend serves, e.g. <balancer>-tcp-80. */
  listener: string;
  node: string;
  address: string;
  /** UP, DOWN, MAINT, … */
  health: string;
  /** The last check's result (L4OK, L4CON, L7OK, …). */
  check: string;
  active: number;
  total: number;
  bytesIn: number;
  bytesOut: number;
  /** Connections that could not be established to this backend. */
  connectErrors: number;
}

/**
 * cloudprovider.ImplementedElsewhere: this Service's balancer is another component's job; the
 * controller then neither retries nor writes status.
 */
export class ImplementedElsewhereError extends Error {
  readonly code = 'ImplementedElsewhere';
  constructor() {
    super('implemented elsewhere');
  }
}

export const isImplementedElsewhere = (e: unknown): boolean =>
  e instanceof Error && (e as { code?: unknown }).code === 'ImplementedElsewhere';

/**
 * cloudprovider.DefaultLoadBalancerName: "a" + the UID without dashes, cut to 32 characters
 * (the shortest limit among clouds' balancer names).
 */
export function defaultLoadBalancerName(service: Service): string {
  return `a${(service.metadata?.uid ?? '').replaceAll('-', '')}`.slice(0, 32);
}
