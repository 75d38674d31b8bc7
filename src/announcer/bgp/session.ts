// One BGP session to one peer: owns the TCP socket and the three RFC 4271 timers, feeds what
// happens into the pure state machine (fsm.ts) and performs the actions it returns. It also holds
// the routes this node wants the peer to have and what the peer was last told, so a change is a
// diff of UPDATEs and a new session (or a ROUTE-REFRESH) gets the whole table again.
//
// Connections go out through an injected dial (src/kernel/tcp-dial.ts, or the TCP-MD5 dial when a
// password is set); a connection the peer opens to us can be handed in with accept() while the
// session has none (collision handling per RFC 4271 6.8 reduced to "first one wins", enough
// because we never keep two).
import type { Socket } from 'node:net';
import type { Dial } from '../../kernel/tcp-dial.ts';
import { type Action, idle, type SessionConfig, type SessionState, type StateName, step } from './fsm.ts';
import {
  BGPError,
  decode,
  encode,
  type Family,
  type Message,
  type PathAttributes,
  split,
  type UpdateMessage,
} from './wire.ts';

/** RFC 8326 GRACEFUL_SHUTDOWN well-known community (65535:0). */
export const gracefulShutdownCommunity = 0xffff0000;

export interface Route {
  /** "10.0.0.5/32", "2001:db8::/64". */
  prefix: string;
  /** iBGP only (RFC 4271 5.1.5): eBGP peers ignore LOCAL_PREF. */
  localPref?: number;
  communities: readonly number[];
  largeCommunities: readonly [number, number, number][];
}

export interface SessionOptions {
  config: SessionConfig;
  peerAddress: string;
  peerPort: number;
  sourceAddress?: string;
  dial: Dial;
  /** Connect attempt deadline. */
  connectTimeoutMs?: number;
  onState?: (state: StateName, reason?: string) => void;
  onError?: (e: unknown) => void;
}

const familyOf = (prefix: string): Family => (prefix.includes(':') ? 'ipv6-unicast' : 'ipv4-unicast');

/** What the peer was told about a prefix, as comparable text. */
const routeKey = (r: Route, shutdown: boolean): string =>
  JSON.stringify([r.localPref, r.communities, r.largeCommunities, shutdown]);

export class Session {
  private st: SessionState = idle;
  private sock: Socket | undefined;
  private rest: Buffer = Buffer.alloc(0);
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private wanted = new Map<string, Route>();
  /** prefix → routeKey of what the peer holds now. */
  private readonly told = new Map<string, string>();
  private shuttingDown = false;
  /** Bumped per connect attempt so a late dial result for an abandoned attempt is dropped. */
  private attempt = 0;
  /** Time the session last reached Established (ms), for tests and the status line. */
  establishedAt: number | undefined;

  constructor(private readonly o: SessionOptions) {}

  get state(): StateName {
    return this.st.name;
  }

  /** The address the peer sees us at: the next hop of every route. */
  get localAddress(): string | undefined {
    return this.sock?.localAddress;
  }

  start(): void {
    this.event({ type: 'start' });
  }

  /** A connection the peer opened (passive side); refused when the session already has one. */
  accept(sock: Socket): boolean {
    if (this.sock || (this.st.name !== 'Connect' && this.st.name !== 'Active')) {
      sock.destroy();
      return false;
    }
    this.attempt++;
    this.adopt(sock);
    return true;
  }

  setRoutes(routes: Iterable<Route>): void {
    this.wanted = new Map([...routes].map((r) => [r.prefix, r]));
    if (this.st.name === 'Established') this.sync();
  }

  /**
   * Orderly stop: with `gracefulMs`, every route is first re-sent with the GRACEFUL_SHUTDOWN
   * community (RFC 8326) so the peer moves traffic to other paths while this one still works,
   * then after that long a Cease/Administrative Shutdown closes the session.
   */
  async stop(gracefulMs = 0): Promise<void> {
    if (gracefulMs > 0 && this.st.name === 'Established' && this.wanted.size > 0) {
      this.shuttingDown = true;
      this.sync();
      await new Promise((r) => setTimeout(r, gracefulMs));
    }
    const s = this.sock;
    this.event({ type: 'stop' });
    // Give the Cease a moment to leave before the process that owns the socket exits.
    if (s && !s.destroyed)
      await new Promise<void>((r) => {
        const t = setTimeout(r, 500);
        s.once('close', () => {
          clearTimeout(t);
          r();
        });
      });
  }

  /** Drops the connection without a word, as a killed process would. */
  crash(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.sock?.destroy();
    this.sock = undefined;
    this.st = idle;
    this.attempt++;
  }

  private event(e: Parameters<typeof step>[2]): void {
    const before = this.st.name;
    const { state, actions } = step(this.o.config, this.st, e);
    this.st = state;
    for (const a of actions) this.perform(a);
    if (state.name !== before) this.o.onState?.(state.name);
  }

  private perform(a: Action): void {
    switch (a.type) {
      case 'connect':
        this.connect();
        return;
      case 'close': {
        const s = this.sock;
        this.sock = undefined;
        this.rest = Buffer.alloc(0);
        // end() lets a NOTIFICATION written just before reach the peer.
        if (s && !s.destroyed) s.end(() => s.destroy());
        return;
      }
      case 'send':
        this.send(a.message);
        return;
      case 'startTimer': {
        this.stopTimer(a.timer);
        // A zero connect-retry after an error would spin against a peer that refuses us.
        const ms = a.timer === 'connectRetry' ? Math.max(1, a.seconds) * 1000 : a.seconds * 1000;
        const t = setTimeout(() => {
          this.timers.delete(a.timer);
          this.event({ type: 'timer', timer: a.timer });
        }, ms);
        t.unref();
        this.timers.set(a.timer, t);
        return;
      }
      case 'stopTimer':
        this.stopTimer(a.timer);
        return;
      case 'established':
        this.establishedAt = Date.now();
        this.told.clear();
        this.sync();
        return;
      case 'down':
        this.establishedAt = undefined;
        this.told.clear();
        this.o.onState?.(this.st.name, a.reason);
        return;
      case 'refreshRequested':
        this.told.clear();
        this.sync();
        return;
      case 'update':
        // svcnet only announces; routes the peer sends are not installed.
        return;
    }
  }

