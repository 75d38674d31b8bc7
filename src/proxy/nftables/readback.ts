// Reads what the kernel holds back into the fake's model, so `svcnet explain` walks the rules
// actually programmed, not the renderer's intent. Input is `nft list table <family> svcnet`
// (the nested text form); output is the same state as FakeNft, which NftTracer walks. The text
// differs from what render.ts emits only in spelling the kernel normalizes (counters carry
// values, `== 0` is printed as `== 0x00000000`, priorities by name); those are folded back here.
import { FakeNft } from './fake.ts';

/** Packet/byte counts of the rules that have a counter, by chain then rule index. */
export type RuleCounters = Map<string, Map<number, { packets: number; bytes: number }>>;

export interface ReadBack {
  readonly nft: FakeNft;
  readonly counters: RuleCounters;
}

const priorityNames: Record<string, number> = {
  raw: -300,
  mangle: -150,
  dstnat: -100,
  filter: 0,
  security: 50,
  srcnat: 100,
};

function basePriority(text: string): string {
  // "priority dstnat - 10" → "-110"; plain numbers pass through.
  return text.replace(/priority ([a-z]+)(?: ([+-]) (\d+))?;/, (_m, name: string, sign?: string, off?: string) => {
    const base = priorityNames[name] ?? 0;
    const n = off === undefined ? base : sign === '-' ? base - Number(off) : base + Number(off);
    return `priority ${n};`;
  });
}

function normalizeRule(rule: string): { text: string; packets?: number; bytes?: number } {
  let packets: number | undefined;
  let bytes: number | undefined;
  const text = rule
    .replace(/ counter packets (\d+) bytes (\d+)/, (_m, p: string, b: string) => {
      packets = Number(p);
      bytes = Number(b);
      return ' counter';
    })
    .replace(/^counter packets (\d+) bytes (\d+)/, (_m, p: string, b: string) => {
      packets = Number(p);
      bytes = Number(b);
      return 'counter';
    })
    .replace(/ == 0x0+(?= |$)/, ' == 0')
    .trim();
  return packets === undefined ? { text } : { text, packets, bytes: bytes ?? 0 };
}

/** Parses the output of `nft list table` for one or more tables. */
export function parseNftList(text: string): ReadBack {
  const lines = text.split('\n');
  const out: string[] = [];
  const rules: string[] = [];
  const elements: string[] = [];
  const counters: RuleCounters = new Map();
  let table = '';
  let i = 0;
  const next = () => (lines[i++] ?? '').trim();
  while (i < lines.length) {
    const line = next();
    let m: RegExpExecArray | null;
    if ((m = /^table (ip6?|inet) (\S+) \{$/.exec(line))) {
      table = `${m[1]} ${m[2]}`;
      out.push(`add table ${table}`);
    } else if ((m = /^(set|map) (\S+) \{$/.exec(line))) {
      const [, kind, name] = m;
      const body: string[] = [];
      let els = '';
      for (;;) {
        const l = next();
        if (l === '}' || i >= lines.length) break;
        if (l.startsWith('elements = {')) {
          els = l.slice('elements = {'.length);
          while (!els.trimEnd().endsWith('}') && i < lines.length) els += ` ${next()}`;
          els = els.trim().replace(/\}$/, '').trim();
        } else if (l !== '') body.push(`${l};`);
      }
      out.push(`add ${kind} ${table} ${name} { ${body.join(' ')} }`);
      if (els !== '') elements.push(`add element ${table} ${name} { ${els.replace(/\s+/g, ' ')} }`);
    } else if ((m = /^chain (\S+) \{$/.exec(line))) {
      const name = m[1] ?? '';
      let base: string | undefined;
      let n = 0;
      for (;;) {
        const l = next();
        if (l === '}' || i >= lines.length) break;
        if (l === '') continue;
        if (n === 0 && base === undefined && /^type \S+ hook /.test(l)) {
          base = basePriority(l);
          continue;
        }
        const r = normalizeRule(l);
        if (r.packets !== undefined) {
          const c = counters.get(name) ?? new Map();
          c.set(n, { packets: r.packets, bytes: r.bytes ?? 0 });
          counters.set(name, c);
        }
        rules.push(`add rule ${table} ${name} ${r.text}`);
        n++;
      }
      out.push(base ? `add chain ${table} ${name} { ${base} }` : `add chain ${table} ${name}`);
    }
  }
  const nft = new FakeNft();
  if (out.length > 0) nft.load(`${[...out, ...rules, ...elements].join('\n')}\n`);
  return { nft, counters };
}
