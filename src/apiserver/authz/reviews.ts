// The requests RBAC clients make about themselves, answered from the same authorizer that guards
// every request: SelfSubjectAccessReview (`kubectl auth can-i`), SelfSubjectRulesReview
// (`kubectl auth can-i --list`) and TokenRequest (`kubectl create token`, serviceaccounts/token).
// None of these is stored; each answer is computed for the caller.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { invalid, Path } from '../../api/field.ts';
import { newBadRequest, newInvalid, newMethodNotSupported, newNotFound } from '../../api/status.ts';
import type { KubeObject, PolicyRule } from '../../api/types.ts';
import type { Store } from '../../store/store.ts';
import { decodeBody } from '../codec.ts';
import { readBody, sendJSON } from '../http-util.ts';
import type { Attributes } from './attributes.ts';
import { loadPolicy } from './policy.ts';
import { authorize, grantsFor, type UserInfo } from './rbac.ts';
import { defaultExpirationSeconds, maxExpirationSeconds, minExpirationSeconds, type TokenSigner } from './tokens.ts';

export interface ReviewDeps {
  store: Store;
  signer: TokenSigner;
}

type Obj = Record<string, unknown>;

const asObj = (v: unknown): Obj => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : {});
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

async function body(req: IncomingMessage): Promise<Obj> {
  const decoded = decodeBody(req.headers['content-type'] ?? 'application/json', await readBody(req));
  if (typeof decoded !== 'object' || decoded === null || Array.isArray(decoded))
    throw newBadRequest('the request body is not an object');
  return decoded as Obj;
}

/** The attributes a SelfSubjectAccessReview asks about (SubjectAccessReview's spec → authorizer.Attributes). */
export function reviewAttributes(spec: Obj): Attributes {
  const ra = spec.resourceAttributes;
  const nra = spec.nonResourceAttributes;
  if ((ra === undefined || ra === null) === (nra === undefined || nra === null)) {
    throw newInvalid({ group: 'authorization.k8s.io', kind: 'SelfSubjectAccessReview' }, '', [
      invalid(
        Path.of('spec', 'resourceAttributes'),
        nra ?? null,
        'exactly one of nonResourceAttributes or resourceAttributes must be specified',
      ),
    ]);
  }
  if (ra) {
    const r = asObj(ra);
    return {
      verb: str(r.verb),
      resourceRequest: true,
      path: '',
      namespace: str(r.namespace),
      apiGroup: str(r.group),
      apiVersion: str(r.version),
      resource: str(r.resource),
      subresource: str(r.subresource),
      name: str(r.name),
    };
  }
  const n = asObj(nra);
  return {
    verb: str(n.verb),
    resourceRequest: false,
    path: str(n.path),
    namespace: '',
    apiGroup: '',
    apiVersion: '',
    resource: '',
    subresource: '',
    name: '',
  };
}

async function accessReview(req: IncomingMessage, res: ServerResponse, user: UserInfo, deps: ReviewDeps) {
  const sar = await body(req);
  const spec = asObj(sar.spec);
  const a = reviewAttributes(spec);
  const d = authorize(user, a, await loadPolicy(deps.store, a.namespace));
  const status: Obj = { allowed: d.allowed };
  if (d.reason) status.reason = d.reason;
  sendJSON(res, 201, {
    kind: 'SelfSubjectAccessReview',
    apiVersion: 'authorization.k8s.io/v1',
    metadata: { creationTimestamp: null },
    spec,
    status,
  });
}

async function rulesReview(req: IncomingMessage, res: ServerResponse, user: UserInfo, deps: ReviewDeps) {
  const ssrr = await body(req);
  const spec = asObj(ssrr.spec);
  const namespace = str(spec.namespace);
  const { grants, errors } = grantsFor(user, namespace, await loadPolicy(deps.store, namespace));
  const rules: PolicyRule[] = grants.flatMap((g) => g.rules);
  const resourceRules = rules
    .filter((r) => !r.nonResourceURLs?.length)
    .map((r) => ({
      verbs: r.verbs,
      ...(r.apiGroups ? { apiGroups: r.apiGroups } : {}),
      ...(r.resources ? { resources: r.resources } : {}),
      ...(r.resourceNames ? { resourceNames: r.resourceNames } : {}),
    }));
  const nonResourceRules = rules
    .filter((r) => r.nonResourceURLs?.length)
    .map((r) => ({ verbs: r.verbs, nonResourceURLs: r.nonResourceURLs }));
  const status: Obj = { resourceRules, nonResourceRules, incomplete: errors.length > 0 };
  if (errors.length) status.evaluationError = errors.join(', ');
  sendJSON(res, 201, {
    kind: 'SelfSubjectRulesReview',
    apiVersion: 'authorization.k8s.io/v1',
    metadata: { creationTimestamp: null },
    spec,
    status,
  });
}

