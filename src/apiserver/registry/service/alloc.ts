// Cluster-IP and node-port allocation for Service writes, mirroring pkg/registry/core/service/
// storage/alloc.go (allocClusterIPs, allocIPs, updateClusterIPs, initNodePorts,
// allocHealthCheckNodePort, updateNodePorts, updateHealthCheckNodePort,
// releaseAllocatedResources). Each step returns a Txn: revert undoes this request's allocations,
// commit performs the releases that must wait until the store write succeeded (§3.11).
import { invalid, Path } from '../../../api/field.ts';
import { type IPFamily, ipFamilyOf } from '../../../api/ip.ts';
import { needsHealthCheck } from '../../../api/service/util.ts';
import { newInternalError } from '../../../api/status.ts';
import type { Service } from '../../../api/types.ts';
import type { IPAllocator, IPRange } from '../../allocator/ip.ts';
import { type PortAllocator, PortOperation } from '../../allocator/port.ts';
import type { Txn } from '../types.ts';
import { invalidService, isMatchingPreferDualStack } from './families.ts';
import {
  ClusterIPNone,
  clusterIPsOf,
  collectNodePorts,
  familiesOf,
  isHeadlessIPs,
  shouldAllocateNodePorts,
  specOf,
  typeOf,
} from './helpers.ts';

export interface ServiceAllocators {
  /** One allocator per configured family; the first CIDR's family is the default. */
  readonly ip: ReadonlyMap<IPFamily, IPAllocator>;
  readonly defaultFamily: IPFamily;
  readonly nodePorts: PortAllocator;
}

type FamilyIPs = Map<IPFamily, string>;

export function txnOf(parts: Txn[]): Txn {
  return {
    commit: () => {
      for (const t of parts) t.commit();
    },
    revert: () => {
      for (const t of [...parts].reverse()) t.revert();
    },
  };
}

function rangeFor(al: ServiceAllocators, family: IPFamily, dryRun: boolean): IPRange | undefined {
  const a = al.ip.get(family);
  return a && dryRun ? a.dryRun() : a;
}

/**
 * allocIPs: "" means pick one; anything else is the user's choice. Full ranges are a 500, a bad
 * or taken choice a 422 at spec.clusterIPs[i]. Families are visited in ipFamilies order (Go
 * ranges over a map) so the first failing index is deterministic.
 */
function allocIPs(al: ServiceAllocators, svc: Service, toAlloc: FamilyIPs, dryRun: boolean): FamilyIPs {
  const allocated: FamilyIPs = new Map();
  const fams = familiesOf(svc);
  try {
    for (const [family, ip] of toAlloc) {
      const r = rangeFor(al, family, dryRun);
      if (!r) throw newInternalError(`failed to allocate a serviceIP: ${family} is not configured on this cluster`);
      if (ip === '') {
        try {
          allocated.set(family, r.allocateNext());
        } catch (e) {
          throw newInternalError(`failed to allocate a serviceIP: ${(e as Error).message}`);
        }
        continue;
      }
      try {
        r.allocate(ip);
      } catch (e) {
        const i = Math.max(0, fams.indexOf(family));
        const detail = `failed to allocate IP ${ip}: ${(e as Error).message}`;
        throw invalidService(svc, [invalid(Path.of('spec', 'clusterIPs').index(i), ip, detail)]);
      }
      allocated.set(family, ip);
    }
  } catch (e) {
    if (!dryRun) releaseIPs(al, allocated);
    throw e;
  }
  return allocated;
}

export function releaseIPs(al: ServiceAllocators, ips: FamilyIPs): void {
  // A family no longer configured (dual-stack cluster turned single-stack) has nothing to free.
  for (const [family, ip] of ips) al.ip.get(family)?.release(ip);
}

/** allocClusterIPs: fill clusterIPs[i] for every ipFamilies[i] that has no IP yet. */
function allocClusterIPs(al: ServiceAllocators, svc: Service, dryRun: boolean): FamilyIPs {
  if (typeOf(svc) === 'ExternalName' || isHeadlessIPs(svc)) return new Map();
  const spec = specOf(svc);
  const ips = [...clusterIPsOf(svc)];
  const toAlloc: FamilyIPs = new Map();
  familiesOf(svc).forEach((f, i) => {
    if (i >= ips.length) ips.push('');
    toAlloc.set(f as IPFamily, ips[i] ?? '');
  });
  const allocated = allocIPs(al, svc, toAlloc, dryRun);
  familiesOf(svc).forEach((f, i) => {
    const ip = allocated.get(f as IPFamily);
    if (ip !== undefined) ips[i] = ip;
  });
  spec.clusterIPs = ips;
  if (ips[0] !== undefined) spec.clusterIP = ips[0];
  return allocated;
}

