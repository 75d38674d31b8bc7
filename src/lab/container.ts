// One container of a lab pod: a supervised process with the kubelet's lifecycle — probes while
// it runs, restarts by restartPolicy with the CrashLoopBackOff delay (10 s doubling to 5 min,
// measured from the previous restart; the first restart is immediate), and graceful stop
// (SIGTERM, the grace period, SIGKILL). It reports its ContainerStatus; the pod worker writes it.
import type { Container, ContainerState, ContainerStatus } from 'kubernetes-types/core/v1.js';
import type { ProcessExit, ProcessHandle, Spawner } from '../kernel/process.ts';
import type { LabClock } from './clock.ts';
import { dropRunLog, runLogFile } from './logs.ts';
import type { ProbeWorker } from './probes.ts';

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  /** A container that ran this long without failing starts over at initialMs. */
  resetMs: number;
}

export const kubeletBackoff: BackoffOptions = { initialMs: 10_000, maxMs: 300_000, resetMs: 600_000 };

/** Why a container cannot start; it then waits with this reason (ErrImagePull-like). */
export interface StartRefusal {
  reason: string;
  message: string;
}

export interface ContainerLaunch {
  argv: string[];
  env: Record<string, string>;
  /** Each run logs to <logDir>/<restartCount>.log (logs.ts). */
  logDir: string;
}

export interface ContainerDeps {
  spawner: Spawner;
  clock: LabClock;
  backoff: BackoffOptions;
  restartPolicy: 'Always' | 'OnFailure' | 'Never';
  /** Probe workers for a fresh run of the container (they need its start). */
  probes: (onLivenessFailure: () => void, onChange: () => void) => { readiness?: ProbeWorker; liveness?: ProbeWorker };
  onChange: () => void;
  /** Grace for liveness kills: the pod's terminationGracePeriodSeconds. */
  graceMs: number;
  podLabel: string;
}

export function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
}

export class ContainerRunner {
  private state: ContainerState = { waiting: { reason: 'ContainerCreating' } };
  private lastState: ContainerState = {};
  private restartCount = 0;
  private handle: ProcessHandle | undefined;
  private probes: { readiness?: ProbeWorker; liveness?: ProbeWorker } = {};
  private restartTimer: unknown;
  private lastRestartAt: number | undefined;
  private startedAt = 0;
  private backoffMs = 0;
  private stopping = false;
  private exitWaiters: (() => void)[] = [];

  constructor(
    readonly spec: Container,
    private readonly launch: ContainerLaunch | StartRefusal,
    private readonly deps: ContainerDeps,
  ) {}

  start(): void {
    if ('reason' in this.launch) {
      this.state = { waiting: { reason: this.launch.reason, message: this.launch.message } };
      this.deps.onChange();
      return;
    }
    this.run(this.launch);
  }

  private run(l: ContainerLaunch): void {
    if (this.stopping) return;
    const now = this.deps.clock.now();
    this.startedAt = now;
    // The kubelet keeps the current run's log and the previous one (`kubectl logs --previous`).
    if (this.restartCount >= 2) dropRunLog(l.logDir, this.restartCount - 2);
    const handle = this.deps.spawner.spawn(l.argv, { env: l.env, logFile: runLogFile(l.logDir, this.restartCount) });
    this.handle = handle;
    this.state = { running: { startedAt: rfc3339(now) } };
    this.probes = this.deps.probes(() => this.livenessFailed(), this.deps.onChange);
    this.probes.readiness?.start();
    this.probes.liveness?.start();
    this.deps.onChange();
    void handle.exited.then((e) => this.exited(handle, e));
  }

  private exited(handle: ProcessHandle, e: ProcessExit): void {
    if (handle !== this.handle) return;
    this.handle = undefined;
    this.stopProbes();
    const now = this.deps.clock.now();
    // A signal death reads like a shell's: 128 + signal number (SIGKILL → 137, SIGTERM → 143).
    const exitCode = e.code ?? 128 + signalNumber(e.signal);
    const terminated: ContainerState = {
      terminated: {
        exitCode,
        ...(e.signal ? { signal: signalNumber(e.signal) } : {}),
        reason: exitCode === 0 ? 'Completed' : 'Error',
        startedAt: rfc3339(this.startedAt),
        finishedAt: rfc3339(now),
        containerID: `svcnet://${handle.pid ?? 0}`,
      },
    };
    this.state = terminated;
    for (const w of this.exitWaiters.splice(0)) w();
    const policy = this.deps.restartPolicy;
    const restart = !this.stopping && (policy === 'Always' || (policy === 'OnFailure' && exitCode !== 0));
    if (restart && !('reason' in this.launch)) this.scheduleRestart(this.launch, now);
    this.deps.onChange();
  }

