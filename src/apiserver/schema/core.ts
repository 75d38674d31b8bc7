// core/v1 ("" group): field numbers from k8s.io/api/core/v1/generated.proto (as compiled into
// kubectl 1.32), patch strategies from the struct tags in core/v1/types.go. Pod is modelled down to
// what svcnet's lab and endpoints controllers read; the rest is "any".
import { Condition, ObjectMeta, TypeMeta } from './meta.ts';
import { atomicType, type MessageSchema } from './types.ts';

const anyField = { t: 'any' } as const;

export const ObjectReference = atomicType({
  kind: { n: 1, t: 'string' },
  namespace: { n: 2, t: 'string' },
  name: { n: 3, t: 'string' },
  uid: { n: 4, t: 'string' },
  apiVersion: { n: 5, t: 'string' },
  resourceVersion: { n: 6, t: 'string' },
  fieldPath: { n: 7, t: 'string' },
} as const satisfies MessageSchema);

export const LocalObjectReference = atomicType({
  name: { n: 1, t: 'string' },
} as const satisfies MessageSchema);

// ---- Service -------------------------------------------------------------------------------

export const ServicePort = {
  name: { n: 1, t: 'string' },
  protocol: { n: 2, t: 'string', dflt: 'TCP', enum: ['SCTP', 'TCP', 'UDP'] },
  appProtocol: { n: 6, t: 'string', ptr: true },
  port: { n: 3, t: 'int32' },
  targetPort: { n: 4, t: 'intOrString' },
  nodePort: { n: 5, t: 'int32' },
} as const satisfies MessageSchema;

export const SessionAffinityConfig = {
  clientIP: { n: 1, t: 'object', ptr: true, of: { timeoutSeconds: { n: 1, t: 'int32', ptr: true } } },
} as const satisfies MessageSchema;

