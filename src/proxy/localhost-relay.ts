// Localhost NodePorts on ::1 (TCP and UDP), for every kernel data plane. The kernel will not route
// a DNATed ::1 flow off the host (IPv6 has no route_localnet), so no kernel plane can make ::1 a VIP. Instead a small
// userspace relay listens on [::1]:<nodePort> and forwards each connection (or UDP 5-tuple) to
// the same Service through a kernel VIP (relayTargets below), so balancing, policies and
// conntrack stay the kernel data plane's. ::1 is unreachable from the wire: Linux drops packets
// to ::1 arriving on a non-loopback device (and raw-prerouting drops them too), so the relay
// adds no CVE-2020-8558 exposure.
import { type ChildProcess, spawn } from 'node:child_process';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { type IPFamily, ipFamilyOf } from '../api/ip.ts';
import { nodeEntryArgv } from '../kernel/entry.ts';
import { inNetns } from '../kernel/netns.ts';
import type { ProxySnapshot } from './snapshot.ts';

export interface RelaySpec {
  readonly protocol: 'TCP' | 'UDP';
  /** The NodePort, listened on at [::1] (or `listen`). */
  readonly port: number;
  /**
   * The loopback address listened on; default ::1. The IPVS plane also relays 127.0.0.1, which
   * IPVS cannot serve (a virtual server on 127.0.0.1 never sees the packets of local clients).
   */
  readonly listen?: '::1' | '127.0.0.1';
  /** Where a relayed flow goes: a kernel VIP of the same Service. */
  readonly host: string;
  readonly targetPort: number;
}

export interface RelayStatus {
  /** `TCP/30080`-style keys of the listeners that are bound. */
  readonly bound: readonly string[];
  /** Listeners that could not bind (port taken, no ::1), retried at the next set(). */
  readonly errors: readonly string[];
}

export interface LocalhostRelay {
  /** Makes the listeners exactly `specs` (created, retargeted, removed). */
  set(specs: readonly RelaySpec[]): Promise<RelayStatus>;
  close(): Promise<void>;
}

export const relayKey = (s: Pick<RelaySpec, 'protocol' | 'port' | 'listen'>): string =>
  `${s.protocol}/${s.listen && s.listen !== '::1' ? `${s.listen}:` : ''}${s.port}`;

/**
 * The relay listeners a snapshot asks for. The target is the NodePort on an IPv6 node address
 * when the Service has IPv6 (same family, NodePort semantics), else the IPv4 localhost NodePort
 * 127.0.0.1:<nodePort>, which the plane programs as a VIP with the same external-traffic
 * semantics. The relay's source is a local address, so both take the node-originated path
 * (5.7: ETP Local Services use all endpoints for node-local clients, masqueraded). SCTP: none.
 */
export function relayTargets(snapshot: ProxySnapshot, families: readonly IPFamily[]): RelaySpec[] {
  if (!snapshot.localhostNodePorts) return [];
  const out: RelaySpec[] = [];
  const node6 = families.includes('IPv6') ? snapshot.nodePortIPs.find((ip) => ipFamilyOf(ip) === 'IPv6') : undefined;
  const has4 = families.includes('IPv4');
  for (const svc of snapshot.services.values()) {
    if (svc.nodePort <= 0 || svc.protocol === 'SCTP') continue;
    const v6 = svc.clusterIPs.some((ip) => ipFamilyOf(ip) === 'IPv6');
    const v4 = svc.clusterIPs.some((ip) => ipFamilyOf(ip) === 'IPv4');
    const host = v6 && node6 ? node6 : v4 && has4 ? '127.0.0.1' : undefined;
    if (host) out.push({ protocol: svc.protocol, port: svc.nodePort, host, targetPort: svc.nodePort });
  }
  return out;
}

/** UDP "sessions" idle longer than this are closed (conntrack's UDP stream timeout is 120 s). */
const udpIdleMs = 120_000;
/** Bounds memory per UDP listener: the oldest session is evicted beyond this. */
const udpMaxSessions = 1024;

interface Listener {
  spec: RelaySpec;
  close(): void;
}

function tcpListener(spec: RelaySpec): Promise<Listener> {
  const l: Listener & { spec: RelaySpec } = { spec, close: () => {} };
  const open = new Set<Socket>();
  const server: Server = createServer({ allowHalfOpen: true, noDelay: true }, (down) => {
    const up = connect({ host: l.spec.host, port: l.spec.targetPort, allowHalfOpen: true, noDelay: true });
    open.add(down);
    open.add(up);
    // An upstream refusal (no endpoints → REJECT) is passed on as a reset, not a clean close.
    up.on('error', () => down.resetAndDestroy());
    down.on('error', () => up.destroy());
    up.on('close', () => open.delete(up));
    down.on('close', () => open.delete(down));
    down.pipe(up);
    up.pipe(down);
  });
  l.close = () => {
    server.close();
    for (const s of open) s.destroy();
  };
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    const host = spec.listen ?? '::1';
    server.listen({ host, port: spec.port, ipv6Only: host === '::1' }, () => {
      server.off('error', reject);
      server.on('error', () => {});
      resolve(l);
    });
  });
}