/**
 * A token for an existing ServiceAccount (404 otherwise): what TokenRequest answers, and what
 * the lab's kubelet projects into pods.
 */
export async function issueServiceAccountToken(
  deps: Pick<ReviewDeps, 'store' | 'signer'>,
  namespace: string,
  name: string,
  expirationSeconds: number,
  audiences: readonly string[] = [],
): Promise<ReturnType<TokenSigner['issue']>> {
  const sa = await deps.store.get<KubeObject>({ resource: 'serviceaccounts', namespace, name });
  if (!sa) throw newNotFound({ group: '', resource: 'serviceaccounts' }, name);
  return deps.signer.issue({ namespace, name, uid: sa.metadata.uid ?? '', audiences, expirationSeconds });
}

/** SelfSubjectReview (`kubectl auth whoami`): the caller's user as the server authenticated it. */
function selfReview(res: ServerResponse, user: UserInfo) {
  sendJSON(res, 201, {
    kind: 'SelfSubjectReview',
    apiVersion: 'authentication.k8s.io/v1',
    metadata: { creationTimestamp: null },
    status: { userInfo: { username: user.name, ...(user.uid ? { uid: user.uid } : {}), groups: user.groups } },
  });
}

async function tokenRequest(req: IncomingMessage, res: ServerResponse, a: Attributes, deps: ReviewDeps) {
  const tr = await body(req);
  const spec = asObj(tr.spec);
  const gk = { group: 'authentication.k8s.io', kind: 'TokenRequest' };
  const exp = spec.expirationSeconds ?? defaultExpirationSeconds;
  if (typeof exp !== 'number' || !Number.isInteger(exp))
    throw newBadRequest('spec.expirationSeconds must be an integer');
  const p = Path.of('spec', 'expirationSeconds');
  if (exp < minExpirationSeconds)
    throw newInvalid(gk, '', [invalid(p, exp, 'may not specify a duration less than 10 minutes')]);
  if (exp > maxExpirationSeconds)
    throw newInvalid(gk, '', [invalid(p, exp, 'may not specify a duration larger than 2^32 seconds')]);
  if (spec.boundObjectRef) {
    throw newInvalid(gk, '', [
      invalid(Path.of('spec', 'boundObjectRef'), spec.boundObjectRef, 'bound tokens are not supported by this server'),
    ]);
  }
  const audiences = Array.isArray(spec.audiences)
    ? spec.audiences.filter((x): x is string => typeof x === 'string')
    : [];
  const { token, claims } = await issueServiceAccountToken(deps, a.namespace, a.name, exp, audiences);
  sendJSON(res, 201, {
    kind: 'TokenRequest',
    apiVersion: 'authentication.k8s.io/v1',
    metadata: {
      name: a.name,
      namespace: a.namespace,
      creationTimestamp: new Date(claims.iat * 1000).toISOString().replace(/\.\d+Z$/, 'Z'),
    },
    spec: { audiences: claims.aud, expirationSeconds: exp, boundObjectRef: null },
    status: { token, expirationTimestamp: new Date(claims.exp * 1000).toISOString().replace(/\.\d+Z$/, 'Z') },
  });
}

/** Serves the request if it is one of these; false when it is an ordinary REST request. */
export async function serveReview(
  req: IncomingMessage,
  res: ServerResponse,
  user: UserInfo,
  a: Attributes,
  deps: ReviewDeps,
): Promise<boolean> {
  if (!a.resourceRequest) return false;
  const review =
    a.apiGroup === 'authorization.k8s.io' &&
    a.apiVersion === 'v1' &&
    (a.resource === 'selfsubjectaccessreviews' || a.resource === 'selfsubjectrulesreviews') &&
    !a.namespace;
  const whoami =
    a.apiGroup === 'authentication.k8s.io' &&
    a.apiVersion === 'v1' &&
    a.resource === 'selfsubjectreviews' &&
    !a.namespace;
  const token =
    a.apiGroup === '' && a.apiVersion === 'v1' && a.resource === 'serviceaccounts' && a.subresource === 'token';
  if (!review && !token && !whoami) return false;
  if (whoami) {
    if (a.verb !== 'create' || a.name) throw newMethodNotSupported({ group: a.apiGroup, resource: a.resource }, a.verb);
    await readBody(req);
    selfReview(res, user);
    return true;
  }
  if (a.verb !== 'create' || (review && a.name) || (token && (!a.name || !a.namespace))) {
    const resource = token ? 'serviceaccounts/token' : a.resource;
    throw newMethodNotSupported({ group: a.apiGroup, resource }, a.verb);
  }
  if (token) await tokenRequest(req, res, a, deps);
  else if (a.resource === 'selfsubjectaccessreviews') await accessReview(req, res, user, deps);
  else await rulesReview(req, res, user, deps);
  return true;
}
