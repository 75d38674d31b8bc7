// A provider that keeps its balancers in memory, as cloud-provider's fake cloud does: every
// call is logged, and failures can be queued per method to test retries and Events. For unit
// tests and for trying the controller without a balancer; never selected by `--lb-provider`.
import type { Node, Service } from '../../api/types.ts';
import { defaultLoadBalancerName, type LoadBalancerProvider, type LoadBalancerStatus } from './provider.ts';

export type FakeMethod = 'get' | 'ensure' | 'update' | 'delete';

export interface FakeBalancer {
  name: string;
  service: string;
  ports: number[];
  nodes: string[];
  ip: string;
}

export class FakeProvider implements LoadBalancerProvider {
  readonly name = 'fake';
  readonly calls: { method: FakeMethod; service: string; nodes?: string[] }[] = [];
  readonly balancers = new Map<string, FakeBalancer>();
  private readonly failures = new Map<FakeMethod, Error[]>();
  private nextIP = 10;

  /** The next `times` calls of `method` throw `err`. */
  failNext(method: FakeMethod, err: Error, times = 1): void {
    const q = this.failures.get(method) ?? [];
    for (let i = 0; i < times; i++) q.push(err);
    this.failures.set(method, q);
  }

  private enter(method: FakeMethod, svc: Service, nodes?: readonly Node[]): void {
    const service = `${svc.metadata?.namespace ?? ''}/${svc.metadata?.name ?? ''}`;
    this.calls.push({ method, service, ...(nodes ? { nodes: nodes.map((n) => n.metadata?.name ?? '') } : {}) });
    const err = this.failures.get(method)?.shift();
    if (err) throw err;
  }

  getLoadBalancerName(_cluster: string, svc: Service): string {
    return defaultLoadBalancerName(svc);
  }

  async getLoadBalancer(cluster: string, svc: Service) {
    this.enter('get', svc);
    const lb = this.balancers.get(this.getLoadBalancerName(cluster, svc));
    return lb ? { exists: true, status: this.status(lb) } : { exists: false };
  }

  async ensureLoadBalancer(cluster: string, svc: Service, nodes: readonly Node[]): Promise<LoadBalancerStatus> {
    this.enter('ensure', svc, nodes);
    const name = this.getLoadBalancerName(cluster, svc);
    const lb: FakeBalancer = this.balancers.get(name) ?? {
      name,
      service: `${svc.metadata?.namespace ?? ''}/${svc.metadata?.name ?? ''}`,
      ports: [],
      nodes: [],
      ip: `203.0.113.${this.nextIP++}`,
    };
    lb.ports = (svc.spec?.ports ?? []).map((p) => p.port);
    lb.nodes = nodes.map((n) => n.metadata?.name ?? '');
    this.balancers.set(name, lb);
    return this.status(lb);
  }

  async updateLoadBalancer(cluster: string, svc: Service, nodes: readonly Node[]): Promise<void> {
    this.enter('update', svc, nodes);
    const lb = this.balancers.get(this.getLoadBalancerName(cluster, svc));
    if (!lb) throw new Error(`load balancer ${this.getLoadBalancerName(cluster, svc)} not found`);
    lb.nodes = nodes.map((n) => n.metadata?.name ?? '');
  }

  async ensureLoadBalancerDeleted(cluster: string, svc: Service): Promise<void> {
    this.enter('delete', svc);
    this.balancers.delete(this.getLoadBalancerName(cluster, svc));
  }

  private status(lb: FakeBalancer): LoadBalancerStatus {
    return { ingress: [{ ip: lb.ip, ipMode: 'Proxy' }] };
  }
}
