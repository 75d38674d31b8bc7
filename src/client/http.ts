// The HTTP(S) transport: the Client interface over the Kubernetes REST API, for any API server
// (svcnet's own or a real kube-apiserver). JSON only; one keep-alive agent per client so list,
// write and watch requests reuse TLS connections.
//
// Failure shapes the informer relies on:
// - a non-2xx answer is an ApiError carrying the server's Status (or one synthesized from the
//   HTTP code when the body is not a Status, e.g. from a proxy in between);
// - a transport failure (refused, reset, TLS) is the node error itself (err.code ECONNREFUSED…);
// - a watch ends with onClose(): clean end of stream; onClose(ApiError): ERROR event (410
//   Expired included) or non-2xx; onClose(err): the connection failed mid-stream.
import { readFileSync, statSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import { apiVersionOf, mustResource } from '../api/resources.ts';
import { ApiError, type Status, type StatusReason } from '../api/status.ts';
import type { KubeObject } from '../api/types.ts';
import type {
  Client,
  ClientList,
  ClientListOptions,
  ClientWatch,
  ClientWatchOptions,
  DeleteOptions,
  PatchType,
  WatchEvent,
  WriteOptions,
} from './client.ts';

export interface HttpClientConfig {
  /** https://host:port (or http:// for plain-text test servers), optionally with a path prefix. */
  server: string;
  token?: string;
  /**
   * Re-read for every request (cached for a minute): projected service-account tokens are
   * rotated by the kubelet, so a token read once at start expires (client-go does the same).
   */
  tokenFile?: string;
  username?: string;
  password?: string;
  /** PEM of the CA(s) to trust instead of the system store. */
  ca?: string | Buffer;
  insecureSkipTLSVerify?: boolean;
  clientCert?: string | Buffer;
  clientKey?: string | Buffer;
  /** SNI / certificate name to verify when it differs from the server's host. */
  tlsServerName?: string;
  /** Non-watch request timeout (no bytes for this long aborts the request). Default 60 s. */
  requestTimeoutMs?: number;
  userAgent?: string;
}

const patchContentTypes = {
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  json: 'application/json-patch+json',
} as const satisfies Record<PatchType, string>;

// Reasons apimachinery's errors.FromObject/NewGenericServerResponse assign when the body is
// not a Status.
const reasonByCode: Partial<Record<number, StatusReason>> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  406: 'NotAcceptable',
  409: 'Conflict',
  410: 'Gone',
  413: 'RequestEntityTooLarge',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

function isStatus(v: unknown): v is Status {
  return typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'Status';
}

/** The error for a non-2xx answer: the server's Status, or one built from the code. */
export function errorFromResponse(code: number, body: string): ApiError {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    parsed = undefined;
  }
  if (isStatus(parsed)) {
    return new ApiError({ ...parsed, code: typeof parsed.code === 'number' ? parsed.code : code });
  }
  const text = body.trim();
  return new ApiError({
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: text ? `the server responded with ${code}: ${text.slice(0, 512)}` : `the server responded with ${code}`,
    reason: reasonByCode[code] ?? '',
    code,
  });
}

const tokenCacheMs = 60_000;

export class HttpClient implements Client {
  private readonly base: URL;
  private readonly agent: http.Agent;
  private readonly transport: typeof http | typeof https;
  private readonly timeoutMs: number;
  private fileToken: { value: string; readAt: number; stamp: string } | undefined;

