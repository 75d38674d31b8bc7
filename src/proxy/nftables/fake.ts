// A fake of the kernel's nftables for the statements svcnet emits, behaving like the kernel
// where it matters to a data plane (DESIGN.md convention 3): a transaction applies entirely or
// not at all; `delete` of something absent fails (ENOENT); adding a map key that exists with
// other data fails (EEXIST); a chain or set still referenced, or a non-empty chain, cannot be
// deleted (EBUSY); rules and verdicts must reference existing chains and sets. `dump()` gives
// text that `load()` (or real `nft -f`) turns back into the same state, so "stale rules after
// a crash" is a plain unit test.

export type NftErrorCode = 'ENOENT' | 'EEXIST' | 'EBUSY' | 'EINVAL';

export class NftError extends Error {
  readonly code: NftErrorCode;
  constructor(
    code: NftErrorCode,
    message: string,
    readonly line?: number,
  ) {
    super(line === undefined ? message : `line ${line}: ${message}`);
    this.name = 'NftError';
    this.code = code;
  }
}

export function isNftError(e: unknown, code?: NftErrorCode): e is NftError {
  return e instanceof NftError && (code === undefined || e.code === code);
}

export interface FakeChain {
  base: string | undefined;
  rules: string[];
}

export interface FakeSet {
  kind: 'set' | 'map';
  body: string;
  /** key text → data text ("" for sets). */
  elements: Map<string, string>;
}

export interface FakeTable {
  chains: Map<string, FakeChain>;
  sets: Map<string, FakeSet>;
}

/** One ruleset (one network namespace). Tables are keyed "family name". */
export class FakeNft {
  tables = new Map<string, FakeTable>();
  /** Transactions applied successfully / refused. */
  commits = 0;
  refused = 0;

  /** Applies one `nft -f` transaction atomically. */
  apply(text: string): void {
    const backup = this.tables;
    this.tables = cloneTables(backup);
    try {
      const lines = text.split('\n');
      for (let i = 0; i < lines.length; i++) {
        const line = (lines[i] ?? '').trim();
        if (line === '' || line.startsWith('#')) continue;
        try {
          this.statement(line);
        } catch (e) {
          if (e instanceof NftError) throw new NftError(e.code, e.message, i + 1);
          throw e;
        }
      }
      this.checkReferences();
      this.commits++;
    } catch (e) {
      this.tables = backup;
      this.refused++;
      throw e;
    }
  }

  table(family: string, name: string): FakeTable | undefined {
    return this.tables.get(`${family} ${name}`);
  }

  private needTable(family: string, name: string): FakeTable {
    const t = this.table(family, name);
    if (!t) throw new NftError('ENOENT', `table ${family} ${name} does not exist`);
    return t;
  }

  private statement(line: string): void {
    const m = /^(add|delete|flush) (table|chain|rule|set|map|element) (ip6?|inet) (\S+)(?: (\S+))?(?: (.*))?$/.exec(
      line,
    );
    if (!m) throw new NftError('EINVAL', `syntax not understood by the fake: ${line}`);
    const [, verb, what, family = '', tname = '', obj = '', rest = ''] = m;
    const tkey = `${family} ${tname}`;
    if (what === 'table') {
      if (verb === 'add') {
        if (!this.tables.has(tkey)) this.tables.set(tkey, { chains: new Map(), sets: new Map() });
      } else if (verb === 'delete') {
        this.needTable(family, tname);
        this.tables.delete(tkey);
      } else {
        const t = this.needTable(family, tname);
        for (const c of t.chains.values()) c.rules = [];
        for (const s of t.sets.values()) s.elements.clear();
      }
      return;
    }
    const t = this.needTable(family, tname);
    if (what === 'chain') {
      const c = t.chains.get(obj);
      if (verb === 'add') {
        const base = rest ? rest.replace(/^\{\s*|\s*\}$/g, '').trim() : undefined;
        if (c) {
          if (base !== undefined && c.base !== base)
            throw new NftError('EEXIST', `chain ${obj} exists with another type`);
        } else t.chains.set(obj, { base, rules: [] });
        return;
      }
      if (!c) throw new NftError('ENOENT', `chain ${obj} does not exist`);
      if (verb === 'flush') c.rules = [];
      else {
        if (c.rules.length > 0) throw new NftError('EBUSY', `chain ${obj} is not empty`);
        const user = this.chainUser(t, obj);
        if (user) throw new NftError('EBUSY', `chain ${obj} is referenced by ${user}`);
        t.chains.delete(obj);
      }
      return;
    }
    if (what === 'rule') {
      const c = t.chains.get(obj);
      if (!c) throw new NftError('ENOENT', `chain ${obj} does not exist`);
      if (verb !== 'add') throw new NftError('EINVAL', `the fake only adds rules: ${line}`);
      for (const ref of rest.matchAll(/@([\w.-]+)/g)) {
        if (!t.sets.has(ref[1] ?? '')) throw new NftError('ENOENT', `set ${ref[1]} does not exist`);
      }
      for (const ref of rest.matchAll(/\b(?:goto|jump) ([\w./-]+)/g)) {
        if (!t.chains.has(ref[1] ?? '')) throw new NftError('ENOENT', `chain ${ref[1]} does not exist`);
      }
      c.rules.push(rest);
      return;
    }
    if (what === 'set' || what === 'map') {
      const s = t.sets.get(obj);
      if (verb === 'add') {
        const body = rest.replace(/^\{\s*|\s*\}$/g, '').trim();
        if (s) {
          if (s.body !== body || s.kind !== what)
            throw new NftError('EEXIST', `${what} ${obj} exists with another definition`);
        } else t.sets.set(obj, { kind: what, body, elements: new Map() });
        return;
      }
      if (!s || s.kind !== what) throw new NftError('ENOENT', `${what} ${obj} does not exist`);
      if (verb === 'flush') s.elements.clear();
      else {
        for (const [cn, c] of t.chains) {
          if (c.rules.some((r) => new RegExp(`@${escapeRe(obj)}(?![\\w.-])`).test(r)))
            throw new NftError('EBUSY', `set ${obj} is used by chain ${cn}`);
        }
        t.sets.delete(obj);
      }
      return;
    }
    // element
    const s = t.sets.get(obj);
    if (!s) throw new NftError('ENOENT', `set ${obj} does not exist`);
    const inner = rest.replace(/^\{\s*|\s*\}$/g, '');
    for (const raw of inner.split(',')) {
      const part = raw.trim();
      if (part === '') continue;
      const [k = '', v = ''] = s.kind === 'map' && verb === 'add' ? splitKV(part) : [part, ''];
      if (verb === 'add') {
        const old = s.elements.get(k);
        if (old !== undefined && old !== v)
          throw new NftError('EEXIST', `element ${k} exists in ${obj} with other data`);
        const target = /^(?:goto|jump) (\S+)$/.exec(v);
        if (target && !t.chains.has(target[1] ?? '')) throw new NftError('ENOENT', `chain ${target[1]} does not exist`);
        s.elements.set(k, v);
      } else if (verb === 'delete') {
        if (!s.elements.delete(k)) throw new NftError('ENOENT', `element ${k} does not exist in ${obj}`);
      } else throw new NftError('EINVAL', `flush element is not a statement`);
    }
  }

