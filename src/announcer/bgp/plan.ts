// BGP's decision: every eligible node announces every address of the Service with its own next
// hop (ECMP at the router), one route per matching BGPAdvertisement, aggregated to its
// aggregationLength, with its localPref and its communities (Community aliases resolved).
import { bigIntToIP, ipToBigInt } from '../../api/ip.ts';
import type { BGPAdvertisement, BGPPeer } from '../../api/types.ts';
import { formatCommunity, parseCommunity, parseGoDuration } from '../../api/validation/metallb.ts';
import type { Announcement, BGPAttributes, PeerSpec, Plan, Withheld } from '../contract.ts';
import { eligibleNodes, ingressIPs, nodeSelectedBy, poolOf, serviceKey } from '../election.ts';
import type { World } from '../world.ts';

/** "10.0.0.5" with length 24 → "10.0.0.0/24". */
export function aggregate(ip: string, length: number): string | undefined {
  const v = ipToBigInt(ip);
  if (!v) return undefined;
  const bits = v.family === 'IPv4' ? 32 : 128;
  const len = Math.min(Math.max(length, 0), bits);
  const host = (1n << BigInt(bits - len)) - 1n;
  return `${bigIntToIP(v.family, v.value & ~host)}/${len}`;
}

/** Community aliases from every Community object; a later duplicate does not override. */
export function communityAliases(world: World): Map<string, string> {
  const out = new Map<string, string>();
  for (const c of world.communities)
    for (const a of c.spec?.communities ?? []) if (a.name && a.value && !out.has(a.name)) out.set(a.name, a.value);
  return out;
}

export function attributesFor(
  adv: BGPAdvertisement,
  ip: string,
  aliases: ReadonlyMap<string, string>,
): BGPAttributes | undefined {
  const v4 = !ip.includes(':');
  const prefix = aggregate(ip, v4 ? (adv.spec?.aggregationLength ?? 32) : (adv.spec?.aggregationLengthV6 ?? 128));
  if (!prefix) return undefined;
  const communities: string[] = [];
  for (const c of adv.spec?.communities ?? []) {
    const parsed = parseCommunity(aliases.get(c) ?? c);
    // An unknown alias or a bad value drops that community, never the route (validation warns).
    if (typeof parsed !== 'string') communities.push(formatCommunity(parsed));
  }
  return {
    prefix,
    ...(adv.spec?.localPref !== undefined ? { localPref: adv.spec.localPref } : {}),
    communities,
    peers: adv.spec?.peers ?? [],
  };
}

/** MetalLB's defaults: port 179, hold time 90 s (keepalive a third of it). */
export const defaultHoldSeconds = 90;

/** The session a BGPPeer asks of this node. */
export function peerSpec(p: BGPPeer): PeerSpec {
  const s = p.spec;
  const hold = s.holdTime !== undefined ? parseGoDuration(s.holdTime) : undefined;
  const keep = s.keepaliveTime !== undefined ? parseGoDuration(s.keepaliveTime) : undefined;
  return {
    name: p.metadata?.name ?? '',
    myASN: s.myASN,
    peerASN: s.peerASN,
    peerAddress: s.peerAddress,
    peerPort: s.peerPort ?? 179,
    ...(s.sourceAddress ? { sourceAddress: s.sourceAddress } : {}),
    holdTime: hold === undefined ? defaultHoldSeconds : Math.floor(hold / 1000),
    ...(keep !== undefined ? { keepaliveTime: Math.floor(keep / 1000) } : {}),
    ...(s.routerID ? { routerID: s.routerID } : {}),
    ...(s.password ? { password: s.password } : {}),
    // Secrets are read by whoever runs the speaker with access to them; the lab API serves none.
    ...(s.passwordSecret?.name && !s.password
      ? { passwordError: `passwordSecret ${s.passwordSecret.name}: Secrets are not read by this speaker; set password` }
      : {}),
  };
}

/** The BGPPeers whose nodeSelectors select this node (none: every node), by name. */
export function peersFor(world: World): PeerSpec[] {
  const self = world.nodes.find((n) => n.metadata?.name === world.self);
  if (!self) return [];
  return world.peers
    .filter((p) => nodeSelectedBy(p, self))
    .map(peerSpec)
    .sort((a, b) => a.name.localeCompare(b.name));
}

export function planBGP(world: World): Plan {
  const announce: Announcement[] = [];
  const withheld = new Map<string, Withheld>();
  const aliases = communityAliases(world);
  for (const svc of world.services) {
    const ips = ingressIPs(svc);
    if (ips.length === 0) continue;
    const key = serviceKey(svc);
    const { nodes, reason, rejected } = eligibleNodes(world, svc, world.bgpAdvertisements);
    const mine = nodes.get(world.self);
    for (const ip of ips) {
      if (!mine) {
        withheld.set(`${key} ${ip}`, rejected.get(world.self) ?? reason ?? 'nodeNotSelected');
        continue;
      }
      const bgp = mine.flatMap((a) => attributesFor(a, ip, aliases) ?? []);
      announce.push({
        service: key,
        ip,
        family: ip.includes(':') ? 'IPv6' : 'IPv4',
        pool: poolOf(svc) ?? '',
        interfaces: [],
        bgp,
      });
    }
  }
  return { announce, withheld, peers: peersFor(world) };
}
