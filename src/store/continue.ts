// Continue tokens, shaped like the apiserver's etcd3 store: base64url(JSON{v, rv, start}) where
// start is the key after the last one returned ("namespace/name\0"). The next page is read as of
// rv, so a paged list is one consistent snapshot; once rv is compacted the token has expired.
import { newBadRequest, newResourceExpired } from '../api/status.ts';

const tokenVersion = 'meta.k8s.io/v1';

export interface ContinuePoint {
  readonly rv: number;
  /** Inclusive lower bound of the next page. */
  readonly start: { readonly namespace: string; readonly name: string };
}

export function encodeContinue(rv: number, lastNamespace: string, lastName: string): string {
  const json = JSON.stringify({ v: tokenVersion, rv, start: `${lastNamespace}/${lastName}\u0000` });
  return Buffer.from(json, 'utf8').toString('base64url');
}

export function decodeContinue(token: string): ContinuePoint {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw invalid('illegal base64 data or JSON');
  }
  if (typeof parsed !== 'object' || parsed === null) throw invalid('not an object');
  const t = parsed as { v?: unknown; rv?: unknown; start?: unknown };
  if (t.v !== tokenVersion)
    throw invalid(`server does not recognize this encoded key version (version ${String(t.v)})`);
  if (typeof t.rv !== 'number' || !Number.isSafeInteger(t.rv) || t.rv <= 0) {
    throw invalid('incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
  }
  if (typeof t.start !== 'string' || t.start.length === 0) throw invalid('encoded start key empty');
  const slash = t.start.indexOf('/');
  if (slash < 0) throw invalid('encoded start key has no namespace separator');
  return { rv: t.rv, start: { namespace: t.start.slice(0, slash), name: t.start.slice(slash + 1) } };
}

function invalid(why: string) {
  return newBadRequest(`continue key is not valid: ${why}`);
}

export const continueExpiredMessage =
  'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.';

export function newContinueExpired() {
  return newResourceExpired(continueExpiredMessage);
}
