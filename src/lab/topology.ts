// The lab node (DESIGN.md network safety): one network namespace per lab node, a bridge in it
// that every pod's veth hangs off, and one veth to the namespace the lab was started in (the
// "parent": the machine's namespace under `svcnet up`, a test's own namespace in tests). The
// node namespace gets no default route, only its connected subnets (pods, parent link), so
// whatever svcnet programs there cannot leak traffic onto the machine's networks.
//
// Names derive from a hash of the data directory, so two labs side by side never collide and
// the next start finds (and removes) what a crashed run left behind:
//   node namespace  svn-<h6>          parent-side veth  svn-<h6> (in the parent namespace)
//   pod namespaces  svn-<h6>-<id>     node-side veths   eth0 (uplink), br0, v<id> (per pod)
// All ≤ 15 characters (IFNAMSIZ - 1), the limit for link names.
//
// In a cluster of lab nodes (lan.ts) the uplink joins the lab's LAN bridge instead of the
// parent namespace, and node i > 0 takes its names from the hash of "<data dir>, node i", so
// every node's namespaces keep the shape above and node 0 keeps the single node's names.
//
// Without CAP_NET_ADMIN the lab degrades to loopback: no namespaces, each pod a distinct
// 127.x.y.z address that its processes bind to.
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { isKernelError } from '../kernel/errors.ts';
import { hasNetAdmin } from '../kernel/exec.ts';
import { IpLinks, type Links } from '../kernel/links.ts';
import { deleteNetnsIfPresent, IpNetns, type Netns } from '../kernel/netns.ts';
import { intToIpv4, loopbackPodCIDR, PodIPAM, parseCidr4 } from './ipam.ts';

export type LabMode = 'netns' | 'rootless';

export interface TopologyOptions {
  dataDir: string;
  /** The node's pod CIDR (a /24 of the cluster CIDR by default); ignored when rootless. */
  podCIDR?: string;
  /** Namespace the lab hangs off; undefined: the one this process runs in. */
  parentNetns?: string;
  /** The /30 of the parent link; default: a /30 in 169.254.0.0/16 picked by the hash. */
  linkCIDR?: string;
  /** Default: netns when this process has CAP_NET_ADMIN, else rootless. */
  mode?: LabMode;
  /** Join this LAN (lan.ts) instead of a link to the parent namespace. */
  lan?: LanAttachment;
  /** This node's number in a cluster of lab nodes (0: the single node's names). */
  nodeIndex?: number;
  netns?: Netns;
  links?: Links;
}

/** Where a node's uplink plugs into the lab LAN. */
export interface LanAttachment {
  /** The LAN namespace and its bridge. */
  netns: string;
  bridge: string;
  /** This node's port on the bridge (a link in the LAN namespace). */
  port: string;
  /** The node's InternalIP on the LAN, and the LAN's prefix length. */
  nodeIP: string;
  prefix: number;
}

export const namePrefix = 'svn-';
export const bridgeName = 'br0';
export const uplinkName = 'eth0';
export const podIfName = 'eth0';

export interface LabNames {
  hash: string;
  nodeNetns: string;
  parentLink: string;
}

export function labNames(dataDir: string, nodeIndex = 0): LabNames {
  const seed = nodeIndex === 0 ? resolve(dataDir) : `${resolve(dataDir)}\0node ${nodeIndex}`;
  const hash = createHash('sha256').update(seed).digest('hex').slice(0, 6);
  return { hash, nodeNetns: `${namePrefix}${hash}`, parentLink: `${namePrefix}${hash}` };
}

/** A /30 in link-local space that never covers 169.254.169.254 (cloud metadata). */
export function defaultLinkCIDR(hash: string): string {
  const a = Number.parseInt(hash.slice(0, 2), 16);
  const b = Number.parseInt(hash.slice(2, 4), 16);
  let third = 1 + (a % 254);
  if (third === 169) third = 170;
  return `169.254.${third}.${(b % 64) * 4}/30`;
}

export interface PodNetwork {
  /** The pod's network namespace; undefined when rootless. */
  netns: string | undefined;
  ip: string;
}

export class LabTopology {
  readonly mode: LabMode;
  readonly names: LabNames;
  readonly podCIDR: string;
  /** The node's InternalIP: the node end of the uplink (127.0.0.1 when rootless). */
  private currentNodeIP: string;
  /** The parent end of the link: where the node namespace's traffic to the parent goes. */
  readonly parentIP: string | undefined;
  readonly ipam: PodIPAM;
  private readonly netns: Netns;
  private readonly links: Links;
  private readonly parentNetns: string | undefined;
  private readonly lan: LanAttachment | undefined;
  private readonly linkPrefix: number;
  private nextId = 0;
  private readonly pods = new Map<string, PodNetwork>();
  private started = false;

