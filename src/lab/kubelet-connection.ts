// The lab's side of the API server's kubelet contract (apiserver/pods/kubelet.ts): logs, exec
// and port-forward for the pods the lab's pod runners run, found by node name and pod uid.

import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Pod } from '../api/types.ts';
import {
  type ExecRequest,
  type ExecSession,
  type KubeletConnection,
  KubeletError,
  type LogSink,
  type PodLogRequest,
} from '../apiserver/pods/kubelet.ts';
import { spawnInteractive } from '../kernel/interactive.ts';
import { connectInNetns } from '../kernel/netns-connect.ts';
import { streamLogs } from './logs.ts';
import type { PodRunner, PodWorker } from './pod-runner.ts';

export class LabKubelet implements KubeletConnection {
  constructor(private readonly runners: () => readonly PodRunner[]) {}

  private worker(pod: Pod): PodWorker {
    const node = pod.spec?.nodeName ?? '';
    const runner = this.runners().find((r) => r.opts.nodeName === node);
    if (!runner) throw new KubeletError(`no kubelet of this lab runs node ${node}`);
    const w = runner.worker(pod.metadata?.uid ?? '');
    if (!w) throw new KubeletError(`pod "${pod.metadata?.name ?? ''}" is not running on node ${node}`);
    return w;
  }

  async logs(pod: Pod, req: PodLogRequest, sink: LogSink, signal: AbortSignal): Promise<void> {
    const name = pod.metadata?.name ?? '';
    const c = this.worker(pod)
      .containerRunners()
      .find((r) => r.spec.name === req.container);
    if (!c)
      throw new KubeletError(`container "${req.container}" in pod "${name}" is waiting to start: ContainerCreating`);
    const chosen = c.logFile(req.previous, name);
    if ('error' in chosen) throw new KubeletError(chosen.error);
    // Following the previous run, or a finished one, ends with what it wrote.
    const current = !req.previous && c.running();
    await streamLogs({ file: chosen.file, running: () => current && c.running() }, req, sink, signal);
  }

  async exec(pod: Pod, req: ExecRequest): Promise<ExecSession> {
    const launch = this.worker(pod).execLaunch(req.container, req.command);
    if ('error' in launch) throw new KubeletError(launch.error);
    try {
      return spawnInteractive(launch.argv, { env: launch.env, tty: req.tty });
    } catch (e) {
      throw new KubeletError(e instanceof Error ? e.message : String(e));
    }
  }

  async portForward(pod: Pod, port: number): Promise<Duplex> {
    const w = this.worker(pod);
    const ns = w.netns;
    const ip = w.podIP;
    if (!ip) throw new KubeletError(`pod ${pod.metadata?.name ?? ''} has no IP yet`);
    // As containerd does: the pod's own loopback, from inside its network namespace. The
    // rootless lab has no namespaces; its pods listen on their own 127.x address.
    if (!ns) {
      return await new Promise<Duplex>((resolve, reject) => {
        const s = connect({ host: ip, port });
        s.once('connect', () => resolve(s));
        s.once('error', reject);
      });
    }
    try {
      return await connectInNetns(ns, '127.0.0.1', port);
    } catch (e) {
      if ((e as { code?: string }).code !== 'ECONNREFUSED') throw e;
      return await connectInNetns(ns, '::1', port);
    }
  }
}
