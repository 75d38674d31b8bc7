// The nftables plane's side of `svcnet explain`: the tables are listed back from the kernel of
// the node namespace (readback.ts) and walked by the tracer the conformance suite checks, so the
// path names the chains and maps actually programmed; a real flow's endpoint is read from
// conntrack.
import { joinHostPort } from '../../api/ip.ts';
import { findConntrackFlow } from '../../kernel/conntrack.ts';
import { type Runner, run } from '../../kernel/exec.ts';
import type { TraceVerdict } from '../conformance/types.ts';
import { trackedFlows } from '../explain/tracked.ts';
import type { PathStep, PlaneExplainer } from '../explain/types.ts';
import type { NftApplier } from './applier.ts';
import type { RuleCounters } from './readback.ts';
import { baseChains, type NftFamily, tableName } from './structure.ts';
import { NftTracer } from './trace.ts';

function counted(counters: RuleCounters, chain: string): string | undefined {
  const c = counters.get(chain);
  if (!c) return undefined;
  let packets = 0;
  for (const v of c.values()) packets += v.packets;
  return `counters: ${packets} packets`;
}

/** Tracer path entries → programmed steps. */
export function pathSteps(family: NftFamily, path: readonly string[], counters: RuleCounters): PathStep[] {
  const steps: PathStep[] = [{ kind: 'table', name: `${family} ${tableName}` }];
  for (const p of path) {
    const base = baseChains.find((b) => b.name === p);
    const dnat = /^dnat (\S+) (\d+)$/.exec(p);
    const count = counted(counters, p);
    if (base) steps.push({ kind: 'hook', name: p, detail: `${base.hook} priority ${base.priority}` });
    else if (dnat)
      steps.push({ kind: 'nat', name: 'dnat', detail: `to ${joinHostPort(dnat[1] ?? '', Number(dnat[2]))}` });
    else if (p === 'drop' || p === 'reject') steps.push({ kind: 'verdict', name: p });
    else if (p === 'no local socket' || p === 'no svcnet table') steps.push({ kind: 'verdict', name: p });
    else {
      const pick = /^(?:cluster|local)-pick-(\d+)$/.exec(p);
      const detail = pick
        ? `numgen random mod ${pick[1]}: each flow takes one of ${pick[1]} slots; the first is shown`
        : count;
      steps.push(detail ? { kind: 'chain', name: p, detail } : { kind: 'chain', name: p });
    }
  }
  return steps;
}

export function nftExplainer(
  applier: NftApplier,
  families: readonly NftFamily[],
  netns: string | undefined,
  runner: Runner = run,
): PlaneExplainer {
  return {
    async explain(packet, snap) {
      const family: NftFamily = packet.dst.includes(':') ? 'ip6' : 'ip';
      const rb = await applier.readBack(families.includes(family) ? [family] : []);
      const r = new NftTracer(rb.nft, { localAddresses: snap.node.ips }).trace(packet);
      const verdict: TraceVerdict =
        r.kind === 'endpoints' ? { kind: 'endpoints', endpoints: r.endpoints, masq: r.masq } : { kind: r.kind };
      return {
        plane: 'nftables',
        source: 'kernel',
        verdict,
        ...(r.kind !== 'endpoints' && r.rule ? { rule: r.rule } : {}),
        steps: pathSteps(family, r.path, rb.counters),
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
