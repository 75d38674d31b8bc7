// A cluster of lab nodes on one machine (README.md): the LAN (lan.ts), N node namespaces with
// a pod runner (the lab's kubelet) and an agent each, the pod routes between them, and the
// lab's "hypervisor": it stops, starts and re-addresses nodes when their Node objects ask for
// it through lab annotations (`svcnet node stop|start|set-ip`), so those commands need only
// API access, like `svcnet exec`.

import { isConflict } from '../api/status.ts';
import type { KubeObject, Node } from '../api/types.ts';
import { annotationKeys } from '../api/well-known.ts';
import type { Client } from '../client/client.ts';
import { Informer } from '../client/informer.ts';
import { IpLinks, type Links } from '../kernel/links.ts';
import { installPodEgress } from './egress.ts';
import { nodePodCIDR } from './ipam.ts';
import type { LabLan } from './lan.ts';
import { PodRunner, type PodRunnerOptions } from './pod-runner.ts';
import { internalIP, podRoutes, routeChanges } from './routes.ts';
import { LabTopology } from './topology.ts';

type NodeObj = Node & KubeObject;

export interface LabNodeSpec {
  index: number;
  name: string;
  zone: string | undefined;
  podCIDR: string;
}

/** What the agent of a node is started with. */
export interface AgentLaunch {
  node: LabNodeSpec;
  netns: string;
  nodeIP: string;
  /** The node's bridge address: node-local DNS listens here. */
  gateway: string;
}

export type StopAgent = (how: 'graceful' | 'kill') => Promise<void>;

export interface LabClusterOptions {
  client: Client;
  dataDir: string;
  nodes: number;
  /** Node names: this one for a single node, `<name>-1` … `<name>-N` for more. */
  nodeName: string;
  clusterCIDR: string;
  zones: readonly string[];
  /** The LAN, started by the caller (the API server listens on its parent address). */
  lan: LabLan;
  dnsIP: string;
  leaseRenewIntervalMs?: number;
  /** Pods' ServiceAccount tokens (PodRunnerOptions). */
  serviceAccountTokens?: PodRunnerOptions['serviceAccountTokens'];
  startAgent: (launch: AgentLaunch) => Promise<StopAgent>;
  /** After a node started, stopped or moved (kube-dns endpoints follow). */
  onNodesChanged?: () => Promise<void>;
  log?: (msg: string) => void;
  links?: Links;
}

/** Pure: the node names, zones and pod CIDRs of a lab of n nodes. */
export function labNodeSpecs(
  n: number,
  nodeName: string,
  clusterCIDR: string,
  zones: readonly string[],
): LabNodeSpec[] {
  return Array.from({ length: n }, (_, index) => ({
    index,
    name: n === 1 ? nodeName : `${nodeName}-${index + 1}`,
    zone: zones.length > 0 ? zones[index % zones.length] : undefined,
    podCIDR: nodePodCIDR(clusterCIDR, index),
  }));
}

export class LabNode {
  runner: PodRunner | undefined;
  stopAgent: StopAgent | undefined;
  power: 'on' | 'off' = 'off';
  /** Serializes power and address changes of this node. */
  queue: Promise<void> = Promise.resolve();

  constructor(
    readonly spec: LabNodeSpec,
    readonly topology: LabTopology,
  ) {}

  get name(): string {
    return this.spec.name;
  }
}

