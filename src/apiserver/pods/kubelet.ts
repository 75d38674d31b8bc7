// What the API server asks of a node's kubelet for the pod subresources log, exec and
// portforward. kube-apiserver reaches the kubelet over HTTPS; svcnet's lab kubelet lives in the
// same process as the API server under `svcnet up`, so the contract is a plain interface the lab
// implements (src/lab/kubelet-connection.ts). Errors the kubelet words for the user are thrown as
// KubeletError and reach the client as 400 Bad Request, as kube-apiserver relays them.
import type { Duplex } from 'node:stream';
import type { Pod } from '../../api/types.ts';
import type { InteractiveProcess } from '../../kernel/interactive.ts';

/** PodLogOptions as the kubelet applies them. */
export interface LogQuery {
  follow: boolean;
  tailLines?: number;
  /** Only records at or after this time (ms since the epoch). */
  sinceMs?: number;
  timestamps: boolean;
  limitBytes?: number;
}

export interface PodLogRequest extends LogQuery {
  container: string;
  previous: boolean;
}

export interface LogSink {
  /** Resolves when the bytes may be followed by more (backpressure). */
  write(chunk: Buffer): Promise<void>;
}

export interface ExecRequest {
  container: string;
  command: string[];
  stdin: boolean;
  tty: boolean;
}

/**
 * A command running in a container; with a terminal, stdout carries everything and stderr is
 * absent. The kernel's interactive process is exactly this (only its type is used here).
 */
export type ExecSession = InteractiveProcess;

export interface KubeletConnection {
  logs(pod: Pod, req: PodLogRequest, sink: LogSink, signal: AbortSignal): Promise<void>;
  exec(pod: Pod, req: ExecRequest): Promise<ExecSession>;
  /** A connection to `port` on the pod's own address, made from inside the pod's network. */
  portForward(pod: Pod, port: number): Promise<Duplex>;
}

export class KubeletError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KubeletError';
  }
}
