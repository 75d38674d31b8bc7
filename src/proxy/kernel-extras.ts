// What every kernel plane does around its rules after a sync, in one place: route_localnet for
// 127.0.0.1 NodePorts (set when a snapshot asks for them, the value found put back otherwise),
// the [::1] NodePort relay (localhost-relay.ts), and UDP conntrack cleanup (conntrack.ts).
import type { IPFamily } from '../api/ip.ts';
import { ExecConntrack } from '../kernel/conntrack.ts';
import type { Runner } from '../kernel/exec.ts';
import { type ConntrackCleaner, cleanConntrackAfterSync, TableConntrackCleaner } from './conntrack.ts';
import { InProcessRelay, type LocalhostRelay, NetnsRelay, relayTargets } from './localhost-relay.ts';
import type { KernelPlaneMetrics } from './metrics.ts';
import { RouteLocalnet } from './route-localnet.ts';
import type { ProxySnapshot, SyncChanges } from './snapshot.ts';

export interface KernelExtrasOptions {
  readonly netns?: string;
  readonly families: readonly IPFamily[];
  readonly runner: Runner;
  readonly metrics: KernelPlaneMetrics;
  readonly conntrack?: ConntrackCleaner;
  readonly relay?: LocalhostRelay;
  readonly stateDir?: string;
  /** Log lines, already prefixed with the plane's name. */
  readonly log: (msg: string) => void;
}

export class KernelExtras {
  conntrackDeleted = 0;
  relayListeners = 0;
  private routeLocalnetSet = false;
  private routeLocalnetChecked = false;
  private readonly routeLocalnet: RouteLocalnet;
  private readonly conntrack: ConntrackCleaner;
  private relay: LocalhostRelay | undefined;

  constructor(private readonly o: KernelExtrasOptions) {
    this.routeLocalnet = new RouteLocalnet(o.netns, o.runner, o.stateDir);
    this.conntrack = o.conntrack ?? new TableConntrackCleaner(new ExecConntrack(o.netns, o.runner));
  }

  async afterSync(snapshot: ProxySnapshot, changes: SyncChanges): Promise<void> {
    if (snapshot.localhostNodePorts && !this.routeLocalnetSet) {
      // The kernel routes DNATed packets with a loopback source only with route_localnet; the
      // plane's raw rule drops 127/8 from the wire, which is what made it dangerous (CVE-2020-8558).
      await this.routeLocalnet.enable();
      this.routeLocalnetSet = true;
    } else if (!snapshot.localhostNodePorts && changes.full && !this.routeLocalnetChecked) {
      // A crashed run set it and this one does not need it: put back what that run found.
      this.routeLocalnetChecked = true;
      await this.routeLocalnet.restore();
    }
    await this.syncRelay(snapshot);
    const deleted = await cleanConntrackAfterSync(this.conntrack, snapshot, changes, this.o.families, this.o.log);
    this.conntrackDeleted += deleted;
    this.o.metrics.conntrackDeleted.inc(undefined, deleted);
  }

  /**
   * ::1 NodePorts: listeners that forward into a kernel VIP. One that cannot bind (port taken)
   * is logged and retried at the next sync, never failing it: the rules are already right.
   */
  private async syncRelay(snapshot: ProxySnapshot): Promise<void> {
    const specs = relayTargets(snapshot, this.o.families);
    if (specs.length === 0 && !this.relay) return;
    this.relay ??= this.o.relay ?? (this.o.netns !== undefined ? new NetnsRelay(this.o.netns) : new InProcessRelay());
    try {
      const status = await this.relay.set(specs);
      this.setListeners(status.bound.length);
      for (const e of status.errors) this.o.log(`localhost relay [::1] ${e}`);
    } catch (e) {
      this.o.log(`localhost relay failed: ${(e as Error).message}`);
    }
  }

  private setListeners(n: number): void {
    this.relayListeners = n;
    this.o.metrics.relayListeners.set(n);
  }

  /** The relay is this process's sockets: it cannot outlive it (the kernel rules stay). */
  async stop(): Promise<void> {
    await this.relay?.close();
    this.setListeners(0);
  }

  /** `svcnet cleanup`: the relay closed and route_localnet as it was found. */
  async cleanup(): Promise<void> {
    await this.stop();
    await this.routeLocalnet.restore();
    this.routeLocalnetSet = false;
  }
}