  private scheduleRestart(l: ContainerLaunch, now: number): void {
    const b = this.deps.backoff;
    if (now - this.startedAt >= b.resetMs) this.backoffMs = 0;
    const since = this.lastRestartAt === undefined ? Number.POSITIVE_INFINITY : now - this.lastRestartAt;
    const wait = this.backoffMs === 0 ? 0 : Math.max(0, this.backoffMs - since);
    this.backoffMs = this.backoffMs === 0 ? b.initialMs : Math.min(this.backoffMs * 2, b.maxMs);
    this.lastState = this.state;
    this.restartCount++;
    const go = () => {
      this.restartTimer = undefined;
      this.lastRestartAt = this.deps.clock.now();
      this.run(l);
    };
    if (wait === 0) {
      go();
      return;
    }
    this.state = {
      waiting: {
        reason: 'CrashLoopBackOff',
        message: `back-off ${Math.round(wait / 1000)}s restarting failed container=${this.spec.name} pod=${this.deps.podLabel}`,
      },
    };
    this.restartTimer = this.deps.clock.setTimeout(go, wait);
  }

  private livenessFailed(): void {
    // The kubelet kills the container with the pod's grace period; the exit then restarts it
    // by the restart policy like any other exit.
    const h = this.handle;
    if (!h) return;
    h.kill('SIGTERM');
    const t = this.deps.clock.setTimeout(() => h.kill('SIGKILL'), this.deps.graceMs);
    void h.exited.then(() => this.deps.clock.clearTimeout(t));
  }

  /** Stops for good: SIGTERM, then SIGKILL after graceMs. Resolves once the process is gone. */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    if (this.restartTimer !== undefined) this.deps.clock.clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    this.stopProbes();
    const h = this.handle;
    if (!h) return;
    const gone = new Promise<void>((r) => this.exitWaiters.push(r));
    h.kill('SIGTERM');
    const t = this.deps.clock.setTimeout(() => h.kill('SIGKILL'), graceMs);
    await gone;
    this.deps.clock.clearTimeout(t);
  }

  private stopProbes(): void {
    this.probes.readiness?.stop();
    this.probes.liveness?.stop();
    this.probes = {};
  }

  running(): boolean {
    return this.handle !== undefined;
  }

  /**
   * The log file `kubectl logs [--previous]` reads, chosen as the kubelet chooses the container
   * (validateContainerLogStatus): the running or finished run, else the last terminated one; or
   * why there is none, in the kubelet's words.
   */
  logFile(previous: boolean, podName: string): { file: string } | { error: string } {
    const dir = 'reason' in this.launch ? undefined : this.launch.logDir;
    const name = this.spec.name;
    const last = dir && this.lastState.terminated ? { file: runLogFile(dir, this.restartCount - 1) } : undefined;
    if (previous) return last ?? { error: `previous terminated container "${name}" in pod "${podName}" not found` };
    if (dir && (this.state.running || this.state.terminated)) return { file: runLogFile(dir, this.restartCount) };
    if (last) return last;
    const reason = this.state.waiting?.reason ?? 'ContainerCreating';
    const why = reason === 'ErrImagePull' ? "image can't be pulled" : reason;
    return { error: `container "${name}" in pod "${podName}" is waiting to start: ${why}` };
  }

  /** The environment a command run in this container gets (the container's own). */
  execEnv(): Record<string, string> | undefined {
    return 'reason' in this.launch ? undefined : this.launch.env;
  }

  ready(): boolean {
    if (!this.handle || this.stopping) return false;
    return this.probes.readiness ? this.probes.readiness.success() : true;
  }

  status(): ContainerStatus {
    const s: ContainerStatus = {
      name: this.spec.name,
      image: this.spec.image ?? '',
      imageID: '',
      ready: this.ready(),
      started: this.handle !== undefined,
      restartCount: this.restartCount,
      state: this.state,
    };
    if (this.handle) s.containerID = `svcnet://${this.handle.pid ?? 0}`;
    if (this.lastState.terminated) s.lastState = this.lastState;
    return s;
  }
}

const signals: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGABRT: 6,
  SIGKILL: 9,
  SIGSEGV: 11,
  SIGTERM: 15,
};

function signalNumber(s: NodeJS.Signals | null): number {
  return s ? (signals[s] ?? 0) : 0;
}
