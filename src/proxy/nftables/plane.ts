// The nftables data plane the agent drives: snapshot → renderer → applier, then UDP conntrack
// hygiene. Full syncs rewrite every svcnet object in one atomic transaction (never a flush of
// the table first); partial syncs are element adds/deletes for the ports that changed. A failed
// partial sync falls back to a full one at once; a failed full sync rebuilds the table in one
// transaction. Both are counted.
import { ExecConntrack } from '../../kernel/conntrack.ts';
import { type Runner, run } from '../../kernel/exec.ts';
import { type ConntrackCleaner, cleanConntrackAfterSync, TableConntrackCleaner } from '../conntrack.ts';
import type { PlaneExplainer } from '../explain/types.ts';
import { InProcessRelay, type LocalhostRelay, NetnsRelay, relayTargets } from '../localhost-relay.ts';
import { type KernelPlaneMetrics, kernelPlaneMetrics, Registry } from '../metrics.ts';
import type { DataPlane } from '../plane.ts';
import { NeedsFullSyncError } from '../plane.ts';
import { RouteLocalnet } from '../route-localnet.ts';
import type { ProxySnapshot, SyncChanges } from '../snapshot.ts';
import type { ServicePortKey } from '../types.ts';
import { ExecNftApplier, type NftApplier } from './applier.ts';
import { nftExplainer } from './explain.ts';
import { type NftablesMetrics, nftablesMetrics } from './metrics.ts';
import { type ExistingObjects, NftablesRenderer, renderCleanup } from './render.ts';
import { families as allFamilies, ipFamilyOfNft, type NftFamily, tableName } from './structure.ts';

export interface NftablesPlaneOptions {
  /** Network namespace to program (`ip netns exec`); undefined: the one this process runs in. */
  readonly netns?: string;
  /** Service CIDRs (both families as configured): unallocated addresses inside are dropped. */
  readonly serviceCIDRs: readonly string[];
  /** IP families to program; default both. */
  readonly families?: readonly NftFamily[];
  /** kube-proxy --masquerade-all. */
  readonly masqueradeAll?: boolean;
  /** Elements per transaction on a cold start (table absent); 0 = one transaction. Default 25,000. */
  readonly coldChunkElements?: number;
  /** Seams (tests): the nft applier, conntrack cleaner and process runner. */
  readonly applier?: NftApplier;
  readonly conntrack?: ConntrackCleaner;
  readonly runner?: Runner;
  /** The [::1] NodePort relay (../localhost-relay.ts); default: in this process, or a child in `netns`. */
  readonly relay?: LocalhostRelay;
  readonly log?: (msg: string) => void;
  /** Where the plane's counters go (the agent's /metrics); default: a registry of its own. */
  readonly metrics?: Registry;
  /** Where the route_localnet value found is recorded (route-localnet.ts). */
  readonly stateDir?: string;
}

export interface NftablesPlaneStats {
  fullSyncs: number;
  partialSyncs: number;
  /** Partial syncs that failed and were replaced by a full sync. */
  partialFailures: number;
  /** Full syncs that failed and were replaced by a rebuild of the table. */
  rebuilds: number;
  conntrackDeleted: number;
  lastSyncMs: number;
  /** Elements, chains and sets svcnet owns (both families). */
  objects: number;
  /** [::1] NodePort relay listeners bound (localhost NodePorts on IPv6). */
  relayListeners: number;
}

export class NftablesPlane implements DataPlane {
  readonly name = 'nftables';
  readonly renderer: NftablesRenderer;
  readonly stats: NftablesPlaneStats = {
    fullSyncs: 0,
    partialSyncs: 0,
    partialFailures: 0,
    rebuilds: 0,
    conntrackDeleted: 0,
    lastSyncMs: 0,
    objects: 0,
    relayListeners: 0,
  };
  readonly explainer: PlaneExplainer;
  private readonly applier: NftApplier;
  private readonly conntrack: ConntrackCleaner;
  private readonly runner: Runner;
  private readonly families: readonly NftFamily[];
  private synced = false;
  private routeLocalnetSet = false;
  private routeLocalnetChecked = false;
  private readonly routeLocalnet: RouteLocalnet;
  private relay: LocalhostRelay | undefined;
  private readonly metrics: NftablesMetrics;
  private readonly kernelMetrics: KernelPlaneMetrics;

  constructor(private readonly opts: NftablesPlaneOptions) {
    this.families = opts.families ?? allFamilies;
    this.renderer = new NftablesRenderer({
      families: this.families,
      serviceCIDRs: opts.serviceCIDRs,
      masqueradeAll: opts.masqueradeAll ?? false,
    });
    const reg = opts.metrics ?? new Registry();
    this.metrics = nftablesMetrics(reg);
    this.kernelMetrics = kernelPlaneMetrics(reg);
    this.runner = opts.runner ?? run;
    this.applier = opts.applier ?? new ExecNftApplier(opts.netns, this.runner);
    this.conntrack = opts.conntrack ?? new TableConntrackCleaner(new ExecConntrack(opts.netns, this.runner));
    this.routeLocalnet = new RouteLocalnet(opts.netns, this.runner, opts.stateDir);
    this.explainer = nftExplainer(this.applier, this.families, opts.netns, this.runner);
  }

