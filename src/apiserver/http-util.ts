// Small HTTP helpers for the API server: bounded body reads and JSON/Status replies.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError, type Status, toStatus } from '../api/status.ts';

/** The apiserver's request body limit (3 MiB, like kube-apiserver's default MaxRequestBodyBytes). */
export const maxBodyBytes = 3 * 1024 * 1024;

export function tooLarge(): ApiError {
  return new ApiError({
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: 'the server has received a request that is too large',
    reason: 'RequestEntityTooLarge',
    code: 413,
  });
}

/**
 * The body, at most `limit` bytes. Past the limit the rest is read and dropped, and the 413
 * goes out once the client finished sending: answering (and closing) while it still sends
 * makes its kernel see a reset before it reads the answer. The server's requestTimeout bounds
 * how long a client may keep sending.
 */
export function readBody(req: IncomingMessage, limit = maxBodyBytes): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    if (Number(req.headers['content-length'] ?? 0) > limit) {
      // Known too large up front: nothing to buffer; Node drains the rest after the answer.
      reject(tooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= limit) chunks.push(c);
      else chunks.length = 0;
    });
    req.on('end', () => (size > limit ? reject(tooLarge()) : resolve(Buffer.concat(chunks))));
    req.on('error', reject);
  });
}

export function sendJSON(res: ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(code, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-cache, private',
    ...headers,
  });
  res.end(text);
}

export function sendStatus(res: ServerResponse, e: unknown): Status {
  const s = toStatus(e);
  if (!res.headersSent) sendJSON(res, s.code, s);
  else res.end();
  return s;
}
