// Walks a (fake) nftables state the way the kernel would for the first packet of a flow, for
// exactly the rule shapes render.ts emits. A shape it does not know is an error, so the
// renderer cannot drift from what the tracer (and `svcnet explain`) understands.
// Random picks (`numgen random mod N`) fork the walk: the verdict lists every endpoint the
// flow may reach.
import { cidrContains, ipFamilyOf, joinHostPort } from '../../api/ip.ts';
import type { FakeNft, FakeTable } from './fake.ts';
import { baseChains, type Hook, type NftFamily, tableName } from './structure.ts';

export interface TracePacket {
  readonly src: string;
  readonly dst: string;
  readonly proto: 'TCP' | 'UDP' | 'SCTP';
  readonly dport: number;
  /** Input interface; "lo" for packets the node sends to itself. Default: "eth0" or none (output). */
  readonly iif?: string;
}

export interface TraceEnv {
  /** Addresses local to the node (fib … type local); loopback is always local. */
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
      /** "chain: rule" that decided a REJECT or DROP. */
      readonly rule?: string;
    };

interface State {
  src: string;
  dst: string;
  dport: number;
  mark: number;
  dnat: boolean;
  masq: boolean;
  path: string[];
  /** The chain whose rules are being walked, and the rule that ended the flow. */
  chain: string;
  rule?: string;
}

type Flow = 'continue' | 'accept' | 'drop' | 'reject' | 'return';
interface Outcome {
  flow: Flow;
  st: State;
}

const protoWord = { TCP: 'tcp', UDP: 'udp', SCTP: 'sctp' } as const;

export class TraceError extends Error {}

function isLocal(ip: string, env: TraceEnv): boolean {
  return ip === '::1' || cidrContains('127.0.0.0/8', ip) || env.localAddresses.includes(ip);
}

function inSet(t: FakeTable, name: string, key: string): boolean {
  const s = t.sets.get(name);
  if (!s) throw new TraceError(`set ${name} missing`);
  if (s.elements.has(key)) return true;
  if (!/flags [^;]*interval/.test(s.body)) return false;
  // Interval sets: compare component-wise; CIDR components contain the address.
  const want = key.split(' . ');
  for (const k of s.elements.keys()) {
    const have = k.split(' . ');
    if (have.length !== want.length) continue;
    if (have.every((h, i) => h === want[i] || (h.includes('/') && cidrContains(h, want[i] ?? '')))) return true;
  }
  return false;
}

function lookup(t: FakeTable, name: string, key: string): string | undefined {
  const s = t.sets.get(name);
  if (!s) throw new TraceError(`map ${name} missing`);
  return s.elements.get(key);
}

export class NftTracer {
  constructor(
    private readonly nft: FakeNft,
    private readonly env: TraceEnv,
  ) {}

  trace(p: TracePacket): TraceResult {
    const fam = ipFamilyOf(p.dst) === 'IPv6' ? 'ip6' : 'ip';
    const t = this.nft.table(fam, tableName);
    const fromNode = isLocal(p.src, this.env);
    const st: State = {
      src: p.src,
      dst: p.dst,
      dport: p.dport,
      mark: 0,
      dnat: false,
      masq: false,
      path: [],
      chain: '',
    };
    if (!t) return { kind: 'UNHANDLED', path: ['no svcnet table'] };
    const hooks: Hook[] = fromNode ? ['output'] : ['prerouting'];
    let states: State[] = [st];
    const finals: State[] = [];
    // First hook (and the route-dependent second one), then postrouting.
    for (const hook of hooks) {
      states = this.runHook(t, fam, hook, states, p, finals);
    }
    const next: State[] = [];
    for (const s of states) {
      const h: Hook = fromNode ? 'output' : isLocal(s.dst, this.env) ? 'input' : 'forward';
      if (!fromNode) next.push(...this.runHook(t, fam, h, [s], p, finals));
      else next.push(s);
    }
    const post = this.runHook(t, fam, 'postrouting', next, p, finals);
    return this.summarize(post, finals);
  }

  private summarize(ok: State[], finals: State[]): TraceResult {
    const dropped = finals.filter((s) => s.path.at(-1) === 'drop');
    const rejected = finals.filter((s) => s.path.at(-1) === 'reject');
    const path = (ok[0] ?? finals[0])?.path ?? [];
    if (ok.length === 0) {
      const f = rejected[0] ?? finals[0];
      const rule = f?.rule;
      return { kind: rejected.length > 0 ? 'REJECT' : 'DROP', path: f?.path ?? path, ...(rule ? { rule } : {}) };
    }
    if (dropped.length + rejected.length > 0)
      throw new TraceError('a random pick both passes and drops: not a rule shape svcnet emits');
    const dnatted = ok.filter((s) => s.dnat);
    if (dnatted.length === 0) {
      // Not a service destination. Nothing listens on a NodePort of a local address.
      const s = ok[0];
      if (s && isLocal(s.dst, this.env))
        return {
          kind: 'REJECT',
          path: [...s.path, 'no local socket'],
          rule: 'no socket listens on this local address',
        };
      return { kind: 'UNHANDLED', path };
    }
    const eps = [...new Set(dnatted.map((s) => joinHostPort(s.dst, s.dport)))];
    return { kind: 'endpoints', endpoints: eps, masq: dnatted.some((s) => s.masq), path };
  }

