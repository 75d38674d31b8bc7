// The dashboard under /ui/: a login form, the cookie that carries the API token for a browser,
// the bundled front end (web/, built by setup into dist/ui/, else with esbuild on first request and
// kept in memory; no CDN), and the JSON routes that reach the node agents (/ui/explain for the
// Service page's explain form, /ui/counters for the data planes' flow counts and DNS query
// counts). Everything else the page shows comes from the ordinary API (list + watch) with the
// cookie standing in for the bearer token.
import { timingSafeEqual } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { BuildOptions } from 'esbuild';
import { projectRoot } from '../../kernel/entry.ts';

export const uiCookie = 'svcnet-token';

/** A JSON route under /ui/ that needs more than the API (the agents): `explain`, `counters`. */
export type UiRoute = (query: URLSearchParams) => Promise<{ status: number; body: unknown }>;

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The token from the UI cookie, if the request carries one. */
export function cookieToken(req: IncomingMessage): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === uiCookie) return decodeURIComponent(v.join('='));
  }
  return undefined;
}

/**
 * A browser's cookie authenticates reads only: the page never writes, and a cookie sent by a
 * cross-site form must not be able to change anything (SameSite=Strict is the first guard).
 */
export function cookieAuthenticates(req: IncomingMessage, token: string): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  const t = cookieToken(req);
  return t !== undefined && same(t, token);
}

const securityHeaders = {
  'Content-Security-Policy': "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
};

function send(res: ServerResponse, status: number, type: string, body: string, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'Content-Type': type, ...securityHeaders, ...headers });
  res.end(body);
}

const page = (title: string, body: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title><link rel="stylesheet" href="/ui/app.css"></head>
<body>${body}</body></html>`;

function loginPage(message?: string): string {
  return page(
    'svcnet: sign in',
    `<main class="login"><h1>svcnet</h1>
<form method="post" action="/ui/login">
<label for="token">API token (the token in the data directory, or the one <code>svcnet up</code> printed)</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<button type="submit">Sign in</button>
${message ? `<p role="alert" class="error">${message}</p>` : ''}
</form></main>`,
  );
}

function cookieFor(token: string): string {
  return `${uiCookie}=${encodeURIComponent(token)}; Path=/; HttpOnly; Secure; SameSite=Strict`;
}

/** esbuild's options for the front end, shared by scripts/build.ts (at setup) and the fallback here. */
export function uiBuildOptions(): BuildOptions {
  return {
    entryPoints: [join(projectRoot, 'web', 'app.tsx')],
    bundle: true,
    format: 'esm',
    target: 'es2022',
    minify: true,
    jsx: 'automatic',
    jsxImportSource: 'preact',
    logLevel: 'silent',
  };
}

/** Where scripts/build.ts writes the bundle. */
export const builtBundle = join(projectRoot, 'dist', 'ui', 'app.js');

/** The bundle setup built, when no file of web/ is newer than it. */
function prebuilt(): string | undefined {
  if (!existsSync(builtBundle)) return undefined;
  const built = statSync(builtBundle).mtimeMs;
  const web = join(projectRoot, 'web');
  for (const f of readdirSync(web, { recursive: true })) {
    if (statSync(join(web, String(f))).mtimeMs > built) return undefined;
  }
  return readFileSync(builtBundle, 'utf8');
}

let bundle: Promise<string> | undefined;

/**
 * The front end: the one setup built (dist/ui/app.js), else bundled once per process from
 * web/app.tsx (a checkout whose web/ changed since the build, or that was never built).
 */
export function uiBundle(): Promise<string> {
  bundle ??= (async () => {
    const ready = prebuilt();
    if (ready !== undefined) return ready;
    // esbuild is CommonJS: through the compiled build's bundler its exports sit under default.
    const esbuild = (await import('esbuild')) as typeof import('esbuild') & { default?: typeof import('esbuild') };
    const build = esbuild.default?.build ?? esbuild.build;
    const r = await build({ ...uiBuildOptions(), write: false });
    return r.outputFiles[0]?.text ?? '';
  })();
  bundle.catch(() => {
    bundle = undefined;
  });
  return bundle;
}

async function readBody(req: IncomingMessage, limit = 4096): Promise<string> {
  let body = '';
  for await (const chunk of req) {
    body += String(chunk);
    if (body.length > limit) throw new Error('body too large');
  }
  return body;
}

/** Handles /ui and /ui/*; returns false for any other path. */
export async function handleUi(
  req: IncomingMessage,
  res: ServerResponse,
  token: string,
  routes: Readonly<Record<string, UiRoute>>,
): Promise<boolean> {
  const url = new URL(req.url ?? '/', 'https://svcnet');
  const path = url.pathname;
  if (path !== '/ui' && !path.startsWith('/ui/')) return false;
  const authed = cookieAuthenticates(req, token);
  if (path === '/ui/app.css') {
    const { css } = await import('./style.ts');
    send(res, 200, 'text/css; charset=utf-8', css);
    return true;
  }
  if (path === '/ui/login' && req.method === 'POST') {
    const given = new URLSearchParams(await readBody(req).catch(() => '')).get('token') ?? '';
    if (!same(given.trim(), token)) {
      send(res, 401, 'text/html; charset=utf-8', loginPage('That token is not this API server’s.'));
      return true;
    }
    send(res, 303, 'text/plain', '', { Location: '/ui/', 'Set-Cookie': cookieFor(token) });
    return true;
  }
  if ((path === '/ui' || path === '/ui/') && url.searchParams.has('token')) {
    // The token leaves the URL at once: the redirect drops it from history and Referer.
    const given = url.searchParams.get('token') ?? '';
    if (!same(given, token)) {
      send(res, 401, 'text/html; charset=utf-8', loginPage('That token is not this API server’s.'));
      return true;
    }
    send(res, 303, 'text/plain', '', { Location: '/ui/', 'Set-Cookie': cookieFor(token) });
    return true;
  }
  if (!authed) {
    if (path === '/ui' || path === '/ui/') send(res, 200, 'text/html; charset=utf-8', loginPage());
    else send(res, 401, 'application/json', JSON.stringify({ message: 'sign in at /ui/' }));
    return true;
  }
  if (path === '/ui' || path === '/ui/') {
    send(
      res,
      200,
      'text/html; charset=utf-8',
      page('svcnet', '<div id="app"></div><script type="module" src="/ui/app.js"></script>'),
    );
    return true;
  }
  if (path === '/ui/app.js') {
    send(res, 200, 'text/javascript; charset=utf-8', await uiBundle());
    return true;
  }
  const route = routes[path.slice('/ui/'.length)];
  if (route) {
    const r = await route(url.searchParams);
    send(res, r.status, 'application/json', JSON.stringify(r.body));
    return true;
  }
  if (path === '/ui/explain' || path === '/ui/counters') {
    send(res, 501, 'application/json', JSON.stringify({ message: `${path} is not wired to this API server` }));
    return true;
  }
  send(res, 404, 'application/json', JSON.stringify({ message: `no ${path}` }));
  return true;
}
