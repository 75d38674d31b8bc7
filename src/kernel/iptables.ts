// The iptables seam: `iptables-restore` / `ip6tables-restore` (optionally `--noflush`) and
// `iptables-save`, inside the node's network namespace, through either backend the machine has
// (iptables-nft, iptables-legacy, or whichever `iptables-restore` the alternatives point to).
// FakeIptables (fake-iptables.ts) applies the same text in memory with the kernel's checks.
import type { IPFamily } from '../api/ip.ts';
import { type Runner, run } from './exec.ts';
import { restoreMessage } from './ipset.ts';
import { inNetns } from './netns.ts';
import { blamedLine, RestoreError } from './restore-error.ts';

export const iptTables = ['raw', 'mangle', 'nat', 'filter'] as const;
export type IptTable = (typeof iptTables)[number];

/** Built-in chains per table, in the order iptables-save prints them. */
export const builtinChains: Readonly<Record<IptTable, readonly string[]>> = {
  raw: ['PREROUTING', 'OUTPUT'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
};

/** The kernel's limit on chain names (XT_EXTENSION_MAXNAMELEN - 1). */
export const maxChainName = 28;

export type IptablesBackend = 'default' | 'nft' | 'legacy';
export const iptablesBackends: readonly IptablesBackend[] = ['default', 'nft', 'legacy'];

export interface Iptables {
  /** Which backend runs the rules ("nft", "legacy", "fake"). */
  readonly backend: string;
  /**
   * Loads restore text for one family. Without `noflush` every table named in the text is
   * replaced whole; with it only the chains the text declares are flushed (and created if
   * missing). Rejects with a RestoreError; a rejected restore leaves the tables as they were.
   */
  restore(family: IPFamily, text: string, opts?: { noflush?: boolean }): Promise<void>;
  /** `iptables-save` text of one table or all (counters zero, comments dropped). */
  save(family: IPFamily, table?: IptTable): Promise<string>;
}

export function toolOf(family: IPFamily): 'iptables' | 'ip6tables' {
  return family === 'IPv4' ? 'iptables' : 'ip6tables';
}

function program(family: IPFamily, backend: IptablesBackend, what: 'restore' | 'save'): string {
  return `${toolOf(family)}${backend === 'default' ? '' : `-${backend}`}-${what}`;
}

export class ExecIptables implements Iptables {
  readonly backend: string;
  constructor(
    private readonly netns: string | undefined,
    private readonly which: IptablesBackend = 'default',
    private readonly runner: Runner = run,
  ) {
    this.backend = which;
  }

  async restore(family: IPFamily, text: string, opts: { noflush?: boolean } = {}): Promise<void> {
    // -w: wait for the xtables lock (legacy) instead of failing when another program holds it.
    const argv = [program(family, this.which, 'restore'), '-w', '5', ...(opts.noflush ? ['--noflush'] : [])];
    try {
      await this.runner(inNetns(this.netns, argv), { input: text, timeoutMs: 120_000 });
    } catch (e) {
      const stderr = (e as { stderr?: string }).stderr ?? String(e);
      throw new RestoreError(toolOf(family), restoreMessage(stderr), blamedLine(stderr), e);
    }
  }

  async save(family: IPFamily, table?: IptTable): Promise<string> {
    const argv = [program(family, this.which, 'save'), ...(table ? ['-t', table] : [])];
    try {
      const { stdout } = await this.runner(inNetns(this.netns, argv), { timeoutMs: 60_000 });
      return stdout
        .split('\n')
        .filter((l) => !l.startsWith('#'))
        .join('\n');
    } catch (e) {
      const stderr = (e as { stderr?: string }).stderr ?? String(e);
      throw new RestoreError(toolOf(family), `save failed: ${restoreMessage(stderr)}`, undefined, e);
    }
  }
}

/** Splits a rule the way iptables-restore does: whitespace, with "double quoted" words. */
export function ruleWords(text: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (let m = re.exec(text); m; m = re.exec(text))
    out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : (m[2] ?? ''));
  return out;
}

export interface SavedChain {
  /** Built-in chains: ACCEPT/DROP; user chains: "-". */
  readonly policy: string;
  /** Rule text after "-A CHAIN ", as printed. */
  readonly rules: string[];
}

/** iptables-save text → table → chain → rules. */
export function parseSave(text: string): Map<IptTable, Map<string, SavedChain>> {
  const out = new Map<IptTable, Map<string, SavedChain>>();
  let cur: Map<string, SavedChain> | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('*')) {
      cur = new Map();
      out.set(line.slice(1).trim() as IptTable, cur);
    } else if (line.startsWith(':') && cur) {
      const [name = '', policy = '-'] = line.slice(1).split(/\s+/);
      cur.set(name, { policy, rules: [] });
    } else if (line.startsWith('-A ') && cur) {
      const rest = line.slice(3);
      const sp = rest.indexOf(' ');
      const chain = sp < 0 ? rest : rest.slice(0, sp);
      cur.get(chain)?.rules.push(sp < 0 ? '' : rest.slice(sp + 1));
    }
  }
  return out;
}
