// The RBAC registry's policy-based storage (pkg/registry/rbac/*/policybased): writes of Roles,
// ClusterRoles and their bindings are refused when they would grant more than the writer holds.
// Without it, `create` on roles or bindings would be `*` on everything: write a role granting it,
// bind it to yourself.
//
// - Role / ClusterRole create and update: allowed to system:masters, to holders of `escalate` on
//   that resource (and name, on an update), and otherwise only when the writer's own rules in the
//   request's namespace cover every rule of the new object. Setting, changing or removing a
//   ClusterRole's aggregationRule needs full authority (`*` on everything), since it can gather
//   any role's rules.
// - RoleBinding / ClusterRoleBinding create and update: allowed to holders of `bind` on the
//   referenced role, and otherwise only when the writer holds every rule of the role, where the
//   binding would grant it (its namespace; cluster scope for a ClusterRoleBinding).
// - An update that changes only owner references or finalizers is never refused, so the garbage
//   collector can always finish deleting.
// Writes without a user are the API server's own (bootstrap, the aggregation controller).
import { rbacGroup } from '../../api/resources.ts';
import { newForbidden, newInternalError, newNotFound } from '../../api/status.ts';
import type { ClusterRole, KubeObject, PolicyRule, Role, RoleBinding } from '../../api/types.ts';
import type { Store } from '../../store/store.ts';
import { noopTxn, type RequestContext, type ResourceStrategy } from '../registry/types.ts';
import type { Attributes } from './attributes.ts';
import {
  aggregationRuleRefusal,
  escalationError,
  fullAuthority,
  hasAggregationRule,
  onlyGcFieldsChanged,
} from './escalation.ts';
import { loadPolicy } from './policy.ts';
import { authorize, grantsFor, mastersGroup, type Policy, registryNotFound, type UserInfo } from './rbac.ts';

export const guardedResources = ['roles', 'clusterroles', 'rolebindings', 'clusterrolebindings'] as const;
export type GuardedResource = (typeof guardedResources)[number];

function attributes(verb: string, resource: string, apiGroup: string, name: string, namespace: string): Attributes {
  return {
    verb,
    resourceRequest: true,
    path: '',
    namespace,
    apiGroup,
    apiVersion: '*',
    resource,
    subresource: '',
    name,
  };
}

/** ConfirmNoEscalation: throws kube-apiserver's 403 unless the user's rules cover `granted`. */
function confirmNoEscalation(
  user: UserInfo,
  namespace: string,
  policy: Policy,
  granted: readonly PolicyRule[],
): string | undefined {
  const { grants, errors } = grantsFor(user, namespace, policy, registryNotFound);
  return escalationError(
    user,
    grants.flatMap((g) => g.rules),
    granted,
    errors,
  );
}

async function checkRole(
  store: Store,
  resource: 'roles' | 'clusterroles',
  obj: KubeObject,
  old: KubeObject | undefined,
  ctx: RequestContext & { user: UserInfo },
): Promise<void> {
  const policy = await loadPolicy(store, ctx.namespace);
  // RoleEscalationAuthorized: the request's own name and namespace, "" for a create.
  const escalate = attributes('escalate', resource, rbacGroup, ctx.requestName ?? '', ctx.namespace);
  if (authorize(ctx.user, escalate, policy).allowed) return;
  if (old && onlyGcFieldsChanged(obj, old)) return;
  const name = obj.metadata.name ?? '';
  const refused = confirmNoEscalation(ctx.user, ctx.namespace, policy, (obj as Role).rules ?? []);
  if (refused) throw newForbidden({ group: rbacGroup, resource }, name, refused);
  if (resource !== 'clusterroles') return;
  if (hasAggregationRule(obj as ClusterRole) || hasAggregationRule(old as ClusterRole | undefined)) {
    if (confirmNoEscalation(ctx.user, ctx.namespace, policy, fullAuthority)) {
      throw newForbidden({ group: rbacGroup, resource }, name, aggregationRuleRefusal);
    }
  }
}

/** GetRoleReferenceRules, through the registry: a missing role is the registry's 404. */
async function roleRefRules(store: Store, ref: RoleBinding['roleRef'], namespace: string): Promise<PolicyRule[]> {
  let resource: 'roles' | 'clusterroles';
  if (ref.kind === 'Role') resource = 'roles';
  else if (ref.kind === 'ClusterRole') resource = 'clusterroles';
  else throw newInternalError(`unsupported role reference kind: ${JSON.stringify(ref.kind)}`);
  const role = await store.get<Role & KubeObject>({
    resource,
    namespace: resource === 'roles' ? namespace : '',
    name: ref.name,
  });
  if (!role) throw newNotFound({ group: rbacGroup, resource }, ref.name);
  return role.rules ?? [];
}

async function checkBinding(
  store: Store,
  resource: 'rolebindings' | 'clusterrolebindings',
  obj: KubeObject,
  old: KubeObject | undefined,
  ctx: RequestContext & { user: UserInfo },
): Promise<void> {
  if (old && onlyGcFieldsChanged(obj, old)) return;
  const ref = (obj as unknown as RoleBinding).roleRef ?? { apiGroup: '', kind: '', name: '' };
  const policy = await loadPolicy(store, ctx.namespace);
  // BindingAuthorized: `bind` on the role, asked where the binding grants it.
  const target = ref.kind === 'ClusterRole' ? 'clusterroles' : ref.kind === 'Role' ? 'roles' : undefined;
  if (target && authorize(ctx.user, attributes('bind', target, ref.apiGroup, ref.name, ctx.namespace), policy).allowed)
    return;
  const rules = await roleRefRules(store, ref, ctx.namespace);
  const refused = confirmNoEscalation(ctx.user, ctx.namespace, policy, rules);
  if (refused) throw newForbidden({ group: rbacGroup, resource }, obj.metadata.name ?? '', refused);
}

/** The strategy of one RBAC resource with escalation prevention in front of its writes. */
export function withEscalationPrevention(
  resource: GuardedResource,
  s: ResourceStrategy,
  store: Store,
): ResourceStrategy {
  const check = async (obj: KubeObject, old: KubeObject | undefined, ctx: RequestContext): Promise<void> => {
    const user = ctx.user;
    if (!user || user.groups.includes(mastersGroup)) return;
    const c = { ...ctx, user };
    if (resource === 'roles' || resource === 'clusterroles') await checkRole(store, resource, obj, old, c);
    else await checkBinding(store, resource, obj, old, c);
  };
  return {
    ...s,
    async beginCreate(obj, ctx) {
      await check(obj, undefined, ctx);
      return (await s.beginCreate?.(obj, ctx)) ?? noopTxn;
    },
    async beginUpdate(obj, old, ctx) {
      await check(obj, old, ctx);
      return (await s.beginUpdate?.(obj, old, ctx)) ?? noopTxn;
    },
  };
}
