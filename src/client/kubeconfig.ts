// Where a component finds its API server: a kubeconfig file (kubectl's loading rules, reduced)
// or the in-cluster service account (what `svcnet agent` uses as a DaemonSet).
//
// Supported: server, certificate-authority(-data), insecure-skip-tls-verify, tls-server-name;
// user token, tokenFile, client-certificate(-data)/client-key(-data), username/password.
// Not supported (fails with UNSUPPORTED_AUTH rather than connecting anonymously): exec and
// auth-provider plugins.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
import { parse } from 'yaml';
import { joinHostPort } from '../api/ip.ts';
import { HttpClient, type HttpClientConfig } from './http.ts';

export type KubeconfigErrorCode = 'NOT_FOUND' | 'INVALID' | 'CONTEXT_NOT_FOUND' | 'UNSUPPORTED_AUTH' | 'NO_CONFIG';

export class KubeconfigError extends Error {
  constructor(
    readonly code: KubeconfigErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'KubeconfigError';
  }
}

export interface ResolvedConfig extends HttpClientConfig {
  /** The context's namespace (or the pod's, in-cluster); "default" when unset. */
  namespace: string;
  /** The context used, or "in-cluster". */
  context: string;
}

interface RawCluster {
  server?: string;
  'certificate-authority'?: string;
  'certificate-authority-data'?: string;
  'insecure-skip-tls-verify'?: boolean;
  'tls-server-name'?: string;
}

interface RawUser {
  token?: string;
  tokenFile?: string;
  'client-certificate'?: string;
  'client-certificate-data'?: string;
  'client-key'?: string;
  'client-key-data'?: string;
  username?: string;
  password?: string;
  exec?: unknown;
  'auth-provider'?: unknown;
}

interface RawContext {
  cluster?: string;
  user?: string;
  namespace?: string;
}

/** One kubeconfig file with relative paths already resolved against its directory. */
interface Loaded {
  clusters: Map<string, RawCluster>;
  users: Map<string, RawUser>;
  contexts: Map<string, RawContext>;
  currentContext: string;
}

function entries<T>(
  file: string,
  list: unknown,
  field: 'cluster' | 'user' | 'context',
  fix: (v: T) => T,
): Map<string, T> {
  const out = new Map<string, T>();
  if (list === undefined || list === null) return out;
  if (!Array.isArray(list)) throw new KubeconfigError('INVALID', `${file}: ${field}s must be a list`);
  for (const e of list as (Record<string, unknown> | null)[]) {
    const name = e?.name;
    if (typeof name !== 'string') throw new KubeconfigError('INVALID', `${file}: a ${field} entry has no name`);
    const body = (e?.[field] ?? {}) as T;
    // Within one file a later duplicate is an error in client-go; first wins is the merge rule
    // across files, and we apply it within a file too.
    if (!out.has(name)) out.set(name, fix(body));
  }
  return out;
}

