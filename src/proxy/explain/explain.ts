// The explanation of one flow on one node: which Service port the destination is (the VIP table
// every plane keys on, ../vips.ts), which endpoints are eligible and why the others are not
// (../eligibility.ts, the decision every plane renders), and what the plane's programmed state
// does with the packet (PlaneExplainer). The two are compared: a difference is a bug report.
import { canonicalIP, joinHostPort } from '../../api/ip.ts';
import type { TraceVerdict } from '../conformance/types.ts';
import { classifySource, type DestinationKind, explainDecision } from '../eligibility.ts';
import type { ProxySnapshot } from '../snapshot.ts';
import type { ServicePortInfo } from '../types.ts';
import { vipsOf } from '../vips.ts';
import type { ExplainEndpoint, ExplainPacket, Explanation, PlaneExplainer, PlaneTrace } from './types.ts';

export interface FoundServicePort {
  readonly svc: ServicePortInfo;
  readonly dest: DestinationKind;
}

/** The service port a packet to dst:dport/proto reaches on this node, if any. */
export function findServicePort(snap: ProxySnapshot, p: ExplainPacket): FoundServicePort | undefined {
  const dst = canonicalIP(p.dst) ?? p.dst;
  for (const svc of snap.services.values()) {
    if (svc.protocol !== p.proto) continue;
    for (const vip of vipsOf(svc, snap)) {
      if (vip.addr !== dst || vip.port !== p.dport) continue;
      return { svc, dest: vip.kind === 'localhostNodePort' ? 'nodePort' : vip.kind };
    }
  }
  return undefined;
}

export interface ExplainOptions {
  readonly masqueradeAll?: boolean;
  /** "namespace/name" of the source pod, when the caller resolved one. */
  readonly sourcePod?: string;
}

function sameVerdict(a: TraceVerdict, b: TraceVerdict): string | undefined {
  if (a.kind !== b.kind) return `the plane's programmed verdict is ${b.kind}, the shared decision is ${a.kind}`;
  if (a.kind !== 'endpoints' || b.kind !== 'endpoints') return undefined;
  const want = [...a.endpoints].sort().join(', ');
  const have = [...b.endpoints].sort().join(', ');
  if (want !== have) return `the plane programs [${have}], the shared decision is [${want}]`;
  return undefined;
}

/** The documented key order, whatever order the parts were computed in. */
function ordered(e: Explanation): Explanation {
  const { node, plane, source, destination, service, endpoints, verdict, planeVerdict, rule } = e;
  const { masquerade, masqueradeReason, affinity, path, pathSource, consistent, probe } = e;
  return {
    node,
    plane,
    source,
    destination,
    service,
    endpoints,
    verdict,
    planeVerdict,
    rule,
    masquerade,
    masqueradeReason,
    affinity,
    path,
    pathSource,
    consistent,
    ...(probe ? { probe } : {}),
  };
}

/** Builds the explanation; `plane` supplies the programmed path (undefined: decision only). */
export async function explainFlow(
  snap: ProxySnapshot,
  packet: ExplainPacket,
  planeName: string,
  plane: PlaneExplainer | undefined,
  opts: ExplainOptions = {},
): Promise<Explanation> {
  return ordered(await explainUnordered(snap, packet, planeName, plane, opts));
}

