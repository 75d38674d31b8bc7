// EndpointSlices → endpoints per service port, and the endpoints change tracker (kube-proxy's
// EndpointsChangeTracker + endpointSliceCache). Slices are grouped by the Service named in their
// `kubernetes.io/service-name` label; a change is one {previous, current} per Service, dropped
// when it ends where it began (DESIGN.md convention 1).
import { isDeepStrictEqual } from 'node:util';
import type { EndpointSlice } from '../api/types.ts';
import { annotationKeys, labelKeys } from '../api/well-known.ts';
import {
  type EndpointInfo,
  endpointKey,
  type Protocol,
  type ServiceKey,
  type ServicePortKey,
  serviceKey,
  servicePortKey,
} from './types.ts';

export type EndpointsMap = ReadonlyMap<ServicePortKey, readonly EndpointInfo[]>;

interface HintsWithNodes {
  forZones?: { name: string }[];
  /** KEP-3015 PreferSameNode; newer than kubernetes-types 1.30. */
  forNodes?: { name: string }[];
}

/** An endpoint's fields but its key (derived from ip and port); hint lists may be left out. */
export type EndpointFields = Omit<EndpointInfo, 'key' | 'zoneHints' | 'nodeHints'> &
  Partial<Pick<EndpointInfo, 'zoneHints' | 'nodeHints'>>;

/** Every endpoint without hints shares this list (50,000 endpoints would otherwise hold 100,000 `[]`). */
const noNames: readonly string[] = Object.freeze([]);

/**
 * Hint lists repeat across endpoints (every endpoint of a zone carries the same `forZones`):
 * one frozen copy per distinct list. Bounded by what a cluster has (zones, nodes); when full
 * the table starts over, which costs memory, never a wrong value. Node and zone names are not
 * interned: the tracker keeps each slice, so its strings stay alive either way.
 */
const internMax = 16_384;
const nameLists = new Map<string, readonly string[]>();

function internNames(list: readonly string[] | undefined): readonly string[] {
  if (!list || list.length === 0) return noNames;
  const id = list.length === 1 ? (list[0] ?? '') : list.join('\u0000');
  const hit = nameLists.get(id);
  // The id is ambiguous only for names holding NUL (["a\0b"] and ["a", "b"]): compare.
  if (hit !== undefined && hit.length === list.length && hit.every((n, i) => n === list[i])) return hit;
  const frozen = Object.freeze([...list]);
  if (nameLists.size >= internMax) nameLists.clear();
  nameLists.set(id, frozen);
  return frozen;
}

/**
 * The one constructor of EndpointInfo (slices here, tests and benchmarks through fixtures), so
 * every endpoint the agent holds is the compact one: shared hint lists and a flat key.
 */
export function endpointInfo(f: EndpointFields): EndpointInfo {
  return Object.freeze({
    key: endpointKey(f.ip, f.port),
    ip: f.ip,
    port: f.port,
    ready: f.ready,
    serving: f.serving,
    terminating: f.terminating,
    nodeName: f.nodeName,
    zone: f.zone,
    zoneHints: internNames(f.zoneHints),
    nodeHints: internNames(f.nodeHints),
    isLocal: f.isLocal,
  });
}

const hintNames = (h: { name: string }[] | undefined): string[] | undefined => h?.map((z) => z.name);

function sliceServiceKey(slice: EndpointSlice): ServiceKey | undefined {
  const svc = slice.metadata?.labels?.[labelKeys.serviceName];
  if (!svc) return undefined;
  return serviceKey(slice.metadata?.namespace ?? 'default', svc);
}

/**
 * Merges a Service's slices into endpoints per service port. An address in several slices
 * (possible while the controller moves endpoints between slices) counts once, preferring the
 * ready copy. Endpoints are sorted by key so equal states compare equal.
 */
