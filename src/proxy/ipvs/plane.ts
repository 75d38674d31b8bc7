// The IPVS data plane the agent drives: snapshot → renderer → applier, then the drain of real
// servers that left and UDP conntrack hygiene. Every sync reconciles in place: the table found in
// the kernel (ipvsadm -S) is edited into the one wanted, never flushed, so a restart or a crash
// leaves traffic flowing and the next start corrects what is stale. Syncs and drain steps run
// one at a time.

import { ipFamilyOf } from '../../api/ip.ts';
import { ExecConntrack } from '../../kernel/conntrack.ts';
import { type Runner, run } from '../../kernel/exec.ts';
import { type IpvsState, parseSave } from '../../kernel/ipvs.ts';
import { type ConntrackCleaner, cleanConntrackAfterSync, TableConntrackCleaner } from '../conntrack.ts';
import type { PlaneExplainer } from '../explain/types.ts';
import { InProcessRelay, type LocalhostRelay, NetnsRelay, type RelaySpec } from '../localhost-relay.ts';
import { type KernelPlaneMetrics, kernelPlaneMetrics, Registry } from '../metrics.ts';
import type { DataPlane, PlaneSink } from '../plane.ts';
import type { ProxySnapshot, SyncChanges } from '../snapshot.ts';
import { ExecIpvsApplier, type IpvsApplier } from './applier.ts';
import { ipvsExplainer } from './explain.ts';
import { reconcile } from './reconcile.ts';
import {
  fwmarkBase,
  type HelperRendered,
  helperDelta,
  type IpvsRendered,
  renderHelperCleanup,
  renderIpvs,
} from './render.ts';

export interface IpvsPlaneOptions {
  readonly netns?: string;
  readonly serviceCIDRs: readonly string[];
  readonly masqueradeAll?: boolean;
  /** `--ipvs-scheduler`: rr unless set; a Service's svcnet.io/ipvs-scheduler annotation wins. */
  readonly scheduler?: string;
  /** How long a removed TCP/SCTP real server may keep its connections; default 30 s. */
  readonly drainMs?: number;
  /** How often a drain in progress is checked; default 1 s. */
  readonly drainCheckMs?: number;
  readonly families?: readonly ('IPv4' | 'IPv6')[];
  readonly applier?: IpvsApplier;
  readonly conntrack?: ConntrackCleaner;
  readonly relay?: LocalhostRelay;
  readonly runner?: Runner;
  readonly metrics?: Registry;
  readonly log?: (msg: string) => void;
  readonly now?: () => number;
}

export interface IpvsPlaneStats {
  syncs: number;
  failures: number;
  virtualServers: number;
  draining: number;
  drainDeleted: number;
  conntrackDeleted: number;
  relayListeners: number;
  lastSyncMs: number;
}

export class IpvsPlane implements DataPlane {
  readonly name = 'ipvs';
  readonly explainer: PlaneExplainer;
  readonly applier: IpvsApplier;
  readonly stats: IpvsPlaneStats = {
    syncs: 0,
    failures: 0,
    virtualServers: 0,
    draining: 0,
    drainDeleted: 0,
    conntrackDeleted: 0,
    relayListeners: 0,
    lastSyncMs: 0,
  };
  private readonly conntrack: ConntrackCleaner;
  private readonly kernelMetrics: KernelPlaneMetrics;
  private readonly m: ReturnType<typeof ipvsMetrics>;
  private readonly now: () => number;
  private prepared = false;
  private last: IpvsRendered | undefined;
  /** What this plane last applied; undefined after a failure (the next sync reads the kernel). */
  private model: { helper: HelperRendered; bound: ReadonlySet<string>; table: IpvsState } | undefined;
  private lastNodePortIPs: readonly string[] = [];
  private draining = new Map<string, number>();
  private drainTimer: NodeJS.Timeout | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private sink: PlaneSink | undefined;
  private readonly reported = new Map<string, string>();
  private relay: LocalhostRelay | undefined;
  private stopped = false;

