// Starts a real svcnet API server on a free loopback port for a test, with a kubeconfig and a
// fresh kubectl cache directory, and runs the real kubectl against it.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { generateToken } from '../../src/apiserver/auth.ts';
import { writeKubeconfig } from '../../src/apiserver/kubeconfig.ts';
import { ApiServer, type ApiServerOptions } from '../../src/apiserver/server.ts';
import { ensureServingCert } from '../../src/apiserver/tls.ts';
import { openStore } from '../../src/store/open.ts';
import type { Store } from '../../src/store/store.ts';

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface TestApiServer {
  url: string;
  token: string;
  dir: string;
  kubeconfig: string;
  server: ApiServer;
  store: Store;
  kubectl(args: string[], input?: string): Promise<KubectlResult>;
  /** kubectl that must succeed; returns stdout. */
  kc(args: string[], input?: string): Promise<string>;
  /** Authenticated fetch against the server. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  close(): Promise<void>;
}

export async function startTestApiServer(
  opts: Partial<Omit<ApiServerOptions, 'store' | 'token'>> & {
    sqlite?: boolean;
    dir?: string;
    historyLimit?: number;
  } = {},
): Promise<TestApiServer> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'svcnet-test-'));
  const { historyLimit } = opts;
  const store = await openStore(
    opts.sqlite ? { kind: 'sqlite', path: join(dir, 'svcnet.db'), historyLimit } : { kind: 'memory', historyLimit },
  );
  const token = generateToken();
  const { sqlite: _s, dir: _d, historyLimit: _h, ...serverOpts } = opts;
  // TLS as in production: client-go sends bearer tokens only over https.
  const tls = ensureServingCert(dir, ['127.0.0.1']);
  const server = new ApiServer({ ...serverOpts, store, token, tls, host: '127.0.0.1', port: 0 });
  const url = await server.start();
  const kubeconfig = join(dir, 'kubeconfig');
  writeKubeconfig(kubeconfig, { server: url, token, caPem: tls.ca });
  const cacheDir = mkdtempSync(join(dir, 'kubectl-cache-'));
  const kubectl = (args: string[], input?: string) =>
    new Promise<KubectlResult>((resolve) => {
      const child = execFile(
        'kubectl',
        ['--kubeconfig', kubeconfig, '--cache-dir', cacheDir, ...args],
        { env: { ...process.env, HOME: dir, KUBECONFIG: kubeconfig }, timeout: 60_000 },
        (err, stdout, stderr) => {
          const code = err ? ((err as { code?: number }).code ?? 1) : 0;
          resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
        },
      );
      if (input !== undefined) child.stdin?.end(input);
      else child.stdin?.end();
    });
  return {
    url,
    token,
    dir,
    kubeconfig,
    server,
    store,
    kubectl,
    async kc(args, input) {
      const r = await kubectl(args, input);
      if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}${r.stdout}`);
      return r.stdout;
    },
    fetch(path, init = {}) {
      const headers = new Headers(init.headers);
      if (!headers.has('Authorization')) headers.set('Authorization', `Bearer ${token}`);
      return httpsFetch(`${url}${path}`, tls.ca, { ...init, headers });
    },
    async close() {
      await server.stop();
      await store.close();
      if (!opts.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** fetch() over node:https trusting `ca` (global fetch cannot take a CA in Node 20). */
export function httpsFetch(url: string, ca: string, init: RequestInit = {}): Promise<Response> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((v, k) => {
      headers[k] = v;
    });
    const req = request(url, { method: init.method ?? 'GET', headers, ca }, (res) => {
      const h = new Headers();
      for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') h.set(k, v);
      const body = res.statusCode === 204 ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>);
      resolve(new Response(body, { status: res.statusCode ?? 0, headers: h }));
    });
    req.on('error', reject);
    init.signal?.addEventListener('abort', () => req.destroy());
    if (typeof init.body === 'string') req.end(init.body);
    else req.end();
  });
}