  constructor(opts: TopologyOptions) {
    this.mode = opts.mode ?? (hasNetAdmin() ? 'netns' : 'rootless');
    this.names = labNames(opts.dataDir, opts.nodeIndex ?? 0);
    this.netns = opts.netns ?? new IpNetns();
    this.links = opts.links ?? new IpLinks();
    this.parentNetns = opts.parentNetns;
    this.lan = opts.lan;
    if (this.mode === 'rootless') {
      this.podCIDR = loopbackPodCIDR(Number.parseInt(this.names.hash.slice(0, 2), 16));
      this.ipam = new PodIPAM(this.podCIDR, { gateway: false });
      this.currentNodeIP = '127.0.0.1';
      this.parentIP = undefined;
      this.linkPrefix = 8;
    } else if (opts.lan) {
      this.podCIDR = opts.podCIDR ?? '10.244.0.0/24';
      this.ipam = new PodIPAM(this.podCIDR);
      this.parentIP = undefined;
      this.currentNodeIP = opts.lan.nodeIP;
      this.linkPrefix = opts.lan.prefix;
    } else {
      this.podCIDR = opts.podCIDR ?? '10.244.0.0/24';
      this.ipam = new PodIPAM(this.podCIDR);
      const link = parseCidr4(opts.linkCIDR ?? defaultLinkCIDR(this.names.hash));
      this.parentIP = intToIpv4(link.base + 1);
      this.currentNodeIP = intToIpv4(link.base + 2);
      this.linkPrefix = link.bits;
    }
  }

  get nodeIP(): string {
    return this.currentNodeIP;
  }

  /** Moves the node's InternalIP on the LAN (the old address goes, the new one comes). */
  async setNodeIP(ip: string): Promise<void> {
    if (!this.lan) throw new Error('only a node on a lab LAN can change its address');
    if (ip === this.currentNodeIP) return;
    const ns = this.names.nodeNetns;
    if (this.started) {
      await this.links.addAddress(ns, uplinkName, `${ip}/${this.linkPrefix}`);
      await this.links.deleteAddress(ns, uplinkName, `${this.currentNodeIP}/${this.linkPrefix}`);
    }
    this.currentNodeIP = ip;
  }

  get nodeNetns(): string | undefined {
    return this.mode === 'netns' ? this.names.nodeNetns : undefined;
  }

