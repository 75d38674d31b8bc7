// A fake of network namespaces + links that behaves like the kernel for what the lab uses:
// names are unique per namespace, a veth pair dies as a whole (also when the namespace holding
// either end is deleted), an address can be added once, a route via a gateway needs a
// connected subnet on an up link, and everything is visible through the same read calls as the
// real seams. One object implements both Netns and Links because namespace deletion must
// reach the links. dump()/load() make "leftovers after a crash" a plain unit test.
import { cidrContains, formatCIDR, parseCIDRSloppy } from '../api/ip.ts';
import { KernelError } from './errors.ts';
import type { ExecOptions, ExecResult } from './exec.ts';
import type { LinkInfo, Links, NsRef, RouteInfo, RouteSpec } from './links.ts';
import { inNetns, type Netns } from './netns.ts';

interface FakeLink {
  name: string;
  kind: string | undefined;
  up: boolean;
  master: string | undefined;
  addresses: string[];
  /** The other end of a veth: [namespace key, link name]. */
  peer: [string, string] | undefined;
}

interface FakeNs {
  links: Map<string, FakeLink>;
  routes: RouteInfo[];
  sysctls: Record<string, string>;
}

export interface FakeNetDump {
  namespaces: Record<string, { links: FakeLink[]; routes: RouteInfo[]; sysctls: Record<string, string> }>;
}

/** The caller's own namespace in the fake: always present, never listed, never deletable. */
const current = '';

export class FakeNet implements Netns, Links {
  private spaces = new Map<string, FakeNs>();
  /** Every exec() call, in order: [namespace, argv]. */
  readonly execs: [string, string[]][] = [];
  /** Answers exec(); the default prints nothing and succeeds. */
  onExec: (ns: string, argv: readonly string[]) => ExecResult = () => ({ stdout: '', stderr: '' });

  constructor() {
    this.spaces.set(current, newNs());
  }

  // ---- Netns ----------------------------------------------------------------------------

  async add(name: string): Promise<void> {
    if (!name || name.includes('/')) throw new KernelError('INVALID', `invalid namespace name "${name}"`);
    if (this.spaces.has(name))
      throw new KernelError('ALREADY_EXISTS', `Cannot create namespace "${name}": File exists`);
    const ns = newNs();
    ns.links.set('lo', { name: 'lo', kind: undefined, up: false, master: undefined, addresses: [], peer: undefined });
    this.spaces.set(name, ns);
  }

  async delete(name: string): Promise<void> {
    const ns = this.spaces.get(name);
    if (!name || !ns) throw new KernelError('NOT_FOUND', `Cannot remove namespace "${name}": No such file`);
    for (const link of [...ns.links.values()]) this.removeLink(name, link);
    this.spaces.delete(name);
  }

  async list(): Promise<string[]> {
    return [...this.spaces.keys()].filter((k) => k !== current);
  }

  async exec(name: string, argv: readonly string[], _opts?: ExecOptions): Promise<ExecResult> {
    this.space(name);
    this.execs.push([name, [...argv]]);
    return this.onExec(name, argv);
  }

  execArgv(name: string, argv: readonly string[]): string[] {
    return inNetns(name, argv);
  }

  /** Processes per namespace, as the test sets them up; killAll empties the list. */
  readonly pids = new Map<string, number[]>();

  async killAll(name: string): Promise<number> {
    this.space(name);
    const n = this.pids.get(name)?.length ?? 0;
    this.pids.delete(name);
    return n;
  }

  /** /etc/netns contents: namespace → file → content. */
  readonly etc = new Map<string, Map<string, string>>();

  async writeEtc(name: string, file: string, content: string): Promise<void> {
    let files = this.etc.get(name);
    if (!files) this.etc.set(name, (files = new Map()));
    files.set(file, content);
  }

  async readEtc(name: string, file: string): Promise<string | undefined> {
    return this.etc.get(name)?.get(file);
  }

  async removeEtc(name: string): Promise<void> {
    this.etc.delete(name);
  }

