// Layer 2 announcer: answers ARP requests and NDP solicitations for the addresses this node owns,
// on the chosen interfaces, through packet sockets; on takeover it repeats gratuitous ARP /
// unsolicited NA as MetalLB does (at once, then every 1.1 s for 5 s), so clients that cached the
// old owner's MAC switch without waiting for their neighbour entry to expire.
import { networkInterfaces } from 'node:os';
import { canonicalIP } from '../../api/ip.ts';
import type { Counter } from '../../proxy/metrics.ts';
import type { Announcer, AnnouncerFactory, Plan } from '../contract.ts';
import { encodeArp, etherTypeARP, etherTypeIPv6, gratuitousArp } from './arp.ts';
import { encodeNA, unsolicitedNA } from './ndp.ts';
import { planLayer2 } from './plan.ts';
import { respond } from './responder.ts';

export interface FrameSocket {
  readonly mac: string;
  send(frame: Buffer): void;
  close(): void;
}

export interface Layer2Metrics {
  requestsReceived: Counter;
  responsesSent: Counter;
  gratuitousSent: Counter;
}

export interface Layer2Options {
  /** Opens a frame socket (src/kernel/packet-socket.ts in production). */
  open(ifname: string, etherType: number, onFrame: (frame: Buffer) => void): FrameSocket;
  /** Interfaces "all" means: default every non-loopback interface with an address. */
  allInterfaces?: () => string[];
  metrics?: Layer2Metrics;
  /** Gratuitous repeats after the first (ms after takeover); MetalLB: every 1.1 s for 5 s. */
  repeatsMs?: readonly number[];
  onError?: (e: unknown) => void;
  setTimeout?: (fn: () => void, ms: number) => unknown;
  clearTimeout?: (h: unknown) => void;
}

export const gratuitousRepeatsMs = [1100, 2200, 3300, 4400] as const;

export function defaultInterfaces(): string[] {
  return Object.entries(networkInterfaces())
    .filter(([, addrs]) => (addrs ?? []).some((a) => !a.internal))
    .map(([name]) => name)
    .sort();
}

interface Iface {
  arp?: FrameSocket;
  v6?: FrameSocket;
  /** Canonical addresses answered on this interface. */
  ips: Set<string>;
}

class Layer2 implements Announcer {
  readonly protocol = 'layer2' as const;
  private readonly ifaces = new Map<string, Iface>();
  private readonly timers = new Map<string, unknown[]>();

  constructor(private readonly o: Layer2Options) {}

  plan = planLayer2;

  /** "ip" → interfaces it is answered on now. */
  announced(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const [name, i] of this.ifaces) for (const ip of i.ips) out.set(ip, [...(out.get(ip) ?? []), name]);
    return out;
  }

  async apply(plan: Plan): Promise<void> {
    const all = this.o.allInterfaces ?? defaultInterfaces;
    const want = new Map<string, Set<string>>();
    for (const a of plan.announce) {
      const ip = canonicalIP(a.ip);
      if (!ip) continue;
      for (const name of a.interfaces.length > 0 ? a.interfaces : all()) {
        const set = want.get(name) ?? new Set<string>();
        set.add(ip);
        want.set(name, set);
      }
    }
    for (const [name, iface] of this.ifaces) {
      const keep = want.get(name);
      for (const ip of iface.ips) if (!keep?.has(ip)) this.stopSpam(name, ip);
      if (!keep) {
        iface.arp?.close();
        iface.v6?.close();
        this.ifaces.delete(name);
      }
    }
    for (const [name, ips] of want) {
      let iface = this.ifaces.get(name);
      if (!iface) {
        iface = { ips: new Set() };
        this.ifaces.set(name, iface);
      }
      const fresh = [...ips].filter((ip) => !iface.ips.has(ip));
      iface.ips = ips;
      try {
        if ([...ips].some((ip) => !ip.includes(':')))
          iface.arp ??= this.o.open(name, etherTypeARP, (f) => this.frame(name, f));
        if ([...ips].some((ip) => ip.includes(':')))
          iface.v6 ??= this.o.open(name, etherTypeIPv6, (f) => this.frame(name, f));
      } catch (e) {
        // An interface named by an L2Advertisement that this node lacks: the others still work.
        this.o.onError?.(e);
        continue;
      }
      for (const ip of fresh) this.takeover(name, ip);
    }
  }

  private frame(name: string, frame: Buffer): void {
    const iface = this.ifaces.get(name);
    const sock = iface?.arp ?? iface?.v6;
    if (!iface || !sock) return;
    const v = respond(frame, sock.mac, iface.ips);
    if (v.kind === 'ignore') return;
    this.o.metrics?.requestsReceived.inc({ ip: v.ip });
    try {
      (v.ip.includes(':') ? iface.v6 : iface.arp)?.send(v.frame);
      this.o.metrics?.responsesSent.inc({ ip: v.ip });
    } catch (e) {
      this.o.onError?.(e);
    }
  }

  private gratuitous(name: string, ip: string): void {
    const iface = this.ifaces.get(name);
    if (!iface?.ips.has(ip)) return;
    try {
      if (ip.includes(':')) {
        if (iface.v6) iface.v6.send(encodeNA(unsolicitedNA(ip, iface.v6.mac)));
      } else if (iface.arp) {
        for (const p of gratuitousArp(ip, iface.arp.mac)) iface.arp.send(encodeArp(p));
      }
      this.o.metrics?.gratuitousSent.inc({ ip });
    } catch (e) {
      this.o.onError?.(e);
    }
  }

  private takeover(name: string, ip: string): void {
    this.stopSpam(name, ip);
    this.gratuitous(name, ip);
    const set = this.o.setTimeout ?? ((fn, ms) => setTimeout(fn, ms).unref());
    const handles = (this.o.repeatsMs ?? gratuitousRepeatsMs).map((ms) => set(() => this.gratuitous(name, ip), ms));
    this.timers.set(`${name} ${ip}`, handles);
  }

  private stopSpam(name: string, ip: string): void {
    const clear = this.o.clearTimeout ?? ((h) => clearTimeout(h as ReturnType<typeof setTimeout>));
    for (const h of this.timers.get(`${name} ${ip}`) ?? []) clear(h);
    this.timers.delete(`${name} ${ip}`);
  }

  async close(_how: 'shutdown' | 'crash'): Promise<void> {
    // Layer 2 has no goodbye: the next owner's gratuitous ARP is what moves clients.
    await this.apply({ announce: [], withheld: new Map() });
  }
}

export const layer2 = {
  protocol: 'layer2',
  create: (_node: string, options: Layer2Options) => new Layer2(options),
} as const satisfies AnnouncerFactory<Layer2Options>;

export type Layer2Announcer = Layer2;

/** MetalLB's layer 2 metric names. */
export function layer2Metrics(reg: { counter(name: string, help: string): Counter }): Layer2Metrics {
  return {
    requestsReceived: reg.counter(
      'metallb_layer2_requests_received',
      'Number of layer2 requests received for owned IPs',
    ),
    responsesSent: reg.counter('metallb_layer2_responses_sent', 'Number of layer2 responses sent for owned IPs'),
    gratuitousSent: reg.counter(
      'metallb_layer2_gratuitous_sent',
      'Number of gratuitous layer2 packets sent for owned IPs',
    ),
  };
}