function ipTxn(al: ServiceAllocators, allocated: FamilyIPs, toRelease: FamilyIPs, dryRun: boolean): Txn {
  return {
    commit: () => {
      if (!dryRun) releaseIPs(al, toRelease);
    },
    revert: () => {
      if (!dryRun) releaseIPs(al, allocated);
    },
  };
}

export function txnAllocClusterIPs(al: ServiceAllocators, svc: Service, dryRun: boolean): Txn {
  return ipTxn(al, allocClusterIPs(al, svc, dryRun), new Map(), dryRun);
}

/** updateClusterIPs cases A–D (§1.46, §3.12); releases happen on commit only. */
export function txnUpdateClusterIPs(al: ServiceAllocators, svc: Service, old: Service, dryRun: boolean): Txn {
  const none = new Map<IPFamily, string>();
  if (isMatchingPreferDualStack(svc, old)) return ipTxn(al, none, none, dryRun);
  // A: ExternalName → anything else allocates everything (the user may pick the IPs).
  if (typeOf(old) === 'ExternalName' && typeOf(svc) !== 'ExternalName') {
    return ipTxn(al, allocClusterIPs(al, svc, dryRun), none, dryRun);
  }
  if (isHeadlessIPs(old)) return ipTxn(al, none, none, dryRun);
  // B: → ExternalName releases every old IP.
  if (typeOf(svc) === 'ExternalName') {
    if (typeOf(old) === 'ExternalName') return ipTxn(al, none, none, dryRun);
    const rel: FamilyIPs = new Map();
    clusterIPsOf(old).forEach((ip) => {
      const f = ipFamilyOf(ip);
      if (f) rel.set(f, ip);
    });
    return ipTxn(al, none, rel, dryRun);
  }
  const oldN = familiesOf(old).length;
  const newN = familiesOf(svc).length;
  // C: dual-stack upgrade allocates only the secondary.
  if (oldN === 1 && newN === 2) {
    const spec = specOf(svc);
    const ips = [...clusterIPsOf(svc)];
    if (ips.length < 2) ips.push('');
    const fam = familiesOf(svc)[1] as IPFamily;
    const allocated = allocIPs(al, svc, new Map([[fam, ips[1] ?? '']]), dryRun);
    ips[1] = allocated.get(fam) ?? ips[1] ?? '';
    spec.clusterIPs = ips;
    return ipTxn(al, allocated, none, dryRun);
  }
  // D: downgrade releases only the secondary.
  if (oldN === 2 && newN === 1) {
    const ip = clusterIPsOf(old)[1];
    const fam = familiesOf(old)[1] as IPFamily;
    return ipTxn(al, none, ip && ip !== ClusterIPNone ? new Map([[fam, ip]]) : none, dryRun);
  }
  return ipTxn(al, none, none, dryRun);
}

function portTxn(op: PortOperation): Txn {
  return { commit: () => op.commit(), revert: () => op.finish() };
}

const nodePortPath = (i: number) => Path.of('spec', 'ports').index(i).child('nodePort');

/** initNodePorts (§3.17, §3.18): same port number → same nodePort; requested ones are honoured. */
function initNodePorts(svc: Service, op: PortOperation): void {
  const ports = specOf(svc).ports ?? [];
  const byPort = new Map<number, number>();
  ports.forEach((sp, i) => {
    const np = sp.nodePort ?? 0;
    if (np === 0 && !shouldAllocateNodePorts(svc)) return;
    const known = byPort.get(sp.port) ?? 0;
    if (known === 0) {
      // Only scans forward in effect: earlier matches would already be in byPort.
      const requested = ports.find((p) => p.port === sp.port && (p.nodePort ?? 0) !== 0)?.nodePort ?? 0;
      if (requested !== 0) {
        tryAllocate(svc, op, requested, i);
        sp.nodePort = requested;
        byPort.set(sp.port, requested);
      } else {
        sp.nodePort = nextNodePort(op);
        byPort.set(sp.port, sp.nodePort);
      }
    } else if (np !== known) {
      if (np === 0) sp.nodePort = known;
      else tryAllocate(svc, op, np, i);
    }
  });
}

function tryAllocate(svc: Service, op: PortOperation, port: number, i: number): void {
  try {
    op.allocate(port);
  } catch (e) {
    throw invalidService(svc, [invalid(nodePortPath(i), port, (e as Error).message)]);
  }
}

function nextNodePort(op: PortOperation): number {
  try {
    return op.allocateNext();
  } catch (e) {
    throw newInternalError(`failed to allocate a nodePort: ${(e as Error).message}`);
  }
}