  constructor(private readonly opts: IpvsPlaneOptions) {
    const runner = opts.runner ?? run;
    this.applier = opts.applier ?? new ExecIpvsApplier(opts.netns, runner);
    this.conntrack = opts.conntrack ?? new TableConntrackCleaner(new ExecConntrack(opts.netns, runner));
    const reg = opts.metrics ?? new Registry();
    this.kernelMetrics = kernelPlaneMetrics(reg);
    this.m = ipvsMetrics(reg);
    this.now = opts.now ?? Date.now;
    this.explainer = ipvsExplainer(this.applier, opts.netns, runner);
  }

  attach(sink: PlaneSink): void {
    this.sink = sink;
  }

  sync(snapshot: ProxySnapshot, changes: SyncChanges): Promise<void> {
    return this.serialize(() => this.syncNow(snapshot, changes));
  }

  private serialize<T>(f: () => Promise<T>): Promise<T> {
    const p = this.queue.then(f, f);
    this.queue = p.catch(() => {});
    return p;
  }

  private async syncNow(snapshot: ProxySnapshot, changes: SyncChanges): Promise<void> {
    const t0 = performance.now();
    // A full sync reads the kernel back (what a crash or another tool left); a partial one edits
    // from what this plane last applied, so one endpoint change costs one small restore.
    const full = changes.full || !this.model;
    try {
      if (!this.prepared || changes.full) {
        await this.applier.prepare();
        this.prepared = true;
      }
      const r = renderIpvs(snapshot, {
        serviceCIDRs: this.opts.serviceCIDRs,
        masqueradeAll: this.opts.masqueradeAll ?? false,
        ...(this.opts.scheduler !== undefined ? { scheduler: this.opts.scheduler } : {}),
        ...(this.opts.families ? { families: this.opts.families } : {}),
      });
      this.reportSchedulers(r);
      const model = full ? undefined : this.model;
      this.model = undefined;
      // Rules first (a Service without endpoints is refused the moment its address answers),
      // then addresses, then virtual servers; stale addresses go last.
      if (model && model.helper.skeleton === r.helper.skeleton) {
        const delta = helperDelta(model.helper, r.helper);
        if (delta !== '') await this.applier.helper(delta);
      } else await this.applier.helper(r.helper.text);
      const boundNow = model ? [...model.bound] : await this.applier.bound();
      const want = new Set(r.bound);
      const have = new Set(boundNow);
      await this.applier.bind(
        r.bound.filter((a) => !have.has(a)),
        [],
      );
      this.last = r;
      this.lastNodePortIPs = snapshot.nodePortIPs;
      const table = await this.reconcileNow(new Set([...boundNow, ...r.bound]), model?.table);
      await this.applier.bind(
        [],
        boundNow.filter((a) => !want.has(a)),
      );
      this.model = { helper: r.helper, bound: want, table };
      await this.syncRelay(snapshot);
      const deleted = await cleanConntrackAfterSync(this.conntrack, snapshot, changes, ['IPv4', 'IPv6'], (msg) =>
        this.opts.log?.(`ipvs: ${msg}`),
      );
      this.stats.conntrackDeleted += deleted;
      this.kernelMetrics.conntrackDeleted.inc(undefined, deleted);
      this.stats.syncs++;
      this.stats.virtualServers = r.table.size;
      this.m.virtualServers.set(r.table.size);
    } catch (e) {
      this.stats.failures++;
      this.m.failures.inc();
      throw e;
    } finally {
      this.stats.lastSyncMs = performance.now() - t0;
    }
  }

