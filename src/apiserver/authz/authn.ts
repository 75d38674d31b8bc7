// Bearer-token authentication for every request: the admin token svcnet generated (a member of
// system:masters, as kube-apiserver's admin credentials are) or a ServiceAccount token this server
// issued whose ServiceAccount still exists with the same uid. Anything else is 401.
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { KubeObject } from '../../api/types.ts';
import type { Store } from '../../store/store.ts';
import { mastersGroup, type UserInfo } from './rbac.ts';
import type { TokenSigner } from './tokens.ts';

export const adminUser: UserInfo = { name: 'svcnet-admin', groups: [mastersGroup, 'system:authenticated'] };

export function bearerToken(req: IncomingMessage): string | undefined {
  const h = req.headers.authorization;
  if (!h?.startsWith('Bearer ')) return undefined;
  const t = h.slice('Bearer '.length).trim();
  return t || undefined;
}

export class Authenticator {
  constructor(
    private readonly store: Store,
    private readonly adminToken: string,
    readonly signer: TokenSigner,
  ) {}

  async authenticate(req: IncomingMessage): Promise<UserInfo | undefined> {
    const given = bearerToken(req);
    if (!given) return undefined;
    const a = Buffer.from(given);
    const b = Buffer.from(this.adminToken);
    if (a.length === b.length && timingSafeEqual(a, b)) return adminUser;
    const claims = this.signer.verify(given);
    if (!claims) return undefined;
    const { namespace, serviceaccount } = claims['kubernetes.io'];
    const sa = await this.store.get<KubeObject>({ resource: 'serviceaccounts', namespace, name: serviceaccount.name });
    if (!sa || sa.metadata.uid !== serviceaccount.uid) return undefined;
    return {
      name: claims.sub,
      uid: serviceaccount.uid,
      groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'],
    };
  }
}
