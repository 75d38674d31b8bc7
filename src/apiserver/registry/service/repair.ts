// The repair pass of pkg/registry/core/service/ipallocator/controller/repair.go and
// portallocator/controller/repair.go (runOnce): rebuild the cluster-IP and node-port allocators
// from the stored Services and report what does not add up, so the caller can write Events.
// Pure: it takes the Service list (the caller reads store.list('services')) and mutates only the
// allocators it is given. svcnet keeps allocation bitmaps in memory, so after a restart the
// first pass is what restores them.
import type { ObjectReference } from 'kubernetes-types/core/v1.js';
import { ipFamilyOf } from '../../../api/ip.ts';
import type { Service } from '../../../api/types.ts';
import { isErrAllocated, isErrNotInRange } from '../../allocator/bitmap.ts';
import type { ServiceAllocators } from './alloc.ts';
import { ClusterIPNone } from './helpers.ts';

export type RepairReason =
  | 'ClusterIPNotValid'
  | 'ClusterIPNotAllocated'
  | 'ClusterIPAlreadyAllocated'
  | 'ClusterIPOutOfRange'
  | 'PortNotAllocated'
  | 'PortAlreadyAllocated'
  | 'PortOutOfRange';

export interface RepairFinding<S extends Service = Service> {
  /** The Service the finding is about, as listed (for the Event's involvedObject). */
  service: S;
  /** Event type: every finding is a Warning, as in repair.go. */
  type: 'Warning';
  reason: RepairReason;
  /** The Event message, e.g. "Cluster IP [IPv4]:10.0.0.5 was assigned to multiple services; please recreate service". */
  message: string;
  involvedObject: ObjectReference;
}

export interface RepairReport<S extends Service = Service> {
  findings: RepairFinding<S>[];
  /** Allocated but unused entries freed in this pass (after numRepairsBeforeLeakCleanup passes). */
  freedIPs: string[];
  freedPorts: number[];
  /** Allocated but unused entries kept for now (they may belong to a create still in flight). */
  suspectedIPLeaks: string[];
  suspectedPortLeaks: number[];
}

/** repair.go numRepairsBeforeLeakCleanup */
export const numRepairsBeforeLeakCleanup = 3;

/** Leak counters carried between passes; pass the same object to every call. */
export interface RepairState {
  passes: number;
  ipLeaks: Map<string, number>;
  portLeaks: Map<number, number>;
}

export function newRepairState(): RepairState {
  return { passes: 0, ipLeaks: new Map(), portLeaks: new Map() };
}

function refOf(svc: Service): ObjectReference {
  const ref: ObjectReference = { apiVersion: 'v1', kind: 'Service' };
  if (svc.metadata?.namespace) ref.namespace = svc.metadata.namespace;
  if (svc.metadata?.name) ref.name = svc.metadata.name;
  if (svc.metadata?.uid) ref.uid = svc.metadata.uid;
  if (svc.metadata?.resourceVersion) ref.resourceVersion = svc.metadata.resourceVersion;
  return ref;
}

/**
 * repair.go collectServiceNodePorts: the same nodePort under different protocols counts once,
 * under the same protocol twice (so it is reported as a duplicate); plus the health-check port.
 */
export function repairNodePorts(svc: Service): number[] {
  const out: number[] = [];
  const seen = new Map<number, Set<string>>();
  for (const p of svc.spec?.ports ?? []) {
    const np = p.nodePort ?? 0;
    if (np === 0) continue;
    const proto = p.protocol ?? 'TCP';
    const s = seen.get(np);
    if (!s) {
      seen.set(np, new Set([proto]));
      out.push(np);
    } else if (s.has(proto)) out.push(np);
    else s.add(proto);
  }
  const hc = svc.spec?.healthCheckNodePort ?? 0;
  if (hc !== 0) {
    const s = seen.get(hc);
    if (!s || s.has('TCP')) out.push(hc);
  }
  return out;
}

/** checkLeaked: keep an unused entry for numRepairsBeforeLeakCleanup passes, then free it. */
function leakDecision<K>(leaks: Map<K, number>, key: K): boolean {
  const count = leaks.get(key) ?? numRepairsBeforeLeakCleanup - 1;
  if (count > 0) {
    leaks.set(key, count - 1);
    return true;
  }
  leaks.delete(key);
  return false;
}

