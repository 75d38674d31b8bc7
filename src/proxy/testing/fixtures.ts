// Builders for snapshots in the data planes' tests and benchmarks (not used at runtime).
import { endpointInfo } from '../endpoints.ts';
import type { ProxySnapshot } from '../snapshot.ts';
import {
  type EndpointInfo,
  type NodeInfo,
  type Protocol,
  type ServicePortInfo,
  type ServicePortKey,
  serviceKey,
  servicePortKey,
} from '../types.ts';

export function svcPort(
  ns: string,
  name: string,
  o: Partial<Omit<ServicePortInfo, 'key' | 'service' | 'namespace' | 'name'>> & { clusterIPs: readonly string[] },
): ServicePortInfo {
  const protocol: Protocol = o.protocol ?? 'TCP';
  const portName = o.portName ?? '';
  const sk = serviceKey(ns, name);
  return Object.freeze({
    key: servicePortKey(sk, portName, protocol),
    service: sk,
    namespace: ns,
    name,
    portName,
    protocol,
    type: o.type ?? (o.nodePort ? 'NodePort' : 'ClusterIP'),
    clusterIPs: o.clusterIPs,
    port: o.port ?? 80,
    nodePort: o.nodePort ?? 0,
    externalIPs: o.externalIPs ?? [],
    deniedExternalIPs: o.deniedExternalIPs ?? [],
    loadBalancerIPs: o.loadBalancerIPs ?? [],
    loadBalancerSourceRanges: o.loadBalancerSourceRanges ?? [],
    internalPolicyLocal: o.internalPolicyLocal ?? false,
    externalPolicyLocal: o.externalPolicyLocal ?? false,
    healthCheckNodePort: o.healthCheckNodePort ?? 0,
    affinityTimeoutSeconds: o.affinityTimeoutSeconds,
    trafficDistribution: o.trafficDistribution,
    lbAlgorithm: o.lbAlgorithm ?? 'random',
    connectRetries: o.connectRetries ?? 0,
  });
}

/** Built like the agent's own endpoints (endpointInfo), so benchmarks measure the real shape. */
export function ep(ip: string, port: number, o: Partial<Omit<EndpointInfo, 'key' | 'ip' | 'port'>> = {}): EndpointInfo {
  return endpointInfo({
    ip,
    port,
    ready: o.ready ?? true,
    serving: o.serving ?? o.ready ?? true,
    terminating: o.terminating ?? false,
    nodeName: o.nodeName ?? (o.isLocal ? 'node-a' : 'node-b'),
    zone: o.zone,
    zoneHints: o.zoneHints,
    nodeHints: o.nodeHints,
    isLocal: o.isLocal ?? false,
  });
}

export const testNode: NodeInfo = Object.freeze({
  name: 'node-a',
  zone: '',
  ips: ['192.168.77.1', 'fd77::1'],
  podCIDRs: ['10.244.0.0/24', 'fd44::/64'],
});

let generation = 0;

export function snapshotOf(
  entries: readonly (readonly [ServicePortInfo, readonly EndpointInfo[]])[],
  o: Partial<Pick<ProxySnapshot, 'node' | 'nodePortIPs' | 'localhostNodePorts'>> = {},
): ProxySnapshot {
  const services = new Map<ServicePortKey, ServicePortInfo>();
  const endpoints = new Map<ServicePortKey, readonly EndpointInfo[]>();
  for (const [s, eps] of entries) {
    services.set(s.key, s);
    if (eps.length > 0) endpoints.set(s.key, eps);
  }
  const node = o.node ?? testNode;
  return {
    generation: ++generation,
    node,
    services,
    endpoints,
    nodePortIPs: o.nodePortIPs ?? node.ips,
    localhostNodePorts: o.localhostNodePorts ?? false,
  };
}
