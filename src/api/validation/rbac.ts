// rbac.authorization.k8s.io/v1 and ServiceAccount validation (pkg/apis/rbac/validation,
// ValidateServiceAccount), with kube-apiserver's messages: a rule with no verb or a resource rule
// with no group can never match, and a binding's roleRef is immutable because changing what a
// binding grants must be a delete and create that RBAC checks again.
import {
  type ErrorList,
  forbidden,
  invalid,
  notSupported,
  notSupportedInOrder,
  Path,
  required,
  tooLong,
} from '../field.ts';
import { rbacGroup } from '../resources.ts';
import type {
  ClusterRole,
  ClusterRoleBinding,
  ConfigMap,
  PolicyRule,
  Role,
  RoleBinding,
  ServiceAccount,
  Subject,
} from '../types.ts';
import { type NameFn, nameIsDNSSubdomain, validateObjectMeta, validateObjectMetaUpdate } from './names.ts';

/** path.IsValidPathSegmentName: RBAC names may hold colons ("system:node") but not slashes. */
export const nameIsPathSegment: NameFn = (name) => {
  if (name === '.' || name === '..') return [`may not be '${name}'`];
  const out: string[] = [];
  for (const c of ['/', '%']) if (name.includes(c)) out.push(`may not contain '${c}'`);
  return out;
};

function validateRule(rule: PolicyRule, namespaced: boolean, p: Path): ErrorList {
  const errs: ErrorList = [];
  if (!rule.verbs?.length) errs.push(required(p.child('verbs'), 'verbs must contain at least one value'));
  if (rule.nonResourceURLs?.length) {
    if (namespaced) {
      errs.push(
        invalid(p.child('nonResourceURLs'), rule.nonResourceURLs, 'namespaced rules cannot apply to non-resource URLs'),
      );
    }
    if (rule.apiGroups?.length || rule.resources?.length || rule.resourceNames?.length) {
      errs.push(
        invalid(
          p.child('nonResourceURLs'),
          rule.nonResourceURLs,
          'rules cannot apply to both regular resources and non-resource URLs',
        ),
      );
    }
    return errs;
  }
  if (!rule.apiGroups?.length)
    errs.push(required(p.child('apiGroups'), 'resource rules must supply at least one api group'));
  if (!rule.resources?.length)
    errs.push(required(p.child('resources'), 'resource rules must supply at least one resource'));
  return errs;
}

function validateRules(rules: PolicyRule[] | undefined, namespaced: boolean): ErrorList {
  return (rules ?? []).flatMap((r, i) => validateRule(r, namespaced, Path.root('rules').index(i)));
}

export function validateRole(role: Role): ErrorList {
  return [
    ...validateObjectMeta(role.metadata, { namespaced: true, nameFn: nameIsPathSegment }, Path.root('metadata')),
    ...validateRules(role.rules, true),
  ];
}

export function validateClusterRole(role: ClusterRole): ErrorList {
  return [
    ...validateObjectMeta(role.metadata, { namespaced: false, nameFn: nameIsPathSegment }, Path.root('metadata')),
    ...validateRules(role.rules, false),
  ];
}

function validateSubject(s: Subject, namespaced: boolean, p: Path): ErrorList {
  const errs: ErrorList = [];
  if (!s.name) errs.push(required(p.child('name'), ''));
  switch (s.kind) {
    case 'ServiceAccount':
      if (s.name) for (const m of nameIsDNSSubdomain(s.name, false)) errs.push(invalid(p.child('name'), s.name, m));
      if (s.apiGroup) errs.push(notSupportedInOrder(p.child('apiGroup'), s.apiGroup, ['']));
      if (!namespaced && !s.namespace) errs.push(required(p.child('namespace'), ''));
      break;
    case 'User':
    case 'Group':
      if (s.apiGroup !== rbacGroup) errs.push(notSupportedInOrder(p.child('apiGroup'), s.apiGroup ?? '', [rbacGroup]));
      break;
    default:
      errs.push(notSupportedInOrder(p.child('kind'), s.kind, ['ServiceAccount', 'User', 'Group']));
  }
  return errs;
}

function validateBinding(b: RoleBinding | ClusterRoleBinding, namespaced: boolean): ErrorList {
  const errs = validateObjectMeta(b.metadata, { namespaced, nameFn: nameIsPathSegment }, Path.root('metadata'));
  const ref = b.roleRef ?? { apiGroup: '', kind: '', name: '' };
  const rp = Path.root('roleRef');
  if (ref.apiGroup !== rbacGroup) errs.push(notSupportedInOrder(rp.child('apiGroup'), ref.apiGroup, [rbacGroup]));
  const kinds = namespaced ? ['Role', 'ClusterRole'] : ['ClusterRole'];
  if (!kinds.includes(ref.kind)) errs.push(notSupported(rp.child('kind'), ref.kind, kinds));
  if (!ref.name) errs.push(required(rp.child('name'), ''));
  else for (const m of nameIsPathSegment(ref.name, false)) errs.push(invalid(rp.child('name'), ref.name, m));
  (b.subjects ?? []).forEach((s, i) => {
    errs.push(...validateSubject(s, namespaced, Path.root('subjects').index(i)));
  });
  return errs;
}