  /**
   * One reconcile step (syncs and drain checks) from `known` (what this plane last applied) or,
   * without it, the kernel's table; returns the table as it is now.
   */
  private async reconcileNow(boundAddrs: ReadonlySet<string>, known?: IpvsState): Promise<IpvsState> {
    const r = this.last;
    if (!r) return new Map();
    const current: IpvsState = known ?? parseSave(await this.applier.ipvs.save());
    const nodePorts = new Set(this.lastNodePortIPs);
    const ours = (id: string) => {
      const m = /^fwmark:(\d+):/.exec(id);
      if (m) return Number(m[1]) >= fwmarkBase && Number(m[1]) < fwmarkBase + 0x100000;
      const host = hostOf(id);
      return boundAddrs.has(host) || nodePorts.has(host);
    };
    const needCounts = [...current].some(([id, t]) =>
      [...t.dests.values()].some((d) => d.weight === 0 && !r.table.get(id)?.dests.has(d.key)),
    );
    const result = reconcile({
      wanted: r.table,
      current,
      ours,
      udp: r.udp,
      draining: this.draining,
      ...(needCounts ? { connections: await this.applier.ipvs.connections() } : {}),
      nowMs: this.now(),
      drainMs: this.opts.drainMs ?? 30_000,
    });
    if (result.text !== '') await this.applier.ipvs.restore(result.text);
    this.stats.drainDeleted += [...this.draining.keys()].filter((k) => !result.draining.has(k)).length;
    this.draining = result.draining;
    this.stats.draining = this.draining.size;
    this.m.draining.set(this.draining.size);
    this.scheduleDrain();
    // What the kernel holds now: the wanted table plus the real servers still draining.
    const now: IpvsState = new Map();
    for (const [id, t] of r.table) now.set(id, { service: t.service, dests: new Map(t.dests) });
    for (const k of this.draining.keys()) {
      const [id = '', dest = ''] = k.split(' ');
      const t = now.get(id);
      if (t) (t.dests as Map<string, { key: string; weight: number }>).set(dest, { key: dest, weight: 0 });
    }
    return now;
  }

  private scheduleDrain(): void {
    if (this.drainTimer || this.draining.size === 0 || this.stopped) return;
    this.drainTimer = setTimeout(() => {
      this.drainTimer = undefined;
      void this.serialize(async () => {
        const model = this.model;
        if (!model) return;
        this.model = undefined;
        const table = await this.reconcileNow(model.bound, model.table);
        this.model = { ...model, table };
      }).catch((e) => this.opts.log?.(`ipvs: drain check failed: ${(e as Error).message}`));
    }, this.opts.drainCheckMs ?? 1000);
    this.drainTimer.unref();
  }

  private reportSchedulers(r: IpvsRendered): void {
    for (const p of r.schedulerProblems) {
      if (this.reported.get(p.service) === p.value) continue;
      this.reported.set(p.service, p.value);
      this.sink?.event({
        type: 'Warning',
        reason: 'InvalidIPVSScheduler',
        message: `svcnet.io/ipvs-scheduler "${p.value}" is not an IPVS scheduler (rr, wrr, lc, wlc, lblc, lblcr, dh, sh, sed, nq, fo, ovf, mh); using ${this.opts.scheduler ?? 'rr'}`,
        service: { namespace: p.namespace, name: p.name },
      });
    }
    const now = new Set(r.schedulerProblems.map((p) => p.service as string));
    for (const k of [...this.reported.keys()]) if (!now.has(k)) this.reported.delete(k);
  }

