// Every address:port a service port answers on, decided once for every data plane: the kernel
// planes key their dispatch on it, the userspace plane binds it, conntrack cleanup matches it.
import { canonicalIP, type IPFamily, ipFamilyOf } from '../api/ip.ts';
import type { ServicePortInfo } from './types.ts';

export type VipKind = 'clusterIP' | 'externalIP' | 'loadBalancer' | 'nodePort' | 'localhostNodePort';

export interface Vip {
  /** Canonical text: what nft/iptables print and what a plane's keys must match. */
  readonly addr: string;
  readonly family: IPFamily;
  /** The port a packet carries to reach it (the service port, or the NodePort). */
  readonly port: number;
  readonly kind: VipKind;
}

export interface VipContext {
  /** Resolved NodePort addresses (loopback excluded: see localhostNodePorts). */
  readonly nodePortIPs: readonly string[];
  /** NodePorts also on 127.0.0.1 and ::1 (5.22). */
  readonly localhostNodePorts: boolean;
}

const localhost = { IPv4: '127.0.0.1', IPv6: '::1' } as const;

/** The VIPs of `svc`, of one family or (undefined) both, in a stable order. */
export function vipsOf(svc: ServicePortInfo, ctx: VipContext, family?: IPFamily): Vip[] {
  const out: Vip[] = [];
  const add = (ip: string, port: number, kind: VipKind) => {
    const f = ipFamilyOf(ip);
    if (f === undefined || (family !== undefined && f !== family)) return;
    out.push({ addr: canonicalIP(ip) ?? ip, family: f, port, kind });
  };
  for (const ip of svc.clusterIPs) add(ip, svc.port, 'clusterIP');
  for (const ip of svc.externalIPs) add(ip, svc.port, 'externalIP');
  for (const ip of svc.loadBalancerIPs) add(ip, svc.port, 'loadBalancer');
  if (svc.nodePort > 0) {
    for (const ip of ctx.nodePortIPs) add(ip, svc.nodePort, 'nodePort');
    if (ctx.localhostNodePorts) {
      add(localhost.IPv4, svc.nodePort, 'localhostNodePort');
      add(localhost.IPv6, svc.nodePort, 'localhostNodePort');
    }
  }
  return out;
}
