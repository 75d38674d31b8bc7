// Walks the (fake) iptables and ipset state the way the kernel would for the first packet of a
// flow, through the built-in chains of every table in hook order, for exactly the rule shapes
// render.ts emits: a shape it does not know is an error, so the renderer cannot drift from what
// the tracer (and `svcnet explain`) understands. A random pick (`-m statistic`) forks the walk:
// the verdict lists every endpoint the flow may reach.
import { cidrContains, type IPFamily, ipFamilyOf, joinHostPort } from '../../api/ip.ts';
import type { FakeIpset } from '../../kernel/fake-ipset.ts';
import type { FakeIptables } from '../../kernel/fake-iptables.ts';
import { type IptTable, ruleWords } from '../../kernel/iptables.ts';

export interface TracePacket {
  readonly src: string;
  readonly dst: string;
  readonly proto: 'TCP' | 'UDP' | 'SCTP';
  readonly dport: number;
  /** Input interface; default "lo" for packets from a local address, else "eth0". */
  readonly iif?: string;
}

export interface TraceEnv {
  /** Addresses local to the node (addrtype LOCAL); loopback always is. */
  readonly localAddresses: readonly string[];
}

export type TraceResult =
  | {
      readonly kind: 'endpoints';
      readonly endpoints: readonly string[];
      readonly masq: boolean;
      readonly path: readonly string[];
    }
  | {
      readonly kind: 'REJECT' | 'DROP' | 'UNHANDLED';
      readonly path: readonly string[];
      /** "CHAIN: rule" of the rule that refused or dropped the packet. */
      readonly rule?: string;
    };

export class TraceError extends Error {}

interface State {
  src: string;
  dst: string;
  dport: number;
  mark: number;
  dnat: boolean;
  masq: boolean;
  path: string[];
  /** The rule that ended the walk with DROP or REJECT. */
  rule?: string;
}
type Flow = 'continue' | 'accept' | 'drop' | 'reject' | 'return';
interface Outcome {
  flow: Flow;
  st: State;
}

const protoWord = { TCP: 'tcp', UDP: 'udp', SCTP: 'sctp' } as const;

function isLocal(ip: string, env: TraceEnv): boolean {
  return ip === '::1' || cidrContains('127.0.0.0/8', ip) || env.localAddresses.includes(ip);
}

function addrMatches(spec: string, ip: string): boolean {
  return spec.includes('/') ? cidrContains(spec, ip) : spec === ip;
}

const clone = (s: State): State => ({ ...s, path: [...s.path] });

export class IptablesTracer {
  constructor(
    private readonly ipt: FakeIptables,
    private readonly ipset: FakeIpset,
    private readonly env: TraceEnv,
  ) {}

  trace(p: TracePacket): TraceResult {
    const family: IPFamily = ipFamilyOf(p.dst) === 'IPv6' ? 'IPv6' : 'IPv4';
    const fromNode = isLocal(p.src, this.env);
    const first: State = { src: p.src, dst: p.dst, dport: p.dport, mark: 0, dnat: false, masq: false, path: [] };
    const finals: State[] = [];
    const hook = (states: State[], steps: readonly [IptTable, string][]) => {
      let cur = states;
      for (const [t, c] of steps) cur = this.runBuiltin(family, t, c, cur, p, finals);
      return cur;
    };
    let states = fromNode
      ? hook(
          [first],
          [
            ['raw', 'OUTPUT'],
            ['mangle', 'OUTPUT'],
            ['nat', 'OUTPUT'],
            ['filter', 'OUTPUT'],
          ],
        )
      : hook(
          [first],
          [
            ['raw', 'PREROUTING'],
            ['mangle', 'PREROUTING'],
            ['nat', 'PREROUTING'],
          ],
        );
    const next: State[] = [];
    for (const s of states) {
      if (fromNode) next.push(s);
      else if (isLocal(s.dst, this.env)) {
        // Delivered here: nothing after INPUT (a socket answers, or the stack refuses).
        for (const o of hook(
          [s],
          [
            ['mangle', 'INPUT'],
            ['filter', 'INPUT'],
          ],
        ))
          next.push(o);
      } else
        next.push(
          ...hook(
            [s],
            [
              ['mangle', 'FORWARD'],
              ['filter', 'FORWARD'],
            ],
          ),
        );
    }
    states = hook(
      next.filter((s) => !(isLocal(s.dst, this.env) && !fromNode)),
      [
        ['mangle', 'POSTROUTING'],
        ['nat', 'POSTROUTING'],
      ],
    );
    const delivered = next.filter((s) => isLocal(s.dst, this.env) && !fromNode);
    return this.summarize([...states, ...delivered], finals);
  }