  constructor(private readonly config: HttpClientConfig) {
    this.base = new URL(config.server);
    const tls = this.base.protocol === 'https:';
    this.transport = tls ? https : http;
    // keepAlive also turns on TCP keep-alive probes, which is what eventually notices a
    // half-open watch connection (peer vanished without FIN/RST).
    this.agent = tls
      ? new https.Agent({
          keepAlive: true,
          keepAliveMsecs: 30_000,
          ...(config.ca ? { ca: config.ca } : {}),
          ...(config.clientCert ? { cert: config.clientCert } : {}),
          ...(config.clientKey ? { key: config.clientKey } : {}),
          ...(config.tlsServerName ? { servername: config.tlsServerName } : {}),
          rejectUnauthorized: !config.insecureSkipTLSVerify,
        })
      : new http.Agent({ keepAlive: true, keepAliveMsecs: 30_000 });
    this.timeoutMs = config.requestTimeoutMs ?? 60_000;
  }

  /** Closes idle keep-alive connections and refuses new ones; open watches end with an error. */
  close(): void {
    this.agent.destroy();
  }

  // ---- URLs --------------------------------------------------------------------------------

  /** /api/v1[/namespaces/NS]/RESOURCE[/NAME[/SUB]] or /apis/GROUP/VERSION/… */
  path(resource: string, namespace: string | undefined, name?: string, subresource?: string): string {
    const info = mustResource(resource);
    const parts = [info.group ? `apis/${info.group}/${info.version}` : `api/${info.version}`];
    if (info.namespaced && namespace) parts.push('namespaces', encodeURIComponent(namespace));
    parts.push(info.resource);
    if (name !== undefined) parts.push(encodeURIComponent(name));
    if (subresource) parts.push(subresource);
    const prefix = this.base.pathname.replace(/\/+$/, '');
    return `${prefix}/${parts.join('/')}`;
  }

  // ---- verbs -------------------------------------------------------------------------------

  get<T extends KubeObject>(resource: string, namespace: string, name: string): Promise<T> {
    return this.call<T>('GET', this.path(resource, namespace, name));
  }

  async list<T extends KubeObject>(resource: string, opts: ClientListOptions = {}): Promise<ClientList<T>> {
    const q = new URLSearchParams();
    if (opts.labelSelector) q.set('labelSelector', opts.labelSelector);
    if (opts.fieldSelector) q.set('fieldSelector', opts.fieldSelector);
    if (opts.limit) q.set('limit', String(opts.limit));
    if (opts.continue) q.set('continue', opts.continue);
    const body = await this.call<{ items?: T[] | null; metadata?: { resourceVersion?: string; continue?: string } }>(
      'GET',
      this.path(resource, opts.namespace),
      q,
    );
    // List items carry no apiVersion/kind on the wire (kube-apiserver strips them); restore
    // them so list and watch objects look the same to consumers.
    const info = mustResource(resource);
    const apiVersion = apiVersionOf(info);
    const items = (body.items ?? []).map((o) => ({
      ...o,
      apiVersion: o.apiVersion || apiVersion,
      kind: o.kind || info.kind,
    }));
    const cont = body.metadata?.continue;
    return { items, resourceVersion: body.metadata?.resourceVersion ?? '', ...(cont ? { continue: cont } : {}) };
  }

  create<T extends KubeObject>(resource: string, obj: T, opts: WriteOptions = {}): Promise<T> {
    return this.call<T>('POST', this.path(resource, obj.metadata.namespace), writeQuery(opts), json(obj));
  }

  update<T extends KubeObject>(resource: string, obj: T, opts: WriteOptions = {}): Promise<T> {
    const path = this.path(resource, obj.metadata.namespace, obj.metadata.name ?? '');
    return this.call<T>('PUT', path, writeQuery(opts), json(obj));
  }

  updateStatus<T extends KubeObject>(resource: string, obj: T, opts: WriteOptions = {}): Promise<T> {
    const path = this.path(resource, obj.metadata.namespace, obj.metadata.name ?? '', 'status');
    return this.call<T>('PUT', path, writeQuery(opts), json(obj));
  }

  patch<T extends KubeObject>(
    resource: string,
    namespace: string,
    name: string,
    type: PatchType,
    patch: unknown,
    opts: WriteOptions & { subresource?: 'status' } = {},
  ): Promise<T> {
    const path = this.path(resource, namespace, name, opts.subresource);
    return this.call<T>('PATCH', path, writeQuery(opts), {
      contentType: patchContentTypes[type],
      data: JSON.stringify(patch),
    });
  }

