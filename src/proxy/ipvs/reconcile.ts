// What turns the IPVS table found in the kernel into the one wanted, as ipvsadm restore lines,
// pure. Never a flush: services and real servers are added, edited and deleted one by one, in an
// order that keeps traffic flowing at every step (ipvsadm -R is no transaction). Real servers
// that leave a TCP or SCTP service are drained: weight 0 (no new connections, established ones
// continue) until their connections end or the drain deadline passes; UDP ones go at once (a
// datagram flow has no end to wait for; the conntrack cleanup of the kit runs for them).
import {
  destLine,
  type IpvsConnections,
  type IpvsDest,
  type IpvsState,
  serviceLine,
  serviceWords,
} from '../../kernel/ipvs.ts';

export interface ReconcileInput {
  readonly wanted: IpvsState;
  readonly current: IpvsState;
  /** Whether a current service is svcnet's (its address bound by us, a node NodePort address, our marks). */
  readonly ours: (serviceId: string) => boolean;
  /** Service ids whose leaving real servers are removed at once (UDP). */
  readonly udp: ReadonlySet<string>;
  /** `serviceId dest` → when its drain started (ms, the plane's clock). */
  readonly draining: ReadonlyMap<string, number>;
  /** Connection counters, when read (`serviceId dest`); absent: assume still busy. */
  readonly connections?: ReadonlyMap<string, IpvsConnections>;
  readonly nowMs: number;
  /** How long a drained real server may keep connections before it is deleted anyway. */
  readonly drainMs: number;
}

export interface ReconcileResult {
  /** ipvsadm -R input; '' when the kernel already matches. */
  readonly text: string;
  /** Drains in progress after this step (`serviceId dest` → start). */
  readonly draining: Map<string, number>;
}

export function reconcile(input: ReconcileInput): ReconcileResult {
  const lines: string[] = [];
  const draining = new Map<string, number>();
  const drained = (id: string, dest: string): boolean => {
    const k = `${id} ${dest}`;
    const since = input.draining.get(k) ?? input.nowMs;
    const c = input.connections?.get(k);
    if (c && c.active + c.inactive === 0) return true;
    if (input.nowMs - since >= input.drainMs) return true;
    draining.set(k, since);
    return false;
  };
  for (const id of [...input.wanted.keys()].sort()) {
    const want = input.wanted.get(id);
    if (!want) continue;
    const have = input.current.get(id);
    if (!have) {
      lines.push(serviceLine('-A', want.service));
      for (const d of want.dests.values()) lines.push(destLine('-a', want.service, d));
      continue;
    }
    if (have.service.scheduler !== want.service.scheduler || have.service.persistence !== want.service.persistence) {
      lines.push(serviceLine('-E', want.service));
    }
    // New real servers first, then the leaving ones: a service never passes through empty.
    for (const d of want.dests.values()) {
      const h = have.dests.get(d.key);
      if (!h) lines.push(destLine('-a', want.service, d));
      else if (h.weight !== d.weight) lines.push(destLine('-e', want.service, d));
    }
    for (const h of have.dests.values()) {
      if (want.dests.has(h.key)) continue;
      if (input.udp.has(id) || (h.weight === 0 && drained(id, h.key))) {
        lines.push(`-d ${serviceWords(want.service)} -r ${h.key}`);
      } else if (h.weight !== 0) {
        lines.push(destLine('-e', want.service, { key: h.key, weight: 0 } satisfies IpvsDest));
        draining.set(`${id} ${h.key}`, input.draining.get(`${id} ${h.key}`) ?? input.nowMs);
      }
    }
  }
  for (const id of [...input.current.keys()].sort()) {
    if (input.wanted.has(id) || !input.ours(id)) continue;
    const have = input.current.get(id);
    if (have) lines.push(`-D ${serviceWords(have.service)}`);
  }
  return { text: lines.length ? `${lines.join('\n')}\n` : '', draining };
}
