// Parses a Kubernetes REST URL into what the request addresses (k8s.io/apiserver's
// RequestInfoFactory, reduced to the URL shapes kubectl and client libraries use).
import { type ResourceInfo, resourceInfo } from '../api/resources.ts';
import { newBadRequest } from '../api/status.ts';

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';

export interface ResourceRequest {
  readonly kind: 'resource';
  readonly verb: Verb;
  readonly group: string;
  readonly version: string;
  readonly info: ResourceInfo;
  /** "" for cluster-scoped resources and for lists across all namespaces. */
  readonly namespace: string;
  readonly name: string;
  readonly subresource: string;
}

export interface OtherRequest {
  readonly kind: 'other';
  readonly path: string;
}

export interface UnknownResource {
  readonly kind: 'unknown-resource';
  readonly path: string;
}

export type RequestInfo = ResourceRequest | OtherRequest | UnknownResource;

function verbFor(method: string, hasName: boolean, watch: boolean): Verb | undefined {
  switch (method) {
    case 'GET':
    case 'HEAD':
      if (watch) return 'watch';
      return hasName ? 'get' : 'list';
    case 'POST':
      return hasName ? undefined : 'create';
    case 'PUT':
      return hasName ? 'update' : undefined;
    case 'PATCH':
      return hasName ? 'patch' : undefined;
    case 'DELETE':
      return hasName ? 'delete' : 'deletecollection';
    default:
      return undefined;
  }
}

const connectSubresources = new Set(['exec', 'portforward', 'attach']);

function connectVerb(method: string): Verb | undefined {
  if (method === 'GET' || method === 'HEAD') return 'get';
  return method === 'POST' ? 'create' : undefined;
}

/** `parts` are the path segments after /api/v1 or /apis/<group>/<version>. */
function resourceParts(
  parts: string[],
): { namespace: string; resource: string; name: string; subresource: string } | undefined {
  if (parts[0] === 'namespaces' && parts.length >= 3) {
    // /namespaces/<ns>/<resource>[/<name>[/<sub>]] — but /namespaces/<name>/status|finalize is
    // a subresource of the namespace itself.
    const [, ns = '', second = '', name = '', sub = ''] = parts;
    if (parts.length === 3 && (second === 'status' || second === 'finalize')) {
      return { namespace: '', resource: 'namespaces', name: ns, subresource: second };
    }
    return { namespace: ns, resource: second, name, subresource: sub };
  }
  const [resource = '', name = '', sub = ''] = parts;
  return parts.length <= 3 ? { namespace: '', resource, name, subresource: sub } : undefined;
}

/** A path segment's %-escapes decoded; a malformed escape is the client's error (400), as in Go's net/url. */
function decodeSegment(seg: string): string {
  try {
    return decodeURIComponent(seg);
  } catch {
    throw newBadRequest(`invalid URL escape in ${JSON.stringify(seg)}`);
  }
}

export function parseRequestInfo(method: string, pathname: string, watchParam: boolean): RequestInfo {
  const segs = pathname
    .split('/')
    .filter((s) => s.length > 0)
    .map(decodeSegment);
  let group: string;
  let version: string;
  let rest: string[];
  if (segs[0] === 'api' && segs.length >= 3) {
    group = '';
    version = segs[1] ?? '';
    rest = segs.slice(2);
  } else if (segs[0] === 'apis' && segs.length >= 4) {
    group = segs[1] ?? '';
    version = segs[2] ?? '';
    rest = segs.slice(3);
  } else {
    return { kind: 'other', path: pathname };
  }
  // Legacy /watch/ prefix: GET /api/v1/watch/namespaces/x/services
  let watch = watchParam;
  if (rest[0] === 'watch') {
    watch = true;
    rest = rest.slice(1);
  }
  const parsed = resourceParts(rest);
  if (!parsed) return { kind: 'unknown-resource', path: pathname };
  const info = resourceInfo(parsed.resource);
  if (!info || info.group !== group || info.version !== version) return { kind: 'unknown-resource', path: pathname };
  if (parsed.subresource && !info.subresources.includes(parsed.subresource)) {
    return { kind: 'unknown-resource', path: pathname };
  }
  // Connect subresources (exec, portforward) take GET (WebSocket) and POST (SPDY) on a name,
  // authorized as get and create, as kube-apiserver does.
  const connect = connectSubresources.has(parsed.subresource) && parsed.name !== '';
  const verb = connect ? connectVerb(method) : verbFor(method, parsed.name !== '', watch);
  if (!verb) return { kind: 'unknown-resource', path: pathname };
  return { kind: 'resource', verb, group, version, info, ...parsed };
}