function udpListener(spec: RelaySpec): Promise<Listener> {
  const l: Listener = { spec, close: () => {} };
  const listen = spec.listen ?? '::1';
  const down = createSocket(listen === '::1' ? { type: 'udp6', ipv6Only: true } : { type: 'udp4' });
  const sessions = new Map<string, { up: UdpSocket; timer: NodeJS.Timeout }>();
  const end = (key: string) => {
    const s = sessions.get(key);
    if (!s) return;
    sessions.delete(key);
    clearTimeout(s.timer);
    s.up.close();
  };
  down.on('message', (msg, from) => {
    const key = `${from.address}|${from.port}`;
    let s = sessions.get(key);
    if (!s) {
      if (sessions.size >= udpMaxSessions) {
        const oldest = sessions.keys().next();
        if (!oldest.done) end(oldest.value);
      }
      // One upstream socket per client 5-tuple: replies map back, and the kernel sees one flow
      // per client (its conntrack cleanup then applies to relayed flows too).
      const up = createSocket(ipFamilyOf(l.spec.host) === 'IPv6' ? 'udp6' : 'udp4');
      up.on('error', () => end(key));
      up.on('message', (reply) => {
        const cur = sessions.get(key);
        if (cur) cur.timer.refresh();
        down.send(reply, from.port, from.address);
      });
      s = { up, timer: setTimeout(() => end(key), udpIdleMs).unref() };
      sessions.set(key, s);
    } else s.timer.refresh();
    s.up.send(msg, l.spec.targetPort, l.spec.host);
  });
  l.close = () => {
    for (const k of [...sessions.keys()]) end(k);
    down.close();
  };
  return new Promise((resolve, reject) => {
    down.once('error', reject);
    down.bind({ address: listen, port: spec.port }, () => {
      down.off('error', reject);
      down.on('error', () => {});
      resolve(l);
    });
  });
}

/** The relay in this process's network namespace. */
export class InProcessRelay implements LocalhostRelay {
  private readonly listeners = new Map<string, Listener>();

  async set(specs: readonly RelaySpec[]): Promise<RelayStatus> {
    const want = new Map(specs.map((s) => [relayKey(s), s]));
    for (const [k, l] of this.listeners) {
      if (want.has(k)) continue;
      l.close();
      this.listeners.delete(k);
    }
    const errors: string[] = [];
    for (const [k, s] of want) {
      const have = this.listeners.get(k);
      if (have) {
        have.spec = s; // retarget: new flows go to the new VIP, open ones finish where they are
        continue;
      }
      try {
        this.listeners.set(k, await (s.protocol === 'TCP' ? tcpListener(s) : udpListener(s)));
      } catch (e) {
        errors.push(`${k}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
    }
    return { bound: [...this.listeners.keys()].sort(), errors };
  }

  async close(): Promise<void> {
    for (const l of this.listeners.values()) l.close();
    this.listeners.clear();
  }
}

/** The relay inside `netns`, as a child process (localhost-relay-child.ts) driven over stdin. */
export class NetnsRelay implements LocalhostRelay {
  private child: ChildProcess | undefined;
  private lines: AsyncIterator<string> | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly netns: string) {}

  private async start(): Promise<AsyncIterator<string>> {
    if (this.lines && this.child?.exitCode === null) return this.lines;
    const [cmd = 'ip', ...args] = inNetns(this.netns, nodeEntryArgv('relayChild'));
    const child = spawn(cmd, args, {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    this.child = child;
    const lines = createInterface({ input: child.stdout as Readable })[Symbol.asyncIterator]();
    const first = await lines.next();
    if (first.done || first.value !== 'ready') throw new Error(`localhost relay in ${this.netns} did not start`);
    this.lines = lines;
    return lines;
  }

  set(specs: readonly RelaySpec[]): Promise<RelayStatus> {
    const next = this.queue.then(async () => {
      if (specs.length === 0 && !this.child) return { bound: [], errors: [] };
      const lines = await this.start();
      this.child?.stdin?.write(`${JSON.stringify(specs)}\n`);
      const r = await lines.next();
      if (r.done) throw new Error(`localhost relay in ${this.netns} exited`);
      return JSON.parse(r.value) as RelayStatus;
    });
    this.queue = next.catch(() => {});
    return next;
  }

  async close(): Promise<void> {
    await this.queue;
    const child = this.child;
    this.child = undefined;
    this.lines = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.stdin?.end();
    const t = setTimeout(() => child.kill('SIGKILL'), 2000);
    await exited;
    clearTimeout(t);
  }
}

/** A relay that binds nothing and records what it was asked for (tests of the plane's logic). */
export class FakeRelay implements LocalhostRelay {
  specs: readonly RelaySpec[] = [];
  closed = 0;
  async set(specs: readonly RelaySpec[]): Promise<RelayStatus> {
    this.specs = [...specs];
    return { bound: specs.map(relayKey).sort(), errors: [] };
  }
  async close(): Promise<void> {
    this.specs = [];
    this.closed++;
  }
}