function loadFile(path: string): Loaded {
  let doc: unknown;
  try {
    doc = parse(readFileSync(path, 'utf8'));
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    throw new KubeconfigError(missing ? 'NOT_FOUND' : 'INVALID', `kubeconfig ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (doc === null || doc === undefined) doc = {};
  if (typeof doc !== 'object') throw new KubeconfigError('INVALID', `kubeconfig ${path}: not a mapping`);
  const d = doc as Record<string, unknown>;
  const dir = dirname(resolve(path));
  // kubectl resolves file references relative to the kubeconfig that names them.
  const rel = (p: string | undefined) => (p && !isAbsolute(p) ? join(dir, p) : p);
  return {
    clusters: entries<RawCluster>(path, d.clusters, 'cluster', (c) => ({
      ...c,
      'certificate-authority': rel(c['certificate-authority']),
    })),
    users: entries<RawUser>(path, d.users, 'user', (u) => ({
      ...u,
      tokenFile: rel(u.tokenFile),
      'client-certificate': rel(u['client-certificate']),
      'client-key': rel(u['client-key']),
    })),
    contexts: entries<RawContext>(path, d.contexts, 'context', (c) => c),
    currentContext: typeof d['current-context'] === 'string' ? d['current-context'] : '',
  };
}

/** kubectl's merge of several files: the first file to define a name (or current-context) wins. */
function merge(files: Loaded[]): Loaded {
  const out: Loaded = { clusters: new Map(), users: new Map(), contexts: new Map(), currentContext: '' };
  for (const f of files) {
    for (const [k, v] of f.clusters) if (!out.clusters.has(k)) out.clusters.set(k, v);
    for (const [k, v] of f.users) if (!out.users.has(k)) out.users.set(k, v);
    for (const [k, v] of f.contexts) if (!out.contexts.has(k)) out.contexts.set(k, v);
    if (!out.currentContext) out.currentContext = f.currentContext;
  }
  return out;
}

function pem(data: string | undefined, file: string | undefined, what: string): string | undefined {
  if (data) return Buffer.from(data, 'base64').toString('utf8');
  if (!file) return undefined;
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new KubeconfigError('INVALID', `${what} ${file}: ${(err as Error).message}`, { cause: err });
  }
}

/** The kubeconfig paths in effect: the argument, else $KUBECONFIG (a path list), else ~/.kube/config. */
export function kubeconfigPaths(path?: string, env: NodeJS.ProcessEnv = process.env): string[] {
  if (path) return [path];
  const fromEnv = (env.KUBECONFIG ?? '').split(delimiter).filter(Boolean);
  if (fromEnv.length) return fromEnv;
  return [join(env.HOME || homedir(), '.kube', 'config')];
}

/**
 * Loads a kubeconfig (default: $KUBECONFIG, else ~/.kube/config) and resolves one context
 * (default: current-context) into a client configuration with PEM contents read in.
 */
export function loadKubeconfig(path?: string, context?: string, env: NodeJS.ProcessEnv = process.env): ResolvedConfig {
  const paths = kubeconfigPaths(path, env);
  // With a $KUBECONFIG list, missing files are skipped (as kubectl does); an explicit path must exist.
  const files = paths.flatMap((p) => {
    if (!path && paths.length > 1 && !existsSync(p)) return [];
    return [loadFile(p)];
  });
  const cfg = merge(files);
  const ctxName = context || cfg.currentContext;
  if (!ctxName)
    throw new KubeconfigError('CONTEXT_NOT_FOUND', `kubeconfig ${paths.join(delimiter)}: no current-context`);
  const ctx = cfg.contexts.get(ctxName);
  if (!ctx)
    throw new KubeconfigError('CONTEXT_NOT_FOUND', `context "${ctxName}" not found in ${paths.join(delimiter)}`);
  const cluster = ctx.cluster !== undefined ? cfg.clusters.get(ctx.cluster) : undefined;
  if (!cluster?.server) {
    throw new KubeconfigError('INVALID', `context "${ctxName}": cluster "${ctx.cluster ?? ''}" has no server`);
  }
  const user: RawUser = (ctx.user !== undefined ? cfg.users.get(ctx.user) : undefined) ?? {};
  if (user.exec || user['auth-provider']) {
    throw new KubeconfigError(
      'UNSUPPORTED_AUTH',
      `context "${ctxName}": user "${ctx.user ?? ''}" uses ${user.exec ? 'an exec' : 'an auth-provider'} plugin, which svcnet does not run; use a token or client certificate`,
    );
  }
  const out: ResolvedConfig = { server: cluster.server, namespace: ctx.namespace || 'default', context: ctxName };
  const ca = pem(cluster['certificate-authority-data'], cluster['certificate-authority'], 'certificate-authority');
  if (ca) out.ca = ca;
  if (cluster['insecure-skip-tls-verify']) out.insecureSkipTLSVerify = true;
  if (cluster['tls-server-name']) out.tlsServerName = cluster['tls-server-name'];
  if (user.token) out.token = user.token;
  if (user.tokenFile) out.tokenFile = user.tokenFile;
  const cert = pem(user['client-certificate-data'], user['client-certificate'], 'client-certificate');
  const key = pem(user['client-key-data'], user['client-key'], 'client-key');
  if (cert) out.clientCert = cert;
  if (key) out.clientKey = key;
  if (user.username !== undefined) {
    out.username = user.username;
    out.password = user.password ?? '';
  }
  return out;
}

export const serviceAccountDir = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * Where the service-account token, ca.crt and namespace are read in-cluster: the standard mount,
 * or $SVCNET_SERVICE_ACCOUNT_DIR (a pod that mounts the projected volume elsewhere, or a test).
 */
export function serviceAccountDirOf(env: NodeJS.ProcessEnv = process.env): string {
  return env.SVCNET_SERVICE_ACCOUNT_DIR || serviceAccountDir;
}

/** True when running in a pod with the API server's service env (KUBERNETES_SERVICE_HOST/PORT). */
export function isInCluster(env: NodeJS.ProcessEnv = process.env): boolean {
  return !!env.KUBERNETES_SERVICE_HOST && !!env.KUBERNETES_SERVICE_PORT;
}

/** client-go's rest.InClusterConfig: service env + the mounted service-account token and CA. */
export function inClusterConfig(
  env: NodeJS.ProcessEnv = process.env,
  saDir = serviceAccountDirOf(env),
): ResolvedConfig {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) {
    throw new KubeconfigError(
      'NO_CONFIG',
      'not in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT unset',
    );
  }
  const tokenFile = join(saDir, 'token');
  if (!existsSync(tokenFile)) throw new KubeconfigError('NOT_FOUND', `in-cluster token ${tokenFile} not found`);
  const server = `https://${joinHostPort(host, port)}`;
  const out: ResolvedConfig = { server, tokenFile, namespace: 'default', context: 'in-cluster' };
  const caFile = join(saDir, 'ca.crt');
  if (existsSync(caFile)) out.ca = readFileSync(caFile, 'utf8');
  const nsFile = join(saDir, 'namespace');
  if (existsSync(nsFile)) out.namespace = readFileSync(nsFile, 'utf8').trim() || 'default';
  return out;
}

/**
 * The configuration a component should use: an explicit kubeconfig, else $KUBECONFIG, else the
 * in-cluster service account when in a pod, else ~/.kube/config (client-go's order for a
 * component, rather than kubectl's which never looks in-cluster first).
 */
export function resolveClientConfig(
  opts: { kubeconfig?: string; context?: string } = {},
  env: NodeJS.ProcessEnv = process.env,
  saDir = serviceAccountDirOf(env),
): ResolvedConfig {
  if (opts.kubeconfig || env.KUBECONFIG) return loadKubeconfig(opts.kubeconfig, opts.context, env);
  if (isInCluster(env)) return inClusterConfig(env, saDir);
  const [home] = kubeconfigPaths(undefined, env);
  if (home && existsSync(home)) return loadKubeconfig(home, opts.context, env);
  throw new KubeconfigError(
    'NO_CONFIG',
    'no API server configured: pass --kubeconfig, set KUBECONFIG, run in a pod, or create ~/.kube/config',
  );
}

export function createClient(opts: { kubeconfig?: string; context?: string } = {}): HttpClient {
  return new HttpClient(resolveClientConfig(opts));
}
