// The lab LAN: one layer-2 segment that every lab node's uplink, the "outside" client and the
// namespace svcnet was started in (the parent) plug into, as machines into one switch. It is a
// namespace of its own holding only a bridge, so nothing svcnet builds touches the parent
// beyond one veth end and its address (DESIGN.md network safety):
//
//   parent ns        svn-<h6> (LAN .1: the API server's address for the nodes)
//   svl-<h6>   LAN   br0, ports parent, n0…n9 (nodes), out (outside)
//   svo-<h6>   outside client: eth0 (LAN .2), no other route: "outside the cluster"
//   node i     eth0 (LAN .11+i), see topology.ts
//
// The LAN is a /24 in link-local space picked by the data directory's hash, so two labs in one
// parent rarely share it; --lan-cidr chooses another. A BGP speaker or ARP client started in
// the outside namespace reaches every node directly, as on a real LAN.
import { isKernelError } from '../kernel/errors.ts';
import { IpLinks, type Links } from '../kernel/links.ts';
import { deleteNetnsIfPresent, IpNetns, type Netns } from '../kernel/netns.ts';
import { intToIpv4, parseCidr4 } from './ipam.ts';
import { bridgeName, type LanAttachment, labNames, uplinkName } from './topology.ts';

export interface LanNames {
  hash: string;
  lanNetns: string;
  outsideNetns: string;
  parentLink: string;
  /** The edge namespaces (edge.ts): where a load-balancer provider's balancers run. */
  edgeNetns: readonly string[];
}

export function lanNames(dataDir: string): LanNames {
  const { hash } = labNames(dataDir);
  return {
    hash,
    lanNetns: `svl-${hash}`,
    outsideNetns: outsideNetnsOf(hash),
    parentLink: `svn-${hash}`,
    edgeNetns: Array.from({ length: maxEdges }, (_, i) => `sve-${hash}${i === 0 ? '' : `-${i}`}`),
  };
}

/** The outside namespace of the lab whose id (Nodes' lab annotation) is `hash`. */
export function outsideNetnsOf(hash: string): string {
  return `svo-${hash}`;
}

/** A /24 in 169.254.0.0/16 that is neither 169.254.0.0/24, 169.254.255.0/24 (RFC 3927) nor the metadata /24. */
export function defaultLanCIDR(hash: string): string {
  let third = 1 + (Number.parseInt(hash.slice(0, 4), 16) % 253);
  if (third === 169) third = 170;
  return `169.254.${third}.0/24`;
}

/**
 * Host numbers on the LAN: the parent, the outside client, the edges (edge i at edgeHostBase + i,
 * then the address a VRRP pair floats between them), then node i at nodeHostBase + i.
 */
export const parentHost = 1;
export const outsideHost = 2;
export const edgeHostBase = 3;
export const maxEdges = 2;
export const edgeFloatingHost = edgeHostBase + maxEdges;
export const nodeHostBase = 11;
export const maxLabNodes = 9;

export interface LanOptions {
  dataDir: string;
  cidr?: string;
  /** Namespace the LAN hangs off; undefined: the one this process runs in. */
  parentNetns?: string;
  netns?: Netns;
  links?: Links;
}

export class LabLan {
  readonly names: LanNames;
  readonly cidr: string;
  readonly prefix: number;
  readonly parentIP: string;
  readonly outsideIP: string;
  private readonly base: number;
  private readonly netns: Netns;
  private readonly links: Links;
  private readonly parentNetns: string | undefined;
  private started = false;

  constructor(opts: LanOptions) {
    this.names = lanNames(opts.dataDir);
    const c = parseCidr4(opts.cidr ?? defaultLanCIDR(this.names.hash));
    if (c.bits > 27) throw new Error(`the lab LAN ${opts.cidr} is too small: a /27 or larger is needed`);
    this.cidr = `${intToIpv4(c.base)}/${c.bits}`;
    this.prefix = c.bits;
    this.base = c.base;
    this.parentIP = intToIpv4(c.base + parentHost);
    this.outsideIP = intToIpv4(c.base + outsideHost);
    this.netns = opts.netns ?? new IpNetns();
    this.links = opts.links ?? new IpLinks();
    this.parentNetns = opts.parentNetns;
  }

  /** Node i's first InternalIP. */
  nodeIP(index: number): string {
    return intToIpv4(this.base + nodeHostBase + index);
  }

  /** The address of host number n on the LAN. */
  hostIP(n: number): string {
    return intToIpv4(this.base + n);
  }

  /** Where node i's uplink plugs in. */
  attachment(index: number, nodeIP = this.nodeIP(index)): LanAttachment {
    return { netns: this.names.lanNetns, bridge: bridgeName, port: `n${index}`, nodeIP, prefix: this.prefix };
  }

  /** True when ip is a host address of the LAN (not its network or broadcast address). */
  contains(ip: string): boolean {
    const c = parseCidr4(this.cidr);
    const n = parseCidr4(`${ip}/32`).base;
    return n > c.base && n < c.base + c.size - 1;
  }

  get outsideNetns(): string {
    return this.names.outsideNetns;
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.cleanup();
    const lan = this.names.lanNetns;
    const out = this.names.outsideNetns;
    try {
      await this.netns.add(lan);
      await this.links.setUp(lan, 'lo');
      await this.links.addBridge(lan, bridgeName);
      await this.links.setUp(lan, bridgeName);
      await this.links.addVeth(this.parentNetns, this.names.parentLink, 'parent', lan);
      await this.links.setMaster(lan, 'parent', bridgeName);
      await this.links.setUp(lan, 'parent');
      await this.links.addAddress(this.parentNetns, this.names.parentLink, `${this.parentIP}/${this.prefix}`);
      await this.links.setUp(this.parentNetns, this.names.parentLink);
      await this.netns.add(out);
      await this.links.setUp(out, 'lo');
      await this.links.addVeth(lan, 'out', uplinkName, out);
      await this.links.setMaster(lan, 'out', bridgeName);
      await this.links.setUp(lan, 'out');
      await this.links.addAddress(out, uplinkName, `${this.outsideIP}/${this.prefix}`);
      await this.links.setUp(out, uplinkName);
    } catch (e) {
      await this.cleanup().catch(() => {});
      this.started = false;
      throw e;
    }
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    await this.cleanup();
  }

  /** Removes the outside and LAN namespaces and the parent link (by name); safe when absent. */
  async cleanup(): Promise<void> {
    const present = await this.netns.list();
    // Whatever was started in the outside namespace (`svcnet exec --outside`) or an edge (a
    // balancer a killed run left) goes with it.
    for (const ns of [this.names.outsideNetns, ...this.names.edgeNetns])
      if (present.includes(ns)) {
        await this.netns.killAll(ns).catch(() => 0);
        await deleteNetnsIfPresent(this.netns, ns);
      }
    await deleteNetnsIfPresent(this.netns, this.names.lanNetns);
    for (const n of [this.names.outsideNetns, this.names.lanNetns, ...this.names.edgeNetns])
      await this.netns.removeEtc(n);
    try {
      await this.links.deleteLink(this.parentNetns, this.names.parentLink);
    } catch (e) {
      if (!isKernelError(e, 'NOT_FOUND')) throw e;
    }
  }
}