/** allocHealthCheckNodePort (§3.19): failures are 500s with Go's texts. */
function allocHealthCheckNodePort(svc: Service, op: PortOperation): void {
  const spec = specOf(svc);
  const hc = spec.healthCheckNodePort ?? 0;
  try {
    if (hc !== 0) {
      try {
        op.allocate(hc);
      } catch (e) {
        throw new Error(`failed to allocate requested HealthCheck NodePort ${hc}: ${(e as Error).message}`);
      }
    } else {
      try {
        spec.healthCheckNodePort = op.allocateNext();
      } catch (e) {
        throw new Error(`failed to allocate a HealthCheck NodePort ${hc}: ${(e as Error).message}`);
      }
    }
  } catch (e) {
    throw newInternalError(e as Error);
  }
}

export function txnAllocNodePorts(al: ServiceAllocators, svc: Service, dryRun: boolean): Txn {
  const op = new PortOperation(al.nodePorts, dryRun);
  try {
    if (typeOf(svc) === 'NodePort' || typeOf(svc) === 'LoadBalancer') initNodePorts(svc, op);
    if (needsHealthCheck(svc)) allocHealthCheckNodePort(svc, op);
  } catch (e) {
    op.finish();
    throw e;
  }
  return portTxn(op);
}

/** updateNodePorts (§3.20): allocate what is new, auto-fill zeros, release the rest on commit. */
function updateNodePorts(svc: Service, old: Service, op: PortOperation): void {
  const oldPorts = collectNodePorts(old);
  const taken = new Set<number>();
  const seen = new Set<string>();
  (specOf(svc).ports ?? []).forEach((sp, i) => {
    let np = sp.nodePort ?? 0;
    if (np === 0 && !shouldAllocateNodePorts(svc)) return;
    if (np !== 0) {
      if (!oldPorts.includes(np) && !taken.has(np)) {
        tryAllocate(svc, op, np, i);
        taken.add(np);
      }
    } else {
      np = nextNodePort(op);
      sp.nodePort = np;
    }
    const key = `${sp.protocol ?? 'TCP'}/${np}`;
    if (seen.has(key)) throw newInternalError(`duplicate nodePort: {${sp.protocol ?? 'TCP'} ${np}}`);
    seen.add(key);
  });
  const newPorts = collectNodePorts(svc);
  for (const p of oldPorts) if (!newPorts.includes(p)) op.releaseDeferred(p);
}

/** updateHealthCheckNodePort: allocate on entering "LB + Local", release on leaving it. */
function updateHealthCheckNodePort(svc: Service, old: Service, op: PortOperation): void {
  const needed = needsHealthCheck(old);
  const needs = needsHealthCheck(svc);
  if (!needed && needs) allocHealthCheckNodePort(svc, op);
  else if (needed && !needs) {
    const hc = old.spec?.healthCheckNodePort ?? 0;
    if (hc !== 0) op.releaseDeferred(hc);
  }
}

export function txnUpdateNodePorts(al: ServiceAllocators, svc: Service, old: Service, dryRun: boolean): Txn {
  const op = new PortOperation(al.nodePorts, dryRun);
  try {
    const wasNodePort = typeOf(old) === 'NodePort' || typeOf(old) === 'LoadBalancer';
    const isNodePort = typeOf(svc) === 'NodePort' || typeOf(svc) === 'LoadBalancer';
    if (wasNodePort && !isNodePort) for (const p of collectNodePorts(old)) op.releaseDeferred(p);
    if (isNodePort) updateNodePorts(svc, old, op);
    updateHealthCheckNodePort(svc, old, op);
  } catch (e) {
    op.finish();
    throw e;
  }
  return portTxn(op);
}

/** releaseAllocatedResources (§3.13): after a delete committed. */
export function releaseAll(al: ServiceAllocators, svc: Service): void {
  if (typeOf(svc) !== 'ExternalName' && !isHeadlessIPs(svc)) {
    const ips: FamilyIPs = new Map();
    for (const ip of clusterIPsOf(svc)) {
      const f = ipFamilyOf(ip);
      if (f) ips.set(f, ip);
    }
    if (ips.size === 0 && svc.spec?.clusterIP) {
      const f = ipFamilyOf(svc.spec.clusterIP);
      if (f) ips.set(f, svc.spec.clusterIP);
    }
    releaseIPs(al, ips);
  }
  for (const p of collectNodePorts(svc)) al.nodePorts.release(p);
  if (needsHealthCheck(svc)) {
    const hc = svc.spec?.healthCheckNodePort ?? 0;
    if (hc > 0) al.nodePorts.release(hc);
  }
}
