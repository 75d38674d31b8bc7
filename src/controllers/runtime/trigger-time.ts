// endpoints.kubernetes.io/last-change-trigger-time (pkg/controller/util/endpoint
// TriggerTimeTracker): the time of the oldest not-yet-reflected change of a Pod or the Service
// that this write publishes. A pod's change time is its Ready condition's lastTransitionTime;
// the Service's is its creationTimestamp. A Service seen for the first time reports its
// creationTimestamp. Consumers (kube-proxy's network-programming-latency SLI) subtract it from
// the time they program the change.
import type { Pod, Service } from '../../api/types.ts';

interface ServiceState {
  pods: Map<string, number>;
  service: number;
}

export class TriggerTimeTracker {
  private readonly states = new Map<string, ServiceState>();

  /** Call on every sync (also no-op ones) so the state follows what was seen. */
  compute(service: Service, pods: readonly Pod[]): Date | undefined {
    const key = `${service.metadata?.namespace ?? ''}/${service.metadata?.name ?? ''}`;
    const prev = this.states.get(key);
    let min = Number.POSITIVE_INFINITY;
    const podTimes = new Map<string, number>();
    for (const pod of pods) {
      const t = podTriggerTime(pod);
      if (t === undefined) continue;
      const name = pod.metadata?.name ?? '';
      podTimes.set(name, t);
      if (t > (prev?.pods.get(name) ?? Number.NEGATIVE_INFINITY)) min = Math.min(min, t);
    }
    const svcTime = parseTime(service.metadata?.creationTimestamp) ?? 0;
    if (svcTime > (prev?.service ?? Number.NEGATIVE_INFINITY)) min = Math.min(min, svcTime);
    this.states.set(key, { pods: podTimes, service: svcTime });
    if (!prev) return svcTime > 0 ? new Date(svcTime) : undefined;
    return Number.isFinite(min) && min > 0 ? new Date(min) : undefined;
  }

  delete(namespace: string, name: string): void {
    this.states.delete(`${namespace}/${name}`);
  }
}

function podTriggerTime(pod: Pod): number | undefined {
  const ready = pod.status?.conditions?.find((c) => c.type === 'Ready');
  return parseTime(ready?.lastTransitionTime);
}

function parseTime(s: string | undefined): number | undefined {
  if (!s) return undefined;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : t;
}

/** Go's time.RFC3339Nano in UTC: fractional seconds without trailing zeros. */
export function formatRFC3339Nano(d: Date): string {
  const iso = d.toISOString(); // 2024-01-02T03:04:05.120Z
  return iso.replace(/\.(\d*?)0*Z$/, (_m, frac: string) => (frac ? `.${frac}Z` : 'Z'));
}
