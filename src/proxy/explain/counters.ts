// The agent's /counters: the plane's flow counts (PlaneExplainer.flows) grouped by the Service
// port their destination is on this node, per endpoint. Destinations that are no Service port
// here (a flow that outlived its Service, traffic another tool translated) are summed apart.
import { canonicalIP } from '../../api/ip.ts';
import type { ProxySnapshot } from '../snapshot.ts';
import type { ServicePortInfo } from '../types.ts';
import { vipsOf } from '../vips.ts';
import type { PlaneFlows } from './types.ts';

export interface ServicePortCounters {
  readonly namespace: string;
  readonly name: string;
  readonly portName: string;
  readonly port: number;
  readonly protocol: string;
  readonly total: number;
  /** Per endpoint "ip:port", highest first. */
  readonly endpoints: readonly { readonly endpoint: string; readonly count: number }[];
}

export interface NodeCounters {
  readonly node: string;
  readonly plane: string;
  readonly kind: PlaneFlows['kind'];
  readonly services: readonly ServicePortCounters[];
  /** Translated flows whose destination is no Service port on this node. */
  readonly unmatched: number;
}

export function groupFlows(snap: ProxySnapshot, plane: string, flows: PlaneFlows): NodeCounters {
  const byVip = new Map<string, ServicePortInfo>();
  for (const svc of snap.services.values())
    for (const v of vipsOf(svc, snap)) byVip.set(`${svc.protocol} ${v.addr} ${v.port}`, svc);
  const grouped = new Map<ServicePortInfo, Map<string, number>>();
  let unmatched = 0;
  for (const c of flows.counts) {
    const svc = byVip.get(`${c.proto} ${canonicalIP(c.dst) ?? c.dst} ${c.dport}`);
    if (!svc) {
      unmatched += c.count;
      continue;
    }
    let eps = grouped.get(svc);
    if (!eps) grouped.set(svc, (eps = new Map()));
    eps.set(c.endpoint, (eps.get(c.endpoint) ?? 0) + c.count);
  }
  const services = [...grouped].map(([svc, eps]) => ({
    namespace: svc.namespace,
    name: svc.name,
    portName: svc.portName,
    port: svc.port,
    protocol: svc.protocol,
    total: [...eps.values()].reduce((a, b) => a + b, 0),
    endpoints: [...eps]
      .map(([endpoint, count]) => ({ endpoint, count }))
      .sort((a, b) => b.count - a.count || a.endpoint.localeCompare(b.endpoint)),
  }));
  services.sort((a, b) => `${a.namespace}/${a.name}:${a.port}`.localeCompare(`${b.namespace}/${b.name}:${b.port}`));
  return { node: snap.node.name, plane, kind: flows.kind, services, unmatched };
}
