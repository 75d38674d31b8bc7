// The iptables data plane the agent drives: snapshot → renderer → ipset + iptables-restore, then
// the shared kernel-plane work (route_localnet, [::1] relay, UDP conntrack). Full syncs redeclare
// every svcnet chain with `--noflush` (rules of other programs stay) and swap in complete sets;
// partial syncs rewrite only the chains and elements of ports that changed. A failed partial
// sync is counted and the runner follows it with a full one at once; a failed full sync removes
// svcnet's chains and sets and writes them again (a set left with another type, for example).
import type { IPFamily } from '../../api/ip.ts';
import { isExecError, type Runner, run } from '../../kernel/exec.ts';
import { ExecIpset, type Ipset } from '../../kernel/ipset.ts';
import { ExecIptables, type Iptables, type IptablesBackend, iptablesBackends } from '../../kernel/iptables.ts';
import type { ConntrackCleaner } from '../conntrack.ts';
import type { PlaneExplainer } from '../explain/types.ts';
import { KernelExtras } from '../kernel-extras.ts';
import type { LocalhostRelay } from '../localhost-relay.ts';
import { kernelPlaneMetrics, Registry } from '../metrics.ts';
import { type DataPlane, NeedsFullSyncError } from '../plane.ts';
import { RouteLocalnet } from '../route-localnet.ts';
import type { ProxySnapshot, SyncChanges } from '../snapshot.ts';
import type { ServicePortKey } from '../types.ts';
import { IptablesApplier } from './applier.ts';
import { iptablesExplainer } from './explain.ts';
import { type IptablesMetrics, iptablesMetrics } from './metrics.ts';
import { type ExistingRules, IptablesRenderer } from './render.ts';

const allFamilies: readonly IPFamily[] = ['IPv4', 'IPv6'];

export interface IptablesPlaneOptions {
  /** Network namespace to program (`ip netns exec`); undefined: the one this process runs in. */
  readonly netns?: string;
  readonly serviceCIDRs: readonly string[];
  /** IP families to program (ip6tables for IPv6); default both. */
  readonly families?: readonly IPFamily[];
  readonly masqueradeAll?: boolean;
  /** kube-proxy --cluster-cidr: local traffic is a source inside (else the node's pod CIDRs). */
  readonly clusterCIDRs?: readonly string[];
  /** Which iptables binaries: iptables-nft, iptables-legacy, or the system's default. */
  readonly backend?: IptablesBackend;
  /** Seams (tests): iptables, ipset, conntrack cleaner, process runner, [::1] relay. */
  readonly iptables?: Iptables;
  readonly ipset?: Ipset;
  readonly conntrack?: ConntrackCleaner;
  readonly runner?: Runner;
  readonly relay?: LocalhostRelay;
  readonly log?: (msg: string) => void;
  readonly metrics?: Registry;
  readonly stateDir?: string;
}

export interface IptablesPlaneStats {
  fullSyncs: number;
  partialSyncs: number;
  partialFailures: number;
  rebuilds: number;
  conntrackDeleted: number;
  lastSyncMs: number;
  chains: number;
  setElements: number;
}

export class IptablesPlane implements DataPlane {
  readonly name = 'iptables';
  readonly renderer: IptablesRenderer;
  readonly applier: IptablesApplier;
  readonly explainer: PlaneExplainer;
  readonly stats: IptablesPlaneStats = {
    fullSyncs: 0,
    partialSyncs: 0,
    partialFailures: 0,
    rebuilds: 0,
    conntrackDeleted: 0,
    lastSyncMs: 0,
    chains: 0,
    setElements: 0,
  };
  private readonly families: readonly IPFamily[];
  private readonly metrics: IptablesMetrics;
  private readonly extras: KernelExtras;
  private synced = false;

  constructor(private readonly opts: IptablesPlaneOptions) {
    this.families = opts.families ?? allFamilies;
    this.renderer = new IptablesRenderer({
      families: this.families,
      serviceCIDRs: opts.serviceCIDRs,
      masqueradeAll: opts.masqueradeAll ?? false,
      ...(opts.clusterCIDRs ? { clusterCIDRs: opts.clusterCIDRs } : {}),
    });
    const reg = opts.metrics ?? new Registry();
    this.metrics = iptablesMetrics(reg);
    const runner = opts.runner ?? run;
    this.applier = new IptablesApplier(
      opts.iptables ?? new ExecIptables(opts.netns, opts.backend ?? 'default', runner),
      opts.ipset ?? new ExecIpset(opts.netns, runner),
    );
    this.explainer = iptablesExplainer(this.applier, opts.netns, runner);
    this.extras = new KernelExtras({
      ...(opts.netns !== undefined ? { netns: opts.netns } : {}),
      families: this.families,
      runner,
      metrics: kernelPlaneMetrics(reg),
      ...(opts.conntrack ? { conntrack: opts.conntrack } : {}),
      ...(opts.relay ? { relay: opts.relay } : {}),
      ...(opts.stateDir ? { stateDir: opts.stateDir } : {}),
      log: (m) => this.log(m),
    });
  }