export const ServiceSpec = {
  // Merged by port alone: the tag predates (port, protocol) list-map keys used by server-side apply.
  ports: { n: 1, t: 'array', of: ServicePort, patch: 'merge', key: 'port', list: 'map', keys: ['port', 'protocol'] },
  selector: { n: 2, t: 'map', of: 'string', atomic: true },
  clusterIP: { n: 3, t: 'string' },
  clusterIPs: { n: 18, t: 'array', of: 'string' },
  type: { n: 4, t: 'string', enum: ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'] },
  externalIPs: { n: 5, t: 'array', of: 'string' },
  sessionAffinity: { n: 7, t: 'string', enum: ['ClientIP', 'None'] },
  loadBalancerIP: { n: 8, t: 'string' },
  loadBalancerSourceRanges: { n: 9, t: 'array', of: 'string' },
  externalName: { n: 10, t: 'string' },
  externalTrafficPolicy: { n: 11, t: 'string', enum: ['Cluster', 'Local'] },
  healthCheckNodePort: { n: 12, t: 'int32' },
  publishNotReadyAddresses: { n: 13, t: 'bool' },
  sessionAffinityConfig: { n: 14, t: 'object', of: SessionAffinityConfig, ptr: true },
  ipFamilies: { n: 19, t: 'array', of: 'string' },
  ipFamilyPolicy: { n: 17, t: 'string', ptr: true, enum: ['PreferDualStack', 'RequireDualStack', 'SingleStack'] },
  allocateLoadBalancerNodePorts: { n: 20, t: 'bool', ptr: true },
  loadBalancerClass: { n: 21, t: 'string', ptr: true },
  internalTrafficPolicy: { n: 22, t: 'string', ptr: true, enum: ['Cluster', 'Local'] },
  trafficDistribution: { n: 23, t: 'string', ptr: true },
} as const satisfies MessageSchema;

export const PortStatus = {
  port: { n: 1, t: 'int32' },
  protocol: { n: 2, t: 'string' },
  error: { n: 3, t: 'string', ptr: true },
} as const satisfies MessageSchema;

export const LoadBalancerIngress = {
  ip: { n: 1, t: 'string' },
  hostname: { n: 2, t: 'string' },
  ipMode: { n: 3, t: 'string', ptr: true },
  ports: { n: 4, t: 'array', of: PortStatus },
} as const satisfies MessageSchema;

export const ServiceStatus = {
  loadBalancer: { n: 1, t: 'object', of: { ingress: { n: 1, t: 'array', of: LoadBalancerIngress } } },
  conditions: { n: 2, t: 'array', of: Condition, patch: 'merge', key: 'type' },
} as const satisfies MessageSchema;

export const Service = {
  ...TypeMeta,
  metadata: { n: 1, t: 'object', of: ObjectMeta },
  spec: { n: 2, t: 'object', of: ServiceSpec },
  status: { n: 3, t: 'object', of: ServiceStatus },
} as const satisfies MessageSchema;

// ---- Endpoints -----------------------------------------------------------------------------

export const EndpointAddress = {
  ip: { n: 1, t: 'string' },
  hostname: { n: 3, t: 'string' },
  nodeName: { n: 4, t: 'string', ptr: true },
  targetRef: { n: 2, t: 'object', of: ObjectReference, ptr: true },
} as const satisfies MessageSchema;

export const CoreEndpointPort = {
  name: { n: 1, t: 'string' },
  port: { n: 2, t: 'int32' },
  protocol: { n: 3, t: 'string' },
  appProtocol: { n: 4, t: 'string', ptr: true },
} as const satisfies MessageSchema;

export const EndpointSubset = {
  addresses: { n: 1, t: 'array', of: EndpointAddress },
  notReadyAddresses: { n: 2, t: 'array', of: EndpointAddress },
  ports: { n: 3, t: 'array', of: CoreEndpointPort },
} as const satisfies MessageSchema;

export const Endpoints = {
  ...TypeMeta,
  metadata: { n: 1, t: 'object', of: ObjectMeta },
  subsets: { n: 2, t: 'array', of: EndpointSubset },
} as const satisfies MessageSchema;

// ---- Pod -----------------------------------------------------------------------------------

export const ContainerPort = {
  name: { n: 1, t: 'string' },
  hostPort: { n: 2, t: 'int32' },
  containerPort: { n: 3, t: 'int32' },
  protocol: { n: 4, t: 'string', dflt: 'TCP', enum: ['SCTP', 'TCP', 'UDP'] },
  hostIP: { n: 5, t: 'string' },
} as const satisfies MessageSchema;

const KeySelector = {
  localObjectReference: { n: 1, t: 'object', of: LocalObjectReference, inline: true },
  key: { n: 2, t: 'string' },
  optional: { n: 3, t: 'bool', ptr: true },
} as const satisfies MessageSchema;

export const EnvVarSource = {
  fieldRef: {
    n: 1,
    t: 'object',
    ptr: true,
    of: { apiVersion: { n: 1, t: 'string' }, fieldPath: { n: 2, t: 'string' } },
  },
  resourceFieldRef: {
    n: 2,
    t: 'object',
    ptr: true,
    of: {
      containerName: { n: 1, t: 'string' },
      resource: { n: 2, t: 'string' },
      divisor: { n: 3, t: 'quantity' },
    },
  },
  configMapKeyRef: { n: 3, t: 'object', of: KeySelector, ptr: true },
  secretKeyRef: { n: 4, t: 'object', of: KeySelector, ptr: true },
} as const satisfies MessageSchema;

export const EnvVar = {
  name: { n: 1, t: 'string' },
  value: { n: 2, t: 'string' },
  valueFrom: { n: 3, t: 'object', of: EnvVarSource, ptr: true },
} as const satisfies MessageSchema;

const EnvSourceRef = {
  localObjectReference: { n: 1, t: 'object', of: LocalObjectReference, inline: true },
  optional: { n: 2, t: 'bool', ptr: true },
} as const satisfies MessageSchema;

export const EnvFromSource = {
  prefix: { n: 1, t: 'string' },
  configMapRef: { n: 2, t: 'object', of: EnvSourceRef, ptr: true },
  secretRef: { n: 3, t: 'object', of: EnvSourceRef, ptr: true },
} as const satisfies MessageSchema;

export const HTTPGetAction = {
  path: { n: 1, t: 'string' },
  port: { n: 2, t: 'intOrString' },
  host: { n: 3, t: 'string' },
  scheme: { n: 4, t: 'string' },
  httpHeaders: { n: 5, t: 'array', of: { name: { n: 1, t: 'string' }, value: { n: 2, t: 'string' } } },
} as const satisfies MessageSchema;

const ExecAction = { command: { n: 1, t: 'array', of: 'string' } } as const satisfies MessageSchema;
const TCPSocketAction = {
  port: { n: 1, t: 'intOrString' },
  host: { n: 2, t: 'string' },
} as const satisfies MessageSchema;

export const ProbeHandler = {
  exec: { n: 1, t: 'object', of: ExecAction, ptr: true },
  httpGet: { n: 2, t: 'object', of: HTTPGetAction, ptr: true },
  tcpSocket: { n: 3, t: 'object', of: TCPSocketAction, ptr: true },
  grpc: {
    n: 4,
    t: 'object',
    ptr: true,
    of: { port: { n: 1, t: 'int32' }, service: { n: 2, t: 'string', ptr: true } },
  },
} as const satisfies MessageSchema;

export const Probe = {
  handler: { n: 1, t: 'object', of: ProbeHandler, inline: true },
  initialDelaySeconds: { n: 2, t: 'int32' },
  timeoutSeconds: { n: 3, t: 'int32' },
  periodSeconds: { n: 4, t: 'int32' },
  successThreshold: { n: 5, t: 'int32' },
  failureThreshold: { n: 6, t: 'int32' },
  terminationGracePeriodSeconds: { n: 7, t: 'int64', ptr: true },
} as const satisfies MessageSchema;

export const LifecycleHandler = {
  exec: { n: 1, t: 'object', of: ExecAction, ptr: true },
  httpGet: { n: 2, t: 'object', of: HTTPGetAction, ptr: true },
  tcpSocket: { n: 3, t: 'object', of: TCPSocketAction, ptr: true },
  sleep: { n: 4, t: 'object', ptr: true, of: { seconds: { n: 1, t: 'int64' } } },
} as const satisfies MessageSchema;

export const ResourceRequirements = {
  limits: { n: 1, t: 'map', of: 'quantity' },
  requests: { n: 2, t: 'map', of: 'quantity' },
  claims: { n: 3, t: 'array', of: { name: { n: 1, t: 'string' }, request: { n: 2, t: 'string' } } },
} as const satisfies MessageSchema;

export const VolumeMount = {
  name: { n: 1, t: 'string' },
  readOnly: { n: 2, t: 'bool' },
  recursiveReadOnly: { n: 7, t: 'string', ptr: true },
  mountPath: { n: 3, t: 'string' },
  subPath: { n: 4, t: 'string' },
  mountPropagation: { n: 5, t: 'string', ptr: true },
  subPathExpr: { n: 6, t: 'string' },
} as const satisfies MessageSchema;

export const Container = {
  name: { n: 1, t: 'string' },
  image: { n: 2, t: 'string' },
  command: { n: 3, t: 'array', of: 'string' },
  args: { n: 4, t: 'array', of: 'string' },
  workingDir: { n: 5, t: 'string' },
  ports: {
    n: 6,
    t: 'array',
    of: ContainerPort,
    patch: 'merge',
    key: 'containerPort',
    list: 'map',
    keys: ['containerPort', 'protocol'],
  },
  envFrom: { n: 19, t: 'array', of: EnvFromSource },
  env: { n: 7, t: 'array', of: EnvVar, patch: 'merge', key: 'name' },
  resources: { n: 8, t: 'object', of: ResourceRequirements },
  resizePolicy: {
    n: 23,
    t: 'array',
    of: { resourceName: { n: 1, t: 'string' }, restartPolicy: { n: 2, t: 'string' } },
  },
  restartPolicy: { n: 24, t: 'string', ptr: true },
  volumeMounts: { n: 9, t: 'array', of: VolumeMount, patch: 'merge', key: 'mountPath' },
  volumeDevices: {
    n: 21,
    t: 'array',
    of: { name: { n: 1, t: 'string' }, devicePath: { n: 2, t: 'string' } },
    patch: 'merge',
    key: 'devicePath',
  },
  livenessProbe: { n: 10, t: 'object', of: Probe, ptr: true },
  readinessProbe: { n: 11, t: 'object', of: Probe, ptr: true },
  startupProbe: { n: 22, t: 'object', of: Probe, ptr: true },
  lifecycle: {
    n: 12,
    t: 'object',
    ptr: true,
    of: {
      postStart: { n: 1, t: 'object', of: LifecycleHandler, ptr: true },
      preStop: { n: 2, t: 'object', of: LifecycleHandler, ptr: true },
    },
  },
  terminationMessagePath: { n: 13, t: 'string' },
  terminationMessagePolicy: { n: 20, t: 'string' },
  imagePullPolicy: { n: 14, t: 'string' },
  securityContext: anyField,
  stdin: { n: 16, t: 'bool' },
  stdinOnce: { n: 17, t: 'bool' },
  tty: { n: 18, t: 'bool' },
} as const satisfies MessageSchema;

export const Toleration = {
  key: { n: 1, t: 'string' },
  operator: { n: 2, t: 'string' },
  value: { n: 3, t: 'string' },
  effect: { n: 4, t: 'string' },
  tolerationSeconds: { n: 5, t: 'int64', ptr: true },
} as const satisfies MessageSchema;

export const PodSpec = {
  // Volume sources are many and unmodelled: name is the merge key, the rest passes unchecked.
  volumes: {
    n: 1,
    t: 'array',
    of: { name: { n: 1, t: 'string' }, '*': anyField },
    patch: 'merge,retainKeys',
    key: 'name',
  },
  initContainers: { n: 20, t: 'array', of: Container, patch: 'merge', key: 'name' },
  containers: { n: 2, t: 'array', of: Container, patch: 'merge', key: 'name' },
  ephemeralContainers: { t: 'array', of: 'any', patch: 'merge', key: 'name' },
  restartPolicy: { n: 3, t: 'string' },
  terminationGracePeriodSeconds: { n: 4, t: 'int64', ptr: true },
  activeDeadlineSeconds: { n: 5, t: 'int64', ptr: true },
  dnsPolicy: { n: 6, t: 'string' },
  nodeSelector: { n: 7, t: 'map', of: 'string' },
  serviceAccountName: { n: 8, t: 'string' },
  serviceAccount: { n: 9, t: 'string' },
  automountServiceAccountToken: { n: 21, t: 'bool', ptr: true },
  nodeName: { n: 10, t: 'string' },
  hostNetwork: { n: 11, t: 'bool' },
  hostPID: { n: 12, t: 'bool' },
  hostIPC: { n: 13, t: 'bool' },
  shareProcessNamespace: { n: 27, t: 'bool', ptr: true },
  securityContext: anyField,
  imagePullSecrets: { n: 15, t: 'array', of: LocalObjectReference, patch: 'merge', key: 'name' },
  hostname: { n: 16, t: 'string' },
  subdomain: { n: 17, t: 'string' },
  affinity: anyField,
  schedulerName: { n: 19, t: 'string' },
  tolerations: { n: 22, t: 'array', of: Toleration },
  hostAliases: {
    n: 23,
    t: 'array',
    of: { ip: { n: 1, t: 'string' }, hostnames: { n: 2, t: 'array', of: 'string' } },
    patch: 'merge',
    key: 'ip',
  },
  priorityClassName: { n: 24, t: 'string' },
  priority: { n: 25, t: 'int32', ptr: true },
  dnsConfig: anyField,
  readinessGates: { n: 28, t: 'array', of: { conditionType: { n: 1, t: 'string' } } },
  runtimeClassName: { n: 29, t: 'string', ptr: true },
  enableServiceLinks: { n: 30, t: 'bool', ptr: true },
  preemptionPolicy: { n: 31, t: 'string', ptr: true },
  overhead: { n: 32, t: 'map', of: 'quantity' },
  topologySpreadConstraints: { t: 'array', of: 'any', patch: 'merge', key: 'topologyKey' },
  setHostnameAsFQDN: { n: 35, t: 'bool', ptr: true },
  os: { n: 36, t: 'object', ptr: true, of: { name: { n: 1, t: 'string' } } },
  hostUsers: { n: 37, t: 'bool', ptr: true },
  schedulingGates: { n: 38, t: 'array', of: { name: { n: 1, t: 'string' } }, patch: 'merge', key: 'name' },
  resourceClaims: { t: 'array', of: 'any', patch: 'merge,retainKeys', key: 'name' },
  resources: { n: 40, t: 'object', of: ResourceRequirements, ptr: true },
} as const satisfies MessageSchema;

export const PodCondition = {
  type: { n: 1, t: 'string' },
  status: { n: 2, t: 'string' },
  lastProbeTime: { n: 3, t: 'time' },
  lastTransitionTime: { n: 4, t: 'time' },
  reason: { n: 5, t: 'string' },
  message: { n: 6, t: 'string' },
} as const satisfies MessageSchema;

const IP = { ip: { n: 1, t: 'string' } } as const satisfies MessageSchema;

export const ContainerStatus = {
  name: { n: 1, t: 'string' },
  state: anyField,
  lastState: anyField,
  ready: { n: 4, t: 'bool' },
  restartCount: { n: 5, t: 'int32' },
  image: { n: 6, t: 'string' },
  imageID: { n: 7, t: 'string' },
  containerID: { n: 8, t: 'string' },
  started: { n: 9, t: 'bool', ptr: true },
  allocatedResources: { n: 10, t: 'map', of: 'quantity' },
  resources: { n: 11, t: 'object', of: ResourceRequirements, ptr: true },
  volumeMounts: anyField,
  user: anyField,
  allocatedResourcesStatus: { t: 'array', of: 'any', patch: 'merge', key: 'name' },
} as const satisfies MessageSchema;

export const PodStatus = {
  phase: { n: 1, t: 'string' },
  conditions: { n: 2, t: 'array', of: PodCondition, patch: 'merge', key: 'type' },
  message: { n: 3, t: 'string' },
  reason: { n: 4, t: 'string' },
  nominatedNodeName: { n: 11, t: 'string' },
  hostIP: { n: 5, t: 'string' },
  hostIPs: { n: 16, t: 'array', of: IP, patch: 'merge', key: 'ip' },
  podIP: { n: 6, t: 'string' },
  podIPs: { n: 12, t: 'array', of: IP, patch: 'merge', key: 'ip' },
  startTime: { n: 7, t: 'time', ptr: true },
  initContainerStatuses: { n: 10, t: 'array', of: ContainerStatus },
  containerStatuses: { n: 8, t: 'array', of: ContainerStatus },
  qosClass: { n: 9, t: 'string' },
  ephemeralContainerStatuses: { n: 13, t: 'array', of: ContainerStatus },
  resize: { n: 14, t: 'string' },
  resourceClaimStatuses: { t: 'array', of: 'any', patch: 'merge,retainKeys', key: 'name' },
} as const satisfies MessageSchema;

export const Pod = {
  ...TypeMeta,
  metadata: { n: 1, t: 'object', of: ObjectMeta },
  spec: { n: 2, t: 'object', of: PodSpec },
  status: { n: 3, t: 'object', of: PodStatus },
} as const satisfies MessageSchema;

export const PodTemplateSpec = {
  metadata: { n: 1, t: 'object', of: ObjectMeta },
  spec: { n: 2, t: 'object', of: PodSpec },
} as const satisfies MessageSchema;

// ---- Node ----------------------------------------------------------------------------------

export const Taint = {
  key: { n: 1, t: 'string' },
  value: { n: 2, t: 'string' },
  effect: { n: 3, t: 'string' },
  timeAdded: { n: 4, t: 'time', ptr: true },
} as const satisfies MessageSchema;

export const NodeSpec = {
  podCIDR: { n: 1, t: 'string' },
  podCIDRs: { n: 7, t: 'array', of: 'string', patch: 'merge' },
  providerID: { n: 3, t: 'string' },
  unschedulable: { n: 4, t: 'bool' },
  taints: { n: 5, t: 'array', of: Taint },
  configSource: anyField,
  externalID: { n: 2, t: 'string' },
} as const satisfies MessageSchema;

export const NodeCondition = {
  type: { n: 1, t: 'string' },
  status: { n: 2, t: 'string' },
  lastHeartbeatTime: { n: 3, t: 'time' },
  lastTransitionTime: { n: 4, t: 'time' },
  reason: { n: 5, t: 'string' },
  message: { n: 6, t: 'string' },
} as const satisfies MessageSchema;

export const NodeSystemInfo = {
  machineID: { n: 1, t: 'string' },
  systemUUID: { n: 2, t: 'string' },
  bootID: { n: 3, t: 'string' },
  kernelVersion: { n: 4, t: 'string' },
  osImage: { n: 5, t: 'string' },
  containerRuntimeVersion: { n: 6, t: 'string' },
  kubeletVersion: { n: 7, t: 'string' },
  kubeProxyVersion: { n: 8, t: 'string' },
  operatingSystem: { n: 9, t: 'string' },
  architecture: { n: 10, t: 'string' },
} as const satisfies MessageSchema;

export const NodeStatus = {
  capacity: { n: 1, t: 'map', of: 'quantity' },
  allocatable: { n: 2, t: 'map', of: 'quantity' },
  phase: { n: 3, t: 'string' },
  conditions: { n: 4, t: 'array', of: NodeCondition, patch: 'merge', key: 'type' },
  addresses: {
    n: 5,
    t: 'array',
    of: { type: { n: 1, t: 'string' }, address: { n: 2, t: 'string' } },
    patch: 'merge',
    key: 'type',
  },
  daemonEndpoints: {
    n: 6,
    t: 'object',
    // DaemonEndpoint's one field really is capitalised "Port" in JSON.
    of: { kubeletEndpoint: { n: 1, t: 'object', of: { Port: { n: 1, t: 'int32' } } } },
  },
  nodeInfo: { n: 7, t: 'object', of: NodeSystemInfo },
  images: anyField,
  volumesInUse: { n: 9, t: 'array', of: 'string' },
  volumesAttached: anyField,
  config: anyField,
  runtimeHandlers: anyField,
  features: anyField,
} as const satisfies MessageSchema;

export const Node = {
  ...TypeMeta,
  metadata: { n: 1, t: 'object', of: ObjectMeta },
  spec: { n: 2, t: 'object', of: NodeSpec },
  status: { n: 3, t: 'object', of: NodeStatus },
} as const satisfies MessageSchema;

// ---- Namespace -----------------------------------------------------------------------------

export const Namespace = {
  ...TypeMeta,
  metadata: { n: 1, t: 'object', of: ObjectMeta },
  spec: { n: 2, t: 'object', of: { finalizers: { n: 1, t: 'array', of: 'string' } } },
  status: {
    n: 3,
    t: 'object',
    of: {
      phase: { n: 1, t: 'string' },
      conditions: {
        n: 2,
        t: 'array',
        patch: 'merge',
        key: 'type',
        of: {
          type: { n: 1, t: 'string' },
          status: { n: 2, t: 'string' },
          lastTransitionTime: { n: 4, t: 'time' },
          reason: { n: 5, t: 'string' },
          message: { n: 6, t: 'string' },
        },
      },
    },
  },
} as const satisfies MessageSchema;

// ---- Event ---------------------------------------------------------------------------------

export const Event = {
  ...TypeMeta,
  metadata: { n: 1, t: 'object', of: ObjectMeta },
  involvedObject: { n: 2, t: 'object', of: ObjectReference },
  reason: { n: 3, t: 'string' },
  message: { n: 4, t: 'string' },
  source: { n: 5, t: 'object', of: { component: { n: 1, t: 'string' }, host: { n: 2, t: 'string' } } },
  firstTimestamp: { n: 6, t: 'time' },
  lastTimestamp: { n: 7, t: 'time' },
  count: { n: 8, t: 'int32' },
  type: { n: 9, t: 'string' },
  eventTime: { n: 10, t: 'microTime' },
  series: {
    n: 11,
    t: 'object',
    ptr: true,
    of: { count: { n: 1, t: 'int32' }, lastObservedTime: { n: 2, t: 'microTime' } },
  },
  action: { n: 12, t: 'string' },
  related: { n: 13, t: 'object', of: ObjectReference, ptr: true },
  reportingComponent: { n: 14, t: 'string' },
  reportingInstance: { n: 15, t: 'string' },
} as const satisfies MessageSchema;
