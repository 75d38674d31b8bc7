// The kernel planes' flow counts: their DNAT leaves one conntrack entry per flow, original
// destination (the VIP) and reply source (the endpoint), so the connection table is the one
// per-endpoint counter nftables' maps, iptables' rules and IPVS share (nftables keeps no rule per
// endpoint to carry a counter).
import { joinHostPort } from '../../api/ip.ts';
import { listTranslatedFlows } from '../../kernel/conntrack.ts';
import { type Runner, run } from '../../kernel/exec.ts';
import type { PlaneFlows } from './types.ts';

export async function trackedFlows(netns: string | undefined, runner: Runner = run): Promise<PlaneFlows> {
  const flows = await listTranslatedFlows(netns, runner);
  return {
    kind: 'tracked',
    counts: flows.map((f) => ({
      proto: f.proto,
      dst: f.dst,
      dport: f.dport,
      endpoint: joinHostPort(f.endpointIP, f.endpointPort),
      count: f.flows,
    })),
  };
}