export const validateRoleBinding = (b: RoleBinding): ErrorList => validateBinding(b, true);
export const validateClusterRoleBinding = (b: ClusterRoleBinding): ErrorList => validateBinding(b, false);

function bindingUpdate<T extends RoleBinding | ClusterRoleBinding>(validate: (b: T) => ErrorList) {
  return (b: T, old: T): ErrorList => {
    const errs = [...validateObjectMetaUpdate(b.metadata, old.metadata, Path.root('metadata')), ...validate(b)];
    const a = b.roleRef;
    const o = old.roleRef;
    if (a?.apiGroup !== o?.apiGroup || a?.kind !== o?.kind || a?.name !== o?.name) {
      errs.push(invalid(Path.root('roleRef'), a, 'cannot change roleRef'));
    }
    return errs;
  };
}

export const validateRoleBindingUpdate = bindingUpdate(validateRoleBinding);
export const validateClusterRoleBindingUpdate = bindingUpdate(validateClusterRoleBinding);

export function metaUpdate<T extends Role | ClusterRole | ServiceAccount>(validate: (o: T) => ErrorList) {
  return (o: T, old: T): ErrorList => [
    ...validateObjectMetaUpdate(o.metadata, old.metadata, Path.root('metadata')),
    ...validate(o),
  ];
}

export function validateServiceAccount(sa: ServiceAccount): ErrorList {
  return validateObjectMeta(sa.metadata, { namespaced: true, nameFn: nameIsDNSSubdomain }, Path.root('metadata'));
}

/** SetDefaults_Subject and SetDefaults_(Cluster)RoleBinding: users and groups are RBAC's. */
export function defaultBinding(b: RoleBinding | ClusterRoleBinding): void {
  if (b.roleRef && !b.roleRef.apiGroup) b.roleRef.apiGroup = rbacGroup;
  for (const s of b.subjects ?? []) {
    if (!s.apiGroup && (s.kind === 'User' || s.kind === 'Group')) s.apiGroup = rbacGroup;
  }
}

const configKey = /^[-._a-zA-Z0-9]+$/;
const maxConfigMapBytes = 1024 * 1024;

/** ValidateConfigMap: keys as file names (IsConfigMapKey), 1 MiB in all, one key per map. */
export function validateConfigMap(cm: ConfigMap): ErrorList {
  const errs = validateObjectMeta(cm.metadata, { namespaced: true, nameFn: nameIsDNSSubdomain }, Path.root('metadata'));
  let total = 0;
  for (const [field, m] of [
    ['data', cm.data],
    ['binaryData', cm.binaryData],
  ] as const) {
    for (const [k, v] of Object.entries(m ?? {})) {
      const p = Path.root(field).key(k);
      if (k.length > 253) errs.push(invalid(p, k, 'must be no more than 253 characters'));
      if (!configKey.test(k)) {
        errs.push(
          invalid(
            p,
            k,
            "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
          ),
        );
      } else if (k === '.' || k === '..' || k.startsWith('..')) {
        errs.push(
          invalid(p, k, k === '.' ? "must not be '.'" : k === '..' ? "must not be '..'" : "must not start with '..'"),
        );
      }
      if (field === 'binaryData' && cm.data && Object.hasOwn(cm.data, k))
        errs.push(invalid(p, k, 'duplicate of key present in data'));
      total += String(v).length;
    }
  }
  if (total > maxConfigMapBytes) errs.push(tooLong(Path.root(''), '', maxConfigMapBytes));
  return errs;
}

export function validateConfigMapUpdate(cm: ConfigMap, old: ConfigMap): ErrorList {
  const errs = [
    ...validateObjectMetaUpdate(cm.metadata, old.metadata, Path.root('metadata')),
    ...validateConfigMap(cm),
  ];
  if (old.immutable) {
    if (!cm.immutable) errs.push(forbidden(Path.root('immutable'), 'field is immutable when `immutable` is set'));
    if (
      JSON.stringify(cm.data ?? {}) !== JSON.stringify(old.data ?? {}) ||
      JSON.stringify(cm.binaryData ?? {}) !== JSON.stringify(old.binaryData ?? {})
    ) {
      errs.push(forbidden(Path.root('data'), 'field is immutable when `immutable` is set'));
    }
  }
  return errs;
}