  private stopTimer(name: string): void {
    const t = this.timers.get(name);
    if (t) clearTimeout(t);
    this.timers.delete(name);
  }

  private connect(): void {
    const n = ++this.attempt;
    this.o
      .dial({
        host: this.o.peerAddress,
        port: this.o.peerPort,
        ...(this.o.sourceAddress ? { localAddress: this.o.sourceAddress } : {}),
        timeoutMs: this.o.connectTimeoutMs ?? 5000,
      })
      .then(
        (sock) => {
          if (n !== this.attempt || this.sock || (this.st.name !== 'Connect' && this.st.name !== 'Active')) {
            sock.destroy();
            return;
          }
          this.adopt(sock);
        },
        (e) => {
          if (n !== this.attempt) return;
          this.o.onError?.(e);
          this.event({ type: 'tcpFailed' });
        },
      );
  }

  private adopt(sock: Socket): void {
    this.sock = sock;
    this.rest = Buffer.alloc(0);
    sock.setNoDelay(true);
    sock.on('data', (d: Buffer) => {
      if (this.sock === sock) this.receive(d);
    });
    const gone = () => {
      if (this.sock !== sock) return;
      this.sock = undefined;
      this.event({ type: 'tcpFailed' });
    };
    sock.on('error', (e) => {
      if (this.sock === sock) this.o.onError?.(e);
      gone();
    });
    sock.on('close', gone);
    this.event({ type: 'tcpConnected' });
  }

  private receive(d: Buffer): void {
    this.rest = this.rest.length ? Buffer.concat([this.rest, d]) : d;
    let messages: Buffer[];
    try {
      const r = split(this.rest);
      messages = r.messages;
      this.rest = Buffer.from(r.rest);
    } catch (e) {
      this.decodeError(e);
      return;
    }
    for (const m of messages) {
      if (!this.sock) return;
      let msg: Message;
      try {
        msg = decode(m, this.st.as4 ?? true);
      } catch (e) {
        this.decodeError(e);
        return;
      }
      this.event({ type: 'message', message: msg });
    }
  }

  private decodeError(e: unknown): void {
    if (e instanceof BGPError) this.event({ type: 'decodeError', error: e });
    else {
      this.o.onError?.(e);
      this.event({ type: 'tcpFailed' });
    }
  }

  private send(m: Message): void {
    const s = this.sock;
    if (!s || s.destroyed) return;
    try {
      s.write(encode(m, this.st.as4 ?? true));
    } catch (e) {
      this.o.onError?.(e);
    }
  }

  /** UPDATEs that turn what the peer holds into what is wanted. */
  private sync(): void {
    const nextHop = this.localAddress;
    if (this.st.name !== 'Established' || !nextHop) return;
    const v6Session = nextHop.includes(':');
    const ebgp = this.o.config.myAS !== this.o.config.peerAS;
    for (const [prefix] of this.told) {
      if (this.wanted.has(prefix)) continue;
      this.send(withdrawal(prefix));
      this.told.delete(prefix);
    }
    for (const [prefix, r] of this.wanted) {
      // A route's next hop is our end of the session, so a family needs a session of that family.
      if (prefix.includes(':') !== v6Session) continue;
      const key = routeKey(r, this.shuttingDown);
      if (this.told.get(prefix) === key) continue;
      this.send(advertisement(r, nextHop, ebgp, this.o.config.myAS, this.shuttingDown));
      this.told.set(prefix, key);
    }
  }
}

function withdrawal(prefix: string): UpdateMessage {
  if (familyOf(prefix) === 'ipv4-unicast') return { type: 'update', withdrawn: [prefix], attributes: {}, nlri: [] };
  return {
    type: 'update',
    withdrawn: [],
    attributes: { mpUnreach: { family: 'ipv6-unicast', prefixes: [prefix] } },
    nlri: [],
  };
}

function advertisement(r: Route, nextHop: string, ebgp: boolean, myAS: number, shutdown: boolean): UpdateMessage {
  const communities = [...r.communities];
  if (shutdown && !communities.includes(gracefulShutdownCommunity)) communities.push(gracefulShutdownCommunity);
  const attributes: PathAttributes = {
    origin: 'incomplete',
    // RFC 4271 5.1.2: an eBGP speaker prepends its AS; iBGP sends an empty path.
    asPath: ebgp ? [myAS] : [],
    // RFC 8326 4: inside the AS the community is backed by LOCAL_PREF 0.
    ...(!ebgp ? { localPref: shutdown ? 0 : (r.localPref ?? 100) } : {}),
    ...(communities.length ? { communities } : {}),
    ...(r.largeCommunities.length ? { largeCommunities: r.largeCommunities } : {}),
  };
  if (familyOf(r.prefix) === 'ipv4-unicast')
    return { type: 'update', withdrawn: [], attributes: { ...attributes, nextHop }, nlri: [r.prefix] };
  return {
    type: 'update',
    withdrawn: [],
    attributes: { ...attributes, mpReach: { family: 'ipv6-unicast', nextHop, prefixes: [r.prefix] } },
    nlri: [],
  };
}
