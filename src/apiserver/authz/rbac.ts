// The RBAC authorizer (plugin/pkg/auth/authorizer/rbac): a request is allowed when some rule of a
// role bound to the user allows it. ClusterRoleBindings apply everywhere; RoleBindings only to
// requests in their own namespace, granting a Role of that namespace or a ClusterRole's rules
// scoped to it. There is no deny: anything not granted is refused. Pure over a policy snapshot.
import type { ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, Subject } from '../../api/types.ts';
import type { Attributes } from './attributes.ts';

export interface UserInfo {
  readonly name: string;
  readonly uid?: string;
  readonly groups: readonly string[];
}

/** The group kube-apiserver's bootstrap binds to cluster-admin; its members may do anything. */
export const mastersGroup = 'system:masters';

export interface Policy {
  readonly clusterRoleBindings: readonly ClusterRoleBinding[];
  /** RoleBindings of the request's namespace (all namespaces for a rules review across them). */
  readonly roleBindings: readonly RoleBinding[];
  clusterRole(name: string): ClusterRole | undefined;
  role(namespace: string, name: string): Role | undefined;
}

export interface Decision {
  readonly allowed: boolean;
  /** Allowed: which binding granted it. Denied: errors met on the way (missing roles), or "". */
  readonly reason: string;
}

const has = (list: readonly string[] | undefined, v: string): boolean => (list ?? []).some((x) => x === '*' || x === v);

function verbMatches(rule: PolicyRule, verb: string): boolean {
  return has(rule.verbs, verb);
}

function resourceMatches(rule: PolicyRule, resource: string, subresource: string): boolean {
  const combined = subresource ? `${resource}/${subresource}` : resource;
  for (const r of rule.resources ?? []) {
    if (r === '*' || r === combined) return true;
    // "*/scale" grants that subresource of every resource.
    if (subresource && r === `*/${subresource}`) return true;
  }
  return false;
}

function resourceNameMatches(rule: PolicyRule, name: string): boolean {
  const names = rule.resourceNames ?? [];
  return names.length === 0 || names.includes(name);
}

function nonResourceURLMatches(rule: PolicyRule, path: string): boolean {
  for (const u of rule.nonResourceURLs ?? []) {
    if (u === '*' || u === path) return true;
    if (u.endsWith('*') && path.startsWith(u.slice(0, -1))) return true;
  }
  return false;
}

export function ruleAllows(a: Attributes, rule: PolicyRule): boolean {
  if (!verbMatches(rule, a.verb)) return false;
  if (a.resourceRequest) {
    return (
      has(rule.apiGroups, a.apiGroup) &&
      resourceMatches(rule, a.resource, a.subresource) &&
      resourceNameMatches(rule, a.name)
    );
  }
  return nonResourceURLMatches(rule, a.path);
}

/** The ServiceAccount user name, and its parts back from one. */
export function serviceAccountUser(namespace: string, name: string): string {
  return `system:serviceaccount:${namespace}:${name}`;
}

function appliesTo(user: UserInfo, s: Subject, bindingNamespace: string): boolean {
  switch (s.kind) {
    case 'User':
      return user.name === s.name;
    case 'Group':
      return user.groups.includes(s.name);
    case 'ServiceAccount': {
      const ns = s.namespace || bindingNamespace;
      return ns !== '' && user.name === serviceAccountUser(ns, s.name);
    }
    default:
      return false;
  }
}

/** As RBAC's describeSubject prints it: a ServiceAccount reads "name/namespace". */
function describeSubject(s: Subject, bindingNamespace: string): string {
  if (s.kind === 'ServiceAccount')
    return `ServiceAccount ${JSON.stringify(`${s.name}/${s.namespace || bindingNamespace}`)}`;
  return `${s.kind} ${JSON.stringify(s.name)}`;
}

