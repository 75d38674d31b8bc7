// The iptables plane's side of `svcnet explain`: what is really programmed is read back from the
// node namespace (iptables-save and ipset save, whose text is exactly what the renderer writes,
// checked by kernel.test.ts), loaded into the fakes and walked by the tracer the conformance
// suite checks; a real flow's endpoint is read from conntrack.
import { type IPFamily, joinHostPort } from '../../api/ip.ts';
import { findConntrackFlow } from '../../kernel/conntrack.ts';
import { type Runner, run } from '../../kernel/exec.ts';
import { FakeIpset } from '../../kernel/fake-ipset.ts';
import { FakeIptables } from '../../kernel/fake-iptables.ts';
import { builtinChains, iptTables, parseSave } from '../../kernel/iptables.ts';
import type { TraceVerdict } from '../conformance/types.ts';
import { trackedFlows } from '../explain/tracked.ts';
import type { PathStep, PlaneExplainer } from '../explain/types.ts';
import type { IptablesApplier } from './applier.ts';
import { chainPrefix } from './structure.ts';
import { IptablesTracer } from './trace.ts';

/**
 * The kernel's svcnet state as fakes: svcnet's chains, the built-in chains' jumps to them (other
 * programs' rules left out: the tracer follows svcnet's shapes only) and svcnet's sets.
 */
export async function readBack(
  applier: IptablesApplier,
  family: IPFamily,
): Promise<{ ipt: FakeIptables; ipset: FakeIpset }> {
  const ipset = new FakeIpset();
  const mine = (await applier.ipset.save())
    .split('\n')
    .filter((l) => /^(create|add) svcnet[46]-/.test(l))
    .map((l) => l.replace(/ (hashsize|bucketsize|initval) \S+/g, ''));
  ipset.load(`${mine.join('\n')}\n`);
  const saved = parseSave(await applier.iptables.save(family));
  const out: string[] = [];
  for (const t of iptTables) {
    const chains = saved.get(t);
    if (!chains) continue;
    out.push(`*${t}`);
    const names = [...chains.keys()].filter((c) => c.startsWith(chainPrefix));
    for (const c of names) out.push(`:${c} - [0:0]`);
    for (const b of builtinChains[t])
      for (const r of chains.get(b)?.rules ?? []) if (/^-j SVCNET-\S+$/.test(r)) out.push(`-A ${b} ${r}`);
    for (const c of names) for (const r of chains.get(c)?.rules ?? []) out.push(`-A ${c} ${r}`);
    out.push('COMMIT');
  }
  const ipt = new FakeIptables(ipset);
  ipt.load(family, `${out.join('\n')}\n`);
  return { ipt, ipset };
}

/** Tracer path entries → programmed steps. */
export function pathSteps(path: readonly string[]): PathStep[] {
  return path.map((p) => {
    const dnat = /^DNAT (\S+)$/.exec(p);
    if (/^[a-z]+\/[A-Z]+$/.test(p)) return { kind: 'hook', name: p };
    if (dnat) return { kind: 'nat', name: 'DNAT', detail: `to ${dnat[1]}` };
    if (p === 'DROP' || p === 'REJECT' || p === 'no local socket') return { kind: 'verdict', name: p };
    if (p === 'not picked') return { kind: 'rule', name: 'statistic', detail: 'not picked' };
    return { kind: 'chain', name: p };
  });
}

export function iptablesExplainer(
  applier: IptablesApplier,
  netns: string | undefined,
  runner: Runner = run,
): PlaneExplainer {
  return {
    async explain(packet, snap) {
      const family: IPFamily = packet.dst.includes(':') ? 'IPv6' : 'IPv4';
      const { ipt, ipset } = await readBack(applier, family);
      const r = new IptablesTracer(ipt, ipset, { localAddresses: snap.node.ips }).trace(packet);
      const verdict: TraceVerdict =
        r.kind === 'endpoints' ? { kind: 'endpoints', endpoints: r.endpoints, masq: r.masq } : { kind: r.kind };
      return {
        plane: 'iptables',
        source: 'kernel',
        verdict,
        ...(r.kind !== 'endpoints' && r.rule ? { rule: r.rule } : {}),
        steps: pathSteps(r.path),
      };
    },
    async landing(flow) {
      const hit = await findConntrackFlow(netns, flow, runner);
      if (!hit || (hit.ip === flow.dst && hit.port === flow.dport)) return undefined;
      return joinHostPort(hit.ip, hit.port);
    },
    flows: () => trackedFlows(netns, runner),
  };
}
