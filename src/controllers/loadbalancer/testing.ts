// Builders for the allocator and converge tests.
import type { IPAddressPool, Namespace, Service } from '../../api/types.ts';
import { type Addr, parseAddr } from './addresses.ts';
import { claimFor, type ServiceClaim } from './claim.ts';
import { compilePool, isCompileError, type Pool } from './pools.ts';

export interface SvcOpts {
  ns?: string;
  ports?: (number | [string, number])[];
  clusterIPs?: string[];
  ipFamilies?: ('IPv4' | 'IPv6')[];
  policy?: 'SingleStack' | 'PreferDualStack' | 'RequireDualStack';
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
  etp?: 'Cluster' | 'Local';
  selector?: Record<string, string>;
  ingress?: string[];
  type?: string;
  loadBalancerIP?: string;
  loadBalancerClass?: string;
}

export function svc(name: string, o: SvcOpts = {}): Service {
  const clusterIPs = o.clusterIPs ?? ['10.96.0.10'];
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name,
      namespace: o.ns ?? 'default',
      uid: `uid-${name}`,
      ...(o.annotations ? { annotations: o.annotations } : {}),
      ...(o.labels ? { labels: o.labels } : {}),
    },
    spec: {
      type: (o.type ?? 'LoadBalancer') as 'LoadBalancer',
      clusterIP: clusterIPs[0],
      clusterIPs,
      ipFamilies: o.ipFamilies ?? clusterIPs.map((ip) => (ip.includes(':') ? 'IPv6' : 'IPv4')),
      ipFamilyPolicy: o.policy ?? (clusterIPs.length > 1 ? 'RequireDualStack' : 'SingleStack'),
      externalTrafficPolicy: o.etp ?? 'Cluster',
      selector: o.selector ?? { app: name },
      ports: (o.ports ?? [80]).map((p) =>
        typeof p === 'number' ? { port: p, protocol: 'TCP' } : { port: p[1], protocol: p[0] },
      ),
      ...(o.loadBalancerIP ? { loadBalancerIP: o.loadBalancerIP } : {}),
      ...(o.loadBalancerClass ? { loadBalancerClass: o.loadBalancerClass } : {}),
    },
    status: { loadBalancer: o.ingress ? { ingress: o.ingress.map((ip) => ({ ip, ipMode: 'VIP' })) } : {} },
  };
}

export function claim(name: string, o: SvcOpts = {}): ServiceClaim {
  return claimFor(svc(name, o));
}

export function poolObj(name: string, addresses: string[], spec: Partial<IPAddressPool['spec']> = {}): IPAddressPool {
  return {
    apiVersion: 'metallb.io/v1beta1',
    kind: 'IPAddressPool',
    metadata: { name, namespace: 'metallb-system' },
    spec: { addresses, ...spec },
  };
}

export function pool(
  name: string,
  addresses: string[],
  spec: Partial<IPAddressPool['spec']> = {},
  namespaces: Namespace[] = [],
): Pool {
  const p = compilePool(poolObj(name, addresses, spec), namespaces);
  if (isCompileError(p)) throw new Error(p.message);
  return p;
}

export function ns(name: string, labels: Record<string, string> = {}): Namespace {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } };
}

export function ips(...texts: string[]): Addr[] {
  return texts.map((t) => {
    const a = parseAddr(t);
    if (!a) throw new Error(`bad ip ${t}`);
    return a;
  });
}
