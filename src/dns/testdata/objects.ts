// Object builders for DNS tests: a Service, its EndpointSlice, a Pod — the shapes the API
// server stores (only the fields DNS reads are filled).
import type { EndpointSlice, KubeObject, Pod, Service } from '../../api/types.ts';

export type Svc = Service & KubeObject;
export type Slice = EndpointSlice & KubeObject;

export function svc(ns: string, name: string, spec: Service['spec'], extra: Partial<Svc['metadata']> = {}): Svc {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns, ...extra }, spec };
}

export interface Ep {
  ip: string | string[];
  hostname?: string;
  ready?: boolean;
}

export function slice(ns: string, service: string, name: string, eps: Ep[], ports: { name?: string; port: number }[] = []): Slice {
  const first = eps[0]?.ip;
  const ip0 = Array.isArray(first) ? first[0] : first;
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name, namespace: ns, labels: { 'kubernetes.io/service-name': service } },
    addressType: ip0?.includes(':') ? 'IPv6' : 'IPv4',
    endpoints: eps.map((e) => ({
      addresses: Array.isArray(e.ip) ? e.ip : [e.ip],
      ...(e.hostname ? { hostname: e.hostname } : {}),
      ...(e.ready === undefined ? {} : { conditions: { ready: e.ready } }),
    })),
    ports: ports.map((p) => ({ ...(p.name ? { name: p.name } : {}), port: p.port, protocol: 'TCP' })),
  };
}

export function pod(ns: string, name: string, ips: string[]): Pod & KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: ns },
    spec: { containers: [{ name: 'c', image: 'x' }] },
    status: { podIP: ips[0], podIPs: ips.map((ip) => ({ ip })) },
  };
}