  private runHook(t: FakeTable, fam: NftFamily, hook: Hook, states: State[], p: TracePacket, finals: State[]): State[] {
    const chains = baseChains.filter((b) => b.hook === hook).sort((a, b) => a.priority - b.priority);
    let cur = states;
    for (const b of chains) {
      if (!t.chains.has(b.name)) continue;
      const out: State[] = [];
      for (const s of cur) {
        for (const o of this.chain(t, fam, b.name, s, p, 0)) {
          if (o.flow === 'drop' || o.flow === 'reject') {
            o.st.path.push(o.flow);
            finals.push(o.st);
          } else out.push(o.st);
        }
      }
      cur = out;
    }
    return cur;
  }

  private chain(t: FakeTable, fam: NftFamily, name: string, st: State, p: TracePacket, depth: number): Outcome[] {
    if (depth > 16) throw new TraceError('chain depth exceeded');
    const c = t.chains.get(name);
    if (!c) throw new TraceError(`chain ${name} missing`);
    st.path.push(name);
    return this.rules(t, fam, name, c.rules, 0, st, p, depth);
  }

  /** Runs rules[i…] on st; forks at numgen. */
  private rules(
    t: FakeTable,
    fam: NftFamily,
    chain: string,
    rules: readonly string[],
    i: number,
    st: State,
    p: TracePacket,
    depth: number,
  ): Outcome[] {
    for (let k = i; k < rules.length; k++) {
      const r = rules[k] ?? '';
      st.chain = chain;
      const res = this.rule(t, fam, r, st, p, depth);
      if (res === 'nomatch') continue;
      if (Array.isArray(res)) {
        // A verdict that went elsewhere (jump/goto/vmap) and may fork.
        const out: Outcome[] = [];
        for (const o of res) {
          if (o.flow === 'continue') out.push(...this.rules(t, fam, chain, rules, k + 1, o.st, p, depth));
          else out.push(o);
        }
        return out;
      }
      if (res === 'drop' || res === 'reject') st.rule = `${chain}: ${r}`;
      if (res !== 'continue') return [{ flow: res, st }];
    }
    return [{ flow: 'continue', st }];
  }

