// iptables in memory, behaving like iptables-restore and the kernel for what svcnet relies on:
// - a restore is atomic: a failing input changes nothing (commit "input", iptables-nft's one
//   batch), or each COMMIT applies its table on its own (commit "table", iptables-legacy);
// - without --noflush every table in the input is replaced whole; with it, a declared chain is
//   created or flushed and everything else stays, so rules other programs installed survive;
// - references are checked when a table commits: a jump or goto to a missing chain, a deleted
//   chain still referenced, a non-empty chain deleted, a set (FakeIpset) that does not exist or
//   has the other family, targets in tables that refuse them (DROP in nat, DNAT outside nat,
//   SET --map-set outside mangle, as the kernel does);
// - dump() is iptables-save text with built-in chains first and user chains sorted; load() is
//   a restore of a dump.
import { cidrFamilyOf, type IPFamily, ipFamilyOf } from '../api/ip.ts';
import type { FakeIpset } from './fake-ipset.ts';
import { builtinChains, type Iptables, type IptTable, iptTables, maxChainName, ruleWords, toolOf } from './iptables.ts';
import { RestoreError } from './restore-error.ts';

interface Chain {
  policy: string;
  /** Rule text after "-A NAME ", words joined by one space. */
  rules: string[];
}
type Table = Map<string, Chain>;
type FamilyState = Map<IptTable, Table>;

class Fail extends Error {}

const targets = new Set([
  'ACCEPT',
  'DROP',
  'RETURN',
  'REJECT',
  'DNAT',
  'SNAT',
  'MASQUERADE',
  'MARK',
  'CONNMARK',
  'SET',
  'LOG',
  'NOTRACK',
  'CT',
]);

function fresh(table: IptTable): Table {
  return new Map(builtinChains[table].map((c) => [c, { policy: 'ACCEPT', rules: [] }]));
}

function cloneTable(t: Table): Table {
  return new Map([...t].map(([k, c]) => [k, { policy: c.policy, rules: [...c.rules] }]));
}

