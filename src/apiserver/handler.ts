// The REST handler: URL → verb → registry call → JSON (or Table) reply. Request bodies may be
// JSON, YAML or Kubernetes protobuf (kubectl's typed clients send protobuf); replies are JSON.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { negotiate } from '../api/exposition.ts';
import { apiVersionOf, type ResourceInfo } from '../api/resources.ts';
import { ApiError, newBadRequest, newMethodNotSupported, toStatus } from '../api/status.ts';
import type { KubeObject, Pod } from '../api/types.ts';
import type { WatchEvent } from '../store/store.ts';
import { managerOrUserAgent } from './apply/field-manager.ts';
import { serveApply } from './apply/serve.ts';
import type { UserInfo } from './authz/rbac.ts';
import { applyPatch, applyScalePatch, checkUnknownFields, decodeBody, type PatchType, patchTypeOf } from './codec.ts';
import { apiGroupDoc, apiGroupList, apiResourceList, apiVersions, serverVersion } from './discovery.ts';
import { readBody, sendJSON, sendStatus } from './http-util.ts';
import { type ApiserverMetrics, requestLabels } from './metrics.ts';
import type { OpenApiV3 } from './openapi.ts';
import type { KubeletConnection } from './pods/kubelet.ts';
import { servePodLog } from './pods/log.ts';
import { createOrUpdateOptions, deleteOptions, dryRunOnly, patchOptions, queryBool, queryInt } from './query.ts';
import type { GenericRegistry, Target } from './registry/generic.ts';
import { parseRequestInfo, type RequestInfo, type ResourceRequest } from './request-info.ts';
import { applyScale, scaleOf } from './scale.ts';
import { type IncludeObject, toTable, wantsTable } from './table/table.ts';

export interface HandlerDeps {
  registry: GenericRegistry;
  openapi: OpenApiV3;
  /** host:port clients should use, for /api's serverAddressByClientCIDRs. */
  serverAddress: string;
  /**
   * Watches without timeoutSeconds end cleanly after this many seconds × a random factor in
   * [1, 2), like kube-apiserver's --min-request-timeout (default 1800): clients then re-watch
   * from their last resourceVersion, which spreads reconnects and exercises 410 handling.
   */
  minRequestTimeoutSeconds?: number;
  /** The kubelets behind pods/log (exec and portforward are upgrades: server.ts). */
  kubelet?: () => KubeletConnection | undefined;
  /** Called with every finished request (for logs and metrics). */
  onRequest?: (method: string, url: string, code: number, ms: number) => void;
  /** See maxWatchBufferBytes; tests lower it. */
  maxWatchBufferBytes?: number;
  /** Request counts and latencies (apiserver_request_*), and the exposition /metrics serves. */
  metrics?: { readonly requests: ApiserverMetrics; readonly render: () => string };
  /** Who sent the request (authenticated before the handler runs); writes carry it to the registry. */
  userOf?: (req: IncomingMessage) => UserInfo | undefined;
}

/**
 * Bytes a watch response may hold unsent (the client reads slower than events arrive) before
 * the server drops that watcher, as kube-apiserver's watch cache terminates a watcher whose
 * buffer is full. The client re-watches from the last resourceVersion it read (or relists on
 * 410); without the bound one stalled reader would grow the server without limit.
 */
export const maxWatchBufferBytes = 16 * 1024 * 1024;

const notFoundStatus = {
  kind: 'Status',
  apiVersion: 'v1',
  metadata: {},
  status: 'Failure',
  message: 'the server could not find the requested resource',
  reason: 'NotFound',
  details: {},
  code: 404,
} as const;

function listKindBody(info: ResourceInfo, items: KubeObject[], meta: Record<string, unknown>) {
  return { kind: info.listKind, apiVersion: apiVersionOf(info), metadata: meta, items };
}

function includeObjectOf(q: URLSearchParams): IncludeObject {
  const v = q.get('includeObject');
  return v === 'None' || v === 'Object' ? v : 'Metadata';
}

function warningHeader(warnings: string[]): Record<string, string> {
  if (warnings.length === 0) return {};
  return { Warning: warnings.map((w) => `299 - ${JSON.stringify(w)}`).join(', ') };
}

