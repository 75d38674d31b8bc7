// Privilege-escalation prevention as kube-apiserver's RBAC registry does it
// (pkg/registry/rbac/validation, component-helpers/auth/rbac/validation): a Role, ClusterRole or
// binding may only grant what its writer already holds. The writer's rules must *cover* the
// granted ones — every granted (group, resource, verb, name) tuple and (URL, verb) pair is
// allowed by one of the writer's rules — and the refusal lists what is missing in the form
// kube-apiserver prints, so a message read from a real cluster reads the same here. Pure.
import { goQuote } from '../../api/field.ts';
import type { ClusterRole, KubeObject, PolicyRule } from '../../api/types.ts';

/** BreakdownRule: one verb, one resource (or URL) and at most one name per rule. */
export function breakdownRule(rule: PolicyRule): PolicyRule[] {
  const out: PolicyRule[] = [];
  for (const group of rule.apiGroups ?? []) {
    for (const resource of rule.resources ?? []) {
      for (const verb of rule.verbs) {
        const names = rule.resourceNames ?? [];
        if (names.length > 0) {
          for (const name of names)
            out.push({ apiGroups: [group], resources: [resource], verbs: [verb], resourceNames: [name] });
        } else {
          out.push({ apiGroups: [group], resources: [resource], verbs: [verb] });
        }
      }
    }
  }
  // Non-resource URLs combine with verbs only.
  for (const url of rule.nonResourceURLs ?? []) {
    for (const verb of rule.verbs) out.push({ nonResourceURLs: [url], verbs: [verb] });
  }
  return out;
}

const has = (set: readonly string[] | undefined, v: string) => (set ?? []).includes(v);
const hasAll = (set: readonly string[] | undefined, want: readonly string[] | undefined) =>
  (want ?? []).every((v) => has(set, v));

function resourceCoversAll(owner: readonly string[] | undefined, wanted: readonly string[] | undefined): boolean {
  if (has(owner, '*') || hasAll(owner, wanted)) return true;
  for (const path of wanted ?? []) {
    if (has(owner, path)) continue;
    const slash = path.indexOf('/');
    // Only a subresource can be covered otherwise, by "*/<subresource>".
    if (slash < 0 || !has(owner, `*/${path.slice(slash + 1)}`)) return false;
  }
  return true;
}

function nonResourceURLCovers(owner: string, path: string): boolean {
  if (owner === path) return true;
  return owner.endsWith('*') && path.startsWith(owner.replace(/\*+$/, ''));
}

/** ruleCovers: the owner rule (any shape) allows everything the one-tuple sub-rule grants. */
function ruleCovers(owner: PolicyRule, sub: PolicyRule): boolean {
  const verbs = has(owner.verbs, '*') || hasAll(owner.verbs, sub.verbs);
  const groups = has(owner.apiGroups, '*') || hasAll(owner.apiGroups, sub.apiGroups);
  const resources = resourceCoversAll(owner.resources, sub.resources);
  const urls = (sub.nonResourceURLs ?? []).every((p) =>
    (owner.nonResourceURLs ?? []).some((o) => nonResourceURLCovers(o, p)),
  );
  const ownerNames = owner.resourceNames ?? [];
  const names =
    (sub.resourceNames ?? []).length === 0
      ? ownerNames.length === 0
      : ownerNames.length === 0 || hasAll(ownerNames, sub.resourceNames);
  return verbs && groups && resources && urls && names;
}

/** Covers: whether the owner's rules allow all the servant rules grant, and the tuples they do not. */
export function covers(
  ownerRules: readonly PolicyRule[],
  servantRules: readonly PolicyRule[],
): { covered: boolean; missing: PolicyRule[] } {
  const missing = servantRules.flatMap(breakdownRule).filter((sub) => !ownerRules.some((o) => ruleCovers(o, sub)));
  return { covered: missing.length === 0, missing };
}

/**
 * CompactRules: rules of one group and one resource with nothing but verbs merge into one rule
 * (verbs in the order met, repeats kept); anything else stays as it is.
 */
export function compactRules(rules: readonly PolicyRule[]): PolicyRule[] {
  const out: PolicyRule[] = [];
  const simple = new Map<string, PolicyRule & { verbs: string[] }>();
  for (const r of rules) {
    const isSimple =
      !(r.resourceNames ?? []).length &&
      !(r.nonResourceURLs ?? []).length &&
      r.apiGroups?.length === 1 &&
      r.resources?.length === 1;
    if (!isSimple) {
      out.push(r);
      continue;
    }
    const key = JSON.stringify([r.apiGroups, r.resources]);
    const existing = simple.get(key);
    if (existing) existing.verbs.push(...r.verbs);
    else
      simple.set(key, {
        apiGroups: [...(r.apiGroups ?? [])],
        resources: [...(r.resources ?? [])],
        verbs: [...r.verbs],
      });
  }
  return [...out, ...simple.values()];
}