  /** One rule: 'nomatch', a terminal flow, 'continue' (statements done), or forked outcomes. */
  private rule(
    t: FakeTable,
    fam: NftFamily,
    rule: string,
    st: State,
    p: TracePacket,
    depth: number,
  ): 'nomatch' | Flow | Outcome[] {
    const sel = fam === 'ip' ? 'ip' : 'ip6';
    const proto = protoWord[p.proto];
    const vipKey = `${st.dst} . ${proto} . ${st.dport}`;
    const vipExpr = `${sel} daddr . meta l4proto . th dport`;
    let rest = rule.trim();
    const take = (re: RegExp): RegExpExecArray | undefined => {
      const m = re.exec(rest);
      if (m?.index !== 0) return undefined;
      rest = rest.slice(m[0].length).trim();
      return m;
    };
    // Matches.
    for (;;) {
      let m: RegExpExecArray | undefined;
      if ((m = take(/iifname (!= )?"([^"]+)"/))) {
        const iif = p.iif ?? (isLocal(p.src, this.env) ? 'lo' : 'eth0');
        if ((iif === m[2]) === Boolean(m[1])) return 'nomatch';
      } else if (take(/ct state new/)) {
        // The tracer follows the first packet of a flow.
      } else if (take(/ct status dnat/)) {
        if (!st.dnat) return 'nomatch';
      } else if (take(/fib saddr type local/)) {
        if (!isLocal(st.src, this.env)) return 'nomatch';
      } else if (take(/meta l4proto \{ [a-z, ]+ \}/)) {
        // Every protocol svcnet serves is listed.
      } else if ((m = take(/meta mark & (0x[0-9a-f]+) == 0/))) {
        if ((st.mark & Number(m[1])) !== 0) return 'nomatch';
      } else if ((m = take(new RegExp(`^${esc(vipExpr)} \\. ${sel} saddr (!= )?@([\\w.-]+)`)))) {
        if (inSet(t, m[2] ?? '', `${vipKey} . ${st.src}`) === Boolean(m[1])) return 'nomatch';
      } else if ((m = take(new RegExp(`^${esc(vipExpr)} @([\\w.-]+)`)))) {
        if (!inSet(t, m[1] ?? '', vipKey)) return 'nomatch';
      } else if ((m = take(new RegExp(`^${sel} saddr \\. ${sel} daddr @([\\w.-]+)`)))) {
        if (!inSet(t, m[1] ?? '', `${st.src} . ${st.dst}`)) return 'nomatch';
      } else if ((m = take(new RegExp(`^${sel} (saddr|daddr) (!= )?@([\\w.-]+)`)))) {
        const addr = m[1] === 'saddr' ? st.src : st.dst;
        if (inSet(t, m[3] ?? '', addr) === Boolean(m[2])) return 'nomatch';
      } else if ((m = take(new RegExp(`^${sel} daddr ([0-9a-f:][0-9a-f.:/]*)(?= )`)))) {
        const c = m[1] ?? '';
        if (!(c.includes('/') ? cidrContains(c, st.dst) : c === st.dst)) return 'nomatch';
      } else break;
    }
    // Statements.
    let m: RegExpExecArray | undefined;
    if (take(/counter/)) {
      // counters only count
    }
    if ((m = take(new RegExp(`^${esc(vipExpr)} vmap @([\\w.-]+)`)))) {
      const v = lookup(t, m[1] ?? '', vipKey);
      if (v === undefined) return 'nomatch';
      return this.verdict(t, fam, v, st, p, depth);
    }
    if ((m = take(/^numgen random mod (\d+) vmap \{ (.*) \}$/))) {
      const out: Outcome[] = [];
      for (const part of (m[2] ?? '').split(', ')) {
        const [, v = ''] = /^\d+ : (.*)$/.exec(part) ?? [];
        out.push(...this.verdict(t, fam, v, cloneState(st), p, depth));
      }
      return out;
    }
    if ((m = take(new RegExp(`^dnat ${sel} to ${esc(vipExpr)} map @([\\w.-]+)$`)))) {
      const target = lookup(t, m[1] ?? '', vipKey);
      // A failed map lookup ends the rule without a verdict, like the kernel's.
      if (target === undefined) return 'nomatch';
      const [ip = '', port = ''] = target.split(' . ');
      st.dst = ip;
      st.dport = Number(port);
      st.dnat = true;
      st.path.push(`dnat ${ip} ${port}`);
      return 'accept';
    }
    if ((m = take(new RegExp(`^dnat ${sel} to \\[?([0-9a-f.:]+?)\\]?:(\\d+)$`)))) {
      st.dst = m[1] ?? '';
      st.dport = Number(m[2]);
      st.dnat = true;
      st.path.push(`dnat ${st.dst} ${st.dport}`);
      return 'accept';
    }
    if ((m = take(new RegExp(`^update @([\\w.-]+) \\{ ${sel} saddr \\}`)))) {
      // Affinity learning is not simulated: a trace shows every endpoint a new client may get.
      if (rest === '') return 'continue';
    }
    if ((m = take(/^meta mark set meta mark ([|^]) (0x[0-9a-f]+)$/))) {
      st.mark = m[1] === '|' ? st.mark | Number(m[2]) : st.mark ^ Number(m[2]);
      return 'continue';
    }
    if (take(/^masquerade( fully-random)?$/)) {
      st.masq = true;
      return 'accept';
    }
    if ((m = take(/^(jump|goto) ([\w./-]+)$/))) return this.verdict(t, fam, `${m[1]} ${m[2]}`, st, p, depth);
    if (rest === 'drop') return 'drop';
    if (rest === 'reject') return 'reject';
    if (rest === 'return') return 'return';
    if (rest === 'accept') return 'accept';
    if (rest === '') return 'continue';
    throw new TraceError(`rule shape not understood: ${rule}`);
  }

  private verdict(t: FakeTable, fam: NftFamily, v: string, st: State, p: TracePacket, depth: number): Outcome[] {
    const m = /^(jump|goto) (\S+)$/.exec(v);
    if (!m) {
      if (v === 'drop' || v === 'reject' || v === 'accept' || v === 'return') return [{ flow: v, st }];
      throw new TraceError(`verdict not understood: ${v}`);
    }
    const outs = this.chain(t, fam, m[2] ?? '', st, p, depth + 1);
    // jump: "return"/end of chain continue after the rule; goto: they end the calling chain.
    return outs.map((o) => {
      if (o.flow === 'return' || o.flow === 'continue')
        return { flow: m[1] === 'jump' ? 'continue' : 'return', st: o.st };
      return o;
    });
  }
}

function cloneState(s: State): State {
  return { ...s, path: [...s.path] };
}

function esc(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
