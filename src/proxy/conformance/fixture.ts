// The fixed world every conformance case runs in: one node (node-a, zone-a) of a two-node
// cluster, and Services/EndpointSlices as API objects covering every Service type and policy
// of service-semantics.md §5. The snapshot is built through the real trackers, so the suite
// also covers the API → snapshot conversion.
import type { EndpointSlice, Service } from '../../api/types.ts';
import { labelKeys } from '../../api/well-known.ts';
import { localhostNodePortsAllowed, resolveNodePortAddresses } from '../eligibility.ts';
import { EndpointsChangeTracker } from '../endpoints.ts';
import { ServiceChangeTracker } from '../services.ts';
import { type ProxySnapshot, ProxyState } from '../snapshot.ts';
import type { NodeInfo } from '../types.ts';

export const node: NodeInfo = Object.freeze({
  name: 'node-a',
  zone: 'zone-a',
  ips: Object.freeze(['10.0.0.10', '192.168.1.10']),
  podCIDRs: Object.freeze(['10.244.0.0/24']),
});

/** `--nodeport-addresses`: 192.168.1.10 is a node address that does not serve NodePorts. */
export const nodePortAddresses = ['10.0.0.0/24', '127.0.0.0/8'];
/** Admin allow-list for spec.externalIPs (CVE-2020-8554). */
export const externalIPAllowCIDRs = ['198.51.100.0/24'];

/** Traffic sources. */
export const src = {
  external: '203.0.113.7',
  pod: '10.244.0.99',
  node: '10.0.0.10',
  loopback: '127.0.0.1',
  inRange: '198.51.100.9',
} as const;

export interface EpSpec {
  ip: string;
  node: string;
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
  zoneHints?: string[];
  nodeHints?: string[];
}

export interface SvcSpec {
  name: string;
  clusterIP: string;
  type?: 'ClusterIP' | 'NodePort' | 'LoadBalancer';
  ports?: { name: string; port: number; targetPort: number; protocol: 'TCP' | 'UDP'; nodePort?: number }[];
  itp?: 'Local';
  etp?: 'Local';
  lbIngress?: { ip: string; ipMode?: 'VIP' | 'Proxy' }[];
  sourceRanges?: string[];
  externalIPs?: string[];
  labels?: Record<string, string>;
  trafficDistribution?: string;
  healthCheckNodePort?: number;
  eps: EpSpec[];
}