/** Go's %q of a []string: ["a" "b"]. */
export function goQuoteList(list: readonly string[]): string {
  return `[${list.map(goQuote).join(' ')}]`;
}

/** rbacv1helpers.CompactString: {APIGroups:["apps"], Resources:["deployments"], Verbs:["delete"]}. */
export function compactString(r: PolicyRule): string {
  const parts: string[] = [];
  if (r.apiGroups?.length) parts.push(`APIGroups:${goQuoteList(r.apiGroups)}`);
  if (r.resources?.length) parts.push(`Resources:${goQuoteList(r.resources)}`);
  if (r.nonResourceURLs?.length) parts.push(`NonResourceURLs:${goQuoteList(r.nonResourceURLs)}`);
  if (r.resourceNames?.length) parts.push(`ResourceNames:${goQuoteList(r.resourceNames)}`);
  if (r.verbs.length) parts.push(`Verbs:${goQuoteList(r.verbs)}`);
  return `{${parts.join(', ')}}`;
}

/**
 * ConfirmNoEscalation's refusal, or undefined when the owner's rules cover the granted ones.
 * `resolutionErrors` are the bindings of the writer whose role was missing: their rules could
 * not be counted, and the message says so.
 */
export function escalationError(
  user: { readonly name: string; readonly groups: readonly string[] },
  ownerRules: readonly PolicyRule[],
  granted: readonly PolicyRule[],
  resolutionErrors: readonly string[] = [],
): string | undefined {
  const { covered, missing } = covers(ownerRules, granted);
  if (covered) return undefined;
  // A sets.String: distinct, sorted.
  const lines = [...new Set(compactRules(missing).map(compactString))].sort();
  let msg = `user ${goQuote(user.name)} (groups=${goQuoteList(user.groups)}) is attempting to grant RBAC permissions not currently held:\n${lines.join('\n')}`;
  if (resolutionErrors.length > 0) {
    // fmt's %v of []error{utilerrors.NewAggregate(errs)}: the aggregate prints one error bare
    // and several as a bracketed, comma-separated list.
    const agg = resolutionErrors.length === 1 ? resolutionErrors[0] : `[${resolutionErrors.join(', ')}]`;
    msg += `; resolution errors: [${agg}]`;
  }
  return msg;
}

/** What setting an aggregationRule requires: everything (it can gather any role's rules). */
export const fullAuthority: readonly PolicyRule[] = [
  { apiGroups: ['*'], resources: ['*'], verbs: ['*'] },
  { nonResourceURLs: ['*'], verbs: ['*'] },
];

export const aggregationRuleRefusal = 'must have cluster-admin privileges to use the aggregationRule';

export function hasAggregationRule(role: ClusterRole | undefined): boolean {
  return (role?.aggregationRule?.clusterRoleSelectors?.length ?? 0) > 0;
}

/** Semantic equality: an empty list or map equals an absent one, as apimachinery's DeepEqual. */
function semanticEqual(a: unknown, b: unknown): boolean {
  const empty = (v: unknown) =>
    v === undefined ||
    v === null ||
    (Array.isArray(v) && v.length === 0) ||
    (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0);
  if (empty(a) && empty(b)) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => semanticEqual(x, b[i]));
  if (
    typeof a === 'object' &&
    a !== null &&
    typeof b === 'object' &&
    b !== null &&
    !Array.isArray(a) &&
    !Array.isArray(b)
  ) {
    const ao = a as Record<string, unknown>;
    const bo = b as Record<string, unknown>;
    const keys = new Set([...Object.keys(ao), ...Object.keys(bo)]);
    for (const k of keys) if (!semanticEqual(ao[k], bo[k])) return false;
    return true;
  }
  return a === b;
}

/**
 * IsOnlyMutatingGCFields: the update changes only what the garbage collector writes (owner
 * references, finalizers) and the bookkeeping that follows any write, so deleting a role one
 * could not have created is never blocked on its finalizers.
 */
export function onlyGcFieldsChanged(obj: KubeObject, old: KubeObject): boolean {
  const strip = (o: KubeObject) => {
    const { ownerReferences, finalizers, managedFields, resourceVersion, selfLink, ...meta } = o.metadata;
    return { ...o, metadata: meta };
  };
  return semanticEqual(strip(obj), strip(old));
}
