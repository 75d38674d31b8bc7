// Impersonation (`kubectl --as`, `--as-group`, `--as-uid`), as k8s.io/apiserver's
// WithImpersonation filter does it: every requested identity is authorized as the verb
// `impersonate` for the real user — users and groups in the core group, a ServiceAccount user in
// its namespace, uids and extras in authentication.k8s.io — and the request then runs as the
// impersonated user. A refusal is the 403 for the first identity refused.
import type { IncomingMessage } from 'node:http';
import { newBadRequest, newForbidden } from '../../api/status.ts';
import type { Attributes } from './attributes.ts';
import { authorize, forbiddenMessage, type Policy, type UserInfo } from './rbac.ts';

const saPrefix = 'system:serviceaccount:';

function attrs(resource: string, name: string, apiGroup = '', namespace = '', subresource = ''): Attributes {
  return {
    verb: 'impersonate',
    resourceRequest: true,
    path: '',
    namespace,
    apiGroup,
    apiVersion: '',
    resource,
    subresource,
    name,
  };
}

const headerValues = (req: IncomingMessage, name: string): string[] => {
  const v = req.headers[name];
  if (v === undefined) return [];
  // Node joins repeated headers with ", " (set-cookie aside); client-go sends one header per group.
  return (Array.isArray(v) ? v : v.split(',')).map((x) => x.trim()).filter((x) => x !== '');
};

export function wantsImpersonation(req: IncomingMessage): boolean {
  return Object.keys(req.headers).some((h) => h.startsWith('impersonate-'));
}

/**
 * The user the request runs as. `policyFor` loads the RBAC policy of a namespace (a
 * ServiceAccount is impersonated in its own).
 */
export async function impersonate(
  req: IncomingMessage,
  requester: UserInfo,
  policyFor: (namespace: string) => Promise<Policy>,
): Promise<UserInfo> {
  const userName = headerValues(req, 'impersonate-user')[0] ?? '';
  const groups = headerValues(req, 'impersonate-group');
  const uid = headerValues(req, 'impersonate-uid')[0] ?? '';
  const extras = Object.keys(req.headers).filter((h) => h.startsWith('impersonate-extra-'));
  if (!userName) {
    if (groups.length || uid || extras.length)
      throw newBadRequest('requested impersonation without impersonating a user');
    return requester;
  }
  const checks: Attributes[] = [];
  let impersonatedGroups = [...groups];
  if (userName.startsWith(saPrefix) && userName.split(':').length === 4) {
    const [, , ns = '', name = ''] = userName.split(':');
    checks.push(attrs('serviceaccounts', name, '', ns));
    if (groups.length === 0) impersonatedGroups = ['system:serviceaccounts', `system:serviceaccounts:${ns}`];
  } else {
    checks.push(attrs('users', userName));
  }
  for (const g of groups) checks.push(attrs('groups', g));
  if (uid) checks.push(attrs('uids', uid, 'authentication.k8s.io'));
  for (const h of extras) {
    for (const v of headerValues(req, h)) {
      checks.push(
        attrs('userextras', v, 'authentication.k8s.io', '', decodeURIComponent(h.slice('impersonate-extra-'.length))),
      );
    }
  }
  for (const a of checks) {
    if (!authorize(requester, a, await policyFor(a.namespace)).allowed) {
      const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
      throw newForbidden({ group: a.apiGroup, resource }, a.name, forbiddenMessage(requester, a));
    }
  }
  // A non-anonymous impersonated user is authenticated unless the groups say otherwise.
  if (
    userName !== 'system:anonymous' &&
    !impersonatedGroups.includes('system:authenticated') &&
    !impersonatedGroups.includes('system:unauthenticated')
  ) {
    impersonatedGroups.push('system:authenticated');
  }
  return { name: userName, ...(uid ? { uid } : {}), groups: impersonatedGroups };
}