  async listEtc(): Promise<string[]> {
    return [...this.etc.keys()];
  }

  // ---- Links ----------------------------------------------------------------------------

  async addVeth(ns: NsRef, name: string, peer: string, peerNs: NsRef): Promise<void> {
    const a = this.space(ns);
    const b = this.space(peerNs);
    const ka = ns ?? current;
    const kb = peerNs ?? current;
    if (name.length > 15 || peer.length > 15) throw new KernelError('INVALID', 'name too long');
    if (a.links.has(name) || b.links.has(peer) || (ka === kb && name === peer)) {
      throw new KernelError('ALREADY_EXISTS', 'RTNETLINK answers: File exists');
    }
    a.links.set(name, link(name, 'veth', [kb, peer]));
    b.links.set(peer, link(peer, 'veth', [ka, name]));
  }

  async addBridge(ns: NsRef, name: string): Promise<void> {
    const s = this.space(ns);
    if (name.length > 15) throw new KernelError('INVALID', 'name too long');
    if (s.links.has(name)) throw new KernelError('ALREADY_EXISTS', 'RTNETLINK answers: File exists');
    s.links.set(name, link(name, 'bridge', undefined));
  }

  async setMaster(ns: NsRef, name: string, bridge: string): Promise<void> {
    const l = this.link(ns, name);
    const br = this.link(ns, bridge);
    if (br.kind !== 'bridge') throw new KernelError('INVALID', `${bridge} is not a bridge`);
    l.master = bridge;
  }

  async setUp(ns: NsRef, name: string): Promise<void> {
    this.link(ns, name).up = true;
  }

  async addAddress(ns: NsRef, name: string, cidr: string): Promise<void> {
    const l = this.link(ns, name);
    if (!parseCIDRSloppy(cidr)) throw new KernelError('INVALID', `invalid prefix "${cidr}"`);
    if (l.addresses.includes(cidr)) throw new KernelError('ALREADY_EXISTS', 'RTNETLINK answers: File exists');
    l.addresses.push(cidr);
  }

  async deleteAddress(ns: NsRef, name: string, cidr: string): Promise<void> {
    const l = this.link(ns, name);
    const i = l.addresses.indexOf(cidr);
    if (i < 0) throw new KernelError('NOT_FOUND', 'RTNETLINK answers: Cannot assign requested address');
    l.addresses.splice(i, 1);
  }

  async deleteLink(ns: NsRef, name: string): Promise<void> {
    const l = this.link(ns, name);
    // lo cannot be deleted; it goes with its namespace.
    if (l.name === 'lo') throw new KernelError('INVALID', 'RTNETLINK answers: Operation not supported');
    this.removeLink(ns ?? current, l);
  }

  async links(ns: NsRef): Promise<LinkInfo[]> {
    return [...this.space(ns).links.values()].map((l) => ({
      name: l.name,
      kind: l.kind,
      up: l.up,
      master: l.master,
      addresses: [...l.addresses],
    }));
  }

  async addRoute(ns: string, route: RouteSpec): Promise<void> {
    const s = this.space(ns);
    if (route.dev) this.link(ns, route.dev);
    if (route.via) {
      const dev = this.connectedDev(s, route.via);
      if (!dev || (route.dev && dev !== route.dev)) {
        throw new KernelError('INVALID', 'Error: Nexthop has invalid gateway.');
      }
    } else if (!route.dev) {
      throw new KernelError('INVALID', 'Error: Device for nexthop is not up.');
    }
    if (s.routes.some((r) => r.dst === route.dst))
      throw new KernelError('ALREADY_EXISTS', 'RTNETLINK answers: File exists');
    s.routes.push({
      dst: route.dst,
      gateway: route.via,
      dev: route.dev ?? this.connectedDev(s, route.via ?? ''),
    });
  }

