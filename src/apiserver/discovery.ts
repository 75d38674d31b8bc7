// Legacy (unaggregated) discovery documents. client-go picks legacy discovery whenever the
// response Content-Type is plain application/json (ecosystem.md §1.1), so these are enough
// for kubectl and client libraries.
import { apiVersionOf, type ResourceInfo, resources } from '../api/resources.ts';

const verbs = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

export const serverVersion = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0-svcnet',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2026-11-27T00:00:00Z',
  goVersion: 'go1.23.0',
  compiler: 'gc',
  platform: 'linux/amd64',
} as const;

export function apiVersions(serverAddress: string) {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

function groupVersions(): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const r of resources) {
    if (!r.group) continue;
    const vs = m.get(r.group) ?? [];
    if (!vs.includes(r.version)) vs.push(r.version);
    m.set(r.group, vs);
  }
  return m;
}

function apiGroup(name: string, versions: string[]) {
  const gvs = versions.map((version) => ({ groupVersion: `${name}/${version}`, version }));
  return { kind: 'APIGroup', apiVersion: 'v1', name, versions: gvs, preferredVersion: gvs[0] };
}

export function apiGroupList() {
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: [...groupVersions()].map(([name, vs]) => apiGroup(name, vs)),
  };
}

export function apiGroupDoc(group: string) {
  const vs = groupVersions().get(group);
  return vs ? apiGroup(group, vs) : undefined;
}

function apiResource(r: ResourceInfo) {
  const out: Record<string, unknown>[] = [
    {
      name: r.resource,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: r.verbs ? [...r.verbs] : verbs,
      ...(r.shortNames.length ? { shortNames: [...r.shortNames] } : {}),
      ...(r.categories.length ? { categories: [...r.categories] } : {}),
    },
  ];
  for (const sub of r.subresources) {
    out.push({
      name: `${r.resource}/${sub}`,
      singularName: '',
      namespaced: r.namespaced,
      ...subresourceShape(r.kind, sub),
    });
  }
  return out;
}

/** Kind and verbs of a subresource, as kube-apiserver lists them. */
function subresourceShape(
  kind: string,
  sub: string,
): { group?: string; version?: string; kind: string; verbs: string[] } {
  switch (sub) {
    case 'scale':
      // The scale subresource speaks autoscaling/v1 Scale, whatever the parent's group.
      return { group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: ['get', 'patch', 'update'] };
    case 'log':
      return { kind, verbs: ['get'] };
    case 'token':
      return { group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest', verbs: ['create'] };
    case 'exec':
      return { kind: 'PodExecOptions', verbs: ['create', 'get'] };
    case 'portforward':
      return { kind: 'PodPortForwardOptions', verbs: ['create', 'get'] };
    default:
      return { kind, verbs: ['get', 'patch', 'update'] };
  }
}

/** APIResourceList for "v1" (core) or "<group>/<version>"; undefined when not served. */
export function apiResourceList(groupVersion: string) {
  const rs = resources.filter((r) => apiVersionOf(r) === groupVersion);
  if (rs.length === 0) return undefined;
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion, resources: rs.flatMap(apiResource) };
}
