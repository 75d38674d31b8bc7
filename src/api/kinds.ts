// Per-resource defaulting and validation, keyed by the resource names of resources.ts. The
// registry plugs these into its REST strategies; Services are merged in by the Service work
// (their create path allocates before validating, see reference §0.8).
import { defaultDeployment } from './defaults/deployment.ts';
import { defaultEndpointSlice, defaultEndpoints } from './defaults/endpoints.ts';
import { defaultBGPAdvertisement, defaultBGPPeer, defaultIPAddressPool } from './defaults/metallb.ts';
import { defaultNamespace } from './defaults/namespace.ts';
import { defaultPod } from './defaults/pod.ts';
import { defaultReplicaSet } from './defaults/replicaset.ts';
import type { ErrorList } from './field.ts';
import type {
  BFDProfile,
  BGPAdvertisement,
  BGPPeer,
  ClusterRole,
  ClusterRoleBinding,
  Community,
  ConfigMap,
  Deployment,
  EndpointSlice,
  Endpoints,
  Event,
  IPAddressPool,
  KubeObject,
  L2Advertisement,
  Lease,
  Namespace,
  Node,
  Pod,
  ReplicaSet,
  Role,
  RoleBinding,
  ServiceAccount,
} from './types.ts';
import { validateDeployment, validateDeploymentUpdate } from './validation/deployment.ts';
import { validateEndpoints, validateEndpointsUpdate } from './validation/endpoints.ts';
import { validateEndpointSliceCreate, validateEndpointSliceUpdate } from './validation/endpointslice.ts';
import { validateEvent, validateEventUpdate } from './validation/event.ts';
import { validateLease, validateLeaseUpdate } from './validation/lease.ts';
import {
  metallbUpdate,
  validateBFDProfile,
  validateBGPAdvertisement,
  validateBGPPeer,
  validateCommunity,
  validateIPAddressPool,
  validateL2Advertisement,
} from './validation/metallb.ts';
import { validateNamespace, validateNamespaceUpdate } from './validation/namespace.ts';
import { validateNode, validateNodeUpdate } from './validation/node.ts';
import { validatePod, validatePodUpdate } from './validation/pod.ts';
import {
  defaultBinding,
  metaUpdate,
  validateClusterRole,
  validateClusterRoleBinding,
  validateClusterRoleBindingUpdate,
  validateConfigMap,
  validateConfigMapUpdate,
  validateRole,
  validateRoleBinding,
  validateRoleBindingUpdate,
  validateServiceAccount,
} from './validation/rbac.ts';
import {
  validateReplicaSet,
  validateReplicaSetStatusUpdate,
  validateReplicaSetUpdate,
} from './validation/replicaset.ts';

export interface KindStrategy {
  /** SetDefaults_<Kind>: fills unset fields in place; applied to every decoded body. */
  default(obj: KubeObject): void;
  validateCreate(obj: KubeObject): ErrorList;
  validateUpdate(obj: KubeObject, old: KubeObject): ErrorList;
  /** A /status write, when it has rules of its own (default: validateUpdate). */
  validateStatusUpdate?(obj: KubeObject, old: KubeObject): ErrorList;
}

/**
 * Adapt typed functions to KubeObject. Stored objects went through decoding for their kind, so
 * treating the generic object as that kind is the registry's invariant, not a guess.
 */
function strategy<T>(
  def: ((o: T) => void) | undefined,
  create: (o: T) => ErrorList,
  update: (o: T, old: T) => ErrorList,
  statusUpdate?: (o: T, old: T) => ErrorList,
): KindStrategy {
  const as = (o: KubeObject): T => o as unknown as T;
  return {
    default: (o) => def?.(as(o)),
    validateCreate: (o) => create(as(o)),
    validateUpdate: (o, old) => update(as(o), as(old)),
    ...(statusUpdate ? { validateStatusUpdate: (o: KubeObject, old: KubeObject) => statusUpdate(as(o), as(old)) } : {}),
  };
}

export const kindStrategies = {
  endpoints: strategy<Endpoints>(defaultEndpoints, validateEndpoints, validateEndpointsUpdate),
  pods: strategy<Pod>(defaultPod, validatePod, validatePodUpdate),
  nodes: strategy<Node>(undefined, validateNode, validateNodeUpdate),
  namespaces: strategy<Namespace>(defaultNamespace, validateNamespace, validateNamespaceUpdate),
  events: strategy<Event>(undefined, validateEvent, validateEventUpdate),
  endpointslices: strategy<EndpointSlice>(
    defaultEndpointSlice,
    validateEndpointSliceCreate,
    validateEndpointSliceUpdate,
  ),
  deployments: strategy<Deployment>(defaultDeployment, validateDeployment, validateDeploymentUpdate),
  replicasets: strategy<ReplicaSet>(
    defaultReplicaSet,
    validateReplicaSet,
    validateReplicaSetUpdate,
    validateReplicaSetStatusUpdate,
  ),
  leases: strategy<Lease>(undefined, validateLease, validateLeaseUpdate),
  ipaddresspools: strategy<IPAddressPool>(
    defaultIPAddressPool,
    validateIPAddressPool,
    metallbUpdate(validateIPAddressPool),
  ),
  l2advertisements: strategy<L2Advertisement>(
    undefined,
    validateL2Advertisement,
    metallbUpdate(validateL2Advertisement),
  ),
  bgppeers: strategy<BGPPeer>(defaultBGPPeer, validateBGPPeer, metallbUpdate(validateBGPPeer)),
  bgpadvertisements: strategy<BGPAdvertisement>(
    defaultBGPAdvertisement,
    validateBGPAdvertisement,
    metallbUpdate(validateBGPAdvertisement),
  ),
  communities: strategy<Community>(undefined, validateCommunity, metallbUpdate(validateCommunity)),
  bfdprofiles: strategy<BFDProfile>(undefined, validateBFDProfile, metallbUpdate(validateBFDProfile)),
  configmaps: strategy<ConfigMap>(undefined, validateConfigMap, validateConfigMapUpdate),
  serviceaccounts: strategy<ServiceAccount>(undefined, validateServiceAccount, metaUpdate(validateServiceAccount)),
  roles: strategy<Role>(undefined, validateRole, metaUpdate(validateRole)),
  clusterroles: strategy<ClusterRole>(undefined, validateClusterRole, metaUpdate(validateClusterRole)),
  rolebindings: strategy<RoleBinding>(defaultBinding, validateRoleBinding, validateRoleBindingUpdate),
  clusterrolebindings: strategy<ClusterRoleBinding>(
    defaultBinding,
    validateClusterRoleBinding,
    validateClusterRoleBindingUpdate,
  ),
} satisfies Record<string, KindStrategy>;

/** The strategy for a resource name from a URL, if it is one of ours. */
export function kindStrategy(resource: string): KindStrategy | undefined {
  return Object.hasOwn(kindStrategies, resource)
    ? (kindStrategies as Record<string, KindStrategy>)[resource]
    : undefined;
}