  async replaceRoute(ns: string, route: RouteSpec): Promise<void> {
    const s = this.space(ns);
    const i = s.routes.findIndex((r) => r.dst === route.dst);
    const old = i >= 0 ? s.routes.splice(i, 1) : [];
    try {
      await this.addRoute(ns, route);
    } catch (e) {
      s.routes.push(...old);
      throw e;
    }
  }

  async deleteRoute(ns: string, dst: string): Promise<void> {
    const s = this.space(ns);
    const i = s.routes.findIndex((r) => r.dst === dst);
    if (i < 0) throw new KernelError('NOT_FOUND', 'RTNETLINK answers: No such process');
    s.routes.splice(i, 1);
  }

  async routes(ns: string): Promise<RouteInfo[]> {
    const s = this.space(ns);
    const connected: RouteInfo[] = [];
    for (const l of s.links.values()) {
      if (!l.up) continue;
      for (const a of l.addresses) {
        const c = parseCIDRSloppy(a);
        if (c?.bits !== 32 || c.prefix === 32) continue;
        connected.push({ dst: formatCIDR(c), gateway: undefined, dev: l.name });
      }
    }
    // Kernel order: the default route first, then by destination.
    return [...s.routes, ...connected].sort((x, y) => (x.dst === 'default' ? -1 : y.dst === 'default' ? 1 : 0));
  }

  async setSysctl(ns: string, key: string, value: string): Promise<void> {
    if (!ns) throw new KernelError('REFUSED', 'sysctls only inside a named network namespace');
    this.space(ns).sysctls[key] = value;
  }

  sysctl(ns: string, key: string): string | undefined {
    return this.spaces.get(ns)?.sysctls[key];
  }

  // ---- dump/load --------------------------------------------------------------------------

  dump(): FakeNetDump {
    const namespaces: FakeNetDump['namespaces'] = {};
    for (const [k, s] of this.spaces) {
      namespaces[k] = structuredClone({ links: [...s.links.values()], routes: s.routes, sysctls: s.sysctls });
    }
    return { namespaces };
  }

  load(d: FakeNetDump): void {
    this.spaces = new Map();
    for (const [k, s] of Object.entries(structuredClone(d).namespaces)) {
      this.spaces.set(k, { links: new Map(s.links.map((l) => [l.name, l])), routes: s.routes, sysctls: s.sysctls });
    }
    if (!this.spaces.has(current)) this.spaces.set(current, newNs());
  }

  // ---- internals -------------------------------------------------------------------------

  private space(ns: NsRef): FakeNs {
    const s = this.spaces.get(ns ?? current);
    if (!s) throw new KernelError('NOT_FOUND', `Cannot open network namespace "${ns}": No such file or directory`);
    return s;
  }

  private link(ns: NsRef, name: string): FakeLink {
    const l = this.space(ns).links.get(name);
    if (!l) throw new KernelError('NOT_FOUND', `Cannot find device "${name}"`);
    return l;
  }

  private removeLink(nsKey: string, l: FakeLink): void {
    const s = this.spaces.get(nsKey);
    if (!s) return;
    s.links.delete(l.name);
    s.routes = s.routes.filter((r) => r.dev !== l.name);
    for (const other of s.links.values()) if (other.master === l.name) other.master = undefined;
    if (l.peer) {
      const [pk, pn] = l.peer;
      const ps = this.spaces.get(pk);
      const p = ps?.links.get(pn);
      if (ps && p) {
        ps.links.delete(pn);
        ps.routes = ps.routes.filter((r) => r.dev !== pn);
      }
    }
  }

  private connectedDev(s: FakeNs, ip: string): string | undefined {
    for (const l of s.links.values()) {
      if (!l.up) continue;
      for (const a of l.addresses) if (cidrContains(a, ip)) return l.name;
    }
    return undefined;
  }
}

function newNs(): FakeNs {
  return { links: new Map(), routes: [], sysctls: {} };
}

function link(name: string, kind: string | undefined, peer: [string, string] | undefined): FakeLink {
  return { name, kind, up: false, master: undefined, addresses: [], peer };
}