  /** Removes leftovers of an earlier run, then builds the node namespace. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    if (this.mode === 'rootless') return;
    await this.cleanup();
    const ns = this.names.nodeNetns;
    try {
      await this.netns.add(ns);
      await this.links.setUp(ns, 'lo');
      await this.links.addBridge(ns, bridgeName);
      await this.links.addAddress(ns, bridgeName, `${this.ipam.gateway()}/${this.ipam.prefixLength()}`);
      await this.links.setUp(ns, bridgeName);
      if (this.lan) {
        await this.links.addVeth(this.lan.netns, this.lan.port, uplinkName, ns);
        await this.links.setMaster(this.lan.netns, this.lan.port, this.lan.bridge);
        await this.links.setUp(this.lan.netns, this.lan.port);
      } else {
        await this.links.addVeth(this.parentNetns, this.names.parentLink, uplinkName, ns);
        await this.links.addAddress(this.parentNetns, this.names.parentLink, `${this.parentIP}/${this.linkPrefix}`);
        await this.links.setUp(this.parentNetns, this.names.parentLink);
      }
      // setNodeIP adds the new address before removing the old one: the new one must survive
      // as the primary when the old primary goes (by default the kernel drops secondaries too).
      await this.links.setSysctl(ns, `net.ipv4.conf.${uplinkName}.promote_secondaries`, '1');
      await this.links.addAddress(ns, uplinkName, `${this.nodeIP}/${this.linkPrefix}`);
      await this.links.setUp(ns, uplinkName);
      // The node routes between pods and the parent link; pods answer the parent's clients.
      await this.links.setSysctl(ns, 'net.ipv4.ip_forward', '1');
      // Pod → Service → pod on the same bridge: the reply is bridged, so it must pass netfilter
      // to be un-DNATed (Kubernetes requires br_netfilter for the same reason). Per namespace.
      await this.links.setSysctl(ns, 'net.bridge.bridge-nf-call-iptables', '1').catch(() => {
        console.warn(
          'svcnet: br_netfilter is not loaded: pods reaching a Service backed by a pod on the same node will fail (modprobe br_netfilter)',
        );
      });
    } catch (e) {
      await this.cleanup().catch(() => {});
      this.started = false;
      throw e;
    }
  }

  /** Creates a pod's namespace, veth on the bridge and address; idempotent per key. */
  async addPod(key: string): Promise<PodNetwork> {
    const have = this.pods.get(key);
    if (have) return have;
    const ip = this.ipam.allocate(key);
    if (this.mode === 'rootless') {
      const net = { netns: undefined, ip };
      this.pods.set(key, net);
      return net;
    }
    const id = (this.nextId++).toString(36).padStart(4, '0');
    const podNs = `${this.names.nodeNetns}-${id}`;
    const hostIf = `v${id}`;
    const ns = this.names.nodeNetns;
    try {
      await this.netns.add(podNs);
      await this.links.setUp(podNs, 'lo');
      // Containers that are not root may still bind ports below 1024 and ping, as containerd
      // sets up every pod sandbox (enable_unprivileged_ports, enable_unprivileged_icmp); both
      // settings belong to the network namespace.
      await this.links.setSysctl(podNs, 'net.ipv4.ip_unprivileged_port_start', '0');
      await this.links.setSysctl(podNs, 'net.ipv4.ping_group_range', '0 2147483647');
      await this.links.addVeth(ns, hostIf, podIfName, podNs);
      await this.links.setMaster(ns, hostIf, bridgeName);
      await this.links.setUp(ns, hostIf);
      await this.links.addAddress(podNs, podIfName, `${ip}/${this.ipam.prefixLength()}`);
      await this.links.setUp(podNs, podIfName);
      await this.links.addRoute(podNs, { dst: 'default', via: this.ipam.gateway() });
    } catch (e) {
      await deleteNetnsIfPresent(this.netns, podNs).catch(() => {});
      this.ipam.release(key);
      throw e;
    }
    const net = { netns: podNs, ip };
    this.pods.set(key, net);
    return net;
  }

  async removePod(key: string): Promise<void> {
    const net = this.pods.get(key);
    if (!net) return;
    this.pods.delete(key);
    if (net.netns) {
      // The veth goes with the namespace; /etc/netns does not.
      await deleteNetnsIfPresent(this.netns, net.netns);
      await this.netns.removeEtc(net.netns);
    }
    this.ipam.release(key);
  }

  pod(key: string): PodNetwork | undefined {
    return this.pods.get(key);
  }

  /** The namespace seam, for running processes inside pod namespaces. */
  get netnsOps(): Netns {
    return this.netns;
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    for (const key of [...this.pods.keys()]) await this.removePod(key).catch(() => {});
    if (this.mode === 'netns') await this.cleanup();
  }

  /**
   * The machine died: every process and link of the node goes, nothing is written anywhere.
   * The pod runner has stopped its containers first; start() builds the node again.
   */
  async crash(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    for (const key of this.pods.keys()) this.ipam.release(key);
    this.pods.clear();
    if (this.mode === 'netns') await this.cleanup();
  }

  /** Deletes every namespace, /etc/netns entry and parent link of this lab (by name). */
  async cleanup(): Promise<void> {
    const own = (n: string) => n === this.names.nodeNetns || n.startsWith(`${this.names.nodeNetns}-`);
    const pods = (await this.netns.list()).filter(own).sort((a, b) => b.length - a.length);
    // Pods first: their veths then vanish with them, before the bridge does. Processes a
    // crashed runner left inside would keep a deleted namespace alive: kill them first.
    for (const n of pods) {
      await this.netns.killAll(n).catch(() => 0);
      await deleteNetnsIfPresent(this.netns, n);
    }
    for (const n of (await this.netns.listEtc()).filter(own)) await this.netns.removeEtc(n);
    // Normally gone with the node namespace (veth pairs die together); a run that crashed
    // between creating the pair and moving it may have left this end alone.
    try {
      if (this.lan) {
        if ((await this.netns.list()).includes(this.lan.netns))
          await this.links.deleteLink(this.lan.netns, this.lan.port);
      } else await this.links.deleteLink(this.parentNetns, this.names.parentLink);
    } catch (e) {
      if (!isKernelError(e, 'NOT_FOUND')) throw e;
    }
  }
}
