// The agent's view of Services and endpoints, decided once for every data plane (kube-proxy's
// ServicePort / Endpoint interfaces in pkg/proxy/servicechangetracker.go and endpoint.go).
// Everything here is plain, frozen data: a snapshot (snapshot.ts) hands it to a data plane,
// which must not mutate it.

import { joinHostPort } from '../api/ip.ts';

/** "namespace/name" of a Service. */
export type ServiceKey = string & { readonly __brand: 'ServiceKey' };
/** "namespace/name:portName/PROTO" — kube-proxy's ServicePortName (port name may be empty). */
export type ServicePortKey = string & { readonly __brand: 'ServicePortKey' };
/** "ip:port" ("[ip]:port" for IPv6) of an endpoint. */
export type EndpointKey = string & { readonly __brand: 'EndpointKey' };

export type Protocol = 'TCP' | 'UDP' | 'SCTP';

export function serviceKey(namespace: string, name: string): ServiceKey {
  return `${namespace}/${name}` as ServiceKey;
}

export function servicePortKey(svc: ServiceKey, portName: string, protocol: Protocol): ServicePortKey {
  return `${svc}:${portName}/${protocol}` as ServicePortKey;
}

export function endpointKey(ip: string, port: number): EndpointKey {
  return joinHostPort(ip, port) as EndpointKey;
}

/** Balancing algorithm chosen per Service by the `svcnet.io/lb-algorithm` annotation. */
export type LbAlgorithm = 'random' | 'round-robin' | 'least-connections';

export interface ServicePortInfo {
  readonly key: ServicePortKey;
  readonly service: ServiceKey;
  readonly namespace: string;
  readonly name: string;
  readonly portName: string;
  readonly protocol: Protocol;
  readonly type: 'ClusterIP' | 'NodePort' | 'LoadBalancer';
  /** All cluster IPs (one per family). */
  readonly clusterIPs: readonly string[];
  readonly port: number;
  /** 0 when the Service has none. */
  readonly nodePort: number;
  /**
   * External IPs the admin allow-list permits (CVE-2020-8554: any user who can create a
   * Service could otherwise capture traffic to any address).
   */
  readonly externalIPs: readonly string[];
  /** External IPs present in the spec but refused by the allow-list (for explain/metrics). */
  readonly deniedExternalIPs: readonly string[];
  /** status.loadBalancer.ingress IPs, without those with ipMode Proxy (the LB proxies to the node). */
  readonly loadBalancerIPs: readonly string[];
  readonly loadBalancerSourceRanges: readonly string[];
  readonly internalPolicyLocal: boolean;
  readonly externalPolicyLocal: boolean;
  /** 0 when none (only LoadBalancer + externalTrafficPolicy Local has one). */
  readonly healthCheckNodePort: number;
  /** ClientIP affinity timeout in seconds; undefined without affinity. */
  readonly affinityTimeoutSeconds: number | undefined;
  readonly trafficDistribution: string | undefined;
  readonly lbAlgorithm: LbAlgorithm;
  /** Other endpoints tried within one client connection after a failed connect. */
  readonly connectRetries: number;
  /** The `svcnet.io/ipvs-scheduler` annotation as written (the IPVS plane validates it). */
  readonly ipvsScheduler?: string;
}

export interface EndpointInfo {
  readonly key: EndpointKey;
  readonly ip: string;
  readonly port: number;
  readonly ready: boolean;
  readonly serving: boolean;
  readonly terminating: boolean;
  readonly nodeName: string | undefined;
  readonly zone: string | undefined;
  readonly zoneHints: readonly string[];
  readonly nodeHints: readonly string[];
  /** nodeName equals this agent's node. */
  readonly isLocal: boolean;
}

/** What the agent knows about the node it runs on. */
export interface NodeInfo {
  readonly name: string;
  /** topology.kubernetes.io/zone of the Node object; "" when unknown. */
  readonly zone: string;
  /** The node's own addresses (primary first). */
  readonly ips: readonly string[];
  /** Pod CIDRs of this node: sources inside are "pod traffic" (5.6, 5.7a). */
  readonly podCIDRs: readonly string[];
}
