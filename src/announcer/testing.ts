// Builders for World fixtures in the announcer's unit tests.
import type { EndpointSlice, Node, Service } from '../api/types.ts';
import type { World } from './world.ts';

export function node(name: string, labels: Record<string, string> = {}, ready = 'True'): Node {
  return {
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...labels } },
    status: { conditions: [{ type: 'Ready', status: ready }] },
  };
}

export function lbService(
  name: string,
  ip: string | string[],
  opts: { pool?: string; policy?: 'Local' | 'Cluster'; lbClass?: string; ipMode?: 'VIP' | 'Proxy' } = {},
): Service {
  return {
    metadata: {
      namespace: 'default',
      name,
      annotations: { 'metallb.io/ip-allocated-from-pool': opts.pool ?? 'pool' },
    },
    spec: {
      type: 'LoadBalancer',
      externalTrafficPolicy: opts.policy ?? 'Cluster',
      ...(opts.lbClass ? { loadBalancerClass: opts.lbClass } : {}),
    },
    status: {
      loadBalancer: {
        ingress: (Array.isArray(ip) ? ip : [ip]).map((x) => ({
          ip: x,
          ...(opts.ipMode ? { ipMode: opts.ipMode } : {}),
        })),
      },
    },
  };
}

export function slice(service: string, endpoints: { node: string; ready?: boolean }[]): EndpointSlice {
  return {
    metadata: { namespace: 'default', name: `${service}-x`, labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4',
    endpoints: endpoints.map((e, i) => ({
      addresses: [`10.244.0.${i + 2}`],
      nodeName: e.node,
      conditions: { ready: e.ready ?? true },
    })),
  };
}

export function world(over: Partial<World> = {}): World {
  const nodes = over.nodes ?? [node('n1'), node('n2'), node('n3')];
  return {
    self: 'n1',
    nowMs: 10_000,
    nodes,
    livenessSeenMs: new Map(nodes.map((n) => [n.metadata?.name ?? '', 10_000])),
    livenessTimeoutMs: 600,
    services: [],
    slices: [],
    pools: [{ metadata: { name: 'pool', labels: { tier: 'front' } }, spec: { addresses: ['192.0.2.0/24'] } }],
    l2: [{ metadata: { name: 'l2' } }],
    bgpAdvertisements: [],
    peers: [],
    communities: [],
    bfdProfiles: [],
    ...over,
  };
}
