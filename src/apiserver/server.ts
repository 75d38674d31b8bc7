// The Kubernetes-compatible API server: HTTP(S) listener, authentication, the generic registry
// with per-kind strategies, allocators rebuilt from the store at start, and the objects every
// cluster has (system namespaces, default/kubernetes).
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ErrorList } from '../api/field.ts';
import { isLoopbackIP } from '../api/ip.ts';
import { kindStrategies } from '../api/kinds.ts';
import { Registry } from '../api/metrics.ts';
import { mustResource } from '../api/resources.ts';
import { ApiError, isAlreadyExists, newForbidden, newInvalid, newUnauthorized } from '../api/status.ts';
import type { KubeObject, Service } from '../api/types.ts';
import { linkLocalRangeDetail, loopbackRangeDetail } from '../api/validation/ip.ts';
import type { Store } from '../store/store.ts';
import { ClusterRoleAggregator } from './authz/aggregation.ts';
import { requestAttributes } from './authz/attributes.ts';
import { Authenticator } from './authz/authn.ts';
import { bootstrapClusterRoleBindings, bootstrapClusterRoles } from './authz/bootstrap.ts';
import { guardedResources, withEscalationPrevention } from './authz/guard.ts';
import { impersonate, wantsImpersonation } from './authz/impersonation.ts';
import { loadPolicy } from './authz/policy.ts';
import { authorize, forbiddenMessage, mastersGroup, type UserInfo } from './authz/rbac.ts';
import { issueServiceAccountToken, serveReview } from './authz/reviews.ts';
import { TokenSigner } from './authz/tokens.ts';
import { ConnectionGuard, type ConnectionLimits, defaultConnectionLimits } from './connections.ts';
import { defaultEventTTLSeconds, EventReaper } from './event-ttl.ts';
import { recordEvent } from './events.ts';
import { createHandler } from './handler.ts';
import { maxBodyBytes, sendJSON, sendStatus, tooLarge } from './http-util.ts';
import { apiserverMetrics } from './metrics.ts';
import { bootstrapNamespaces } from './namespaces.ts';
import { OpenApiV3 } from './openapi.ts';
import type { KubeletConnection } from './pods/kubelet.ts';
import { createUpgradeHandler } from './pods/upgrade.ts';
import { GenericRegistry } from './registry/generic.ts';
import { repairAllocators } from './registry/service/repair.ts';
import { createServiceStrategy, type ServiceStrategyHandle } from './registry/service/strategy.ts';
import { type Admission, type ListFn, noopTxn, type ResourceStrategy } from './registry/types.ts';
import type { TlsMaterial } from './tls.ts';
import { cookieAuthenticates, handleUi, type UiRoute } from './ui/serve.ts';

export interface ApiServerOptions {
  store: Store;
  /** Listen address; default 127.0.0.1. Non-loopback addresses require tls. */
  host?: string;
  /** Default 6443; 0 picks a free port. */
  port?: number;
  token: string;
  tls?: TlsMaterial;
  /** Default ['10.96.0.0/12']. */
  serviceCIDRs?: string[];
  /** Default '30000-32767'. */
  nodePortRange?: string;
  /**
   * Rootless lab only: accept loopback endpoint addresses (pods there are 127.x processes).
   * Off by default; Kubernetes rejects them since CVE-2021-25737.
   */
  allowLoopbackEndpoints?: boolean;
  /**
   * The address in-cluster clients reach this server at: the endpoint of default/kubernetes.
   * It may be link-local (the lab LAN), which endpoint validation refuses for every other
   * address and object.
   */
  advertiseAddress?: string;
  /** Validating admission checks contributed by other components (e.g. the LB IPAM). */
  admission?: Admission[];
  /** More addresses to serve on, same port (e.g. the lab's link, for the node namespace). */
  extraHosts?: string[];
  /** See HandlerDeps.minRequestTimeoutSeconds; default 1800. */
  minRequestTimeoutSeconds?: number;
  /** Log each request (method, url, status, ms). */
  log?: (line: string) => void;
  /** The kubelets behind pods/log, pods/exec and pods/portforward (the lab's, under `svcnet up`). */
  kubelet?: KubeletConnection;
  /** Default: from the descriptor limit (connections.ts). */
  connectionLimits?: ConnectionLimits;
  /** See handler.ts maxWatchBufferBytes. */
  maxWatchBufferBytes?: number;
  /** kube-apiserver's --event-ttl; default one hour, 0 keeps Events forever. */
  eventTTLSeconds?: number;
  /** Serve the dashboard under /ui/ (default true; `--no-ui` turns it off). */
  ui?: boolean;
  /** Secret the ServiceAccount token key derives from; default the admin token (stable across restarts). */
  serviceAccountKey?: string;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || isLoopbackIP(host);
}