interface Grant {
  readonly rules: readonly PolicyRule[];
  /** "RoleBinding \"x/ns\" of Role \"y\" to ServiceAccount \"z/ns\"", as RBAC's allow reason reads. */
  readonly source: string;
}

/** How a missing role reads: the authorizer's listers say "clusterrole.rbac...", the registry "clusterroles.rbac...". */
export type NotFoundText = (kind: string, name: string) => string;

const listerNotFound: NotFoundText = (kind, name) =>
  `${kind.toLowerCase()}.rbac.authorization.k8s.io ${JSON.stringify(name)} not found`;

export const registryNotFound: NotFoundText = (kind, name) =>
  `${kind.toLowerCase()}s.rbac.authorization.k8s.io ${JSON.stringify(name)} not found`;

/**
 * Every grant that applies to the user in `namespace` ("" = cluster scope only), with errors for
 * bindings whose role is missing (RBAC reports them in the deny reason).
 */
export function grantsFor(
  user: UserInfo,
  namespace: string,
  policy: Policy,
  notFound: NotFoundText = listerNotFound,
): { grants: Grant[]; errors: string[] } {
  const grants: Grant[] = [];
  const errors: string[] = [];
  for (const b of policy.clusterRoleBindings) {
    const s = (b.subjects ?? []).find((x) => appliesTo(user, x, ''));
    if (!s) continue;
    const role = policy.clusterRole(b.roleRef.name);
    if (!role) {
      errors.push(notFound('ClusterRole', b.roleRef.name));
      continue;
    }
    grants.push({
      rules: role.rules ?? [],
      source: `ClusterRoleBinding ${JSON.stringify(b.metadata?.name)} of ClusterRole ${JSON.stringify(role.metadata?.name)} to ${describeSubject(s, '')}`,
    });
  }
  if (namespace) {
    for (const b of policy.roleBindings) {
      const bns = b.metadata?.namespace ?? '';
      if (bns !== namespace) continue;
      const s = (b.subjects ?? []).find((x) => appliesTo(user, x, bns));
      if (!s) continue;
      const ref = b.roleRef;
      const role = ref.kind === 'Role' ? policy.role(bns, ref.name) : policy.clusterRole(ref.name);
      if (!role) {
        errors.push(notFound(ref.kind, ref.name));
        continue;
      }
      grants.push({
        rules: role.rules ?? [],
        source: `RoleBinding ${JSON.stringify(`${b.metadata?.name}/${bns}`)} of ${ref.kind} ${JSON.stringify(ref.name)} to ${describeSubject(s, bns)}`,
      });
    }
  }
  return { grants, errors };
}

export function authorize(user: UserInfo, a: Attributes, policy: Policy): Decision {
  if (user.groups.includes(mastersGroup)) return { allowed: true, reason: '' };
  const { grants, errors } = grantsFor(user, a.namespace, policy);
  for (const g of grants) {
    if (g.rules.some((r) => ruleAllows(a, r))) return { allowed: true, reason: `RBAC: allowed by ${g.source}` };
  }
  // utilerrors.NewAggregate prints one error bare and several as a bracketed list.
  const reason = errors.length === 0 ? '' : errors.length === 1 ? `RBAC: ${errors[0]}` : `RBAC: [${errors.join(', ')}]`;
  return { allowed: false, reason };
}

/** kube-apiserver's forbiddenMessage (endpoints/handlers/responsewriters/errors.go). */
export function forbiddenMessage(user: UserInfo, a: Attributes): string {
  const u = JSON.stringify(user.name);
  if (!a.resourceRequest) return `User ${u} cannot ${a.verb} path ${JSON.stringify(a.path)}`;
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const head = `User ${u} cannot ${a.verb} resource ${JSON.stringify(resource)} in API group ${JSON.stringify(a.apiGroup)}`;
  return a.namespace ? `${head} in the namespace ${JSON.stringify(a.namespace)}` : `${head} at the cluster scope`;
}