  private summarize(ok: State[], finals: State[]): TraceResult {
    const dropped = finals.filter((s) => s.path.at(-1) === 'DROP');
    const rejected = finals.filter((s) => s.path.at(-1) === 'REJECT');
    const path = (ok[0] ?? finals[0])?.path ?? [];
    if (ok.length === 0) {
      const decided = (rejected[0] ?? dropped[0])?.rule;
      return { kind: rejected.length > 0 ? 'REJECT' : 'DROP', path, ...(decided ? { rule: decided } : {}) };
    }
    if (dropped.length + rejected.length > 0)
      throw new TraceError('a random pick both passes and drops: not a rule shape svcnet emits');
    const dnatted = ok.filter((s) => s.dnat);
    if (dnatted.length === 0) {
      const s = ok[0];
      // Not a service destination. Nothing listens on a NodePort of a local address.
      if (s && isLocal(s.dst, this.env)) return { kind: 'REJECT', path: [...s.path, 'no local socket'] };
      return { kind: 'UNHANDLED', path };
    }
    const eps = [...new Set(dnatted.map((s) => joinHostPort(s.dst, s.dport)))];
    return { kind: 'endpoints', endpoints: eps, masq: dnatted.some((s) => s.masq), path };
  }

  private runBuiltin(
    f: IPFamily,
    table: IptTable,
    chain: string,
    states: State[],
    p: TracePacket,
    finals: State[],
  ): State[] {
    const rules = this.ipt.chain(f, table, chain);
    if (!rules) return states;
    const out: State[] = [];
    for (const s of states) {
      s.path.push(`${table}/${chain}`);
      for (const o of this.rules(f, table, chain, rules, 0, s, p, 0)) {
        if (o.flow === 'drop' || o.flow === 'reject') {
          o.st.path.push(o.flow === 'drop' ? 'DROP' : 'REJECT');
          finals.push(o.st);
        } else out.push(o.st);
      }
    }
    return out;
  }

  private chain(f: IPFamily, table: IptTable, name: string, st: State, p: TracePacket, depth: number): Outcome[] {
    if (depth > 16) throw new TraceError('chain depth exceeded');
    const rules = this.ipt.chain(f, table, name);
    if (!rules) throw new TraceError(`chain ${table}/${name} missing`);
    st.path.push(name);
    return this.rules(f, table, name, rules, 0, st, p, depth);
  }

  private rules(
    f: IPFamily,
    table: IptTable,
    chain: string,
    rules: readonly string[],
    i: number,
    st: State,
    p: TracePacket,
    depth: number,
  ): Outcome[] {
    for (let k = i; k < rules.length; k++) {
      const outs = this.rule(f, table, rules[k] ?? '', st, p, depth);
      if (outs === 'nomatch') continue;
      const res: Outcome[] = [];
      for (const o of outs) {
        if (o.flow === 'continue') res.push(...this.rules(f, table, chain, rules, k + 1, o.st, p, depth));
        else {
          if ((o.flow === 'drop' || o.flow === 'reject') && o.st.rule === undefined)
            o.st.rule = `${chain}: ${rules[k]}`;
          res.push(o);
        }
      }
      return res;
    }
    return [{ flow: 'continue', st }];
  }

