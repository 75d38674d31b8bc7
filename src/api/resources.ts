// The catalog of served resources: structure is data. The store keys objects by resource, the
// apiserver builds discovery from this table, and clients map kinds to URLs with it.

export interface ResourceInfo {
  /** Plural resource name, the URL segment: "services". */
  readonly resource: string;
  readonly singular: string;
  readonly kind: string;
  readonly listKind: string;
  /** API group; "" for core. */
  readonly group: string;
  readonly version: string;
  readonly namespaced: boolean;
  readonly shortNames: readonly string[];
  readonly categories: readonly string[];
  /** Subresources served, e.g. "status". */
  readonly subresources: readonly string[];
  /**
   * Verbs served when not the full set: review kinds (SelfSubjectAccessReview) are create-only
   * and never stored; the handler answers them itself.
   */
  readonly verbs?: readonly string[];
}

function r(
  resource: string,
  kind: string,
  group: string,
  version: string,
  namespaced: boolean,
  shortNames: readonly string[] = [],
  categories: readonly string[] = [],
  subresources: readonly string[] = [],
): ResourceInfo {
  const singular = kind.toLowerCase();
  return {
    resource,
    singular,
    kind,
    listKind: `${kind}List`,
    group,
    version,
    namespaced,
    shortNames,
    categories,
    subresources,
  };
}

export const rbacGroup = 'rbac.authorization.k8s.io';

export const resources = [
  r('services', 'Service', '', 'v1', true, ['svc'], ['all'], ['status']),
  r('endpoints', 'Endpoints', '', 'v1', true, ['ep']),
  r('pods', 'Pod', '', 'v1', true, ['po'], ['all'], ['status', 'log', 'exec', 'portforward']),
  r('nodes', 'Node', '', 'v1', false, ['no'], [], ['status']),
  r('namespaces', 'Namespace', '', 'v1', false, ['ns'], [], ['status']),
  r('events', 'Event', '', 'v1', true, ['ev']),
  r('endpointslices', 'EndpointSlice', 'discovery.k8s.io', 'v1', true),
  r('deployments', 'Deployment', 'apps', 'v1', true, ['deploy'], ['all'], ['status', 'scale']),
  r('replicasets', 'ReplicaSet', 'apps', 'v1', true, ['rs'], ['all'], ['status', 'scale']),
  r('leases', 'Lease', 'coordination.k8s.io', 'v1', true),
  r('ipaddresspools', 'IPAddressPool', 'metallb.io', 'v1beta1', true, ['ipaddresspool'], [], ['status']),
  r('l2advertisements', 'L2Advertisement', 'metallb.io', 'v1beta1', true, ['l2advertisement']),
  r('bgppeers', 'BGPPeer', 'metallb.io', 'v1beta2', true, ['bgppeer']),
  r('bgpadvertisements', 'BGPAdvertisement', 'metallb.io', 'v1beta1', true, ['bgpadvertisement']),
  r('communities', 'Community', 'metallb.io', 'v1beta1', true, ['community']),
  r('bfdprofiles', 'BFDProfile', 'metallb.io', 'v1beta1', true, ['bfdprofile']),
  r('serviceaccounts', 'ServiceAccount', '', 'v1', true, ['sa'], [], ['token']),
  r('configmaps', 'ConfigMap', '', 'v1', true, ['cm']),
  r('roles', 'Role', rbacGroup, 'v1', true),
  r('rolebindings', 'RoleBinding', rbacGroup, 'v1', true),
  r('clusterroles', 'ClusterRole', rbacGroup, 'v1', false),
  r('clusterrolebindings', 'ClusterRoleBinding', rbacGroup, 'v1', false),
  {
    ...r('selfsubjectaccessreviews', 'SelfSubjectAccessReview', 'authorization.k8s.io', 'v1', false),
    verbs: ['create'],
  },
  { ...r('selfsubjectrulesreviews', 'SelfSubjectRulesReview', 'authorization.k8s.io', 'v1', false), verbs: ['create'] },
] as const satisfies readonly ResourceInfo[];

const byResource = new Map<string, ResourceInfo>(resources.map((x) => [x.resource, x]));
const byKind = new Map<string, ResourceInfo>(resources.map((x) => [`${x.group}/${x.kind}`, x]));

/** Served verbs of a resource (discovery) and whether objects of it are stored at all. */
export function isReviewResource(info: ResourceInfo): boolean {
  return info.verbs !== undefined;
}

export function resourceInfo(resource: string): ResourceInfo | undefined {
  return byResource.get(resource);
}

export function resourceForKind(group: string, kind: string): ResourceInfo | undefined {
  return byKind.get(`${group}/${kind}`);
}

export function apiVersionOf(info: ResourceInfo): string {
  return info.group ? `${info.group}/${info.version}` : info.version;
}

/** Split "apps/v1" into group and version; "v1" is the core group. */
export function parseApiVersion(apiVersion: string): { group: string; version: string } {
  const i = apiVersion.indexOf('/');
  return i < 0
    ? { group: '', version: apiVersion }
    : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
}

/** For resources the code names literally; throws on a typo rather than returning undefined. */
export function mustResource(resource: string): ResourceInfo {
  const info = byResource.get(resource);
  if (!info) throw new Error(`unknown resource ${resource}`);
  return info;
}
