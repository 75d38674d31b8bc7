// What a request asks to do, in the terms RBAC decides on: k8s.io/apiserver's RequestInfoFactory
// applied to the raw URL. It does not consult the served-resource catalog, so a request for a
// resource that does not exist is still authorized first (403 before 404, as kube-apiserver
// answers), and `kubectl auth can-i` asks about exactly what a request would be checked for.

/** authorizer.Attributes for one request. */
export interface Attributes {
  readonly verb: string;
  readonly resourceRequest: boolean;
  /** Non-resource requests: the URL path. */
  readonly path: string;
  readonly namespace: string;
  readonly apiGroup: string;
  readonly apiVersion: string;
  readonly resource: string;
  readonly subresource: string;
  readonly name: string;
}

const specialVerbs = new Set(['proxy', 'watch']);
const specialVerbsNoSubresources = new Set(['proxy']);
const namespaceSubresources = new Set(['status', 'finalize']);

function nonResource(method: string, path: string): Attributes {
  return {
    verb: method.toLowerCase(),
    resourceRequest: false,
    path,
    namespace: '',
    apiGroup: '',
    apiVersion: '',
    resource: '',
    subresource: '',
    name: '',
  };
}

/** path.IsValidPathSegmentName: a fieldSelector name that could not be a URL segment is ignored. */
function validSegment(name: string): boolean {
  return name !== '.' && name !== '..' && !name.includes('/') && !name.includes('%');
}

/** metadata.name=<x> when the field selector requires exactly that (RequiresExactMatch). */
function exactName(fieldSelector: string | null): string | undefined {
  if (!fieldSelector) return undefined;
  for (const term of fieldSelector.split(',')) {
    const m = /^\s*metadata\.name\s*==?\s*(.*?)\s*$/.exec(term);
    if (m) return m[1];
  }
  return undefined;
}

function isTrue(v: string | null): boolean {
  return v === 'true' || v === '1' || v === 'True' || v === 'TRUE' || v === 't' || v === 'T';
}

/** Segments are %-decoded by the caller's URL parser; an undecodable one stays as sent. */
function segments(pathname: string): string[] {
  return pathname
    .split('/')
    .filter((s) => s.length > 0)
    .map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    });
}

export function requestAttributes(method: string, pathname: string, query: URLSearchParams): Attributes {
  let parts = segments(pathname);
  if (parts.length < 3 || (parts[0] !== 'api' && parts[0] !== 'apis')) return nonResource(method, pathname);
  const prefix = parts[0];
  parts = parts.slice(1);
  let apiGroup = '';
  if (prefix === 'apis') {
    if (parts.length < 3) return nonResource(method, pathname);
    apiGroup = parts[0] ?? '';
    parts = parts.slice(1);
  }
  const apiVersion = parts[0] ?? '';
  parts = parts.slice(1);
  let verb: string;
  if (specialVerbs.has(parts[0] ?? '')) {
    verb = parts[0] ?? '';
    parts = parts.slice(1);
  } else {
    const byMethod: Record<string, string> = {
      POST: 'create',
      GET: 'get',
      HEAD: 'get',
      PUT: 'update',
      PATCH: 'patch',
      DELETE: 'delete',
    };
    verb = byMethod[method] ?? '';
  }
  let namespace = '';
  if (parts[0] === 'namespaces') {
    if (parts.length > 1) {
      namespace = parts[1] ?? '';
      if (parts.length > 2 && !namespaceSubresources.has(parts[2] ?? '')) parts = parts.slice(2);
    }
  }
  const resource = parts[0] ?? '';
  let name = parts[1] ?? '';
  const subresource = parts.length >= 3 && !specialVerbsNoSubresources.has(verb) ? (parts[2] ?? '') : '';
  if (!name && verb === 'get') {
    verb = isTrue(query.get('watch')) ? 'watch' : 'list';
    const n = exactName(query.get('fieldSelector'));
    if (n !== undefined && n !== '' && validSegment(n)) name = n;
  }
  if (!name && verb === 'delete') verb = 'deletecollection';
  return { verb, resourceRequest: true, path: pathname, namespace, apiGroup, apiVersion, resource, subresource, name };
}