/**
 * Kinds with a /status subresource keep spec and status apart, as their REST strategies do:
 * a main-resource update cannot change status, a status update cannot change anything else
 * but metadata.
 */
function withStatusSubresource(s: ResourceStrategy): ResourceStrategy {
  return {
    ...s,
    prepareForUpdate(obj, old) {
      if (old.status === undefined) delete obj.status;
      else obj.status = structuredClone(old.status);
    },
    prepareForStatusUpdate(obj, old) {
      for (const k of Object.keys(obj)) if (!['apiVersion', 'kind', 'metadata', 'status'].includes(k)) delete obj[k];
      for (const [k, v] of Object.entries(old)) {
        if (!['apiVersion', 'kind', 'metadata', 'status'].includes(k)) obj[k] = structuredClone(v);
      }
    },
  };
}

function withAdmission(s: ResourceStrategy, a: Admission, store: Store): ResourceStrategy {
  const list: ListFn = async (resource) => (await store.list(resource)).items;
  const refuse = (obj: KubeObject, errs: ErrorList) => {
    const info = mustResource(a.resource);
    if (errs.length) throw newInvalid({ group: info.group, kind: info.kind }, obj.metadata.name ?? '', errs);
  };
  return {
    ...s,
    async beginUpdate(obj, old, ctx) {
      const txn = (await s.beginUpdate?.(obj, old, ctx)) ?? noopTxn;
      try {
        if (a.validateUpdate) refuse(obj, await a.validateUpdate(obj, old, list));
      } catch (e) {
        txn.revert();
        throw e;
      }
      return txn;
    },
    async beforeDelete(obj, ctx) {
      await s.beforeDelete?.(obj, ctx);
      if (a.validateDelete) refuse(obj, await a.validateDelete(obj, list));
    },
  };
}

/** Lets default/kubernetes's EndpointSlice name the advertise address even if it is link-local. */
function allowingAdvertiseAddress(s: ResourceStrategy, address: string): ResourceStrategy {
  const keep = (obj: KubeObject, errs: ErrorList) => {
    const m = obj.metadata;
    if (m.namespace !== 'default' || m.name !== 'kubernetes') return errs;
    const eps = ((obj as { endpoints?: { addresses?: string[] }[] }).endpoints ?? []).flatMap((e) => e.addresses ?? []);
    if (!eps.every((a) => a === address)) return errs;
    return errs.filter((e) => e.detail !== linkLocalRangeDetail);
  };
  return {
    ...s,
    validateCreate: (obj) => keep(obj, s.validateCreate(obj)),
    validateUpdate: (obj, old) => keep(obj, s.validateUpdate(obj, old)),
  };
}

function allowingLoopback(s: ResourceStrategy): ResourceStrategy {
  const keep = (errs: ErrorList) => errs.filter((e) => e.detail !== loopbackRangeDetail);
  return {
    ...s,
    validateCreate: (obj) => keep(s.validateCreate(obj)),
    validateUpdate: (obj, old) => keep(s.validateUpdate(obj, old)),
  };
}

type OptionalKeys =
  | 'tls'
  | 'log'
  | 'minRequestTimeoutSeconds'
  | 'allowLoopbackEndpoints'
  | 'advertiseAddress'
  | 'admission'
  | 'kubelet'
  | 'connectionLimits'
  | 'maxWatchBufferBytes'
  | 'eventTTLSeconds'
  | 'ui'
  | 'serviceAccountKey';

