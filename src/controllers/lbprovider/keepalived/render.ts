// keepalived's configuration for one member of a VRRP pair: pure, so the text is tested as data.
// One vrrp_instance holds every address the pair floats: the pair's gateway address on the
// clients' network (what they route the external range to) and every external IP, as /32s on
// the same interface. VRRPv3 so the advertisement interval can be below a second (RFC 5798 §5.2.7:
// centiseconds); the backup takes over after about three missed advertisements (Master_Down_Interval).

export interface VrrpMember {
  /** The VRRP router id shared by the pair (1-255). */
  routerId: number;
  /** Higher wins; the pair's members differ. */
  priority: number;
  /** The interface VRRP speaks on and the addresses live on. */
  dev: string;
  /** The address clients route the external range to, with its prefix (e.g. 169.254.3.5/24). */
  gateway: string;
  /** External IPs, each held as a host address. */
  vips: readonly string[];
  advertMs: number;
}

export function renderKeepalived(m: VrrpMember): string {
  const advert = (Math.max(10, m.advertMs) / 1000).toFixed(2);
  const host = (ip: string) => `${ip}/${ip.includes(':') ? 128 : 32}`;
  return [
    'global_defs {',
    '  vrrp_version 3',
    // Gratuitous ARP at once on takeover, again after 1 s: clients' neighbour caches follow.
    '  vrrp_garp_master_delay 1',
    '  vrrp_garp_master_repeat 2',
    '}',
    '',
    'vrrp_instance edge {',
    '  state BACKUP',
    `  interface ${m.dev}`,
    `  virtual_router_id ${m.routerId}`,
    `  priority ${m.priority}`,
    `  advert_int ${advert}`,
    // A recovered member stays backup: taking the addresses back would move traffic a second time
    // for nothing (measured: about half the requests of the takeover's seconds failed).
    '  nopreempt',
    '  virtual_ipaddress {',
    `    ${m.gateway} dev ${m.dev}`,
    ...[...m.vips].sort().map((ip) => `    ${host(ip)} dev ${m.dev}`),
    '  }',
    '}',
    '',
  ].join('\n');
}