function quote(w: string): string {
  return /[\s"]/.test(w) || w === '' ? `"${w.replace(/(["\\])/g, '\\$1')}"` : w;
}

function isBuiltin(table: IptTable, chain: string): boolean {
  return builtinChains[table].includes(chain);
}

export class FakeIptables implements Iptables {
  readonly backend = 'fake';
  private readonly state: Record<IPFamily, FamilyState> = { IPv4: new Map(), IPv6: new Map() };
  /** Every restore handed over, in order (tests assert on size and content). */
  readonly restores: { family: IPFamily; text: string; noflush: boolean }[] = [];

  constructor(
    readonly ipset?: FakeIpset,
    private readonly commit: 'input' | 'table' = 'input',
  ) {
    ipset?.addReferrer((name) => this.referencesSet(name));
  }

  async restore(family: IPFamily, text: string, opts: { noflush?: boolean } = {}): Promise<void> {
    this.restoreSync(family, text, opts);
  }

  restoreSync(family: IPFamily, text: string, opts: { noflush?: boolean } = {}): void {
    this.restores.push({ family, text, noflush: opts.noflush ?? false });
    const pending: [IptTable, Table][] = [];
    let table: IptTable | undefined;
    let work: Table | undefined;
    const lines = text.split('\n');
    for (const [i, raw] of lines.entries()) {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) continue;
      try {
        if (line.startsWith('*')) {
          if (work) throw new Fail(`table ${table} is not committed before ${line}`);
          const name = line.slice(1).trim();
          if (!iptTables.includes(name as IptTable)) throw new Fail(`Table '${name}' does not exist`);
          table = name as IptTable;
          const cur = this.state[family].get(table);
          work = opts.noflush && cur ? cloneTable(cur) : fresh(table);
          // Without --noflush the built-ins keep their policy until the input sets one.
          if (!opts.noflush && cur)
            for (const c of builtinChains[table]) work.set(c, { policy: cur.get(c)?.policy ?? 'ACCEPT', rules: [] });
          continue;
        }
        if (!work || !table) throw new Fail('no table specified');
        if (line === 'COMMIT') {
          this.validate(family, table, work);
          if (this.commit === 'table') this.state[family].set(table, work);
          else pending.push([table, work]);
          work = undefined;
          table = undefined;
          continue;
        }
        this.command(family, table, work, line);
      } catch (e) {
        if (e instanceof Fail) throw new RestoreError(toolOf(family), e.message, i + 1);
        throw e;
      }
    }
    if (work) throw new RestoreError(toolOf(family), `table ${table} has no COMMIT`, lines.length);
    for (const [t, w] of pending) this.state[family].set(t, w);
  }

  private command(family: IPFamily, table: IptTable, work: Table, line: string): void {
    if (line.startsWith(':')) {
      const [name = '', policy = ''] = line.slice(1).split(/\s+/);
      if (name.length > maxChainName)
        throw new Fail(`chain name '${name}' too long (must be under ${maxChainName + 1} chars)`);
      if (isBuiltin(table, name)) {
        if (policy !== 'ACCEPT' && policy !== 'DROP') throw new Fail(`Bad policy name '${policy}'`);
        const c = work.get(name);
        if (c) c.policy = policy;
        return;
      }
      if (policy !== '-') throw new Fail(`Can't set policy '${policy}' on '${name}' line`);
      // --noflush: a declared user chain is created or flushed.
      const c = work.get(name);
      if (c) c.rules = [];
      else work.set(name, { policy: '-', rules: [] });
      return;
    }
    const w = ruleWords(line);
    const [op, chain = '', ...rest] = w;
    const c = work.get(chain);
    switch (op) {
      case '-N':
        if (c) throw new Fail(`Chain '${chain}' already exists`);
        if (chain.length > maxChainName) throw new Fail(`chain name '${chain}' too long`);
        work.set(chain, { policy: '-', rules: [] });
        return;
      case '-X':
        if (!c) throw new Fail(`Chain '${chain}' does not exist`);
        if (isBuiltin(table, chain)) throw new Fail(`Can't delete built-in chain ${chain}`);
        if (c.rules.length > 0) throw new Fail(`CHAIN_DEL failed (Directory not empty): chain ${chain}`);
        work.delete(chain);
        return;
      case '-F':
        if (chain === '') for (const x of work.values()) x.rules = [];
        else if (!c) throw new Fail(`Chain '${chain}' does not exist`);
        else c.rules = [];
        return;
      case '-P':
        if (!c || !isBuiltin(table, chain)) throw new Fail(`Bad built-in chain name ${chain}`);
        c.policy = rest[0] ?? '';
        return;
      case '-Z':
        return;
      case '-A':
      case '-I':
      case '-D': {
        if (!c) throw new Fail(`Chain '${chain}' does not exist`);
        let pos: number | undefined;
        let words = rest;
        if ((op === '-I' || op === '-D') && /^\d+$/.test(words[0] ?? '')) {
          pos = Number(words[0]);
          words = words.slice(1);
        }
        if (op === '-D' && pos !== undefined && words.length === 0) {
          if (pos < 1 || pos > c.rules.length) throw new Fail('Index of deletion too big');
          c.rules.splice(pos - 1, 1);
          return;
        }
        const text = words.map(quote).join(' ');
        this.checkRule(family, text, words);
        if (op === '-A') c.rules.push(text);
        else if (op === '-I') {
          const at = (pos ?? 1) - 1;
          if (at > c.rules.length) throw new Fail('Index of insertion too big');
          c.rules.splice(at, 0, text);
        } else {
          const at = c.rules.indexOf(text);
          if (at < 0) throw new Fail('Bad rule (does a matching rule exist in that chain?)');
          c.rules.splice(at, 1);
        }
        return;
      }
      default:
        throw new Fail(`unknown command ${op}`);
    }
  }

  /** What iptables itself refuses before the kernel sees the rule. */
  private checkRule(family: IPFamily, text: string, words: readonly string[]): void {
    for (let k = 0; k < words.length; k++) {
      const w = words[k];
      const v = words[k + 1] ?? '';
      if (w === '-s' || w === '-d') {
        const f = v.includes('/') ? cidrFamilyOf(v) : ipFamilyOf(v);
        if (f !== family) throw new Fail(`host/network \`${v}' not found`);
      }
      if (w === '--to-destination' && /:\d+$/.test(v) && !/ -p (tcp|udp|sctp) /.test(` ${text} `)) {
        throw new Fail('Need TCP, UDP, SCTP or DCCP with port specification');
      }
    }
  }

  /** Reference and table checks of one table as it would commit. */
  private validate(family: IPFamily, table: IptTable, work: Table): void {
    for (const [name, c] of work) {
      for (const r of c.rules) {
        const w = ruleWords(r);
        for (let k = 0; k < w.length; k++) {
          const v = w[k + 1] ?? '';
          if (w[k] === '-j' || w[k] === '-g') {
            if (w[k] === '-j' && targets.has(v)) this.checkTarget(table, v, w);
            else if (!work.has(v) || isBuiltin(table, v)) throw new Fail(`Chain '${v}' does not exist (in ${name})`);
          }
          if (w[k] === '--match-set' || w[k] === '--map-set') {
            const s = this.ipset?.sets.get(v);
            if (!s) throw new Fail(`Set ${v} doesn't exist.`);
            if (s.family !== family) throw new Fail(`The set ${v} has another family`);
          }
        }
      }
    }
  }

  private checkTarget(table: IptTable, target: string, w: readonly string[]): void {
    if (target === 'DROP' && table === 'nat')
      throw new Fail('The "nat" table is not intended for filtering, the use of DROP is therefore inhibited.');
    if ((target === 'DNAT' || target === 'SNAT' || target === 'MASQUERADE') && table !== 'nat')
      throw new Fail(`RULE_APPEND failed (Invalid argument): ${target} outside the nat table`);
    if (target === 'REJECT' && table !== 'filter')
      throw new Fail('RULE_APPEND failed (Invalid argument): REJECT outside the filter table');
    if (target === 'SET' && w.includes('--map-set') && table !== 'mangle')
      throw new Fail('RULE_APPEND failed (Invalid argument): --map-set only usable from mangle table');
  }

  referencesSet(name: string): boolean {
    for (const fam of Object.values(this.state))
      for (const t of fam.values())
        for (const c of t.values())
          for (const r of c.rules) if (r.includes(`-set ${name} `) || r.endsWith(`-set ${name}`)) return true;
    return false;
  }

  async save(family: IPFamily, table?: IptTable): Promise<string> {
    return this.dump(family, table);
  }

  /** iptables-save text: tables in a fixed order, built-in chains first, user chains sorted. */
  dump(family: IPFamily, only?: IptTable): string {
    const out: string[] = [];
    for (const tname of iptTables) {
      if (only !== undefined && tname !== only) continue;
      const t = this.state[family].get(tname);
      if (!t) continue;
      const user = [...t.keys()].filter((c) => !isBuiltin(tname, c)).sort();
      const order = [...builtinChains[tname], ...user];
      out.push(`*${tname}`);
      for (const c of order) out.push(`:${c} ${t.get(c)?.policy ?? '-'} [0:0]`);
      for (const c of order) for (const r of t.get(c)?.rules ?? []) out.push(`-A ${c} ${r}`);
      out.push('COMMIT');
    }
    return out.length > 0 ? `${out.join('\n')}\n` : '';
  }

  /** Replaces the family's tables with a dump. */
  load(family: IPFamily, dump: string): void {
    this.state[family].clear();
    this.restoreSync(family, dump);
  }

  /** The rules of one chain (undefined when absent). */
  chain(family: IPFamily, table: IptTable, name: string): readonly string[] | undefined {
    return this.state[family].get(table)?.get(name)?.rules;
  }

  chains(family: IPFamily, table: IptTable): string[] {
    return [...(this.state[family].get(table)?.keys() ?? [])];
  }
}