export class ApiServer {
  readonly registry: GenericRegistry;
  /**
   * What /metrics exposes: the request metrics, and whatever runs in this process beside the
   * API server and registers here (`svcnet up`'s controllers: workqueue_*).
   */
  readonly metrics = new Registry();
  readonly services: ServiceStrategyHandle;
  private readonly servers: Server[] = [];
  /** Open-connection bookkeeping shared by every listener. */
  readonly connections: ConnectionGuard;
  readonly eventReaper: EventReaper;
  readonly aggregator: ClusterRoleAggregator;
  readonly authenticator: Authenticator;
  private readonly opts: Required<Omit<ApiServerOptions, OptionalKeys>> & Pick<ApiServerOptions, OptionalKeys>;
  url = '';
  /** Set when the kubelets start after the API server (as under `svcnet up`). */
  kubelet: KubeletConnection | undefined;

  constructor(opts: ApiServerOptions) {
    this.kubelet = opts.kubelet;
    this.opts = {
      host: '127.0.0.1',
      port: 6443,
      serviceCIDRs: ['10.96.0.0/12'],
      nodePortRange: '30000-32767',
      extraHosts: [],
      ...opts,
    };
    if ([this.opts.host, ...this.opts.extraHosts].some((h) => !isLoopback(h)) && !this.opts.tls) {
      throw new Error(`refusing to listen on ${this.opts.host} without TLS: give a serving certificate`);
    }
    this.authenticator = new Authenticator(
      this.opts.store,
      this.opts.token,
      new TokenSigner(this.opts.serviceAccountKey ?? this.opts.token),
    );
    this.eventReaper = new EventReaper(this.opts.store, this.opts.eventTTLSeconds ?? defaultEventTTLSeconds);
    this.connections = new ConnectionGuard(this.opts.connectionLimits ?? defaultConnectionLimits());
    this.services = createServiceStrategy({
      serviceCIDRs: this.opts.serviceCIDRs,
      nodePortRange: this.opts.nodePortRange,
    });
    const strategies = new Map<string, ResourceStrategy>();
    for (const [resource, strategy] of Object.entries(kindStrategies)) {
      const hasStatus = mustResource(resource).subresources.includes('status');
      strategies.set(resource, hasStatus ? withStatusSubresource(strategy) : strategy);
    }
    for (const a of opts.admission ?? []) {
      const s = strategies.get(a.resource);
      if (s) strategies.set(a.resource, withAdmission(s, a, opts.store));
    }
    if (opts.allowLoopbackEndpoints) {
      for (const r of ['endpoints', 'endpointslices']) {
        const s = strategies.get(r);
        if (s) strategies.set(r, allowingLoopback(s));
      }
    }
    const slices = strategies.get('endpointslices');
    if (opts.advertiseAddress && slices)
      strategies.set('endpointslices', allowingAdvertiseAddress(slices, opts.advertiseAddress));
    strategies.set('services', this.services.strategy as unknown as ResourceStrategy);
    for (const r of guardedResources) {
      const s = strategies.get(r);
      if (s) strategies.set(r, withEscalationPrevention(r, s, this.opts.store));
    }
    this.registry = new GenericRegistry(this.opts.store, strategies);
    this.aggregator = new ClusterRoleAggregator(this.opts.store, this.registry);
  }

  /** Rebuilds the allocators from stored Services and reports problems as Events. */
  private async repair(): Promise<void> {
    const { items } = await this.opts.store.list<Service & KubeObject>('services');
    const report = repairAllocators(items, this.services.allocators);
    for (const f of report.findings) {
      await recordEvent(this.opts.store, {
        involved: f.service,
        type: 'Warning',
        reason: f.reason,
        message: f.message,
        component: 'ipallocator-repair-controller',
      });
    }
  }

