// The thin part: hands a family's restore plan to ipset and iptables-restore in the order the
// renderer made safe (set elements that go away, then chains, then elements that arrive), and
// reads back what svcnet owns. The same code drives the real tools and the fakes: only the
// seams (kernel/iptables.ts, kernel/ipset.ts) differ.
import type { IPFamily } from '../../api/ip.ts';
import type { Ipset } from '../../kernel/ipset.ts';
import { builtinChains, type Iptables, iptTables, parseSave } from '../../kernel/iptables.ts';
import { type ExistingRules, existingRules, type RestorePlan } from './render.ts';
import { chainPrefix } from './structure.ts';

export class IptablesApplier {
  constructor(
    readonly iptables: Iptables,
    readonly ipset: Ipset,
  ) {}

  /** Applies one family's plan; rejects with a RestoreError (steps before the failing one stay). */
  async apply(family: IPFamily, plan: RestorePlan): Promise<void> {
    if (plan.ipsetPre) await this.ipset.restore(plan.ipsetPre, { exist: true });
    if (plan.iptables) await this.iptables.restore(family, plan.iptables, { noflush: true });
    if (plan.ipsetPost) await this.ipset.restore(plan.ipsetPost, { exist: true });
  }

  async existing(family: IPFamily): Promise<ExistingRules> {
    return existingRules(parseSave(await this.iptables.save(family)));
  }

  /**
   * Removes everything svcnet owns for `families`: the jumps from built-in chains, svcnet's
   * chains (flushed first, so references between them go in the same restore), then its sets.
   * Rules and sets of other programs stay. Safe when there is nothing.
   */
  async cleanup(families: readonly IPFamily[]): Promise<void> {
    for (const f of families) {
      const saved = parseSave(await this.iptables.save(f));
      const out: string[] = [];
      for (const t of iptTables) {
        const chains = saved.get(t);
        if (!chains) continue;
        const mine = [...chains.keys()].filter((c) => c.startsWith(chainPrefix));
        const jumps: string[] = [];
        for (const b of builtinChains[t])
          for (const r of chains.get(b)?.rules ?? []) if (/^-j SVCNET-\S+$/.test(r)) jumps.push(`-D ${b} ${r}`);
        if (mine.length === 0 && jumps.length === 0) continue;
        out.push(`*${t}`, ...mine.map((c) => `:${c} - [0:0]`), ...jumps, ...mine.map((c) => `-X ${c}`), 'COMMIT');
      }
      if (out.length > 0) await this.iptables.restore(f, `${out.join('\n')}\n`, { noflush: true });
    }
    const sets = (await this.ipset.list()).filter((n) =>
      families.some((f) => n.startsWith(`svcnet${f === 'IPv4' ? 4 : 6}-`)),
    );
    if (sets.length > 0) await this.ipset.restore(`${sets.map((n) => `destroy ${n}`).join('\n')}\n`);
  }
}
