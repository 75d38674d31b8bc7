// ServiceAccount tokens: JWTs shaped like kube-apiserver's bound tokens (iss, sub, aud, exp, and
// the kubernetes.io claim naming the namespace and ServiceAccount uid). They are signed with
// HMAC-SHA256 under a key only this API server holds, so only it can verify them; a real cluster's
// RS256 keys matter when other parties verify tokens, and here none do. A token is valid only
// while its ServiceAccount exists with the uid it was issued for: deleting the ServiceAccount
// revokes every token issued to it, as kube-apiserver's bound-token validation does.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const defaultIssuer = 'https://kubernetes.default.svc.cluster.local';
/** Audiences the API server accepts (its --api-audiences default: the issuer). */
export const apiAudiences = [defaultIssuer] as const;
/** TokenRequest's expirationSeconds bounds (ValidateTokenRequest) and default. */
export const minExpirationSeconds = 600;
export const maxExpirationSeconds = 2 ** 32;
export const defaultExpirationSeconds = 3600;

export interface ServiceAccountClaims {
  readonly iss: string;
  readonly sub: string;
  readonly aud: readonly string[];
  readonly iat: number;
  readonly nbf: number;
  readonly exp: number;
  readonly 'kubernetes.io': {
    readonly namespace: string;
    readonly serviceaccount: { readonly name: string; readonly uid: string };
  };
}

const b64 = (b: Buffer | string) => Buffer.from(b).toString('base64url');

export class TokenSigner {
  private readonly key: Buffer;

  /** `secret` is the server's own secret; the signing key is derived so it is never used twice. */
  constructor(secret: string | Buffer) {
    this.key = createHmac('sha256', secret).update('svcnet service-account token signing key').digest();
  }

  issue(opts: {
    namespace: string;
    name: string;
    uid: string;
    audiences?: readonly string[];
    expirationSeconds?: number;
    now?: number;
  }): { token: string; claims: ServiceAccountClaims } {
    const now = Math.floor((opts.now ?? Date.now()) / 1000);
    const claims: ServiceAccountClaims = {
      iss: defaultIssuer,
      sub: `system:serviceaccount:${opts.namespace}:${opts.name}`,
      aud: opts.audiences?.length ? [...opts.audiences] : [...apiAudiences],
      iat: now,
      nbf: now,
      exp: now + (opts.expirationSeconds ?? defaultExpirationSeconds),
      'kubernetes.io': { namespace: opts.namespace, serviceaccount: { name: opts.name, uid: opts.uid } },
    };
    const head = b64(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
    const body = b64(JSON.stringify(claims));
    return { token: `${head}.${body}.${this.sign(`${head}.${body}`)}`, claims };
  }

  private sign(data: string): string {
    return createHmac('sha256', this.key).update(data).digest('base64url');
  }

  /** The claims of a token this server issued, still valid at `now` for the API's audiences; else undefined. */
  verify(token: string, now = Date.now()): ServiceAccountClaims | undefined {
    const parts = token.split('.');
    if (parts.length !== 3) return undefined;
    const [head = '', body = '', sig = ''] = parts;
    const want = Buffer.from(this.sign(`${head}.${body}`));
    const got = Buffer.from(sig);
    if (want.length !== got.length || !timingSafeEqual(want, got)) return undefined;
    let claims: ServiceAccountClaims;
    try {
      const h = JSON.parse(Buffer.from(head, 'base64url').toString('utf8')) as { alg?: unknown };
      if (h.alg !== 'HS256') return undefined;
      claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as ServiceAccountClaims;
    } catch {
      return undefined;
    }
    const t = Math.floor(now / 1000);
    if (typeof claims.exp !== 'number' || t >= claims.exp) return undefined;
    if (typeof claims.nbf === 'number' && t < claims.nbf) return undefined;
    if (claims.iss !== defaultIssuer) return undefined;
    if (!Array.isArray(claims.aud) || !claims.aud.some((a) => (apiAudiences as readonly string[]).includes(a)))
      return undefined;
    const k = claims['kubernetes.io'];
    if (!k?.namespace || !k.serviceaccount?.name || !k.serviceaccount.uid) return undefined;
    if (claims.sub !== `system:serviceaccount:${k.namespace}:${k.serviceaccount.name}`) return undefined;
    return claims;
  }
}
