// The admin bearer token svcnet generates (authz/authn.ts compares it in constant time).
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

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