  private chainUser(t: FakeTable, chain: string): string | undefined {
    const re = new RegExp(`\\b(?:goto|jump) ${escapeRe(chain)}(?![\\w./-])`);
    for (const [cn, c] of t.chains) if (c.rules.some((r) => re.test(r))) return `chain ${cn}`;
    for (const [sn, s] of t.sets) {
      if (s.kind !== 'map') continue;
      for (const v of s.elements.values()) if (v === `goto ${chain}` || v === `jump ${chain}`) return `map ${sn}`;
    }
    return undefined;
  }

  /** End-of-transaction check: nothing references a chain or set that the batch deleted. */
  private checkReferences(): void {
    for (const [tk, t] of this.tables) {
      for (const [cn, c] of t.chains) {
        for (const r of c.rules) {
          for (const ref of r.matchAll(/@([\w.-]+)/g))
            if (!t.sets.has(ref[1] ?? '')) throw new NftError('ENOENT', `${tk} ${cn}: set ${ref[1]} missing`);
        }
      }
    }
  }

  /** Text that recreates this state with `load()` or `nft -f` (elements included). */
  dump(): string {
    const out: string[] = [];
    for (const [tk, t] of this.tables) {
      out.push(`add table ${tk}`);
      for (const [n, s] of t.sets) out.push(`add ${s.kind} ${tk} ${n} { ${s.body} }`);
      for (const [n, c] of t.chains) out.push(c.base ? `add chain ${tk} ${n} { ${c.base} }` : `add chain ${tk} ${n}`);
      for (const [n, c] of t.chains) for (const r of c.rules) out.push(`add rule ${tk} ${n} ${r}`);
      for (const [n, s] of t.sets) {
        if (s.elements.size === 0) continue;
        const els = [...s.elements].map(([k, v]) => (s.kind === 'map' ? `${k} : ${v}` : k));
        out.push(`add element ${tk} ${n} { ${els.join(', ')} }`);
      }
    }
    return out.length ? `${out.join('\n')}\n` : '';
  }

  /** Replaces the state with a dump (what a restarted agent finds after a crash). */
  load(dump: string): void {
    const fresh = new FakeNft();
    fresh.apply(dump);
    this.tables = fresh.tables;
  }

  /** Names of chains and sets in a table (what `nft -t -j list table` gives the applier). */
  listNames(family: string, name: string): { chains: string[]; sets: string[]; maps: string[] } | undefined {
    const t = this.table(family, name);
    if (!t) return undefined;
    const maps = [...t.sets].filter(([, s]) => s.kind === 'map').map(([n]) => n);
    return { chains: [...t.chains.keys()], sets: [...t.sets.keys()], maps };
  }
}

function splitKV(part: string): [string, string] {
  const i = part.indexOf(' : ');
  if (i < 0) throw new NftError('EINVAL', `map element without data: ${part}`);
  return [part.slice(0, i).trim(), part.slice(i + 3).trim()];
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

function cloneTables(src: Map<string, FakeTable>): Map<string, FakeTable> {
  const out = new Map<string, FakeTable>();
  for (const [k, t] of src) {
    const chains = new Map<string, FakeChain>();
    for (const [n, c] of t.chains) chains.set(n, { base: c.base, rules: [...c.rules] });
    const sets = new Map<string, FakeSet>();
    for (const [n, s] of t.sets) sets.set(n, { kind: s.kind, body: s.body, elements: new Map(s.elements) });
    out.set(k, { chains, sets });
  }
  return out;
}
