// Layer 2's decision: one owner per address among the eligible nodes; this node announces the
// addresses it owns, on the interfaces the L2Advertisements that select it name (none: all).
import { ipFamilyOf } from '../../api/ip.ts';
import type { Announcement, Plan, Withheld } from '../contract.ts';
import { electOwner, eligibleNodes, ingressIPs, poolOf, serviceKey } from '../election.ts';
import type { World } from '../world.ts';

/** Every address's owner in this view: what each speaker computes alike (tests and metrics use it). */
export function layer2Owners(world: World): Map<string, string> {
  const owners = new Map<string, string>();
  for (const svc of world.services) {
    const ips = ingressIPs(svc);
    if (ips.length === 0) continue;
    const { nodes } = eligibleNodes(world, svc, world.l2);
    for (const ip of ips) {
      const owner = electOwner(ip, nodes.keys());
      if (owner) owners.set(`${serviceKey(svc)} ${ip}`, owner);
    }
  }
  return owners;
}

export function planLayer2(world: World): Plan {
  const announce: Announcement[] = [];
  const withheld = new Map<string, Withheld>();
  for (const svc of world.services) {
    const ips = ingressIPs(svc);
    // ingressIPs leaves out other classes and addresses a balancer holds (ipMode Proxy).
    if (ips.length === 0) continue;
    const key = serviceKey(svc);
    const { nodes, reason } = eligibleNodes(world, svc, world.l2);
    for (const ip of ips) {
      const owner = electOwner(ip, nodes.keys());
      if (owner !== world.self) {
        withheld.set(`${key} ${ip}`, owner === undefined ? (reason ?? 'nodeNotSelected') : 'notOwner');
        continue;
      }
      const advs = nodes.get(owner) ?? [];
      const named = advs.map((a) => a.spec?.interfaces ?? []);
      // An advertisement without interfaces means "all", which wins over any list.
      const interfaces = named.some((l) => l.length === 0) ? [] : [...new Set(named.flat())].sort();
      announce.push({ service: key, ip, family: ipFamilyOf(ip) ?? 'IPv4', pool: poolOf(svc) ?? '', interfaces });
    }
  }
  return { announce, withheld };
}
