// pods/exec over WebSocket, the remote-command protocol kubectl (v5.channel.k8s.io since 1.30)
// and client libraries (v4.channel.k8s.io) speak. Every binary message starts with its channel:
//   0 stdin (client → server)   1 stdout   2 stderr   3 error: a Status once the command ends
//   4 resize (client → server, {"Width":W,"Height":H})   255 close (v5: the client closed the
//   channel named by the next byte, how stdin's end travels)
// The command's end is told on channel 3: Success, or Failure with reason NonZeroExitCode and
// the code as an ExitCode cause, which kubectl turns into its own exit status.
import type { WebSocket } from 'ws';
import { newBadRequest } from '../../api/status.ts';
import { queryBool } from '../query.ts';
import type { ExecRequest, ExecSession } from './kubelet.ts';
import { throttle } from './ws-backpressure.ts';

export const execProtocols = ['v5.channel.k8s.io', 'v4.channel.k8s.io'] as const;

const channel = { stdin: 0, stdout: 1, stderr: 2, error: 3, resize: 4, close: 255 } as const;

export interface ExecOptions extends Omit<ExecRequest, 'container'> {
  container: string | undefined;
  stdout: boolean;
  stderr: boolean;
}

/** PodExecOptions from the query, refused as kube-apiserver refuses them. */
export function execOptions(q: URLSearchParams): ExecOptions {
  const command = q.getAll('command');
  const o = {
    container: q.get('container') ?? undefined,
    command,
    stdin: queryBool(q, 'stdin'),
    stdout: queryBool(q, 'stdout'),
    stderr: queryBool(q, 'stderr'),
    tty: queryBool(q, 'tty'),
  };
  if (command.length === 0) throw newBadRequest('you must specify at least 1 command');
  if (!o.stdin && !o.stdout && !o.stderr) throw newBadRequest('you must specify at least 1 of stdin, stdout, stderr');
  if (o.tty && o.stderr) throw newBadRequest('tty and stderr cannot both be true');
  return o;
}

export function exitStatus(code: number, command: readonly string[]): Record<string, unknown> {
  if (code === 0) return { metadata: {}, status: 'Success' };
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: error executing command [${command.join(' ')}], exit code ${code}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(code) }] },
  };
}

function frame(ch: number, payload: Buffer | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  return Buffer.concat([Buffer.from([ch]), body]);
}

/** Relays one running command over an accepted WebSocket until the command ends or the client leaves. */
export function relayExec(ws: WebSocket, session: ExecSession, o: ExecOptions): void {
  let closed = false;
  const outputs = [
    { stream: session.stdout, ch: channel.stdout, wanted: o.stdout },
    { stream: session.stderr, ch: channel.stderr, wanted: o.stderr },
  ];
  const drained = outputs.map(
    ({ stream, ch, wanted }) =>
      new Promise<void>((resolve) => {
        if (!stream) return resolve();
        stream.on('data', (b: Buffer) => {
          if (closed || !wanted || b.length === 0) return;
          ws.send(frame(ch, b));
          throttle(ws, stream, () => closed);
        });
        stream.once('end', () => resolve());
        stream.once('close', () => resolve());
      }),
  );
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    const msg = isBinary ? data : Buffer.from(data.toString());
    if (msg.length === 0) return;
    const ch = msg[0];
    const body = msg.subarray(1);
    if (ch === channel.stdin && o.stdin) {
      if (body.length > 0) session.stdin.write(body);
    } else if (ch === channel.resize && o.tty) {
      try {
        const size = JSON.parse(body.toString()) as { Width?: number; Height?: number };
        session.resize(size.Width ?? 0, size.Height ?? 0);
      } catch {
        // A malformed resize is ignored, as the kubelet ignores it.
      }
    } else if (ch === channel.close && body[0] === channel.stdin) {
      session.stdin.end();
    }
  });
  ws.on('close', () => {
    if (closed) return;
    closed = true;
    // The client went away: the command goes with it, as when a kubelet stream closes.
    session.stdin.end();
    session.kill('SIGKILL');
  });
  if (!o.stdin) session.stdin.end();
  void session.exited.then(async (code) => {
    await Promise.all(drained);
    if (closed) return;
    closed = true;
    ws.send(frame(channel.error, JSON.stringify(exitStatus(code, o.command))), () => ws.close(1000));
  });
}
