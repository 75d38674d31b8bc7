// Pods reaching the API server: the parent namespace (where the API server listens on the LAN)
// has no route to any node's pod CIDR, and must not get one (DESIGN.md network safety: the lab
// adds nothing to the parent beyond one veth end and its address). So each node masquerades its
// pods' traffic to that one address behind its InternalIP, as a CNI's ipMasq does for traffic
// leaving the pod network; a pod reaches the API through the kubernetes Service's ClusterIP,
// which the node's agent DNATs to the parent address first. The table lives in the node's
// namespace and goes with it; it sits after kube-proxy's source NAT, which takes precedence.

import { type Runner, run } from '../kernel/exec.ts';
import { inNetns } from '../kernel/netns.ts';
import { uplinkName } from './topology.ts';

export const podEgressTable = 'svcnet-pod-egress';

/** The ruleset (pure): idempotent, it replaces the table's previous contents. */
export function podEgressRuleset(podCIDR: string, apiAddress: string): string {
  return [
    `table ip ${podEgressTable}`,
    `flush table ip ${podEgressTable}`,
    `table ip ${podEgressTable} {`,
    '  chain postrouting {',
    '    type nat hook postrouting priority srcnat + 10; policy accept;',
    `    oifname "${uplinkName}" ip saddr ${podCIDR} ip daddr ${apiAddress} masquerade`,
    '  }',
    '}',
    '',
  ].join('\n');
}

export async function installPodEgress(
  nodeNetns: string,
  podCIDR: string,
  apiAddress: string,
  runner: Runner = run,
): Promise<void> {
  await runner(inNetns(nodeNetns, ['nft', '-f', '-']), { input: podEgressRuleset(podCIDR, apiAddress) });
}