export function repairAllocators<S extends Service>(
  services: readonly S[],
  allocators: ServiceAllocators,
  state: RepairState = newRepairState(),
): RepairReport<S> {
  const report: RepairReport<S> = {
    findings: [],
    freedIPs: [],
    freedPorts: [],
    suspectedIPLeaks: [],
    suspectedPortLeaks: [],
  };
  // With in-memory bitmaps the first pass starts from nothing, so "not allocated" is expected
  // for every Service then and is not worth an Event.
  const reportMissing = state.passes > 0;
  state.passes++;
  const add = (svc: S, reason: RepairReason, message: string): void => {
    report.findings.push({ service: svc, type: 'Warning', reason, message, involvedObject: refOf(svc) });
  };

  // Cluster IPs.
  const rebuiltIPs = new Map([...allocators.ip].map(([f, a]) => [f, a.fresh()] as const));
  const usedIPs = new Set<string>();
  for (const svc of services) {
    const primary = svc.spec?.clusterIP ?? '';
    if (primary === '' || primary === ClusterIPNone) continue; // IsServiceIPSet
    for (const ip of svc.spec?.clusterIPs ?? [primary]) {
      const family = ipFamilyOf(ip);
      if (!family) {
        add(svc, 'ClusterIPNotValid', `Cluster IP ${ip} is not a valid IP; please recreate service`);
        continue;
      }
      const rebuilt = rebuiltIPs.get(family);
      const live = allocators.ip.get(family);
      if (!rebuilt || !live) {
        add(
          svc,
          'ClusterIPNotValid',
          `Cluster IP ${ip}(${family}) is of ip family that is no longer configured on cluster; please recreate service`,
        );
        continue;
      }
      try {
        rebuilt.allocate(ip);
        usedIPs.add(`${family}/${ip}`);
        state.ipLeaks.delete(`${family}/${ip}`);
        if (reportMissing && !live.has(ip)) {
          add(svc, 'ClusterIPNotAllocated', `Cluster IP [${family}]:${ip} is not allocated; repairing`);
        }
      } catch (e) {
        if (isErrAllocated(e)) {
          add(
            svc,
            'ClusterIPAlreadyAllocated',
            `Cluster IP [${family}]:${ip} was assigned to multiple services; please recreate service`,
          );
        } else if (isErrNotInRange(e)) {
          add(
            svc,
            'ClusterIPOutOfRange',
            `Cluster IP [${family}]:${ip} is not within the service CIDR ${live.cidr}; please recreate service`,
          );
        } else throw e;
      }
    }
  }
  for (const [family, live] of allocators.ip) {
    const rebuilt = rebuiltIPs.get(family);
    if (!rebuilt) continue;
    live.forEach((ip) => {
      const key = `${family}/${ip}`;
      if (usedIPs.has(key) || rebuilt.has(ip)) return;
      if (leakDecision(state.ipLeaks, key)) {
        rebuilt.allocate(ip);
        report.suspectedIPLeaks.push(ip);
      } else report.freedIPs.push(ip);
    });
    live.restore(rebuilt.snapshot());
  }

  // Node ports (all Services, whatever their type, as repair.go does).
  const livePorts = allocators.nodePorts;
  const rebuiltPorts = livePorts.fresh();
  for (const svc of services) {
    for (const port of repairNodePorts(svc)) {
      try {
        rebuiltPorts.allocate(port);
        state.portLeaks.delete(port);
        if (reportMissing && !livePorts.has(port)) {
          add(svc, 'PortNotAllocated', `Port ${port} is not allocated; repairing`);
        }
      } catch (e) {
        if (isErrAllocated(e)) {
          add(svc, 'PortAlreadyAllocated', `Port ${port} was assigned to multiple services; please recreate service`);
        } else if (isErrNotInRange(e)) {
          add(
            svc,
            'PortOutOfRange',
            `Port ${port} is not within the port range ${livePorts.range}; please recreate service`,
          );
        } else throw e;
      }
    }
  }
  livePorts.forEach((port) => {
    if (rebuiltPorts.has(port)) return;
    if (leakDecision(state.portLeaks, port)) {
      rebuiltPorts.allocate(port);
      report.suspectedPortLeaks.push(port);
    } else report.freedPorts.push(port);
  });
  livePorts.restore(rebuiltPorts.snapshot());
  return report;
}
