// The data planes the agent can run, as one table: how to create each, how to remove what it
// programs (`svcnet cleanup`, whatever state a crash left), and the metrics it adds to the
// agent's /metrics. `svcnet agent`, `svcnet up` and `svcnet cleanup` all read this table, so a
// new plane is one entry here.
import { cidrContains } from '../api/ip.ts';
import { ipvsUnavailable } from '../kernel/ipvs.ts';
import { iptablesMetricNames } from './iptables/metrics.ts';
import { cleanupIptables, createIptablesPlane } from './iptables/plane.ts';
import { cleanupIpvs, IpvsPlane, ipvsMetricNames } from './ipvs/plane.ts';
import type { Registry } from './metrics.ts';
import { cleanupNftables, createNftablesPlane } from './nftables/plane.ts';
import type { DataPlane } from './plane.ts';
import { NetnsVipBinder } from './userspace/netns-vip-binder.ts';
import { UserspacePlane } from './userspace/plane.ts';
import { BoundVips } from './userspace/vips.ts';

export interface PlaneConfig {
  /** Named network namespace to program; undefined: the one this process runs in (a real node). */
  readonly netns?: string;
  /** Service CIDRs: kernel planes drop unallocated addresses inside them (5.14). */
  readonly serviceCIDRs: readonly string[];
  /** kube-proxy --masquerade-all. */
  readonly masqueradeAll: boolean;
  /** The agent's registry: the plane's own metrics are registered here. */
  readonly metrics: Registry;
  readonly log: (msg: string) => void;
  /** `--ipvs-scheduler` (the IPVS plane's default scheduler). */
  readonly ipvsScheduler?: string;
}

export interface CleanupConfig {
  readonly netns?: string;
  readonly serviceCIDRs: readonly string[];
}

export interface PlaneEntry {
  /** Programs the kernel: needs CAP_NET_ADMIN. */
  readonly needsRoot: boolean;
  create(cfg: PlaneConfig): DataPlane;
  /** Removes what this plane programs in `netns`; safe when there is nothing. */
  cleanup(cfg: CleanupConfig): Promise<void>;
  /** Why this plane cannot run on this machine (a kernel feature missing), or undefined. */
  unavailable?(): string | undefined;
  /** Metric names this plane adds to the agent's /metrics (beyond the shared kube-proxy set). */
  readonly metrics: readonly string[];
}

export const planeModes = ['nftables', 'iptables', 'ipvs', 'userspace'] as const;
export type PlaneMode = (typeof planeModes)[number];

export function isPlaneMode(m: string): m is PlaneMode {
  return (planeModes as readonly string[]).includes(m);
}

const kernelShared = ['kubeproxy_conntrack_reconciler_deleted_entries_total', 'svcnet_localhost_relay_listeners'];

export const planes: Readonly<Record<PlaneMode, PlaneEntry>> = {
  nftables: {
    needsRoot: true,
    create: (cfg) =>
      createNftablesPlane({
        ...(cfg.netns !== undefined ? { netns: cfg.netns } : {}),
        serviceCIDRs: cfg.serviceCIDRs,
        masqueradeAll: cfg.masqueradeAll,
        metrics: cfg.metrics,
        log: cfg.log,
      }),
    cleanup: (cfg) => cleanupNftables(cfg.netns),
    metrics: [
      'kubeproxy_sync_proxy_rules_nftables_sync_failures_total',
      'svcnet_nftables_partial_sync_failures_total',
      'svcnet_nftables_table_rebuilds_total',
      'svcnet_nftables_objects',
      ...kernelShared,
    ],
  },
  iptables: {
    needsRoot: true,
    create: (cfg) =>
      createIptablesPlane({
        ...(cfg.netns !== undefined ? { netns: cfg.netns } : {}),
        serviceCIDRs: cfg.serviceCIDRs,
        masqueradeAll: cfg.masqueradeAll,
        metrics: cfg.metrics,
        log: cfg.log,
      }),
    cleanup: (cfg) => cleanupIptables(cfg.netns),
    metrics: [...iptablesMetricNames, ...kernelShared],
  },
  ipvs: {
    needsRoot: true,
    create: (cfg) =>
      new IpvsPlane({
        ...(cfg.netns !== undefined ? { netns: cfg.netns } : {}),
        serviceCIDRs: cfg.serviceCIDRs,
        masqueradeAll: cfg.masqueradeAll,
        ...(cfg.ipvsScheduler !== undefined ? { scheduler: cfg.ipvsScheduler } : {}),
        metrics: cfg.metrics,
        log: cfg.log,
      }),
    cleanup: (cfg) => cleanupIpvs(cfg.netns),
    unavailable: ipvsUnavailable,
    metrics: [...ipvsMetricNames, ...kernelShared],
  },
  userspace: {
    needsRoot: false,
    create: (cfg) =>
      new UserspacePlane({
        ...(cfg.netns !== undefined ? { vips: new BoundVips(new NetnsVipBinder(cfg.netns)) } : {}),
        masqueradeAll: cfg.masqueradeAll,
        metrics: cfg.metrics,
      }),
    // The plane's sockets die with the process; what can outlive it are VIPs bound on the
    // namespace's lo. Only service-CIDR addresses are known to be ours, so only those go.
    cleanup: async (cfg) => {
      if (cfg.netns === undefined) return;
      const binder = new NetnsVipBinder(cfg.netns);
      for (const ip of await binder.list().catch(() => [])) {
        if (cfg.serviceCIDRs.some((c) => cidrContains(c, ip))) await binder.remove(ip);
      }
    },
    metrics: [
      'svcnet_userspace_connections_total',
      'svcnet_userspace_rejected_total',
      'svcnet_userspace_connect_failures_total',
      'svcnet_userspace_connect_retries_total',
      'svcnet_userspace_endpoint_ejections_total',
      'svcnet_userspace_ejected_endpoints',
      'svcnet_userspace_active_connections',
      'svcnet_userspace_udp_dropped_total',
      'svcnet_userspace_udp_flows',
      'svcnet_userspace_listener_errors_total',
    ],
  },
};