const http = (nodePort?: number) => [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' as const, nodePort }];

export const services: readonly SvcSpec[] = [
  {
    name: 'web',
    clusterIP: '10.96.0.10',
    ports: [...http(), { name: 'dns', port: 53, targetPort: 5353, protocol: 'UDP' }],
    eps: [
      { ip: '10.244.0.5', node: 'node-a' },
      { ip: '10.244.1.5', node: 'node-b' },
      { ip: '10.244.1.6', node: 'node-b', ready: false, serving: false },
      { ip: '10.244.1.7', node: 'node-b', ready: false, serving: true, terminating: true },
    ],
  },
  {
    name: 'term',
    clusterIP: '10.96.0.11',
    eps: [
      { ip: '10.244.1.8', node: 'node-b', ready: false, serving: true, terminating: true },
      { ip: '10.244.1.9', node: 'node-b', ready: false, serving: false, terminating: true },
    ],
  },
  {
    name: 'empty',
    clusterIP: '10.96.0.12',
    type: 'NodePort',
    ports: [
      { name: 'http', port: 80, targetPort: 8080, protocol: 'TCP', nodePort: 30090 },
      { name: 'dns', port: 53, targetPort: 5353, protocol: 'UDP', nodePort: 30091 },
    ],
    eps: [],
  },
  {
    name: 'notready',
    clusterIP: '10.96.0.25',
    eps: [{ ip: '10.244.1.25', node: 'node-b', ready: false, serving: false }],
  },
  { name: 'itp-local-remote', clusterIP: '10.96.0.13', itp: 'Local', eps: [{ ip: '10.244.1.13', node: 'node-b' }] },
  {
    name: 'itp-local',
    clusterIP: '10.96.0.14',
    itp: 'Local',
    eps: [
      { ip: '10.244.0.14', node: 'node-a' },
      { ip: '10.244.1.14', node: 'node-b' },
    ],
  },
  {
    name: 'itp-local-terminating',
    clusterIP: '10.96.0.24',
    itp: 'Local',
    eps: [
      { ip: '10.244.0.24', node: 'node-a', ready: false, serving: true, terminating: true },
      { ip: '10.244.1.24', node: 'node-b' },
    ],
  },
  {
    name: 'np',
    clusterIP: '10.96.0.16',
    type: 'NodePort',
    ports: http(30080),
    eps: [
      { ip: '10.244.0.16', node: 'node-a' },
      { ip: '10.244.1.16', node: 'node-b' },
    ],
  },
  {
    name: 'lb-local',
    clusterIP: '10.96.0.17',
    type: 'LoadBalancer',
    ports: http(30081),
    etp: 'Local',
    healthCheckNodePort: 32001,
    lbIngress: [{ ip: '192.0.2.10' }],
    eps: [
      { ip: '10.244.0.17', node: 'node-a' },
      { ip: '10.244.1.17', node: 'node-b' },
    ],
  },
  {
    name: 'lb-local-remote',
    clusterIP: '10.96.0.18',
    type: 'LoadBalancer',
    ports: http(30082),
    etp: 'Local',
    healthCheckNodePort: 32002,
    lbIngress: [{ ip: '192.0.2.11' }],
    eps: [{ ip: '10.244.1.18', node: 'node-b' }],
  },
  {
    name: 'lb-fw',
    clusterIP: '10.96.0.19',
    type: 'LoadBalancer',
    ports: http(30083),
    lbIngress: [{ ip: '192.0.2.12' }],
    // Written with surrounding spaces: the API accepts it (trimmed), so the agent must too.
    sourceRanges: [' 198.51.100.0/24 '],
    eps: [{ ip: '10.244.1.19', node: 'node-b' }],
  },
  {
    name: 'lb-proxy',
    clusterIP: '10.96.0.20',
    type: 'LoadBalancer',
    ports: http(30084),
    lbIngress: [{ ip: '192.0.2.13', ipMode: 'Proxy' }],
    eps: [{ ip: '10.244.1.20', node: 'node-b' }],
  },
  {
    name: 'ext',
    clusterIP: '10.96.0.21',
    externalIPs: ['198.51.100.50', '203.0.113.50'],
    eps: [{ ip: '10.244.1.21', node: 'node-b' }],
  },
  {
    name: 'other-proxy',
    clusterIP: '10.96.0.22',
    labels: { [labelKeys.serviceProxyName]: 'someone-else' },
    eps: [{ ip: '10.244.1.22', node: 'node-b' }],
  },
  {
    name: 'headless-label',
    clusterIP: '10.96.0.23',
    labels: { [labelKeys.headless]: '' },
    eps: [{ ip: '10.244.1.23', node: 'node-b' }],
  },
  {
    name: 'topo-zone',
    clusterIP: '10.96.0.30',
    trafficDistribution: 'PreferClose',
    eps: [
      { ip: '10.244.0.30', node: 'node-a', zoneHints: ['zone-a'] },
      { ip: '10.244.1.30', node: 'node-b', zoneHints: ['zone-b'] },
    ],
  },
  {
    name: 'topo-partial',
    clusterIP: '10.96.0.31',
    trafficDistribution: 'PreferClose',
    eps: [
      { ip: '10.244.0.31', node: 'node-a', zoneHints: ['zone-a'] },
      { ip: '10.244.1.31', node: 'node-b' },
    ],
  },
  {
    name: 'topo-otherzone',
    clusterIP: '10.96.0.32',
    trafficDistribution: 'PreferClose',
    eps: [
      { ip: '10.244.1.32', node: 'node-b', zoneHints: ['zone-b'] },
      { ip: '10.244.1.132', node: 'node-b', zoneHints: ['zone-b'] },
    ],
  },
  {
    name: 'topo-node',
    clusterIP: '10.96.0.33',
    trafficDistribution: 'PreferSameNode',
    eps: [
      { ip: '10.244.0.33', node: 'node-a', zoneHints: ['zone-a'], nodeHints: ['node-a'] },
      { ip: '10.244.1.33', node: 'node-b', zoneHints: ['zone-a'], nodeHints: ['node-b'] },
    ],
  },
];

export function serviceObject(s: SvcSpec): Service {
  const type = s.type ?? 'ClusterIP';
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { namespace: 'default', name: s.name, labels: s.labels },
    spec: {
      type,
      clusterIP: s.clusterIP,
      clusterIPs: [s.clusterIP],
      ports: (s.ports ?? http()).map((p) => ({ ...p, nodePort: type === 'ClusterIP' ? undefined : p.nodePort })),
      selector: { app: s.name },
      internalTrafficPolicy: s.itp ?? 'Cluster',
      externalTrafficPolicy: type === 'ClusterIP' && !s.externalIPs ? undefined : (s.etp ?? 'Cluster'),
      healthCheckNodePort: s.healthCheckNodePort,
      externalIPs: s.externalIPs,
      loadBalancerSourceRanges: s.sourceRanges,
      trafficDistribution: s.trafficDistribution,
    } as Service['spec'],
    status: { loadBalancer: { ingress: s.lbIngress } } as Service['status'],
  };
}

