// Connection limits for the API server's listeners. Each connection costs a file descriptor;
// a client that opens connections and never sends a request (or never finishes a TLS
// handshake) would otherwise use up the process's descriptors, after which accept() fails and
// every client, authenticated or not, is locked out until the idle ones time out.
//
// The guard keeps the total below the descriptor limit and, when a connection arrives at the
// limit, makes room by closing an *idle* connection (no request in progress: never a watch or
// a request being answered) of the address that holds the most connections, oldest first. So a
// flood from one address evicts itself and the newest connection, the one most likely to be a
// real client about to send a request, gets through; other addresses keep theirs. An address
// is also held to maxPerIP on its own, the same way.
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Server, Socket } from 'node:net';

export interface ConnectionLimits {
  /** Open connections across every listener of the server. */
  readonly maxConnections: number;
  /** Open connections from one remote address. */
  readonly maxPerIP: number;
}

/** The soft limit on open files of this process (Linux), or undefined when unknown. */
export function openFileLimit(): number | undefined {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (!m || m[1] === 'unlimited') return undefined;
    return Number(m[1]);
  } catch {
    return undefined;
  }
}

/**
 * 80% of the descriptor limit minus a reserve for the store, listeners and children, at most
 * 4096; one address may hold half of that.
 */
export function defaultConnectionLimits(fdLimit = openFileLimit()): ConnectionLimits {
  const max = fdLimit === undefined ? 4096 : Math.max(16, Math.min(4096, Math.floor(fdLimit * 0.8) - 32));
  return { maxConnections: max, maxPerIP: Math.max(8, Math.floor(max / 2)) };
}

interface Conn {
  /** The raw socket until the TLS handshake finishes, then the TLS socket. */
  socket: Socket;
  readonly ip: string;
  readonly since: number;
  /** Requests being answered on it. */
  busy: number;
}

const keyOf = (s: Socket) => `${s.remoteAddress}|${s.remotePort}`;

export class ConnectionGuard {
  private readonly conns = new Map<string, Conn>();
  private readonly byIP = new Map<string, Set<Conn>>();
  private seq = 0;
  /** Connections closed to make room (a counter for tests and metrics). */
  evicted = 0;
  /** Connections refused because nothing idle could be closed. */
  refused = 0;

  constructor(readonly limits: ConnectionLimits) {}

  /** Watches `server`; call before it listens. */
  attach(server: Server): void {
    server.on('connection', (s: Socket) => this.admit(s));
    // TLS servers: requests arrive on the TLS socket; keep it to close the connection with.
    server.on('secureConnection', (s: Socket) => {
      const c = this.conns.get(keyOf(s));
      if (c) c.socket = s;
    });
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const c = this.conns.get(keyOf(req.socket));
      if (!c) return;
      c.busy++;
      let done = false;
      const end = () => {
        if (done) return;
        done = true;
        c.busy--;
      };
      res.once('finish', end);
      res.once('close', end);
    });
    // An upgraded connection (exec, attach, port-forward streams) is busy until it closes.
    server.on('upgrade', (req: IncomingMessage) => {
      const c = this.conns.get(keyOf(req.socket));
      if (c) c.busy++;
    });
  }

  get open(): number {
    return this.conns.size;
  }

  private admit(s: Socket): void {
    const ip = s.remoteAddress ?? '';
    const mine = this.byIP.get(ip);
    if (
      ((mine?.size ?? 0) >= this.limits.maxPerIP && !this.evictFrom(mine)) ||
      (this.conns.size >= this.limits.maxConnections && !this.evictFrom(this.largestGroup()))
    ) {
      this.refuse(s);
      return;
    }
    const c: Conn = { socket: s, ip, since: this.seq++, busy: 0 };
    const key = keyOf(s);
    this.conns.set(key, c);
    let group = this.byIP.get(ip);
    if (!group) this.byIP.set(ip, (group = new Set()));
    group.add(c);
    s.once('close', () => {
      if (this.conns.get(key) === c) this.conns.delete(key);
      const g = this.byIP.get(ip);
      g?.delete(c);
      if (g?.size === 0) this.byIP.delete(ip);
    });
  }

  private refuse(s: Socket): void {
    this.refused++;
    s.destroy();
  }

  private largestGroup(): Set<Conn> | undefined {
    let best: Set<Conn> | undefined;
    for (const g of this.byIP.values()) if (!best || g.size > best.size) best = g;
    return best;
  }

  /** Closes the oldest idle connection of `group`; false when all of it is busy. */
  private evictFrom(group: Set<Conn> | undefined): boolean {
    let victim: Conn | undefined;
    for (const c of group ?? []) if (c.busy === 0 && (!victim || c.since < victim.since)) victim = c;
    if (!victim) return false;
    this.evicted++;
    // Forget it now: the close event comes later and the newcomer needs the slot at once.
    this.conns.delete(keyOf(victim.socket));
    group?.delete(victim);
    if (group?.size === 0) this.byIP.delete(victim.ip);
    victim.socket.destroy();
    return true;
  }
}