  async sync(snapshot: ProxySnapshot, changes: SyncChanges): Promise<void> {
    const t0 = performance.now();
    // Full or partial is the sync runner's decision (first sync, periodic resync, after a
    // failure, environment changed); a full sync is also what repairs a table someone edited.
    if (changes.full) await this.fullSync(snapshot);
    else await this.partialSync(snapshot, changes);
    if (snapshot.localhostNodePorts && !this.routeLocalnetSet) await this.enableRouteLocalnet();
    // A crashed run set it and this one does not need it: put back what that run found.
    else if (!snapshot.localhostNodePorts && changes.full && !this.routeLocalnetChecked) {
      this.routeLocalnetChecked = true;
      await this.routeLocalnet.restore();
    }
    await this.syncRelay(snapshot);
    const deleted = await cleanConntrackAfterSync(
      this.conntrack,
      snapshot,
      changes,
      this.families.map(ipFamilyOfNft),
      (m) => this.opts.log?.(`nftables: ${m}`),
    );
    this.stats.conntrackDeleted += deleted;
    this.kernelMetrics.conntrackDeleted.inc(undefined, deleted);
    this.stats.objects = this.renderer.store.size();
    this.metrics.objects.set(this.stats.objects);
    this.stats.lastSyncMs = performance.now() - t0;
  }

  private async partialSync(snapshot: ProxySnapshot, changes: SyncChanges): Promise<void> {
    if (!this.synced || this.renderer.environmentChanged(snapshot)) {
      throw new NeedsFullSyncError(this.synced ? 'the node environment changed' : 'no full sync yet');
    }
    this.renderer.update(snapshot, new Set<ServicePortKey>([...changes.services, ...changes.endpoints]));
    const text = this.renderer.renderPartial();
    if (text === '') return;
    try {
      await this.applier.apply(text);
      this.stats.partialSyncs++;
    } catch (e) {
      // The runner retries at once with a full sync; the renderer's state is rebuilt then.
      this.stats.partialFailures++;
      this.metrics.partialFailures.inc();
      this.metrics.syncFailures.inc();
      this.synced = false;
      throw e;
    }
  }

  private async fullSync(snapshot: ProxySnapshot): Promise<void> {
    this.renderer.update(snapshot);
    const existing: Partial<Record<NftFamily, ExistingObjects | undefined>> = {};
    for (const f of this.families) existing[f] = await this.applier.list(f);
    const txs = this.renderer.renderFull(existing, this.opts.coldChunkElements ?? 25_000);
    try {
      // Each chunk's text is dropped once applied: a cold start of 10,000 Services is MBs of text.
      for (let tx = txs.shift(); tx !== undefined; tx = txs.shift()) await this.applier.apply(tx);
    } catch (e) {
      // E.g. a set left by another version with another type: replace the table atomically.
      this.stats.rebuilds++;
      this.metrics.rebuilds.inc();
      this.metrics.syncFailures.inc();
      this.opts.log?.(`nftables: full sync failed, rebuilding the table: ${(e as Error).message}`);
      const [tx = ''] = this.renderer.renderFull({}, 0);
      await this.applier.apply(renderCleanup(this.families) + tx);
    }
    this.stats.fullSyncs++;
    this.synced = true;
  }

  /**
   * 127.0.0.1 NodePorts need the kernel to route DNATed packets with a loopback source
   * (route_localnet); raw-prerouting drops 127/8 arriving from the wire, which is what made
   * route_localnet dangerous (CVE-2020-8558).
   */
  private async enableRouteLocalnet(): Promise<void> {
    await this.routeLocalnet.enable();
    this.routeLocalnetSet = true;
  }

  /**
   * ::1 NodePorts: userspace listeners that forward into a kernel VIP (relay.ts). Created on the
   * first snapshot that asks for localhost NodePorts; a listener that cannot bind (port taken)
   * is logged and retried at the next sync, never failing the sync: the rules are already right.
   */
  private async syncRelay(snapshot: ProxySnapshot): Promise<void> {
    const specs = relayTargets(snapshot, this.families.map(ipFamilyOfNft));
    if (specs.length === 0 && !this.relay) return;
    this.relay ??=
      this.opts.relay ?? (this.opts.netns !== undefined ? new NetnsRelay(this.opts.netns) : new InProcessRelay());
    try {
      const status = await this.relay.set(specs);
      this.stats.relayListeners = status.bound.length;
      this.kernelMetrics.relayListeners.set(status.bound.length);
      for (const e of status.errors) this.opts.log?.(`nftables: localhost relay [::1] ${e}`);
    } catch (e) {
      this.opts.log?.(`nftables: localhost relay failed: ${(e as Error).message}`);
    }
  }

  async stop(): Promise<void> {
    // Rules stay: traffic keeps flowing while the agent restarts (`svcnet cleanup` removes them).
    // The ::1 relay is this process's sockets: it cannot outlive it.
    await this.relay?.close();
    this.stats.relayListeners = 0;
    this.kernelMetrics.relayListeners.set(0);
  }

  /** `svcnet cleanup`: delete svcnet's tables. */
  async cleanup(): Promise<void> {
    await this.relay?.close();
    this.stats.relayListeners = 0;
    this.kernelMetrics.relayListeners.set(0);
    await this.applier.apply(renderCleanup(this.families));
    await this.routeLocalnet.restore();
    this.routeLocalnetSet = false;
    this.synced = false;
  }
}

export function createNftablesPlane(opts: NftablesPlaneOptions): NftablesPlane {
  return new NftablesPlane(opts);
}

/** `svcnet cleanup` without an agent: removes svcnet's nftables tables in `netns`. */
export async function cleanupNftables(
  netns: string | undefined,
  runner: Runner = run,
  stateDir?: string,
): Promise<void> {
  await new ExecNftApplier(netns, runner).apply(renderCleanup(allFamilies));
  await new RouteLocalnet(netns, runner, stateDir).restore();
}

export { tableName };
