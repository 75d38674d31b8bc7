// Well-known label and annotation keys, one table for every component: Kubernetes'
// (kubernetes/api core/v1 well_known_labels.go and annotation_key_constants.go, discovery/v1
// well_known_labels.go), MetalLB's, and svcnet's own.

export const labelKeys = {
  /** EndpointSlice → its Service. */
  serviceName: 'kubernetes.io/service-name',
  /** EndpointSlice: the controller that owns it. */
  managedBy: 'endpointslice.kubernetes.io/managed-by',
  /** Service: no VIP path even with a cluster IP (5.1); EndpointSlice: the Service is headless. */
  headless: 'service.kubernetes.io/headless',
  /** Service: meant for another proxy (5.1). */
  serviceProxyName: 'service.kubernetes.io/service-proxy-name',
  topologyZone: 'topology.kubernetes.io/zone',
  hostname: 'kubernetes.io/hostname',
  os: 'kubernetes.io/os',
  /** Namespace: its own name, immutable. */
  metadataName: 'kubernetes.io/metadata.name',
  /** Pods and ReplicaSets of a Deployment: which pod template they run (apps/v1 DefaultDeploymentUniqueLabelKey). */
  podTemplateHash: 'pod-template-hash',
  /** Node: never a backend of an external load balancer (the service controller skips it). */
  excludeFromExternalLoadBalancers: 'node.kubernetes.io/exclude-from-external-load-balancers',
  /**
   * IPAddressPool: reserved for the load-balancer provider of this name (svcnet.io/lb-provider=haproxy);
   * the IPAM never allocates from it, and a provider allocates only from pools that name it.
   */
  lbProvider: 'svcnet.io/lb-provider',
} as const;

export const finalizerKeys = {
  /** Service: the service controller still has a load balancer to delete (cloud-provider's). */
  loadBalancerCleanup: 'service.kubernetes.io/load-balancer-cleanup',
} as const;

export const taintKeys = {
  /** Node: the cluster autoscaler is about to delete it; no new load-balancer traffic. */
  toBeDeletedByClusterAutoscaler: 'ToBeDeletedByClusterAutoscaler',
} as const;

/** spec.loadBalancerClass values svcnet answers to besides the unset class. */
export const loadBalancerClasses = {
  /** The MetalLB-compatible IPAM, when a provider serves the unset class. */
  ipam: 'svcnet.io/ipam',
  /** A provider by name (svcnet.io/haproxy, …), whichever component serves the unset class. */
  provider: (name: string) => `svcnet.io/${name}`,
} as const;

export const annotationKeys = {
  endpointsLastChangeTriggerTime: 'endpoints.kubernetes.io/last-change-trigger-time',
  endpointsOverCapacity: 'endpoints.kubernetes.io/over-capacity',
  /** The leader-election record the legacy Endpoints controller never mirrors. */
  endpointsLeader: 'control-plane.alpha.kubernetes.io/leader',
  topologyMode: 'service.kubernetes.io/topology-mode',
  /** The pre-1.27 spelling of topology-mode, still honoured upstream. */
  topologyAwareHints: 'service.kubernetes.io/topology-aware-hints',
  loadBalancerSourceRanges: 'service.beta.kubernetes.io/load-balancer-source-ranges',
  tolerateUnreadyEndpoints: 'service.alpha.kubernetes.io/tolerate-unready-endpoints',
  metallbAddressPool: 'metallb.io/address-pool',
  metallbLoadBalancerIPs: 'metallb.io/loadBalancerIPs',
  metallbAllowSharedIP: 'metallb.io/allow-shared-ip',
  metallbIPAllocatedFromPool: 'metallb.io/ip-allocated-from-pool',
  /** Balancing algorithm of the userspace plane (random, round-robin, least-connections). */
  lbAlgorithm: 'svcnet.io/lb-algorithm',
  /** Other endpoints the userspace plane tries within one connection after a failed connect. */
  connectRetries: 'svcnet.io/connect-retries',
  /** Node: where its svcnet agent serves /healthz, /metrics and /explain ("host:port"). */
  proxyHealthz: 'svcnet.io/proxy-healthz',
  /** IPVS scheduler of one Service (rr, wrr, lc, sh, mh, …); the IPVS plane validates it. */
  ipvsScheduler: 'svcnet.io/ipvs-scheduler',
  /** Deployment and its ReplicaSets: the rollout sequence number (deployment util RevisionAnnotation). */
  deploymentRevision: 'deployment.kubernetes.io/revision',
  /** ReplicaSet rolled back to: the revisions it served before. */
  deploymentRevisionHistory: 'deployment.kubernetes.io/revision-history',
  /** ReplicaSet: the Deployment's replicas when it was last scaled, to tell scaling from rolling out. */
  deploymentDesiredReplicas: 'deployment.kubernetes.io/desired-replicas',
  /** ReplicaSet: replicas + maxSurge at that time, for proportional scaling. */
  deploymentMaxReplicas: 'deployment.kubernetes.io/max-replicas',
  /** Why a revision was made, shown by `kubectl rollout history`. */
  changeCause: 'kubernetes.io/change-cause',
  /** Pod: lower cost goes first when a ReplicaSet scales down. */
  podDeletionCost: 'controller.kubernetes.io/pod-deletion-cost',
  /** What `kubectl apply` last applied (client-side apply). */
  lastAppliedConfiguration: 'kubectl.kubernetes.io/last-applied-configuration',
  /** Node of a svcnet lab: which lab (the hash its namespaces are named by). */
  labId: 'lab.svcnet.io/lab',
  /** Node of a svcnet lab: the lab LAN's CIDR (where `svcnet node set-ip` may move it). */
  labLan: 'lab.svcnet.io/lan',
  /** Node of a svcnet lab: "off" asks the lab to stop the node as if it died, "on" to start it. */
  labPower: 'lab.svcnet.io/power',
  /** Node of a svcnet lab: the power state the lab reached ("on" or "off"). */
  labPowerState: 'lab.svcnet.io/power-state',
  /** Node of a svcnet lab: the InternalIP asked for (`svcnet node set-ip`). */
  labInternalIP: 'lab.svcnet.io/internal-ip',
  /** Node of a svcnet lab: the InternalIP the node and its agent run with. */
  labInternalIPState: 'lab.svcnet.io/internal-ip-state',
  /** apps/v1beta1 rollbacks, never copied between a Deployment and its ReplicaSets. */
  deprecatedRollbackTo: 'deprecated.deployment.rollback.to',
} as const;

/** MetalLB still honours its old annotation prefix; the metallb.io spellings win. */
export const metallbDeprecatedPrefix = 'metallb.universe.tf/';