  /** One rule: 'nomatch', or the outcomes (forked by statistic) of its target. */
  private rule(
    f: IPFamily,
    table: IptTable,
    text: string,
    st: State,
    p: TracePacket,
    depth: number,
  ): 'nomatch' | Outcome[] {
    const w = ruleWords(text);
    const proto = protoWord[p.proto];
    const iif = p.iif ?? (isLocal(p.src, this.env) ? 'lo' : 'eth0');
    let forks: State[] = [st];
    let k = 0;
    let negate = false;
    const next = () => w[++k] ?? '';
    const dim = (flag: string, i: number, kinds: string[]) =>
      kinds[i] === 'port' ? `${proto}:${flag === 'src' ? 0 : st.dport}` : flag === 'src' ? st.src : st.dst;
    for (; k < w.length; k++) {
      const word = w[k] ?? '';
      if (word === '!') {
        negate = true;
        continue;
      }
      const neg = negate;
      negate = false;
      const test = (ok: boolean) => ok !== neg;
      switch (word) {
        case '-s':
          if (!test(addrMatches(next(), st.src))) return 'nomatch';
          break;
        case '-d':
          if (!test(addrMatches(next(), st.dst))) return 'nomatch';
          break;
        case '-i':
          if (!test(next() === iif)) return 'nomatch';
          break;
        case '-p':
          if (!test(next() === proto)) return 'nomatch';
          break;
        case '-m':
          next();
          break;
        case '--ctstate': {
          const v = next().split(',');
          // The first packet of a flow is NEW; DNAT once a rule rewrote its destination.
          if (!test(v.includes('NEW') || (v.includes('DNAT') && st.dnat))) return 'nomatch';
          break;
        }
        case '--match-set': {
          const name = next();
          const flags = next().split(',');
          const s = this.ipset.sets.get(name);
          if (!s) throw new TraceError(`ipset ${name} missing`);
          const kinds = s.type.slice('hash:'.length).split(',');
          const hit =
            this.ipset.match(
              name,
              flags.map((fl, i) => dim(fl, i, kinds)),
            ) !== undefined;
          if (!test(hit)) return 'nomatch';
          break;
        }
        case '--mark': {
          const [v = '0', m = '0xffffffff'] = next().split('/');
          if (!test((st.mark & Number(m)) >>> 0 === Number(v) >>> 0)) return 'nomatch';
          break;
        }
        case '--src-type':
          if (!test(next() === 'LOCAL' && isLocal(st.src, this.env))) return 'nomatch';
          break;
        case '--mode':
          if (next() !== 'random') throw new TraceError(`statistic mode not understood: ${text}`);
          break;
        case '--probability':
          next();
          // Both ways: the pick may or may not land here.
          forks = forks.flatMap((s) => [s, { ...clone(s), path: [...s.path, 'not picked'] }]);
          break;
        case '--rcheck':
          // Affinity learning is not simulated: a trace shows every endpoint a new client may get.
          return 'nomatch';
        case '--set':
        case '--rsource':
        case '--reap':
          break;
        case '--name':
        case '--mask':
        case '--seconds':
        case '--comment':
          next();
          break;
        case '-j':
        case '-g': {
          const target = next();
          const rest = w.slice(k + 1);
          const [picked, ...others] = forks;
          const outs: Outcome[] = others.map((s) => ({ flow: 'continue' as Flow, st: s }));
          if (picked) outs.unshift(...this.target(f, table, word, target, rest, picked, depth, text, p));
          return outs;
        }
        default:
          throw new TraceError(`rule shape not understood: ${text}`);
      }
    }
    return forks.map((s) => ({ flow: 'continue' as Flow, st: s }));
  }

  private target(
    f: IPFamily,
    table: IptTable,
    how: string,
    target: string,
    args: readonly string[],
    st: State,
    depth: number,
    text: string,
    p: TracePacket,
  ): Outcome[] {
    const arg = (name: string) => {
      const i = args.indexOf(name);
      return i < 0 ? undefined : args[i + 1];
    };
    switch (target) {
      case 'ACCEPT':
        return [{ flow: 'accept', st }];
      case 'DROP':
        return [{ flow: 'drop', st }];
      case 'REJECT':
        return [{ flow: 'reject', st }];
      case 'RETURN':
        return [{ flow: 'return', st }];
      case 'MARK': {
        const [v = '0', m = '0'] = (arg('--set-xmark') ?? '').split('/');
        st.mark = ((st.mark & ~Number(m)) ^ Number(v)) >>> 0;
        return [{ flow: 'continue', st }];
      }
      case 'SET': {
        const name = arg('--map-set') ?? '';
        const flags = (args[args.indexOf('--map-set') + 2] ?? '').split(',');
        const s = this.ipset.sets.get(name);
        if (!s || !args.includes('--map-mark')) throw new TraceError(`SET target not understood: ${text}`);
        const kinds = s.type.slice('hash:'.length).split(',');
        const proto = protoWord[p.proto];
        const parts = flags.map((fl, i) =>
          kinds[i] === 'port' ? `${proto}:${st.dport}` : fl === 'src' ? st.src : st.dst,
        );
        const ext = this.ipset.match(name, parts);
        const m = ext ? /skbmark (0x[0-9a-f]+)\/(0x[0-9a-f]+)/.exec(ext) : null;
        if (m) st.mark = ((st.mark & ~Number(m[2])) ^ Number(m[1])) >>> 0;
        return [{ flow: 'continue', st }];
      }
      case 'DNAT': {
        const to = arg('--to-destination') ?? '';
        const m = /^\[?([0-9a-f.:]+?)\]?:(\d+)$/.exec(to);
        if (!m) throw new TraceError(`DNAT target not understood: ${text}`);
        st.dst = m[1] ?? '';
        st.dport = Number(m[2]);
        st.dnat = true;
        st.path.push(`DNAT ${to}`);
        return [{ flow: 'accept', st }];
      }
      case 'MASQUERADE':
        st.masq = true;
        return [{ flow: 'accept', st }];
      default: {
        const outs = this.chain(f, table, target, st, p, depth + 1);
        // -j: a RETURN or the chain's end continue after the rule; -g: they end the caller too.
        return outs.map((o) =>
          o.flow === 'return' || o.flow === 'continue' ? { flow: how === '-j' ? 'continue' : 'return', st: o.st } : o,
        );
      }
    }
  }
}