function parseLimit(q: URLSearchParams): number | undefined {
  const n = queryInt(q, 'limit');
  // A negative limit means no limit, as in the apiserver.
  return n === undefined || n <= 0 ? undefined : n;
}

export function createHandler(deps: HandlerDeps) {
  const { registry, openapi } = deps;

  async function serveOther(req: IncomingMessage, res: ServerResponse, path: string, q: URLSearchParams) {
    switch (path) {
      case '/metrics': {
        if (!deps.metrics) return sendJSON(res, 404, notFoundStatus);
        const m = negotiate(req, deps.metrics.render());
        res.writeHead(200, { 'Content-Type': m.type });
        return res.end(m.body);
      }
      case '/version':
        return sendJSON(res, 200, serverVersion);
      case '/healthz':
      case '/livez':
      case '/readyz':
        res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
        return res.end('ok');
      case '/api':
        return sendJSON(res, 200, apiVersions(deps.serverAddress));
      case '/apis':
        return sendJSON(res, 200, apiGroupList());
      case '/openapi/v3':
        return sendJSON(res, 200, openapi.index);
    }
    if (path.startsWith('/openapi/v3/')) {
      const doc = openapi.doc(path.slice('/openapi/v3/'.length));
      if (!doc) return sendJSON(res, 404, notFoundStatus);
      const immutable = q.get('hash') === doc.hash;
      return sendJSON(res, 200, doc.body, {
        ETag: `"${doc.hash}"`,
        ...(immutable ? { 'Cache-Control': 'public, immutable' } : {}),
      });
    }
    const segs = path.split('/').filter(Boolean);
    if (segs[0] === 'api' && segs.length === 2) {
      const list = apiResourceList(segs[1] ?? '');
      return list ? sendJSON(res, 200, list) : sendJSON(res, 404, notFoundStatus);
    }
    if (segs[0] === 'apis' && segs.length === 2) {
      const g = apiGroupDoc(segs[1] ?? '');
      return g ? sendJSON(res, 200, g) : sendJSON(res, 404, notFoundStatus);
    }
    if (segs[0] === 'apis' && segs.length === 3) {
      const list = apiResourceList(`${segs[1]}/${segs[2]}`);
      return list ? sendJSON(res, 200, list) : sendJSON(res, 404, notFoundStatus);
    }
    return sendJSON(res, 404, notFoundStatus);
  }

  async function serveWatch(req: IncomingMessage, res: ServerResponse, r: ResourceRequest, q: URLSearchParams) {
    const t: Target = { info: r.info, namespace: r.namespace };
    const table = wantsTable(req.headers.accept);
    const include = includeObjectOf(q);
    // ListOptions decode before the stream starts: a bad value is still a plain 400.
    const asked = queryInt(q, 'timeoutSeconds') ?? 0;
    const allowBookmarks = queryBool(q, 'allowWatchBookmarks');
    const fieldSelector = [q.get('fieldSelector') ?? '', r.name ? `metadata.name=${r.name}` : '']
      .filter(Boolean)
      .join(',');
    res.writeHead(200, {
      'Content-Type': 'application/json',
      'Transfer-Encoding': 'chunked',
      'Cache-Control': 'no-cache, private',
    });
    res.flushHeaders();
    let first = true;
    const limit = deps.maxWatchBufferBytes ?? maxWatchBufferBytes;
    let dropped = false;
    const send = (ev: WatchEvent) => {
      if (dropped) return;
      let object: unknown = ev.object;
      if (table && ev.type !== 'ERROR' && ev.type !== 'BOOKMARK') {
        object = toTable(r.info.resource, [ev.object], { includeObject: include, noHeaders: !first });
        first = false;
      }
      res.write(`${JSON.stringify({ type: ev.type, object })}\n`);
      if (res.writableLength > limit) {
        // Ending politely would keep the backlog until the client read it: cut the connection.
        dropped = true;
        w?.stop();
        res.destroy();
      }
    };
    let w: { stop(): void } | undefined;
    try {
      w = registry.watch(
        t,
        {
          resourceVersion: q.get('resourceVersion') ?? '',
          labelSelector: q.get('labelSelector') ?? '',
          fieldSelector,
          allowBookmarks,
        },
        send,
      );
    } catch (e) {
      // Watch errors (410 Expired) travel inside the stream, as the apiserver sends them.
      res.end(`${JSON.stringify({ type: 'ERROR', object: toStatus(e) })}\n`);
      return;
    }
    const timeout = asked > 0 ? asked : (deps.minRequestTimeoutSeconds ?? 1800) * (1 + Math.random());
    // setTimeout fires at once beyond 2^31-1 ms (about 24.8 days): clamp, do not wrap.
    const timer = setTimeout(() => res.end(), Math.min(timeout * 1000, 2 ** 31 - 1));
    const stop = () => {
      clearTimeout(timer);
      w?.stop();
    };
    req.on('close', stop);
    res.on('close', stop);
  }

  async function serveScale(req: IncomingMessage, res: ServerResponse, r: ResourceRequest, q: URLSearchParams) {
    const t: Target = { info: r.info, namespace: r.namespace };
    const dryRun = dryRunOnly(q, r.verb === 'patch' ? 'PatchOptions' : 'UpdateOptions');
    const resource = r.info.resource;
    const user = deps.userOf?.(req);
    switch (r.verb) {
      case 'get':
        return sendJSON(res, 200, scaleOf(await registry.get(t, r.name)));
      case 'update': {
        const body = decodeBody(req.headers['content-type'], await readBody(req));
        const obj = await registry.update(t, r.name, (cur) => applyScale(cur, body, resource), { dryRun, user });
        return sendJSON(res, 200, scaleOf(obj));
      }
      case 'patch': {
        const ptype = patchTypeOf(req.headers['content-type']);
        const raw = await readBody(req);
        const obj = await registry.update(
          t,
          r.name,
          // A Scale has no lists: strategic merge is merge patch here.
          (cur) => applyScale(cur, applyScalePatch(ptype, scaleOf(cur), raw), resource),
          { dryRun, isPatch: true, user },
        );
        return sendJSON(res, 200, scaleOf(obj));
      }
      default:
        return sendJSON(
          res,
          405,
          newMethodNotSupported({ group: r.group, resource: `${resource}/scale` }, r.verb).status,
        );
    }
  }

  async function serveResource(req: IncomingMessage, res: ServerResponse, r: ResourceRequest, q: URLSearchParams) {
    if (r.subresource === 'scale') return serveScale(req, res, r, q);
    const t: Target = { info: r.info, namespace: r.namespace };
    if (r.subresource === 'log') {
      if (r.verb !== 'get') throw newMethodNotSupported({ group: '', resource: 'pods/log' }, r.verb);
      return servePodLog(req, res, (await registry.get(t, r.name)) as Pod, q, deps.kubelet?.());
    }
    // Reached without an Upgrade header: these speak only over upgraded connections.
    if (r.subresource === 'exec' || r.subresource === 'portforward') throw newBadRequest('Upgrade request required');
    const table = wantsTable(req.headers.accept);
    const include = includeObjectOf(q);
    const user = deps.userOf?.(req);
    switch (r.verb) {
      case 'get': {
        const obj = await registry.get(t, r.name);
        return sendJSON(res, 200, table ? toTable(r.info.resource, [obj], { includeObject: include }) : obj);
      }
      case 'list': {
        const result = await registry.list(t, {
          labelSelector: q.get('labelSelector') ?? '',
          fieldSelector: q.get('fieldSelector') ?? '',
          limit: parseLimit(q),
          continue: q.get('continue') ?? undefined,
          resourceVersion: q.get('resourceVersion') ?? '',
        });
        const meta: Record<string, unknown> = { resourceVersion: result.resourceVersion };
        if (result.continue) meta.continue = result.continue;
        if (result.remainingItemCount !== undefined) meta.remainingItemCount = result.remainingItemCount;
        if (table) {
          return sendJSON(
            res,
            200,
            toTable(r.info.resource, result.items, {
              includeObject: include,
              resourceVersion: result.resourceVersion,
              continue: result.continue,
            }),
          );
        }
        return sendJSON(res, 200, listKindBody(r.info, result.items, meta));
      }
      case 'watch':
        return serveWatch(req, res, r, q);
      case 'create': {
        const { dryRun, fieldValidation, fieldManager } = createOrUpdateOptions(q, 'CreateOptions');
        const body = decodeBody(req.headers['content-type'], await readBody(req));
        const warnings = checkUnknownFields(r.info, body, fieldValidation);
        const manager = managerOrUserAgent(fieldManager, req.headers['user-agent']);
        const obj = await registry.create(t, body, { dryRun, fieldManager: manager, user });
        return sendJSON(res, 201, obj, warningHeader(warnings));
      }
      case 'update': {
        const { dryRun, fieldValidation, fieldManager } = createOrUpdateOptions(q, 'UpdateOptions');
        const body = decodeBody(req.headers['content-type'], await readBody(req));
        const warnings = checkUnknownFields(r.info, body, fieldValidation);
        const obj = await registry.update(t, r.name, () => structuredClone(body), {
          dryRun,
          subresource: r.subresource,
          fieldManager: managerOrUserAgent(fieldManager, req.headers['user-agent']),
          user,
        });
        return sendJSON(res, 200, obj, warningHeader(warnings));
      }
      case 'patch': {
        const ptype: PatchType = patchTypeOf(req.headers['content-type']);
        const opts = patchOptions(q, ptype === 'apply');
        const raw = await readBody(req);
        if (ptype === 'apply') {
          const applied = await serveApply(registry, t, r.name, r.subresource, raw, opts, user);
          return sendJSON(res, applied.code, applied.object);
        }
        let warnings: string[] = [];
        const obj = await registry.update(
          t,
          r.name,
          (current) => {
            const patched = applyPatch(ptype, r.info, current, raw);
            warnings = checkUnknownFields(r.info, patched, opts.fieldValidation);
            return patched;
          },
          {
            dryRun: opts.dryRun,
            subresource: r.subresource,
            isPatch: true,
            fieldManager: managerOrUserAgent(opts.fieldManager, req.headers['user-agent']),
            user,
          },
        );
        return sendJSON(res, 200, obj, warningHeader(warnings));
      }
      case 'delete': {
        const raw = await readBody(req);
        const body = raw.length ? decodeBody(req.headers['content-type'] ?? 'application/json', raw) : undefined;
        if (body !== undefined && (typeof body !== 'object' || body === null || Array.isArray(body))) {
          throw newBadRequest('the body of the request was not a DeleteOptions object');
        }
        const opts = deleteOptions(q, body as Record<string, unknown> | undefined);
        const obj = await registry.delete(t, r.name, {
          dryRun: opts.dryRun,
          preconditions: opts.preconditions,
          gracePeriodSeconds: opts.gracePeriodSeconds,
          propagationPolicy: opts.propagationPolicy,
          orphanDependents: opts.orphanDependents,
        });
        return sendJSON(res, 200, obj);
      }
      case 'deletecollection': {
        const opts = deleteOptions(q, undefined);
        const items = await registry.deleteCollection(t, {
          labelSelector: q.get('labelSelector') ?? '',
          fieldSelector: q.get('fieldSelector') ?? '',
          dryRun: opts.dryRun,
          propagationPolicy: opts.propagationPolicy,
        });
        return sendJSON(res, 200, listKindBody(r.info, items, {}));
      }
    }
  }

  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const url = new URL(req.url ?? '/', 'http://localhost');
    const finished = deps.metrics?.requests.started(req.method ?? 'GET');
    let info: RequestInfo | undefined;
    try {
      const q = url.searchParams;
      const watch = queryBool(q, 'watch');
      info = parseRequestInfo(req.method ?? 'GET', url.pathname, watch);
      if (info.kind === 'other') await serveOther(req, res, url.pathname.replace(/\/+$/, '') || '/', q);
      else if (info.kind === 'unknown-resource') sendJSON(res, 404, notFoundStatus);
      else await serveResource(req, res, info, q);
    } catch (e) {
      if (!(e instanceof ApiError)) console.error('svcnet apiserver: internal error:', e);
      sendStatus(res, e);
    } finally {
      const ms = performance.now() - started;
      deps.onRequest?.(req.method ?? '', req.url ?? '', res.statusCode, ms);
      if (deps.metrics) {
        finished?.();
        const apply = req.method === 'PATCH' && /apply-patch/.test(req.headers['content-type'] ?? '');
        const labels = requestLabels(
          req.method ?? 'GET',
          info ?? { kind: 'other', path: url.pathname },
          url.searchParams.get('dryRun') === 'All',
          apply,
        );
        deps.metrics.requests.observe(labels, res.statusCode, ms / 1000);
      }
    }
  };
}
