// client-go's workqueue metrics (k8s.io/client-go/util/workqueue/metrics.go, as
// kube-controller-manager registers them): per named queue its depth, adds, retries, how long
// keys wait and how long they are worked on. Like client-go, one process-wide provider: a
// component that serves /metrics sets the registry once, and every named queue reports there.
import type { Gauge, Histogram, Registry } from '../../api/metrics.ts';
import { exponentialBuckets } from '../../api/metrics.ts';

export interface QueueMetrics {
  readonly depth: Gauge;
  readonly adds: { inc(labels: { name: string }): void };
  readonly retries: { inc(labels: { name: string }): void };
  readonly queueDuration: Histogram;
  readonly workDuration: Histogram;
  readonly unfinished: Gauge;
  readonly longestRunning: Gauge;
}

let provider: QueueMetrics | undefined;

/** Every named WorkQueue created afterwards reports in `reg` (undefined: none do). */
export function setWorkqueueMetrics(reg: Registry | undefined): void {
  if (!reg) {
    provider = undefined;
    return;
  }
  // client-go: ExponentialBuckets(10e-9, 10, 12) for both durations.
  const buckets = exponentialBuckets(1e-8, 10, 12);
  provider = {
    depth: reg.gauge('workqueue_depth', 'Current depth of workqueue'),
    adds: reg.counter('workqueue_adds_total', 'Total number of adds handled by workqueue'),
    retries: reg.counter('workqueue_retries_total', 'Total number of retries handled by workqueue'),
    queueDuration: reg.histogram(
      'workqueue_queue_duration_seconds',
      'How long in seconds an item stays in workqueue before being requested.',
      buckets,
    ),
    workDuration: reg.histogram(
      'workqueue_work_duration_seconds',
      'How long in seconds processing an item from workqueue takes.',
      buckets,
    ),
    unfinished: reg.gauge(
      'workqueue_unfinished_work_seconds',
      'How many seconds of work has been done that is in progress and hasn\u2019t been observed by work_duration. Large values indicate stuck threads. One can deduce the number of stuck threads by observing the rate at which this increases.',
    ),
    longestRunning: reg.gauge(
      'workqueue_longest_running_processor_seconds',
      'How many seconds has the longest running processor for workqueue been running.',
    ),
  };
}

export function workqueueMetrics(): QueueMetrics | undefined {
  return provider;
}
