// The iptables plane's own metrics, registered in the agent's registry (kube-proxy's names where
// kube-proxy has the figure, svcnet_* for what is ours).
import type { Registry } from '../metrics.ts';

export function iptablesMetrics(reg: Registry) {
  return {
    restoreFailures: reg.counter(
      'kubeproxy_sync_proxy_rules_iptables_restore_failures_total',
      'Cumulative iptables or ipset restores that failed',
    ),
    partialFailures: reg.counter(
      'kubeproxy_sync_proxy_rules_iptables_partial_restore_failures_total',
      'Partial restores that failed (the runner follows each with a full sync)',
    ),
    rebuilds: reg.counter(
      'svcnet_iptables_rebuilds_total',
      "Full syncs that failed and removed svcnet's chains and sets before writing them again",
    ),
    chains: reg.gauge('svcnet_iptables_chains', 'Chains svcnet owns (both families)'),
    setElements: reg.gauge('svcnet_iptables_set_elements', 'ipset elements svcnet owns (both families)'),
  };
}

export type IptablesMetrics = ReturnType<typeof iptablesMetrics>;

export const iptablesMetricNames = [
  'kubeproxy_sync_proxy_rules_iptables_restore_failures_total',
  'kubeproxy_sync_proxy_rules_iptables_partial_restore_failures_total',
  'svcnet_iptables_rebuilds_total',
  'svcnet_iptables_chains',
  'svcnet_iptables_set_elements',
] as const;
