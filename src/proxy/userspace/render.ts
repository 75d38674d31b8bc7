// The userspace plane's "ruleset": which sockets to listen on, rendered purely from a snapshot
// (DESIGN.md convention 2). plane.ts opens and closes sockets to match; the conformance tracer
// walks the same table, so the suite checks what the plane really does.
import { joinHostPort } from '../../api/ip.ts';
import { type CategorizedEndpoints, categorizeEndpoints, type DestinationKind } from '../eligibility.ts';
import type { ProxySnapshot } from '../snapshot.ts';
import type { ServicePortInfo, ServicePortKey } from '../types.ts';
import { vipsOf } from '../vips.ts';

export interface ListenerSpec {
  /** "TCP 127.10.0.10:80" — identity for diffing. */
  readonly id: string;
  readonly proto: 'TCP' | 'UDP';
  readonly host: string;
  readonly port: number;
  readonly servicePort: ServicePortKey;
  readonly dest: DestinationKind;
  /** The address clients were given (the VIP before loopback mapping, or the node address). */
  readonly vip: string;
}

export interface RenderedListeners {
  readonly listeners: ReadonlyMap<string, ListenerSpec>;
  readonly categorized: ReadonlyMap<ServicePortKey, CategorizedEndpoints>;
  /** Service ports a listener could not be given, with why. */
  readonly skipped: readonly {
    servicePort: ServicePortKey;
    reason: 'unsupported-protocol' | 'address-conflict' | 'unmapped-vip';
    detail: string;
  }[];
}

function listenerId(proto: string, host: string, port: number): string {
  return `${proto} ${joinHostPort(host, port)}`;
}

const noNodePorts = { nodePortIPs: [], localhostNodePorts: false } as const;

/** The service addresses (cluster, external, LB) the plane needs local addresses for. */
export function vipAddresses(snapshot: ProxySnapshot): Set<string> {
  const out = new Set<string>();
  for (const svc of snapshot.services.values()) {
    if (svc.protocol === 'SCTP') continue;
    for (const v of vipsOf(svc, noNodePorts)) out.add(v.addr);
  }
  return out;
}

/**
 * A TCP listener exists only where some client could be given an endpoint: with none, not
 * listening makes the kernel refuse the SYN, which is the fastest ECONNREFUSED there is. A UDP
 * listener always exists for a service port, so datagrams without an endpoint are counted when
 * dropped (the issue: "UDP dropped and counted").
 */
function tcpWanted(svc: ServicePortInfo, cat: CategorizedEndpoints, dest: DestinationKind): boolean {
  if (!cat.hasAny) return false;
  if (dest === 'clusterIP') return (svc.internalPolicyLocal ? cat.local : cat.cluster).length > 0;
  return cat.cluster.length > 0 || cat.local.length > 0;
}

export function renderListeners(
  snapshot: ProxySnapshot,
  addressFor: (vip: string) => string | undefined,
): RenderedListeners {
  const listeners = new Map<string, ListenerSpec>();
  const categorized = new Map<ServicePortKey, CategorizedEndpoints>();
  const skipped: {
    servicePort: ServicePortKey;
    reason: 'unsupported-protocol' | 'address-conflict' | 'unmapped-vip';
    detail: string;
  }[] = [];
  const keys = [...snapshot.services.keys()].sort();
  for (const key of keys) {
    const svc = snapshot.services.get(key);
    if (!svc) continue;
    const cat = categorizeEndpoints(snapshot.endpoints.get(key) ?? [], snapshot.node);
    categorized.set(key, cat);
    if (svc.protocol === 'SCTP') {
      skipped.push({
        servicePort: key,
        reason: 'unsupported-protocol',
        detail: 'SCTP has no userspace socket API in Node.js',
      });
      continue;
    }
    const proto = svc.protocol;
    const add = (host: string, port: number, dest: DestinationKind, vip: string) => {
      if (proto === 'TCP' && !tcpWanted(svc, cat, dest)) return;
      const id = listenerId(proto, host, port);
      const existing = listeners.get(id);
      if (existing) {
        if (existing.servicePort !== key) {
          skipped.push({
            servicePort: key,
            reason: 'address-conflict',
            detail: `${id} already serves ${existing.servicePort}`,
          });
        }
        return;
      }
      listeners.set(id, { id, proto, host, port, servicePort: key, dest, vip });
    };
    const addVip = (vip: string, dest: DestinationKind) => {
      const host = addressFor(vip);
      if (host === undefined) {
        skipped.push({ servicePort: key, reason: 'unmapped-vip', detail: vip });
        return;
      }
      add(host, svc.port, dest, vip);
    };
    for (const v of vipsOf(svc, snapshot)) {
      if (v.kind === 'nodePort' || v.kind === 'localhostNodePort') add(v.addr, v.port, 'nodePort', v.addr);
      else addVip(v.addr, v.kind);
    }
  }
  return { listeners, categorized, skipped };
}

export { listenerId };
