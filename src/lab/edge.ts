// The lab's edge: one or two namespaces on the LAN, as the machines a user puts their own load
// balancer on (HAProxy, a keepalived pair). They are neither nodes nor the outside client: the
// nodes never hold the addresses the edge serves, and the outside client reaches them through a
// route to the provider's address range via the edge, as a router in front of a real balancer
// would send them.
//
//   svl-<h>  LAN br0 ── port edge0 ── sve-<h>   eth0 LAN .3
//                   └── port edge1 ── sve-<h>-1 eth0 LAN .4   (a VRRP pair floats LAN .5)
//   svo-<h>  outside: <range> via .3 (one edge) or via .5 (the pair's floating address)
//
// LabLan.cleanup removes edge namespaces by name too, so a killed run leaves nothing behind.
import { IpLinks, type Links } from '../kernel/links.ts';
import { deleteNetnsIfPresent, IpNetns, type Netns } from '../kernel/netns.ts';
import { edgeFloatingHost, edgeHostBase, type LabLan, maxEdges } from './lan.ts';
import { bridgeName, uplinkName } from './topology.ts';

export interface EdgeHost {
  netns: string;
  /** Its LAN address. */
  ip: string;
  /** Its uplink's name inside the namespace. */
  dev: string;
}

export interface LabEdgeOptions {
  lan: LabLan;
  /** 1 (one balancer) or 2 (a VRRP pair). */
  count: number;
  /** The provider's address range; the outside namespace routes it to the edge. */
  cidr: string;
  netns?: Netns;
  links?: Links;
}

export class LabEdge {
  readonly hosts: EdgeHost[];
  /** Where the outside namespace sends the range: the edge, or the pair's floating address. */
  readonly gateway: string;
  readonly prefix: number;
  private readonly netns: Netns;
  private readonly links: Links;
  private started = false;

  constructor(private readonly o: LabEdgeOptions) {
    if (!Number.isInteger(o.count) || o.count < 1 || o.count > maxEdges)
      throw new Error(`the lab has 1 to ${maxEdges} edges, not ${o.count}`);
    this.netns = o.netns ?? new IpNetns();
    this.links = o.links ?? new IpLinks();
    this.prefix = o.lan.prefix;
    this.hosts = Array.from({ length: o.count }, (_, i) => ({
      netns: o.lan.names.edgeNetns[i] ?? '',
      ip: o.lan.hostIP(edgeHostBase + i),
      dev: uplinkName,
    }));
    this.gateway = o.count > 1 ? o.lan.hostIP(edgeFloatingHost) : (this.hosts[0]?.ip ?? '');
  }

  get cidr(): string {
    return this.o.cidr;
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const lan = this.o.lan.names.lanNetns;
    try {
      for (const [i, h] of this.hosts.entries()) {
        await deleteNetnsIfPresent(this.netns, h.netns);
        await this.netns.add(h.netns);
        await this.links.setUp(h.netns, 'lo');
        await this.links.addVeth(lan, `edge${i}`, h.dev, h.netns);
        await this.links.setMaster(lan, `edge${i}`, bridgeName);
        await this.links.setUp(lan, `edge${i}`);
        await this.links.addAddress(h.netns, h.dev, `${h.ip}/${this.prefix}`);
        await this.links.setUp(h.netns, h.dev);
        // Both balancers of a pair listen on every external IP; only the VRRP master holds them.
        await this.links.setSysctl(h.netns, 'net.ipv4.ip_nonlocal_bind', '1');
      }
      await this.links.replaceRoute(this.o.lan.outsideNetns, { dst: this.o.cidr, via: this.gateway });
    } catch (e) {
      await this.stop().catch(() => {});
      throw e;
    }
  }

  /** Kills what runs in the edges and removes them and the outside route. */
  async stop(): Promise<void> {
    this.started = false;
    // Absent route or outside namespace already gone: nothing to remove.
    await this.links.deleteRoute(this.o.lan.outsideNetns, this.o.cidr).catch(() => {});
    const present = await this.netns.list();
    for (const h of this.hosts)
      if (present.includes(h.netns)) {
        await this.netns.killAll(h.netns).catch(() => 0);
        await deleteNetnsIfPresent(this.netns, h.netns);
      }
  }
}
