// The nftables plane's own metrics, registered in the agent's registry (kube-proxy's names where
// kube-proxy has the figure, svcnet_* for what is ours).
import type { Registry } from '../metrics.ts';

export function nftablesMetrics(reg: Registry) {
  return {
    syncFailures: reg.counter(
      'kubeproxy_sync_proxy_rules_nftables_sync_failures_total',
      'Cumulative nftables transactions that failed',
    ),
    partialFailures: reg.counter(
      'svcnet_nftables_partial_sync_failures_total',
      'Partial syncs that failed (the runner follows each with a full sync)',
    ),
    rebuilds: reg.counter(
      'svcnet_nftables_table_rebuilds_total',
      'Full syncs that failed and rebuilt the table in one transaction',
    ),
    objects: reg.gauge('svcnet_nftables_objects', 'Elements, chains and sets svcnet owns (both families)'),
  };
}

export type NftablesMetrics = ReturnType<typeof nftablesMetrics>;
