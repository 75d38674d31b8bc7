// The userspace plane's side of `svcnet explain`: the path is the plane's live state (the
// listener bound for the VIP, the route the shared rules give this client, the balancer and
// any affinity pin), and a real flow's endpoint comes from the landing table the listeners fill
// on every connect (by client address: the native relay does not report client ports).
import { isIP } from 'node:net';
import { isLoopbackIP, joinHostPort } from '../../api/ip.ts';
import type { FlowTuple, PathStep, PlaneExplainer, PlaneFlowCount, PlaneTrace } from '../explain/types.ts';
import type { EndpointInfo } from '../types.ts';
import type { UserspacePlane } from './plane.ts';
import { type ListenerSpec, listenerId } from './render.ts';

const maxLandings = 4096;

const maxCounted = 65_536;

/**
 * The most recent endpoint per (protocol, client address, listener), and how many connections
 * (UDP: flows) each (address clients were given, endpoint) pair has had since the plane started.
 */
export class LandingTable {
  private readonly byKey = new Map<string, string>();
  private readonly counted = new Map<string, PlaneFlowCount>();

  record(spec: ListenerSpec, src: string, ep: EndpointInfo): void {
    const endpoint = joinHostPort(ep.ip, ep.port);
    const ck = `${spec.proto} ${joinHostPort(spec.vip, spec.port)} ${endpoint}`;
    const c = this.counted.get(ck);
    // Bounded like the landings: pairs of endpoints long gone make room for new ones.
    if (!c && this.counted.size >= maxCounted) this.counted.clear();
    this.counted.set(ck, { proto: spec.proto, dst: spec.vip, dport: spec.port, endpoint, count: (c?.count ?? 0) + 1 });
    const k = `${listenerId(spec.proto, spec.host, spec.port)} ${src}`;
    this.byKey.delete(k);
    this.byKey.set(k, ep.key);
    if (this.byKey.size > maxLandings) {
      const oldest = this.byKey.keys().next().value;
      if (oldest !== undefined) this.byKey.delete(oldest);
    }
  }

  get(id: string, src: string): string | undefined {
    return this.byKey.get(`${id} ${src}`);
  }

  counts(): PlaneFlowCount[] {
    return [...this.counted.values()];
  }
}

const refuses =
  'a userspace proxy cannot silently discard a connection: where kernel planes drop, it refuses at once (TCP) or drops and counts (UDP)';

export function userspaceExplainer(plane: UserspacePlane, landings: LandingTable): PlaneExplainer {
  return {
    async explain(p, snap): Promise<PlaneTrace> {
      const steps: PathStep[] = [];
      const v = plane.trace(p);
      const mapped = isIP(p.dst) ? plane.vips.addressFor(p.dst) : undefined;
      const host = mapped ?? p.dst;
      const local = mapped !== undefined || snap.node.ips.includes(p.dst) || isLoopbackIP(p.dst);
      const spec = local ? plane.listenerSpec(listenerId(p.proto, host, p.dport)) : undefined;
      let pinnedTo: string | undefined;
      if (spec) {
        steps.push({
          kind: 'listener',
          name: `${p.proto.toLowerCase()} ${host}:${p.dport}`,
          detail:
            mapped && mapped !== p.dst ? `VIP ${p.dst} is bound as ${mapped}` : `${spec.dest} socket on this node`,
        });
        const route = plane.route(spec, p.src);
        if (route) {
          steps.push({
            kind: 'route',
            name: route.svc.key,
            detail:
              route.verdict.kind === 'endpoints'
                ? `${route.verdict.endpoints.length} eligible endpoint(s)`
                : `${route.verdict.kind} (${route.verdict.reason})`,
          });
          const aff = route.svc.affinityTimeoutSeconds;
          pinnedTo = route.balancer.pinned(p.src);
          steps.push({
            kind: 'balancer',
            name: route.svc.lbAlgorithm,
            detail:
              aff === undefined
                ? 'no affinity'
                : `ClientIP affinity ${aff}s${pinnedTo ? `, pinned to ${pinnedTo}` : ''}`,
          });
        }
      } else if (local) steps.push({ kind: 'verdict', name: 'no listener', detail: 'the kernel refuses: no socket' });
      else steps.push({ kind: 'verdict', name: 'not local', detail: 'not an address this plane answers on' });
      const rule =
        v.kind === 'REJECT' || v.kind === 'DROP'
          ? spec
            ? `listener ${spec.proto.toLowerCase()} ${host}:${p.dport}: no endpoint for this client`
            : 'no socket on this address and port'
          : undefined;
      return {
        plane: 'userspace',
        source: 'process',
        verdict: v,
        ...(rule ? { rule } : {}),
        steps,
        ...(pinnedTo ? { pinnedTo } : {}),
        deviation: refuses,
        ...(v.kind === 'endpoints'
          ? {
              masqueradeReason:
                "the userspace proxy opens its own connection to the endpoint: the endpoint sees this node's address, never the client's",
            }
          : {}),
      };
    },
    async landing(f: FlowTuple) {
      const host = plane.vips.addressFor(f.dst) ?? f.dst;
      return landings.get(listenerId(f.proto, host, f.dport), f.src);
    },
    async flows() {
      return { kind: 'accepted', counts: landings.counts() };
    },
  };
}