async function explainUnordered(
  snap: ProxySnapshot,
  packet: ExplainPacket,
  planeName: string,
  plane: PlaneExplainer | undefined,
  opts: ExplainOptions,
): Promise<Explanation> {
  const found = findServicePort(snap, packet);
  const trace: PlaneTrace | undefined = plane ? await plane.explain(packet, snap) : undefined;
  const base = {
    node: snap.node.name,
    plane: planeName,
    destination: { ip: packet.dst, port: packet.dport, protocol: packet.proto, kind: found?.dest ?? null },
    path: trace?.steps ?? [],
    pathSource: trace?.source ?? ('process' as const),
  };
  if (!found) {
    const kind = trace?.verdict.kind ?? 'UNHANDLED';
    return {
      ...base,
      source: {
        ip: packet.src,
        kind: classifySource(packet.src, snap.node),
        ...(opts.sourcePod ? { pod: opts.sourcePod } : {}),
      },
      service: null,
      endpoints: [],
      verdict: kind === 'endpoints' ? 'UNHANDLED' : kind,
      planeVerdict: kind,
      rule: trace?.rule ?? (kind === 'UNHANDLED' ? 'not a service address on this node' : null),
      masquerade: false,
      masqueradeReason: 'not a service flow',
      affinity: { type: 'None' },
      consistent:
        trace && trace.verdict.kind === 'endpoints'
          ? { matches: false, detail: 'the plane sends this packet to endpoints but no Service port has this address' }
          : { matches: true },
    };
  }
  const { svc, dest } = found;
  const eps = snap.endpoints.get(svc.key) ?? [];
  const d = explainDecision(svc, eps, dest, packet.src, snap.node, { masqueradeAll: opts.masqueradeAll === true });
  const eligibleCount = d.endpoints.filter((e) => e.eligible).length;
  const endpoints: ExplainEndpoint[] = d.endpoints.map((e) => ({
    ip: e.endpoint.ip,
    port: e.endpoint.port,
    node: e.endpoint.nodeName ?? null,
    zone: e.endpoint.zone ?? null,
    ready: e.endpoint.ready,
    serving: e.endpoint.serving,
    terminating: e.endpoint.terminating,
    eligible: e.eligible,
    ...(e.eligible ? { weight: Number((1 / eligibleCount).toFixed(4)) } : { reason: e.reason ?? '' }),
  }));
  const v = d.verdict;
  const decided: TraceVerdict =
    v.kind === 'endpoints' ? { kind: 'endpoints', endpoints: v.endpoints.map((e) => e.key), masq: v.masquerade } : v;
  const diff = trace ? sameVerdict(decided, trace.verdict) : undefined;
  const hairpin = v.kind === 'endpoints' && v.endpoints.some((e) => e.ip === packet.src);
  const masquerade = trace?.verdict.kind === 'endpoints' ? trace.verdict.masq : v.kind === 'endpoints' && v.masquerade;
  return {
    ...base,
    source: { ip: packet.src, kind: d.sourceKind, ...(opts.sourcePod ? { pod: opts.sourcePod } : {}) },
    service: {
      namespace: svc.namespace,
      name: svc.name,
      portName: svc.portName,
      port: svc.port,
      protocol: svc.protocol,
      type: svc.type,
      trafficPolicy: d.trafficPolicy,
    },
    endpoints,
    verdict: v.kind,
    planeVerdict: trace?.verdict.kind ?? v.kind,
    rule: v.kind === 'endpoints' ? null : (trace?.rule ?? `${v.kind} (${v.reason})`),
    masquerade,
    masqueradeReason: trace?.masqueradeReason
      ? trace.masqueradeReason
      : hairpin
        ? `${d.masqueradeReason}; the source is itself an endpoint: a hairpin flow to itself is masqueraded`
        : d.masqueradeReason,
    affinity:
      svc.affinityTimeoutSeconds === undefined
        ? { type: 'None' }
        : {
            type: 'ClientIP',
            timeoutSeconds: svc.affinityTimeoutSeconds,
            ...(trace?.pinnedTo ? { pinnedTo: trace.pinnedTo } : {}),
          },
    consistent:
      diff === undefined
        ? { matches: true }
        : trace?.deviation
          ? { matches: true, detail: `${diff}: ${trace.deviation}` }
          : { matches: false, detail: diff },
  };
}

/** The endpoint keys an explanation says a new flow may reach (for probe comparison). */
export function expectedLandings(e: Explanation): string[] {
  return e.endpoints.filter((x) => x.eligible).map((x) => joinHostPort(x.ip, x.port));
}