  /**
   * Localhost NodePorts: IPVS cannot serve 127.0.0.1 or ::1 (a local client's packet to
   * loopback never reaches a virtual server there), so a userspace relay listens on both and
   * forwards each flow to the NodePort on a node address of the same family, where IPVS does.
   */
  private async syncRelay(snapshot: ProxySnapshot): Promise<void> {
    const specs: RelaySpec[] = [];
    if (snapshot.localhostNodePorts) {
      const v4 = snapshot.nodePortIPs.find((ip) => ipFamilyOf(ip) === 'IPv4');
      const v6 = snapshot.nodePortIPs.find((ip) => ipFamilyOf(ip) === 'IPv6');
      for (const svc of snapshot.services.values()) {
        if (svc.nodePort <= 0 || svc.protocol === 'SCTP') continue;
        const has = (f: string) => svc.clusterIPs.some((ip) => ipFamilyOf(ip) === f);
        if (v4 && has('IPv4')) {
          specs.push({
            protocol: svc.protocol,
            port: svc.nodePort,
            host: v4,
            targetPort: svc.nodePort,
            listen: '127.0.0.1',
          });
        }
        const six = v6 && has('IPv6') ? v6 : v4 && has('IPv4') ? v4 : undefined;
        if (six) specs.push({ protocol: svc.protocol, port: svc.nodePort, host: six, targetPort: svc.nodePort });
      }
    }
    if (specs.length === 0 && !this.relay) return;
    this.relay ??=
      this.opts.relay ?? (this.opts.netns !== undefined ? new NetnsRelay(this.opts.netns) : new InProcessRelay());
    try {
      const status = await this.relay.set(specs);
      this.stats.relayListeners = status.bound.length;
      this.kernelMetrics.relayListeners.set(status.bound.length);
      for (const e of status.errors) this.opts.log?.(`ipvs: localhost relay ${e}`);
    } catch (e) {
      this.opts.log?.(`ipvs: localhost relay failed: ${(e as Error).message}`);
    }
  }

  async stop(): Promise<void> {
    // Virtual servers, addresses and rules stay: traffic keeps flowing across an agent restart.
    this.stopped = true;
    if (this.drainTimer) clearTimeout(this.drainTimer);
    this.drainTimer = undefined;
    await this.queue;
    await this.relay?.close();
    this.stats.relayListeners = 0;
    this.kernelMetrics.relayListeners.set(0);
  }
}

function hostOf(id: string): string {
  const hp = id.slice(id.indexOf('/') + 1);
  const m = /^\[([^\]]+)\]:\d+$/.exec(hp) ?? /^([^:]+):\d+$/.exec(hp);
  return m?.[1] ?? hp;
}

export function ipvsMetrics(reg: Registry) {
  return {
    failures: reg.counter('svcnet_ipvs_sync_failures_total', 'IPVS plane syncs that failed'),
    virtualServers: reg.gauge('svcnet_ipvs_virtual_servers', 'IPVS virtual servers svcnet programs'),
    draining: reg.gauge(
      'svcnet_ipvs_draining_real_servers',
      'Real servers at weight 0 waiting for their connections to end',
    ),
  };
}

export const ipvsMetricNames = [
  'svcnet_ipvs_sync_failures_total',
  'svcnet_ipvs_virtual_servers',
  'svcnet_ipvs_draining_real_servers',
];

/** `svcnet cleanup`: everything the plane programs in `netns` goes (virtual servers on our addresses, the link, the table). */
export async function cleanupIpvs(netns: string | undefined, runner: Runner = run): Promise<void> {
  const applier = new ExecIpvsApplier(netns, runner);
  const bound = new Set(await applier.bound());
  let text = '';
  try {
    const current = parseSave(await applier.ipvs.save());
    for (const [id, t] of current) {
      const m = /^fwmark:(\d+):/.exec(id);
      // NodePort virtual servers sit on node addresses: those in the NodePort range are ours.
      const port = Number(/:(\d+)$/.exec(id)?.[1] ?? 0);
      const mine = m ? Number(m[1]) >= fwmarkBase : bound.has(hostOf(id)) || (port >= 30000 && port <= 32767);
      if (mine)
        text += `-D ${t.service.key.startsWith('fwmark:') ? `-f ${m?.[1]}${id.endsWith('IPv6') ? ' -6' : ''}` : `${t.service.protocol === 'UDP' ? '-u' : t.service.protocol === 'SCTP' ? '--sctp-service' : '-t'} ${t.service.key}`}\n`;
    }
  } catch {
    // No IPVS in this kernel: nothing of ours can be there.
  }
  if (text) await applier.ipvs.restore(text);
  await applier.helper(renderHelperCleanup()).catch(() => {});
  await applier.removeLink();
}
