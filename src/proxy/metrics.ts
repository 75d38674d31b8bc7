// The agent's metrics under kube-proxy's names (pkg/proxy/metrics/metrics.go), so existing
// dashboards and alerts work. The registry itself is api/metrics.ts, shared by every component.
import { exponentialBuckets, linearBuckets, type Registry } from '../api/metrics.ts';

export { Counter, exponentialBuckets, Gauge, Histogram, type Labels, Registry } from '../api/metrics.ts';

/** The kube-proxy metrics every data plane shares. */
export function proxyMetrics(reg: Registry) {
  const syncBuckets = exponentialBuckets(0.001, 2, 15);
  return {
    syncDuration: reg.histogram(
      'kubeproxy_sync_proxy_rules_duration_seconds',
      'SyncProxyRules latency in seconds',
      syncBuckets,
    ),
    syncFullDuration: reg.histogram(
      'kubeproxy_sync_full_proxy_rules_duration_seconds',
      'SyncProxyRules latency in seconds for full resyncs',
      syncBuckets,
    ),
    syncPartialDuration: reg.histogram(
      'kubeproxy_sync_partial_proxy_rules_duration_seconds',
      'SyncProxyRules latency in seconds for partial resyncs',
      syncBuckets,
    ),
    networkProgramming: reg.histogram(
      'kubeproxy_network_programming_duration_seconds',
      'In Cluster Network Programming Latency in seconds',
      [
        ...linearBuckets(0.25, 0.25, 2),
        ...linearBuckets(1, 1, 59),
        ...linearBuckets(60, 5, 12),
        ...linearBuckets(120, 30, 7),
      ],
    ),
    lastTimestamp: reg.gauge(
      'kubeproxy_sync_proxy_rules_last_timestamp_seconds',
      'The last time proxy rules were successfully synced',
    ),
    lastQueuedTimestamp: reg.gauge(
      'kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds',
      'The last time a sync of proxy rules was queued',
    ),
    serviceChangesTotal: reg.counter(
      'kubeproxy_sync_proxy_rules_service_changes_total',
      'Cumulative proxy rules Service changes',
    ),
    serviceChangesPending: reg.gauge(
      'kubeproxy_sync_proxy_rules_service_changes_pending',
      'Pending proxy rules Service changes',
    ),
    endpointChangesTotal: reg.counter(
      'kubeproxy_sync_proxy_rules_endpoint_changes_total',
      'Cumulative proxy rules Endpoint changes',
    ),
    endpointChangesPending: reg.gauge(
      'kubeproxy_sync_proxy_rules_endpoint_changes_pending',
      'Pending proxy rules Endpoint changes',
    ),
    syncFailures: reg.counter(
      'svcnet_proxy_sync_failures_total',
      'Data plane syncs that failed (the next one is full)',
    ),
    deniedExternalIPs: reg.gauge(
      'svcnet_proxy_denied_external_ips',
      'spec.externalIPs not honoured because the admin allow-list does not permit them (CVE-2020-8554)',
    ),
    rejectedLoadBalancerIPs: reg.counter(
      'svcnet_proxy_rejected_load_balancer_ips_total',
      'status.loadBalancer.ingress IPs refused (special, service-CIDR, or in no pool nor --lb-ip-allow), per Service change',
    ),
  };
}

export type ProxyMetrics = ReturnType<typeof proxyMetrics>;

/** What every kernel plane shares: the UDP conntrack cleanup and the [::1] relay. */
export function kernelPlaneMetrics(reg: Registry) {
  return {
    conntrackDeleted: reg.counter(
      'kubeproxy_conntrack_reconciler_deleted_entries_total',
      'Cumulative stale UDP conntrack entries deleted after syncs',
    ),
    relayListeners: reg.gauge('svcnet_localhost_relay_listeners', 'Listeners of the [::1] NodePort relay'),
  };
}

export type KernelPlaneMetrics = ReturnType<typeof kernelPlaneMetrics>;
