// Bearer-token authentication. Every request needs the token svcnet generated; the comparison
// is constant-time so the token cannot be guessed byte by byte.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';

export function generateToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Reads the token kept in `path`, creating it (mode 0600) on first start. */
export function loadOrCreateToken(path: string): string {
  if (existsSync(path)) {
    const t = readFileSync(path, 'utf8').trim();
    if (t.length >= 16) return t;
  }
  const t = generateToken();
  writeFileSync(path, `${t}\n`, { mode: 0o600 });
  return t;
}

export function authenticate(req: IncomingMessage, token: string): boolean {
  const h = req.headers.authorization;
  if (!h?.startsWith('Bearer ')) return false;
  const given = Buffer.from(h.slice('Bearer '.length).trim());
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}