  private async bootstrap(port: number): Promise<void> {
    const store = this.opts.store;
    for (const ns of bootstrapNamespaces) {
      const name = ns.metadata.name ?? '';
      try {
        await store.create({ resource: 'namespaces', namespace: '', name }, ns);
      } catch (e) {
        if (!isAlreadyExists(e)) throw e;
      }
    }
    for (const [resource, objs] of [
      ['clusterroles', bootstrapClusterRoles],
      ['clusterrolebindings', bootstrapClusterRoleBindings],
    ] as const) {
      for (const obj of objs) {
        if (await store.get({ resource, namespace: '', name: obj.metadata?.name ?? '' })) continue;
        await this.registry.create({ info: mustResource(resource), namespace: '' }, structuredClone(obj) as KubeObject);
      }
    }
    const existing = await store.get({ resource: 'services', namespace: 'default', name: 'kubernetes' });
    if (!existing) {
      const first = this.services.firstServiceIP();
      await this.registry.create(
        { info: mustResource('services'), namespace: 'default' },
        {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: 'kubernetes', labels: { component: 'apiserver', provider: 'kubernetes' } },
          spec: {
            type: 'ClusterIP',
            clusterIP: first,
            ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: port }],
            sessionAffinity: 'None',
          },
        },
      );
    }
  }

  /** The dashboard's routes to the agents, by name under /ui/ (set by `svcnet up`, which knows where they are). */
  uiRoutes: Record<string, UiRoute> = {};
  /** A token for an existing ServiceAccount (404 otherwise), as TokenRequest issues it. */
  async issueServiceAccountToken(
    namespace: string,
    name: string,
    expirationSeconds: number,
  ): Promise<{ token: string; expiresAtMs: number }> {
    const { token, claims } = await issueServiceAccountToken(
      { store: this.opts.store, signer: this.authenticator.signer },
      namespace,
      name,
      expirationSeconds,
    );
    return { token, expiresAtMs: claims.exp * 1000 };
  }

  private initialized = false;

  /**
   * Rebuilds allocators from the store and creates the objects every cluster has. start() calls
   * it; in-process users (tests, `svcnet up` without HTTP clients) may call it alone.
   */
  async initialize(apiserverPort = this.opts.port || 6443): Promise<void> {
    if (this.initialized) return;
    this.initialized = true;
    await this.repair();
    await this.bootstrap(apiserverPort);
    this.eventReaper.start();
    this.aggregator.start();
  }

  /**
   * Authentication then RBAC authorization, before anything else reads the request: throws 401
   * for an unknown token and 403 with kube-apiserver's message for a request RBAC does not allow.
   */
  private async admit(req: IncomingMessage): Promise<UserInfo> {
    const requester = await this.authenticator.authenticate(req);
    if (!requester) throw newUnauthorized();
    const user = wantsImpersonation(req)
      ? await impersonate(req, requester, (ns) => loadPolicy(this.opts.store, ns))
      : requester;
    if (user.groups.includes(mastersGroup)) return user;
    const url = new URL(req.url ?? '/', 'http://localhost');
    const a = requestAttributes(req.method ?? 'GET', url.pathname, url.searchParams);
    const d = authorize(user, a, await loadPolicy(this.opts.store, a.resourceRequest ? a.namespace : ''));
    if (d.allowed) return user;
    const msg = forbiddenMessage(user, a);
    throw newForbidden({ group: a.apiGroup, resource: a.resource }, a.name, d.reason ? `${msg}: ${d.reason}` : msg);
  }

  async start(): Promise<string> {
    const openapi = new OpenApiV3();
    let serverAddress = '';
    const requestMetrics = apiserverMetrics(this.metrics);
    // The authenticated user of each request in flight, for the registry's writer-dependent checks.
    const users = new WeakMap<IncomingMessage, UserInfo>();
    const handler = createHandler({
      registry: this.registry,
      openapi,
      metrics: { requests: requestMetrics, render: () => this.metrics.render() },
      kubelet: () => this.kubelet,
      minRequestTimeoutSeconds: this.opts.minRequestTimeoutSeconds,
      maxWatchBufferBytes: this.opts.maxWatchBufferBytes,
      get serverAddress() {
        return serverAddress;
      },
      onRequest: this.opts.log ? (m, u, c, ms) => this.opts.log?.(`${m} ${u} ${c} ${ms.toFixed(1)}ms`) : undefined,
      userOf: (req) => users.get(req),
    });
    const token = this.opts.token;
    const ui = this.opts.ui !== false;
    const reviewDeps = { store: this.opts.store, signer: this.authenticator.signer };
    const listener = (req: IncomingMessage, res: ServerResponse) => {
      if (ui && (req.url === '/ui' || req.url?.startsWith('/ui/') || req.url?.startsWith('/ui?'))) {
        void handleUi(req, res, token, this.uiRoutes).catch((e: unknown) => {
          if (!res.headersSent) sendJSON(res, 500, { message: e instanceof Error ? e.message : String(e) });
          else res.destroy();
        });
        return;
      }
      // The dashboard's cookie stands in for the bearer token, on reads only (ui/serve.ts).
      if (ui && req.headers.authorization === undefined && cookieAuthenticates(req, token)) {
        req.headers.authorization = `Bearer ${token}`;
      }
      void (async () => {
        try {
          const user = await this.admit(req);
          users.set(req, user);
          const url = new URL(req.url ?? '/', 'http://localhost');
          const a = requestAttributes(req.method ?? 'GET', url.pathname, url.searchParams);
          if (await serveReview(req, res, user, a, reviewDeps)) return;
        } catch (e) {
          if (!(e instanceof ApiError)) console.error('svcnet apiserver: internal error:', e);
          // Read the refused request's body first: a socket closed with unread bytes is reset,
          // and the reset can reach the client before the 401/403, which it then never sees.
          if (!req.complete) {
            req.resume();
            await new Promise<void>((r) => {
              req.once('end', r);
              req.once('close', r);
            });
          }
          sendStatus(res, e);
          return;
        }
        await handler(req, res);
      })();
    };
    const upgrade = createUpgradeHandler({ registry: this.registry, kubelet: () => this.kubelet });
    const listen = async (host: string, port: number): Promise<Server> => {
      const server = this.opts.tls
        ? createHttpsServer(
            // A client that never finishes its handshake holds a descriptor: 10 s is plenty.
            { cert: this.opts.tls.cert, key: this.opts.tls.key, handshakeTimeout: 10_000 },
            listener,
          )
        : createHttpServer(listener);
      this.connections.attach(server);
      server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
        this.admit(req).then(
          () => upgrade(req, socket, head),
          (e: unknown) => {
            const st = e instanceof ApiError ? e.status : newUnauthorized().status;
            const body = JSON.stringify(st);
            const text = st.code === 403 ? 'Forbidden' : 'Unauthorized';
            socket.end(
              `HTTP/1.1 ${st.code} ${text}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
            );
          },
        );
      });
      server.keepAliveTimeout = 65_000;
      // kube-apiserver's ReadHeaderTimeout.
      server.headersTimeout = 32_000;
      // Time to *receive* a request (headers and body), like kube-apiserver's 60 s request
      // timeout for a body; a watch's response streams on after it and is not cut.
      server.requestTimeout = 60_000;
      // A client that announces an oversized body with Expect: 100-continue gets its 413
      // before sending it; the others are read to the end and answered 413 (http-util.ts).
      server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
        if (Number(req.headers['content-length'] ?? 0) > maxBodyBytes) {
          sendJSON(res, 413, tooLarge().status, { Connection: 'close' });
          return;
        }
        res.writeContinue();
        listener(req, res);
      });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => resolve());
      });
      this.servers.push(server);
      return server;
    };
    const main = await listen(this.opts.host, this.opts.port);
    const addr = main.address() as AddressInfo;
    for (const extra of this.opts.extraHosts) await listen(extra, addr.port);
    const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    serverAddress = `${host}:${addr.port}`;
    this.url = `${this.opts.tls ? 'https' : 'http'}://${serverAddress}`;
    await this.initialize(addr.port);
    return this.url;
  }

  async stop(): Promise<void> {
    this.eventReaper.stop();
    this.aggregator.stop();
    await this.aggregator.idle();
    const servers = this.servers.splice(0);
    await Promise.all(
      servers.map(
        (s) =>
          new Promise<void>((resolve) => {
            s.close(() => resolve());
            s.closeAllConnections();
          }),
      ),
    );
  }
}