export function endpointsOfSlices(
  slices: Iterable<EndpointSlice>,
  nodeName: string,
): Map<ServicePortKey, EndpointInfo[]> {
  const byPort = new Map<ServicePortKey, Map<string, EndpointInfo>>();
  for (const slice of slices) {
    const svc = sliceServiceKey(slice);
    if (!svc || slice.addressType === 'FQDN') continue;
    for (const p of slice.ports ?? []) {
      if (p.port === undefined || p.port === null) continue;
      const k = servicePortKey(svc, p.name ?? '', (p.protocol ?? 'TCP') as Protocol);
      let eps = byPort.get(k);
      if (!eps) {
        eps = new Map();
        byPort.set(k, eps);
      }
      for (const ep of slice.endpoints ?? []) {
        const ip = ep.addresses?.[0];
        if (!ip) continue;
        // Absent conditions: ready is true, serving follows ready (discovery/v1 API docs).
        const ready = ep.conditions?.ready ?? true;
        const hints = ep.hints as HintsWithNodes | undefined;
        const info = endpointInfo({
          ip,
          port: p.port,
          ready,
          serving: ep.conditions?.serving ?? ready,
          terminating: ep.conditions?.terminating ?? false,
          nodeName: ep.nodeName,
          zone: ep.zone,
          zoneHints: hintNames(hints?.forZones),
          nodeHints: hintNames(hints?.forNodes),
          isLocal: ep.nodeName !== undefined && ep.nodeName === nodeName,
        });
        const prev = eps.get(info.key);
        if (!prev || (!prev.ready && info.ready)) eps.set(info.key, info);
      }
    }
  }
  const out = new Map<ServicePortKey, EndpointInfo[]>();
  for (const [k, eps] of byPort) {
    out.set(
      k,
      [...eps.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)),
    );
  }
  return out;
}

export interface EndpointsChange {
  previous: Map<ServicePortKey, EndpointInfo[]>;
  current: Map<ServicePortKey, EndpointInfo[]>;
  /** Earliest trigger time (ms) of the changes in this batch, for network programming latency. */
  triggerTimeMs: number;
}

export class EndpointsChangeTracker {
  private readonly slices = new Map<ServiceKey, Map<string, EndpointSlice>>();
  private pending = new Map<ServiceKey, EndpointsChange>();
  changesTotal = 0;

  constructor(
    private readonly nodeName: string,
    private readonly now: () => number = Date.now,
  ) {}

  update(old: EndpointSlice | undefined, cur: EndpointSlice | undefined): boolean {
    if (old && cur && sliceServiceKey(old) !== sliceServiceKey(cur)) {
      // The slice moved to another Service: a delete from one and an add to the other.
      const a = this.update(old, undefined);
      const b = this.update(undefined, cur);
      return a || b;
    }
    const obj = cur ?? old;
    if (!obj) return false;
    const svc = sliceServiceKey(obj);
    if (!svc) return false;
    this.changesTotal++;
    let cache = this.slices.get(svc);
    const before = cache ? endpointsOfSlices(cache.values(), this.nodeName) : new Map();
    if (!cache) {
      cache = new Map();
      this.slices.set(svc, cache);
    }
    const sliceName = obj.metadata?.name ?? '';
    if (cur && sliceServiceKey(cur) === svc) cache.set(sliceName, cur);
    else cache.delete(sliceName);
    if (cache.size === 0) this.slices.delete(svc);
    const after = endpointsOfSlices(cache.values(), this.nodeName);
    const existing = this.pending.get(svc);
    const trigger = triggerTime(cur) ?? this.now();
    const change: EndpointsChange = {
      previous: existing ? existing.previous : before,
      current: after,
      triggerTimeMs: existing ? Math.min(existing.triggerTimeMs, trigger) : trigger,
    };
    if (isDeepStrictEqual(change.previous, change.current)) {
      this.pending.delete(svc);
      return false;
    }
    this.pending.set(svc, change);
    return true;
  }

  pendingCount(): number {
    return this.pending.size;
  }

  take(): Map<ServiceKey, EndpointsChange> {
    const out = this.pending;
    this.pending = new Map();
    return out;
  }
}

function triggerTime(slice: EndpointSlice | undefined): number | undefined {
  const v = slice?.metadata?.annotations?.[annotationKeys.endpointsLastChangeTriggerTime];
  if (!v) return undefined;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : t;
}
