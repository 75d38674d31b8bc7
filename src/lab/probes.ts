// Container probes with the kubelet's timing (pkg/kubelet/prober/worker.go): nothing before
// initialDelaySeconds, then one check every periodSeconds, each bounded by timeoutSeconds; the
// result flips only after successThreshold consecutive successes or failureThreshold
// consecutive failures. Before the first decision a readiness probe counts as failed (not
// ready) and a liveness probe as succeeded, as upstream initialises them.
import type { Container, Probe } from 'kubernetes-types/core/v1.js';
import type { Pod } from '../api/types.ts';
import type { ProbeOutcome, Prober } from '../kernel/probe.ts';
import type { LabClock } from './clock.ts';

export type ProbeKind = 'readiness' | 'liveness' | 'startup';

/** Upstream defaults (SetDefaults_Probe). */
export function probeTiming(p: Probe): {
  initialDelayMs: number;
  periodMs: number;
  timeoutMs: number;
  successThreshold: number;
  failureThreshold: number;
} {
  return {
    initialDelayMs: (p.initialDelaySeconds ?? 0) * 1000,
    periodMs: (p.periodSeconds || 10) * 1000,
    timeoutMs: (p.timeoutSeconds || 1) * 1000,
    successThreshold: p.successThreshold || 1,
    failureThreshold: p.failureThreshold || 3,
  };
}

export type ProbeCheck = (timeoutMs: number) => Promise<ProbeOutcome>;

export class ProbeWorker {
  private result: boolean;
  private run = 0;
  private lastOutcome: boolean | undefined;
  private timer: unknown;
  private stopped = false;
  private readonly timing: ReturnType<typeof probeTiming>;
  lastMessage = '';

  constructor(
    readonly kind: ProbeKind,
    probe: Probe,
    private readonly check: ProbeCheck,
    private readonly clock: LabClock,
    /** Called when the decided result flips. */
    private readonly onChange: (success: boolean, message: string) => void,
  ) {
    this.timing = probeTiming(probe);
    this.result = kind === 'liveness';
  }

  /** Call when the container starts. */
  start(): void {
    this.schedule(this.timing.initialDelayMs);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  success(): boolean {
    return this.result;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      void this.probeOnce();
    }, ms);
  }

  private async probeOnce(): Promise<void> {
    const started = this.clock.now();
    let outcome: ProbeOutcome;
    try {
      outcome = await withTimeout(this.check(this.timing.timeoutMs), this.timing.timeoutMs, this.clock);
    } catch (e) {
      outcome = { ok: false, message: e instanceof Error ? e.message : String(e) };
    }
    if (this.stopped) return;
    this.record(outcome);
    // The period runs from the start of a check, not its end (the kubelet's ticker).
    const elapsed = this.clock.now() - started;
    this.schedule(Math.max(0, this.timing.periodMs - elapsed));
  }

  private record(o: ProbeOutcome): void {
    if (o.ok === this.lastOutcome) this.run++;
    else this.run = 1;
    this.lastOutcome = o.ok;
    if (!o.ok) this.lastMessage = o.message;
    const threshold = o.ok ? this.timing.successThreshold : this.timing.failureThreshold;
    if (this.run < threshold || this.result === o.ok) return;
    this.result = o.ok;
    // Liveness: upstream resets the run after acting, so a restarted container needs
    // failureThreshold new failures before it is killed again.
    if (this.kind !== 'readiness') this.run = 0;
    this.onChange(o.ok, o.message);
  }
}

function withTimeout(p: Promise<ProbeOutcome>, ms: number, clock: LabClock): Promise<ProbeOutcome> {
  return new Promise((resolve, reject) => {
    const t = clock.setTimeout(() => resolve({ ok: false, message: `probe timed out after ${ms}ms` }), ms + 500);
    p.then(
      (v) => {
        clock.clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clock.clearTimeout(t);
        reject(e);
      },
    );
  });
}

/** Resolves a probe's port: a number, or the name of one of the container's ports. */
export function probePort(port: number | string | undefined, c: Container): number | undefined {
  if (typeof port === 'number') return port > 0 && port < 65536 ? port : undefined;
  if (port === undefined) return undefined;
  if (/^[0-9]+$/.test(port)) return probePort(Number(port), c);
  return c.ports?.find((p) => p.name === port)?.containerPort;
}

/** The check a probe describes, aimed at the pod's IP (the kubelet's default host). */
export function buildCheck(
  probe: Probe,
  pod: Pod,
  c: Container,
  prober: Prober,
  netns: string | undefined,
  env: Record<string, string>,
  /** Exec probes run as the container's process would (its user and mounts): wraps their argv. */
  inContainer: (argv: readonly string[]) => string[] = (argv) => [...argv],
): ProbeCheck {
  const podIP = pod.status?.podIP ?? '';
  const failure =
    (message: string): ProbeCheck =>
    async () => ({ ok: false, message });
  if (probe.httpGet) {
    const g = probe.httpGet;
    const port = probePort(g.port, c);
    if (port === undefined) return failure(`invalid port ${String(g.port)} in httpGet probe`);
    const scheme = g.scheme === 'HTTPS' ? 'https' : 'http';
    const headers = (g.httpHeaders ?? []).map((h): [string, string] => [h.name, h.value]);
    return (t) => prober.http(netns, { scheme, host: g.host || podIP, port, path: g.path ?? '/', headers }, t);
  }
  if (probe.tcpSocket) {
    const port = probePort(probe.tcpSocket.port, c);
    if (port === undefined) return failure(`invalid port ${String(probe.tcpSocket.port)} in tcpSocket probe`);
    return (t) => prober.tcp(netns, probe.tcpSocket?.host || podIP, port, t);
  }
  if (probe.exec) {
    const argv = inContainer(probe.exec.command ?? []);
    return (t) => prober.exec(netns, argv, env, t);
  }
  return failure('unsupported probe handler (svcnet supports httpGet, tcpSocket and exec)');
}