export class LabCluster {
  readonly lan: LabLan;
  readonly nodes: LabNode[];
  private readonly links: Links;
  private readonly informer: Informer<NodeObj>;
  private routesDirty = false;
  private routing: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly o: LabClusterOptions) {
    this.lan = o.lan;
    this.links = o.links ?? new IpLinks();
    this.nodes = labNodeSpecs(o.nodes, o.nodeName, o.clusterCIDR, o.zones).map(
      (spec) =>
        new LabNode(
          spec,
          new LabTopology({
            dataDir: o.dataDir,
            mode: 'netns',
            nodeIndex: spec.index,
            podCIDR: spec.podCIDR,
            lan: this.lan.attachment(spec.index),
            links: this.links,
          }),
        ),
    );
    this.informer = new Informer<NodeObj>(o.client, 'nodes');
  }

  private log(m: string): void {
    (this.o.log ?? ((s: string) => console.error(s)))(`svcnet lab: ${m}`);
  }

  node(name: string): LabNode | undefined {
    return this.nodes.find((n) => n.name === name);
  }

  /** Builds every node (a node whose Node object says power off stays off). */
  async start(): Promise<void> {
    this.informer.on((_old, cur) => {
      if (cur) this.onNode(cur);
      this.syncRoutesSoon();
    });
    this.informer.start();
    await this.informer.waitForSync();
    // A resumed lab keeps the addresses its nodes were moved to.
    for (const n of this.nodes) {
      const obj = this.informer.get('', n.name);
      const ip = obj ? internalIP(obj) : undefined;
      const taken = this.nodes.some((m) => m !== n && m.topology.nodeIP === ip);
      if (ip && ip !== n.topology.nodeIP && this.lan.contains(ip) && !taken) await n.topology.setNodeIP(ip);
    }
    await Promise.all(
      this.nodes.map((n) =>
        this.enqueue(n, async () => {
          const want = this.informer.get('', n.name)?.metadata.annotations?.[annotationKeys.labPower];
          if (want === 'off') await this.ack(n, 'off');
          else await this.powerOn(n);
        }),
      ),
    );
    await this.syncRoutes();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.informer.stop();
    for (const n of this.nodes) await n.queue.catch(() => {});
    await Promise.all(
      this.nodes.map(async (n) => {
        await n.stopAgent?.('graceful').catch((e: unknown) => this.log(`${n.name}: agent: ${String(e)}`));
        n.stopAgent = undefined;
        await n.runner?.stop().catch((e: unknown) => this.log(`${n.name}: pod runner: ${String(e)}`));
        n.runner = undefined;
        await n.topology.stop().catch((e: unknown) => this.log(`${n.name}: topology: ${String(e)}`));
      }),
    );
  }

  private enqueue(n: LabNode, f: () => Promise<void>): Promise<void> {
    const next = n.queue.then(f, f);
    n.queue = next.catch((e: unknown) => this.log(`${n.name}: ${e instanceof Error ? e.message : String(e)}`));
    return next;
  }

  private onNode(obj: NodeObj): void {
    const n = this.node(obj.metadata.name ?? '');
    if (!n || this.stopped) return;
    const a = obj.metadata.annotations ?? {};
    const power = a[annotationKeys.labPower];
    if (power === 'off' && n.power === 'on') void this.enqueue(n, () => this.powerOff(n));
    else if (power === 'on' && n.power === 'off') void this.enqueue(n, () => this.powerOn(n));
    const ip = a[annotationKeys.labInternalIP];
    if (ip && ip !== n.topology.nodeIP) void this.enqueue(n, () => this.move(n, ip));
  }

  private async powerOn(n: LabNode): Promise<void> {
    if (n.power === 'on' || this.stopped) return;
    const runner = new PodRunner({
      client: this.o.client,
      topology: n.topology,
      nodeName: n.name,
      dataDir: this.o.dataDir,
      dnsIP: this.o.dnsIP,
      ...(this.o.serviceAccountTokens ? { serviceAccountTokens: this.o.serviceAccountTokens } : {}),
      ...(n.spec.zone ? { zone: n.spec.zone } : {}),
      nodeAnnotations: { [annotationKeys.labId]: this.lan.names.hash, [annotationKeys.labLan]: this.lan.cidr },
      ...(this.o.leaseRenewIntervalMs !== undefined ? { leaseRenewIntervalMs: this.o.leaseRenewIntervalMs } : {}),
    });
    await runner.start();
    await installPodEgress(n.topology.names.nodeNetns, n.spec.podCIDR, this.lan.parentIP);
    n.runner = runner;
    await this.syncRoutes();
    n.stopAgent = await this.o.startAgent({
      node: n.spec,
      netns: n.topology.names.nodeNetns,
      nodeIP: n.topology.nodeIP,
      gateway: n.topology.ipam.gateway(),
    });
    n.power = 'on';
    await this.o.onNodesChanged?.();
    await this.ack(n, 'on');
    this.log(`${n.name} is up (${n.topology.nodeIP})`);
  }

  /** As if the machine lost power: no goodbye to the API, the lease just stops being renewed. */
  private async powerOff(n: LabNode): Promise<void> {
    if (n.power === 'off') return;
    n.power = 'off';
    await n.stopAgent?.('kill');
    n.stopAgent = undefined;
    await n.runner?.crash();
    n.runner = undefined;
    await this.o.onNodesChanged?.();
    await this.ack(n, 'off');
    this.log(`${n.name} is down`);
  }

  /** A new InternalIP: the uplink's address, the Node, every node's routes and the agent follow. */
  private async move(n: LabNode, ip: string): Promise<void> {
    if (!this.lan.contains(ip)) throw new Error(`${ip} is not an address of the lab LAN ${this.lan.cidr}`);
    if (ip === n.topology.nodeIP) return;
    if (n.power === 'on' && n.runner) {
      await n.runner.setNodeIP(ip);
      // kube-proxy exits when its node's IPs change and its DaemonSet starts it again.
      await n.stopAgent?.('graceful');
      n.stopAgent = await this.o.startAgent({
        node: n.spec,
        netns: n.topology.names.nodeNetns,
        nodeIP: ip,
        gateway: n.topology.ipam.gateway(),
      });
    } else await n.topology.setNodeIP(ip);
    await this.syncRoutes();
    await this.o.onNodesChanged?.();
    await this.annotate(n, { [annotationKeys.labInternalIPState]: ip });
    this.log(`${n.name} moved to ${ip}`);
  }

  private async ack(n: LabNode, power: 'on' | 'off'): Promise<void> {
    await this.annotate(n, { [annotationKeys.labPowerState]: power });
  }

  private async annotate(n: LabNode, add: Record<string, string>): Promise<void> {
    for (let i = 0; i < 5; i++) {
      try {
        const cur = await this.o.client.get<NodeObj>('nodes', '', n.name);
        const annotations = { ...(cur.metadata.annotations ?? {}), ...add };
        await this.o.client.update<NodeObj>('nodes', { ...cur, metadata: { ...cur.metadata, annotations } });
        return;
      } catch (e) {
        if (!isConflict(e)) throw e;
      }
    }
  }

  private syncRoutesSoon(): void {
    this.routesDirty = true;
    if (!this.routing) void this.syncRoutes();
  }

  /** Every running node's pod routes, from the Node objects. */
  async syncRoutes(): Promise<void> {
    this.routesDirty = true;
    while (this.routing) await this.routing;
    if (!this.routesDirty) return;
    this.routing = (async () => {
      while (this.routesDirty && !this.stopped) {
        this.routesDirty = false;
        const objs = this.informer.list();
        for (const n of this.nodes) {
          if (!n.runner) continue;
          const ns = n.topology.names.nodeNetns;
          try {
            const want = podRoutes(objs, n.name).filter((r) => r.via && this.lan.contains(r.via));
            const ch = routeChanges(await this.links.routes(ns), want, this.o.clusterCIDR);
            for (const r of ch.replace) await this.links.replaceRoute(ns, r);
            for (const dst of ch.remove) await this.links.deleteRoute(ns, dst);
          } catch (e) {
            // The node went down meanwhile; its next start syncs again.
            if (n.runner) this.log(`${n.name}: routes: ${e instanceof Error ? e.message : String(e)}`);
          }
        }
      }
    })();
    try {
      await this.routing;
    } finally {
      this.routing = undefined;
    }
  }
}