  delete<T extends KubeObject>(
    resource: string,
    namespace: string,
    name: string,
    opts: DeleteOptions = {},
  ): Promise<T> {
    const body: Record<string, unknown> = { kind: 'DeleteOptions', apiVersion: 'v1' };
    if (opts.preconditions) body.preconditions = opts.preconditions;
    if (opts.gracePeriodSeconds !== undefined) body.gracePeriodSeconds = opts.gracePeriodSeconds;
    if (opts.propagationPolicy) body.propagationPolicy = opts.propagationPolicy;
    if (opts.dryRun) body.dryRun = ['All'];
    return this.call<T>('DELETE', this.path(resource, namespace, name), writeQuery(opts), json(body));
  }

  watch<T extends KubeObject>(
    resource: string,
    opts: ClientWatchOptions,
    onEvent: (e: WatchEvent<T>) => void,
    onClose: (err?: unknown) => void,
  ): ClientWatch {
    const q = new URLSearchParams({ watch: 'true' });
    if (opts.resourceVersion) q.set('resourceVersion', opts.resourceVersion);
    if (opts.allowBookmarks) q.set('allowWatchBookmarks', 'true');
    if (opts.timeoutSeconds) q.set('timeoutSeconds', String(Math.ceil(opts.timeoutSeconds)));
    if (opts.labelSelector) q.set('labelSelector', opts.labelSelector);
    if (opts.fieldSelector) q.set('fieldSelector', opts.fieldSelector);

    let done = false;
    const finish = (err?: unknown) => {
      if (done) return;
      done = true;
      req.destroy();
      onClose(err);
    };
    const req = this.request('GET', this.path(resource, opts.namespace), q);
    // A silent stream longer than the server-side timeout plus slack means the connection is
    // dead (bookmarks and the server's own timeout would have produced bytes or an end).
    const idleMs = ((opts.timeoutSeconds ?? 1800) + 60) * 1000;
    req.setTimeout(idleMs, () => finish(timeoutError(idleMs)));
    req.on('error', (err) => finish(err));
    req.on('response', (res) => {
      const code = res.statusCode ?? 0;
      res.setEncoding('utf8');
      if (code < 200 || code > 299) {
        let text = '';
        res.on('data', (c: string) => {
          text += c;
        });
        res.on('end', () => finish(errorFromResponse(code, text)));
        res.on('error', (err) => finish(err));
        return;
      }
      let buf = '';
      // One JSON event per line (the apiserver's watch encoder writes a newline after each).
      const line = (text: string) => {
        if (!text.trim()) return;
        let ev: WatchEvent<T>;
        try {
          ev = JSON.parse(text) as WatchEvent<T>;
        } catch (err) {
          finish(new Error(`watch ${resource}: malformed event: ${text.slice(0, 200)}`, { cause: err }));
          return;
        }
        if (ev.type === 'ERROR') {
          const obj: unknown = ev.object;
          finish(isStatus(obj) ? new ApiError(obj) : errorFromResponse(500, JSON.stringify(obj)));
          return;
        }
        onEvent(ev);
      };
      res.on('data', (chunk: string) => {
        buf += chunk;
        let nl = buf.indexOf('\n');
        while (nl >= 0 && !done) {
          const text = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          line(text);
          nl = buf.indexOf('\n');
        }
      });
      res.on('end', () => {
        if (!done) line(buf);
        finish();
      });
      res.on('error', (err) => finish(err));
      // 'aborted' (connection reset mid-body) surfaces as 'error' on res in Node ≥ 16, and
      // 'close' without 'end' covers what remains.
      res.on('close', () => {
        if (!res.complete) finish(new Error(`watch ${resource}: connection closed mid-stream`));
      });
    });
    req.end();
    return {
      stop() {
        if (done) return;
        done = true;
        req.destroy();
      },
    };
  }

