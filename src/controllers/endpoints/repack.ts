// RepackSubsets and SortSubsets (pkg/api/v1/endpoints/util.go): subsets built one address ×
// one port at a time are regrouped so that addresses offering the same port set share one
// subset. An address that is not ready on any port is not ready (not-ready trumps ready).
import type { EndpointAddress, EndpointPort, EndpointSubset } from 'kubernetes-types/core/v1.js';
import { parseIPSloppy } from '../../api/ip.ts';
import { stableStringify } from '../endpointslice/stable.ts';

const sentinel = '<no ports>';

export function repackSubsets(subsets: readonly EndpointSubset[]): EndpointSubset[] {
  // address identity (ip + pod uid) → the address, and port → address → ready
  const addrs = new Map<string, EndpointAddress>();
  const portToAddrs = new Map<string, { port: EndpointPort | undefined; ready: Map<string, boolean> }>();
  const record = (a: EndpointAddress, port: EndpointPort | undefined, ready: boolean) => {
    const ak = `${a.ip}|${a.targetRef?.uid ?? ''}`;
    if (!addrs.has(ak)) addrs.set(ak, a);
    const pk = port ? stableStringify(port) : sentinel;
    let e = portToAddrs.get(pk);
    if (!e) {
      e = { port, ready: new Map() };
      portToAddrs.set(pk, e);
    }
    const was = e.ready.get(ak);
    if (was === undefined || was) e.ready.set(ak, ready);
  };
  for (const ss of subsets) {
    const ports = ss.ports && ss.ports.length > 0 ? ss.ports : [undefined];
    for (const p of ports) {
      for (const a of ss.addresses ?? []) record(a, p, true);
      for (const a of ss.notReadyAddresses ?? []) record(a, p, false);
    }
  }
  // Group ports by the exact (address, ready) set they are offered on.
  const bySet = new Map<string, { ready: Map<string, boolean>; ports: EndpointPort[] }>();
  for (const { port, ready } of portToAddrs.values()) {
    const k = [...ready.entries()]
      .map(([a, r]) => `${a}=${r}`)
      .sort()
      .join(',');
    let g = bySet.get(k);
    if (!g) {
      g = { ready, ports: [] };
      bySet.set(k, g);
    }
    if (port) g.ports.push(port);
  }
  const out: EndpointSubset[] = [];
  for (const g of bySet.values()) {
    const ready: EndpointAddress[] = [];
    const notReady: EndpointAddress[] = [];
    for (const [ak, r] of g.ready) {
      const a = addrs.get(ak);
      if (a) (r ? ready : notReady).push(a);
    }
    const ss: EndpointSubset = {};
    if (ready.length > 0) ss.addresses = ready;
    if (notReady.length > 0) ss.notReadyAddresses = notReady;
    if (g.ports.length > 0) ss.ports = g.ports;
    out.push(ss);
  }
  return sortSubsets(out);
}

/** Addresses by IP (numerically) then pod UID; ports and subsets by content. */
export function sortSubsets(subsets: EndpointSubset[]): EndpointSubset[] {
  for (const ss of subsets) {
    ss.addresses?.sort(compareAddresses);
    ss.notReadyAddresses?.sort(compareAddresses);
    ss.ports?.sort((a, b) => compareStrings(portSortKey(a), portSortKey(b)));
  }
  const keyed = subsets.map((s) => ({ s, k: stableStringify(s) }));
  keyed.sort((a, b) => compareStrings(a.k, b.k));
  return keyed.map((x) => x.s);
}

function portSortKey(p: EndpointPort): string {
  return `${p.name ?? ''}\u0000${String(p.port).padStart(5, '0')}\u0000${p.protocol ?? ''}`;
}

function compareAddresses(a: EndpointAddress, b: EndpointAddress): number {
  const pa = parseIPSloppy(a.ip)?.bytes;
  const pb = parseIPSloppy(b.ip)?.bytes;
  if (pa && pb) {
    for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
      const d = (pa[i] ?? 0) - (pb[i] ?? 0);
      if (d !== 0) return d;
    }
  } else {
    const d = compareStrings(a.ip, b.ip);
    if (d !== 0) return d;
  }
  return compareStrings(a.targetRef?.uid ?? '', b.targetRef?.uid ?? '');
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
