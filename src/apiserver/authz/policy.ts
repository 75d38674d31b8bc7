// The RBAC policy a decision reads, loaded from the store for one namespace. Read per request
// rather than cached: a binding removed is refused on the very next request, and the lists are
// small (the store serves them from memory or one indexed sqlite read each).
import type { ClusterRole, ClusterRoleBinding, KubeObject, Role, RoleBinding } from '../../api/types.ts';
import type { Store } from '../../store/store.ts';
import type { Policy } from './rbac.ts';

export async function loadPolicy(store: Store, namespace: string | undefined): Promise<Policy> {
  const nsOpts = namespace === undefined ? {} : { namespace };
  const [crbs, rbs, crs, rs] = await Promise.all([
    store.list<ClusterRoleBinding & KubeObject>('clusterrolebindings'),
    namespace === '' ? Promise.resolve({ items: [] }) : store.list<RoleBinding & KubeObject>('rolebindings', nsOpts),
    store.list<ClusterRole & KubeObject>('clusterroles'),
    namespace === '' ? Promise.resolve({ items: [] }) : store.list<Role & KubeObject>('roles', nsOpts),
  ]);
  const clusterRoles = new Map(crs.items.map((r) => [r.metadata.name ?? '', r]));
  const roles = new Map(
    (rs.items as (Role & KubeObject)[]).map((r) => [`${r.metadata.namespace}/${r.metadata.name}`, r]),
  );
  return {
    clusterRoleBindings: crbs.items,
    roleBindings: rbs.items as RoleBinding[],
    clusterRole: (name) => clusterRoles.get(name),
    role: (ns, name) => roles.get(`${ns}/${name}`),
  };
}