  // ---- plumbing ----------------------------------------------------------------------------

  private headers(contentType?: string): http.OutgoingHttpHeaders {
    const h: http.OutgoingHttpHeaders = {
      Accept: 'application/json',
      'User-Agent': this.config.userAgent ?? 'svcnet/0.1',
    };
    if (contentType) h['Content-Type'] = contentType;
    const token = this.bearer();
    if (token) h.Authorization = `Bearer ${token}`;
    else if (this.config.username !== undefined) {
      const basic = Buffer.from(`${this.config.username}:${this.config.password ?? ''}`).toString('base64');
      h.Authorization = `Basic ${basic}`;
    }
    return h;
  }

  private bearer(): string | undefined {
    const file = this.config.tokenFile;
    if (!file) return this.config.token;
    // Re-read when the file changed (the kubelet rotates projected tokens by swapping a symlink,
    // which changes what stat sees) and at least every minute, so a rotated token is used from
    // the next request on, without a restart.
    const now = Date.now();
    let stamp = '';
    try {
      const st = statSync(file);
      stamp = `${st.ino}:${st.mtimeMs}:${st.size}`;
    } catch {
      // Unreadable now: keep the last good token (the request may then fail with 401, reported).
    }
    if (!this.fileToken || (stamp && stamp !== this.fileToken.stamp) || now - this.fileToken.readAt > tokenCacheMs) {
      try {
        this.fileToken = { value: readFileSync(file, 'utf8').trim(), readAt: now, stamp };
      } catch {
        // Keep the last good token through a transient read failure; with none yet, fall
        // back to the static token (the request then fails with 401, which is reported).
      }
    }
    return this.fileToken?.value ?? this.config.token;
  }

  private request(method: string, path: string, q?: URLSearchParams, body?: Body): http.ClientRequest {
    const qs = q?.toString();
    const headers = this.headers(body?.contentType);
    // Always frame bodies: Node sends DELETE bodies neither chunked nor with a length, which
    // the server cannot parse (400 with an empty body).
    if (body) headers['Content-Length'] = Buffer.byteLength(body.data);
    return this.transport.request({
      protocol: this.base.protocol,
      hostname: this.base.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: this.base.port || (this.base.protocol === 'https:' ? 443 : 80),
      method,
      path: qs ? `${path}?${qs}` : path,
      headers,
      agent: this.agent,
    });
  }

  private call<R>(method: string, path: string, q?: URLSearchParams, body?: Body): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const req = this.request(method, path, q, body);
      req.setTimeout(this.timeoutMs, () => req.destroy(timeoutError(this.timeoutMs)));
      req.on('error', reject);
      req.on('response', (res) => {
        res.setEncoding('utf8');
        let text = '';
        res.on('data', (c: string) => {
          text += c;
        });
        res.on('error', reject);
        res.on('end', () => {
          const code = res.statusCode ?? 0;
          if (code < 200 || code > 299) return reject(errorFromResponse(code, text));
          try {
            resolve(JSON.parse(text) as R);
          } catch (err) {
            reject(new Error(`${method} ${path}: response is not JSON: ${text.slice(0, 200)}`, { cause: err }));
          }
        });
      });
      req.end(body?.data);
    });
  }
}

interface Body {
  contentType: string;
  data: string;
}

function json(v: unknown): Body {
  return { contentType: 'application/json', data: JSON.stringify(v) };
}

function writeQuery(opts: WriteOptions): URLSearchParams | undefined {
  return opts.dryRun ? new URLSearchParams({ dryRun: 'All' }) : undefined;
}

function timeoutError(ms: number): Error {
  return Object.assign(new Error(`request timed out after ${ms} ms without data`), { code: 'ETIMEDOUT' });
}