  private log(m: string): void {
    this.opts.log?.(`iptables: ${m}`);
  }

  async sync(snapshot: ProxySnapshot, changes: SyncChanges): Promise<void> {
    const t0 = performance.now();
    if (changes.full) await this.fullSync(snapshot);
    else await this.partialSync(snapshot, changes);
    await this.extras.afterSync(snapshot, changes);
    this.stats.conntrackDeleted = this.extras.conntrackDeleted;
    this.stats.chains = this.families.reduce((n, f) => n + this.renderer.chainCount(f), 0);
    this.stats.setElements = this.families.reduce((n, f) => n + this.renderer.elementCount(f), 0);
    this.metrics.chains.set(this.stats.chains);
    this.metrics.setElements.set(this.stats.setElements);
    this.stats.lastSyncMs = performance.now() - t0;
  }

  private async partialSync(snapshot: ProxySnapshot, changes: SyncChanges): Promise<void> {
    if (!this.synced || this.renderer.environmentChanged(snapshot)) {
      throw new NeedsFullSyncError(this.synced ? 'the node environment changed' : 'no full sync yet');
    }
    this.renderer.update(snapshot, new Set<ServicePortKey>([...changes.services, ...changes.endpoints]));
    const plans = this.renderer.renderPartial();
    try {
      for (const [f, plan] of plans) await this.applier.apply(f, plan);
      this.stats.partialSyncs++;
    } catch (e) {
      // The runner retries at once with a full sync, which trusts nothing applied before.
      this.stats.partialFailures++;
      this.metrics.partialFailures.inc();
      this.metrics.restoreFailures.inc();
      this.synced = false;
      throw e;
    }
  }

  private async fullSync(snapshot: ProxySnapshot): Promise<void> {
    const existing: Partial<Record<IPFamily, ExistingRules>> = {};
    for (const f of this.families) {
      const ex = await this.applier.existing(f);
      existing[f] = ex;
      // A restarted agent keeps the dispatch indices live set elements carry.
      this.renderer.seedIndices(ex.indices);
    }
    this.renderer.update(snapshot);
    try {
      for (const [f, plan] of this.renderer.renderFull(existing)) await this.applier.apply(f, plan);
    } catch (e) {
      this.stats.rebuilds++;
      this.metrics.rebuilds.inc();
      this.metrics.restoreFailures.inc();
      this.log(`full sync failed, removing svcnet's chains and sets and writing them again: ${(e as Error).message}`);
      await this.applier.cleanup(this.families);
      for (const [f, plan] of this.renderer.renderFull({})) await this.applier.apply(f, plan);
    }
    this.stats.fullSyncs++;
    this.synced = true;
  }

  async stop(): Promise<void> {
    // Rules stay: traffic keeps flowing while the agent restarts (`svcnet cleanup` removes them).
    await this.extras.stop();
  }

  /** `svcnet cleanup` through a live plane. */
  async cleanup(): Promise<void> {
    await this.extras.cleanup();
    await this.applier.cleanup(this.families);
    this.synced = false;
  }
}

export function createIptablesPlane(opts: IptablesPlaneOptions): IptablesPlane {
  return new IptablesPlane(opts);
}

/**
 * `svcnet cleanup` without an agent: removes svcnet's chains and sets in `netns`, through every
 * iptables backend the machine has (an agent may have run with either); a backend that is not
 * installed has nothing to remove.
 */
export async function cleanupIptables(
  netns: string | undefined,
  o: { runner?: Runner; stateDir?: string } = {},
): Promise<void> {
  const runner = o.runner ?? run;
  for (const backend of iptablesBackends) {
    const applier = new IptablesApplier(new ExecIptables(netns, backend, runner), new ExecIpset(netns, runner));
    try {
      await applier.cleanup(allFamilies);
    } catch (e) {
      if (!isExecError(e, 'EXEC_NOT_FOUND') && !isExecError((e as Error).cause, 'EXEC_NOT_FOUND')) throw e;
    }
  }
  await new RouteLocalnet(netns, runner, o.stateDir).restore();
}