export function sliceObject(s: SvcSpec): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    addressType: 'IPv4',
    metadata: { namespace: 'default', name: `${s.name}-abcde`, labels: { [labelKeys.serviceName]: s.name } },
    ports: (s.ports ?? http()).map((p) => ({ name: p.name, port: p.targetPort, protocol: p.protocol })),
    endpoints: s.eps.map((e) => ({
      addresses: [e.ip],
      nodeName: e.node,
      zone: e.node === node.name ? node.zone : 'zone-b',
      conditions: {
        ready: e.ready ?? true,
        serving: e.serving ?? e.ready ?? true,
        terminating: e.terminating ?? false,
      },
      hints:
        e.zoneHints || e.nodeHints
          ? ({
              forZones: e.zoneHints?.map((name) => ({ name })),
              forNodes: e.nodeHints?.map((name) => ({ name })),
            } as { forZones?: { name: string }[] })
          : undefined,
    })),
  };
}

/** The fixture's snapshot, built through the trackers the agent uses. */
export function fixtureSnapshot(): ProxySnapshot {
  return snapshotOfSpecs(services, { node, nodePortAddresses, externalIPAllowCIDRs });
}

/** Services and their endpoints as API objects, through the agent's trackers, into a snapshot. */
export function snapshotOfSpecs(
  specs: readonly SvcSpec[],
  o: { node: NodeInfo; nodePortAddresses: readonly string[]; externalIPAllowCIDRs: readonly string[] },
): ProxySnapshot {
  const svcs = new ServiceChangeTracker({ externalIPAllowCIDRs: o.externalIPAllowCIDRs, defaultConnectRetries: 2 });
  const eps = new EndpointsChangeTracker(o.node.name, () => 0);
  for (const s of specs) {
    svcs.update(undefined, serviceObject(s));
    if (s.eps.length > 0) eps.update(undefined, sliceObject(s));
  }
  const state = new ProxyState();
  state.apply(svcs.take(), eps.take(), true);
  return state.snapshot(
    o.node,
    resolveNodePortAddresses(o.nodePortAddresses, o.node.ips),
    localhostNodePortsAllowed(o.nodePortAddresses),
  );
}
