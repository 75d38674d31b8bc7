// Links, addresses, routes and sysctls through iproute2 (`ip -n <ns> -j …`). Every call names
// the namespace it acts in; `undefined` means the namespace this process runs in and is
// allowed only for what the lab must do there (one veth end, its address, link up): sysctls
// and routes refuse it, so a bug cannot rewrite the host's forwarding or routing.
import { fromExec, KernelError } from './errors.ts';
import { type ExecResult, type Runner, run } from './exec.ts';
import { inNetns } from './netns.ts';

/** A namespace name, or undefined for the caller's own namespace. */
export type NsRef = string | undefined;

export interface LinkInfo {
  name: string;
  /** "veth", "bridge", … ; undefined for plain devices like lo. */
  kind: string | undefined;
  up: boolean;
  master: string | undefined;
  /** CIDR notation, e.g. "10.244.0.1/24". */
  addresses: string[];
}

export interface RouteSpec {
  /** "default" or a CIDR. */
  dst: string;
  via?: string;
  dev?: string;
}

export interface RouteInfo {
  dst: string;
  gateway: string | undefined;
  dev: string | undefined;
}

export interface Links {
  /** A veth pair: `name` in `ns`, `peer` in `peerNs` (created there directly). */
  addVeth(ns: NsRef, name: string, peer: string, peerNs: NsRef): Promise<void>;
  addBridge(ns: NsRef, name: string): Promise<void>;
  setMaster(ns: NsRef, link: string, bridge: string): Promise<void>;
  setUp(ns: NsRef, link: string): Promise<void>;
  addAddress(ns: NsRef, link: string, cidr: string): Promise<void>;
  /** Fails with NOT_FOUND when the link does not carry it. */
  deleteAddress(ns: NsRef, link: string, cidr: string): Promise<void>;
  /** Deleting one end of a veth deletes both. */
  deleteLink(ns: NsRef, name: string): Promise<void>;
  links(ns: NsRef): Promise<LinkInfo[]>;
  addRoute(ns: string, route: RouteSpec): Promise<void>;
  /** Adds the route or replaces the one to the same destination (`ip route replace`). */
  replaceRoute(ns: string, route: RouteSpec): Promise<void>;
  /** Fails with NOT_FOUND when there is no route to `dst`. */
  deleteRoute(ns: string, dst: string): Promise<void>;
  routes(ns: string): Promise<RouteInfo[]>;
  setSysctl(ns: string, key: string, value: string): Promise<void>;
}

interface IpAddrJson {
  ifname: string;
  flags?: string[];
  master?: string;
  linkinfo?: { info_kind?: string };
  addr_info?: { family?: string; local?: string; prefixlen?: number }[];
}

interface IpRouteJson {
  dst: string;
  gateway?: string;
  dev?: string;
}

function requireNamed(ns: NsRef, what: string): string {
  if (!ns) throw new KernelError('REFUSED', `${what} only inside a named network namespace`);
  return ns;
}

export class IpLinks implements Links {
  constructor(private readonly runner: Runner = run) {}

  async addVeth(ns: NsRef, name: string, peer: string, peerNs: NsRef): Promise<void> {
    const target = peerNs ? ['netns', peerNs] : [];
    // Created from inside `ns` with the peer born in peerNs: no moment where an end sits in
    // a namespace it does not belong to.
    await this.ip(ns, ['link', 'add', name, 'type', 'veth', 'peer', 'name', peer, ...target]);
  }

  async addBridge(ns: NsRef, name: string): Promise<void> {
    await this.ip(ns, ['link', 'add', name, 'type', 'bridge']);
  }

  async setMaster(ns: NsRef, link: string, bridge: string): Promise<void> {
    await this.ip(ns, ['link', 'set', link, 'master', bridge]);
    // Hairpin, as kubelet's hairpin-veth mode: with br_netfilter, a pod's packet to a Service
    // that picks the pod itself is DNATed and bridged back out the port it came in on.
    await this.ip(ns, ['link', 'set', link, 'type', 'bridge_slave', 'hairpin', 'on']);
  }

  async setUp(ns: NsRef, link: string): Promise<void> {
    await this.ip(ns, ['link', 'set', link, 'up']);
  }

  async addAddress(ns: NsRef, link: string, cidr: string): Promise<void> {
    await this.ip(ns, ['addr', 'add', cidr, 'dev', link]);
  }

  async deleteAddress(ns: NsRef, link: string, cidr: string): Promise<void> {
    await this.ip(ns, ['addr', 'del', cidr, 'dev', link]);
  }

  async deleteLink(ns: NsRef, name: string): Promise<void> {
    await this.ip(ns, ['link', 'delete', name]);
  }

  async links(ns: NsRef): Promise<LinkInfo[]> {
    const { stdout } = await this.ip(ns, ['-j', '-d', 'addr', 'show']);
    const rows = (stdout.trim() ? JSON.parse(stdout) : []) as IpAddrJson[];
    return rows.map((r) => ({
      name: r.ifname,
      kind: r.linkinfo?.info_kind,
      up: (r.flags ?? []).includes('UP'),
      master: r.master,
      addresses: (r.addr_info ?? [])
        .filter((a) => a.family === 'inet' || a.family === 'inet6')
        .map((a) => `${a.local}/${a.prefixlen}`),
    }));
  }

  async addRoute(ns: string, route: RouteSpec): Promise<void> {
    const args = ['route', 'add', route.dst];
    if (route.via) args.push('via', route.via);
    if (route.dev) args.push('dev', route.dev);
    await this.ip(requireNamed(ns, 'routes'), args);
  }

  async replaceRoute(ns: string, route: RouteSpec): Promise<void> {
    const args = ['route', 'replace', route.dst];
    if (route.via) args.push('via', route.via);
    if (route.dev) args.push('dev', route.dev);
    await this.ip(requireNamed(ns, 'routes'), args);
  }

  async deleteRoute(ns: string, dst: string): Promise<void> {
    await this.ip(requireNamed(ns, 'routes'), ['route', 'del', dst]);
  }

  async routes(ns: string): Promise<RouteInfo[]> {
    const { stdout } = await this.ip(requireNamed(ns, 'routes'), ['-j', 'route', 'show']);
    const rows = (stdout.trim() ? JSON.parse(stdout) : []) as IpRouteJson[];
    return rows.map((r) => ({ dst: r.dst, gateway: r.gateway, dev: r.dev }));
  }

  async setSysctl(ns: string, key: string, value: string): Promise<void> {
    const named = requireNamed(ns, 'sysctls');
    try {
      await this.runner(inNetns(named, ['sysctl', '-q', '-w', `${key}=${value}`]));
    } catch (e) {
      throw fromExec(e);
    }
  }

  private async ip(ns: NsRef, args: string[]): Promise<ExecResult> {
    try {
      return await this.runner(['ip', ...(ns ? ['-n', ns] : []), ...args]);
    } catch (e) {
      throw fromExec(e);
    }
  }
}
