// GET /api/v1/namespaces/NS/pods/NAME/log: PodLogOptions decoded and validated as
// kube-apiserver does (pkg/apis/core/validation ValidatePodLogOptions → 422 PodLogOptions), the
// container chosen as the pod REST chooses it, then the kubelet's stream relayed as text/plain.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type ErrorList, forbidden, invalid } from '../../api/field.ts';
import { newBadRequest, newInvalid, newServiceUnavailable } from '../../api/status.ts';
import type { Pod } from '../../api/types.ts';
import { queryBool, queryInt } from '../query.ts';
import { chooseContainer, nodeOf } from './container.ts';
import { type KubeletConnection, KubeletError, type PodLogRequest } from './kubelet.ts';

function parseSinceTime(v: string): number {
  // RFC 3339 with a zone, as metav1.Time decodes it.
  const ms = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(v) ? Date.parse(v) : Number.NaN;
  if (Number.isNaN(ms))
    throw newBadRequest(`parsing time ${JSON.stringify(v)} as "2006-01-02T15:04:05Z07:00": cannot parse`);
  return ms;
}

/** PodLogOptions from the query, validated; `now` turns sinceSeconds into a time. */
export function podLogRequest(q: URLSearchParams, podName: string, now: number): Omit<PodLogRequest, 'container'> {
  const tailLines = queryInt(q, 'tailLines');
  const limitBytes = queryInt(q, 'limitBytes');
  const sinceSeconds = queryInt(q, 'sinceSeconds');
  const sinceTime = q.get('sinceTime') ?? undefined;
  const errs: ErrorList = [];
  if (tailLines !== undefined && tailLines < 0) {
    errs.push(invalid('tailLines', tailLines, 'must be greater than or equal to 0'));
  }
  if (limitBytes !== undefined && limitBytes < 1)
    errs.push(invalid('limitBytes', limitBytes, 'must be greater than 0'));
  if (sinceSeconds !== undefined && sinceTime !== undefined) {
    errs.push(forbidden('', 'at most one of `sinceTime` or `sinceSeconds` may be specified'));
  } else if (sinceSeconds !== undefined && sinceSeconds < 1) {
    errs.push(invalid('sinceSeconds', sinceSeconds, 'must be greater than 0'));
  }
  if (errs.length) throw newInvalid({ group: '', kind: 'PodLogOptions' }, podName, errs);
  let sinceMs: number | undefined;
  if (sinceTime !== undefined) sinceMs = parseSinceTime(sinceTime);
  else if (sinceSeconds !== undefined) sinceMs = now - sinceSeconds * 1000;
  return {
    follow: queryBool(q, 'follow'),
    previous: queryBool(q, 'previous'),
    timestamps: queryBool(q, 'timestamps'),
    ...(tailLines !== undefined ? { tailLines } : {}),
    ...(limitBytes !== undefined ? { limitBytes } : {}),
    ...(sinceMs !== undefined ? { sinceMs } : {}),
  };
}

export async function servePodLog(
  req: IncomingMessage,
  res: ServerResponse,
  pod: Pod,
  q: URLSearchParams,
  kubelet: KubeletConnection | undefined,
): Promise<void> {
  const name = pod.metadata?.name ?? '';
  const opts = podLogRequest(q, name, Date.now());
  const container = chooseContainer(pod, q.get('container') ?? undefined, name);
  const node = nodeOf(pod, name);
  if (!kubelet) throw newServiceUnavailable(`no kubelet is reachable for node ${node}`);
  const abort = new AbortController();
  const gone = () => abort.abort();
  req.on('close', gone);
  res.on('close', gone);
  let started = false;
  const start = () => {
    if (started) return;
    started = true;
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
  };
  const sink = {
    write: (chunk: Buffer) =>
      new Promise<void>((resolve) => {
        start();
        if (res.write(chunk) || abort.signal.aborted) resolve();
        else {
          res.once('drain', () => resolve());
          abort.signal.addEventListener('abort', () => resolve(), { once: true });
        }
      }),
  };
  try {
    await kubelet.logs(pod, { ...opts, container }, sink, abort.signal);
  } catch (e) {
    if (started) {
      res.destroy();
      return;
    }
    if (e instanceof KubeletError) throw newBadRequest(e.message);
    throw e;
  } finally {
    req.off('close', gone);
  }
  start();
  res.end();
}
