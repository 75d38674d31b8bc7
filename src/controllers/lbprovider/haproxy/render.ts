// HAProxy's configuration for the balancers svcnet holds: pure, so the text is tested as data and
// the real haproxy parses exactly what was tested. One frontend per Service port on its external
// IP, one backend of every eligible node's InternalIP:nodePort. TCP mode: HAProxy forwards bytes,
// as a cloud's network balancer does, and the Service's own semantics stay with the nodes.
//
// Health: externalTrafficPolicy Local → HTTP GET /healthz on the healthCheckNodePort (kube-proxy's
// contract: 200 only where the Service has local endpoints); Cluster → a TCP connect to the
// NodePort. Server names are node names, so the runtime API and `show stat` speak the cluster's
// language.

export interface RenderedServer {
  node: string;
  ip: string;
  port: number;
}

export interface RenderedFrontend {
  /** Unique across the config: <balancer>-<protocol>-<port>. */
  name: string;
  ip: string;
  port: number;
  servers: RenderedServer[];
  /** healthCheckNodePort for eTP=Local; undefined: TCP check of the server port. */
  httpCheckPort?: number;
}

export interface RenderInput {
  /** The master CLI and admin socket paths (runtime API). */
  statsSocket: string;
  frontends: RenderedFrontend[];
  /** Seconds between health checks (HAProxy's `inter`). */
  checkIntervalMs?: number;
}

const bracket = (ip: string) => (ip.includes(':') ? `[${ip}]` : ip);

export function renderConfig(input: RenderInput): string {
  const inter = input.checkIntervalMs ?? 1000;
  const out: string[] = [
    'global',
    `  stats socket ${input.statsSocket} mode 600 level admin expose-fd listeners`,
    // Old workers finish their connections after a reload for at most this long.
    '  hard-stop-after 30s',
    '',
    'defaults',
    '  mode tcp',
    // A node that died before its check noticed: the connect fails fast and is tried again on
    // another node (redispatch), so a client sees a slower answer rather than an error.
    '  timeout connect 1s',
    '  retries 2',
    '  option redispatch 1',
    '  timeout client 60s',
    '  timeout server 60s',
    `  default-server inter ${inter}ms fall 2 rise 2`,
    '',
  ];
  for (const f of [...input.frontends].sort((a, b) => a.name.localeCompare(b.name))) {
    out.push(`frontend ${f.name}`, `  bind ${bracket(f.ip)}:${f.port}`, `  default_backend ${f.name}`, '');
    out.push(`backend ${f.name}`, '  balance roundrobin');
    if (f.httpCheckPort !== undefined) out.push('  option httpchk GET /healthz');
    // No servers is a valid backend: connections are refused until a node becomes eligible.
    for (const s of [...f.servers].sort((a, b) => a.node.localeCompare(b.node))) {
      const check = f.httpCheckPort !== undefined ? `check port ${f.httpCheckPort}` : 'check';
      out.push(`  server ${s.node} ${bracket(s.ip)}:${s.port} ${check}`);
    }
    out.push('');
  }
  return out.join('\n');
}

/** Frontend (and backend) name of one Service port; HAProxy names allow [A-Za-z0-9_.:-]. */
export function frontendName(balancer: string, protocol: string, port: number): string {
  return `${balancer}-${protocol.toLowerCase()}-${port}`;
}
