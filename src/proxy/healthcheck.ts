// Health endpoints that answer exactly as kube-proxy's (pkg/proxy/healthcheck): external load
// balancers and the e2e tests read them.
// - ServiceHealthServer: one HTTP listener per healthCheckNodePort (LoadBalancer +
//   externalTrafficPolicy Local), any path, 200 when this node has ready local endpoints and the
//   proxy is healthy, else 503 (5.23).
// - ProxyHealthServer: the agent's own /healthz and /livez (port 10256, 5.24), and /metrics.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { negotiate } from './exposition.ts';

/** Tracks whether syncs keep up (kube-proxy's ProxierHealthServer bookkeeping). */
export class ProxyHealth {
  private lastUpdated = 0;
  private queuedAt: number | undefined;
  nodeEligible = true;

  constructor(
    /** An update queued longer than this without a successful sync makes the proxy unhealthy. */
    private readonly healthTimeoutMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  queued(): void {
    if (this.queuedAt === undefined) this.queuedAt = this.now();
  }

  updated(): void {
    this.lastUpdated = this.now();
    this.queuedAt = undefined;
  }

  lastUpdatedMs(): number {
    return this.lastUpdated;
  }

  healthy(): boolean {
    if (this.lastUpdated === 0) return this.queuedAt === undefined || this.now() - this.queuedAt < this.healthTimeoutMs;
    if (this.queuedAt === undefined) return true;
    return this.now() - this.queuedAt < this.healthTimeoutMs;
  }
}

export interface ServiceHealthEntry {
  namespace: string;
  name: string;
  port: number;
  /** Ready endpoints of this Service on this node. */
  localEndpoints: number;
}

/** kube-proxy's body, byte for byte (dedented Go template, tabs, no trailing newline). */
export function serviceHealthBody(namespace: string, name: string, localEndpoints: number, healthy: boolean): string {
  return `{\n\t"service": {\n\t\t"namespace": ${JSON.stringify(namespace)},\n\t\t"name": ${JSON.stringify(name)}\n\t},\n\t"localEndpoints": ${localEndpoints},\n\t"serviceProxyHealthy": ${healthy}\n}`;
}

interface Listener {
  port: number;
  servers: Server[];
  entry: ServiceHealthEntry;
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

export class ServiceHealthServer {
  /** By "namespace/name". */
  private readonly listeners = new Map<string, Listener>();

  constructor(
    private readonly addresses: () => readonly string[],
    private readonly proxyHealthy: () => boolean,
    private readonly onError: (err: unknown, key: string) => void = () => {},
  ) {}

  /** Converges listeners to `entries` (keyed "namespace/name"); counts update in place. */
  async sync(entries: ReadonlyMap<string, ServiceHealthEntry>): Promise<void> {
    for (const [key, l] of [...this.listeners]) {
      const want = entries.get(key);
      if (!want || want.port !== l.port) {
        this.listeners.delete(key);
        await Promise.all(l.servers.map(close));
      }
    }
    for (const [key, entry] of entries) {
      const existing = this.listeners.get(key);
      if (existing) {
        existing.entry = entry;
        continue;
      }
      const l: Listener = { port: entry.port, servers: [], entry };
      this.listeners.set(key, l);
      for (const host of this.addresses()) {
        const server = createServer((req, res) => this.handle(l, req, res));
        try {
          await listen(server, host, entry.port);
          l.servers.push(server);
        } catch (err) {
          this.onError(err, key);
        }
      }
    }
  }

  /** Ports actually listening, by "namespace/name" (for tests and explain). */
  ports(): Map<string, number> {
    return new Map([...this.listeners].filter(([, l]) => l.servers.length > 0).map(([k, l]) => [k, l.port]));
  }

  async close(): Promise<void> {
    const all = [...this.listeners.values()].flatMap((l) => l.servers);
    this.listeners.clear();
    await Promise.all(all.map(close));
  }

  private handle(l: Listener, req: IncomingMessage, res: ServerResponse): void {
    req.resume();
    const healthy = this.proxyHealthy();
    const n = l.entry.localEndpoints;
    res.setHeader('Content-Type', 'application/json');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('X-Load-Balancing-Endpoint-Weight', String(n));
    res.statusCode = n > 0 && healthy ? 200 : 503;
    res.end(serviceHealthBody(l.entry.namespace, l.entry.name, n, healthy));
  }
}

export interface ProxyHealthServerOptions {
  host: string;
  /** 10256 like kube-proxy; 0 for an ephemeral port. */
  port: number;
  health: ProxyHealth;
  /** Prometheus text for /metrics. */
  metrics?: () => string;
  /** Other paths this listener answers (the agent's /explain): status and JSON body. */
  routes?: Readonly<Record<string, (query: URLSearchParams) => Promise<{ status: number; body: unknown }>>>;
  now?: () => number;
}

/** /healthz, /livez (and /metrics) as kube-proxy's healthz server answers them. */
export class ProxyHealthServer {
  private server: Server | undefined;

  constructor(private readonly opts: ProxyHealthServerOptions) {}

  async start(): Promise<AddressInfo> {
    const server = createServer((req, res) => this.handle(req, res));
    await listen(server, this.opts.host, this.opts.port);
    this.server = server;
    return server.address() as AddressInfo;
  }

  async close(): Promise<void> {
    if (this.server) await close(this.server);
    this.server = undefined;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    req.resume();
    const path = (req.url ?? '/').split('?')[0];
    const h = this.opts.health;
    const now = new Date((this.opts.now ?? Date.now)()).toISOString();
    const last = new Date(h.lastUpdatedMs()).toISOString();
    const route = this.opts.routes?.[path ?? ''];
    if (route) {
      const query = new URL(req.url ?? '/', 'http://agent').searchParams;
      void route(query).then(
        (r) => {
          res.statusCode = r.status;
          res.setHeader('Content-Type', 'application/json');
          res.end(`${JSON.stringify(r.body, null, 2)}\n`);
        },
        (e: unknown) => {
          res.statusCode = 500;
          res.setHeader('Content-Type', 'application/json');
          res.end(`${JSON.stringify({ message: e instanceof Error ? e.message : String(e) })}\n`);
        },
      );
      return;
    }
    if (path === '/metrics' && this.opts.metrics) {
      const m = negotiate(req, this.opts.metrics());
      res.setHeader('Content-Type', m.type);
      res.end(m.body);
      return;
    }
    if (path !== '/healthz' && path !== '/livez') {
      res.statusCode = 404;
      res.end('404 page not found\n');
      return;
    }
    res.setHeader('Content-Type', 'application/json');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    const healthy = h.healthy();
    if (path === '/livez') {
      res.statusCode = healthy ? 200 : 503;
      res.end(`{"lastUpdated": ${JSON.stringify(last)},"currentTime": ${JSON.stringify(now)}}`);
      return;
    }
    // /healthz also fails while the node is being deleted, so load balancers drain it first.
    res.statusCode = healthy && h.nodeEligible ? 200 : 503;
    res.end(
      `{"lastUpdated": ${JSON.stringify(last)},"currentTime": ${JSON.stringify(now)}, "nodeEligible": ${h.nodeEligible}}`,
    );
  }
}
