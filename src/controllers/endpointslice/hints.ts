// Topology hints on endpoints (§4.16; KEP-2433 topology-aware routing, KEP-4444 and KEP-3015
// trafficDistribution). Hints are computed per endpoint before placement, so an unchanged
// endpoint compares equal to its stored copy and does not cause a write.
import type { EndpointHints } from 'kubernetes-types/discovery/v1.js';
import type { Endpoint, Node, Service } from '../../api/types.ts';
import { annotationKeys, labelKeys } from '../../api/well-known.ts';

/** EndpointHints as of discovery/v1 1.33 (forNodes is newer than kubernetes-types 1.30). */
export type Hints = EndpointHints & { forNodes?: { name: string }[] };

export type HintsMode = 'none' | 'zone' | 'node' | 'auto';

export function hintsMode(svc: Service): HintsMode {
  const ann = svc.metadata?.annotations ?? {};
  // The deprecated annotation is read first, as upstream's hintsEnabled does.
  const mode = ann[annotationKeys.topologyAwareHints] ?? ann[annotationKeys.topologyMode];
  if (mode === 'Auto' || mode === 'auto') return 'auto';
  switch (svc.spec?.trafficDistribution) {
    case 'PreferClose':
    case 'PreferSameZone':
      return 'zone';
    case 'PreferSameNode':
      return 'node';
    default:
      return 'none';
  }
}

/** trafficDistribution hints: the endpoint's own zone, and with PreferSameNode its own node. */
export function trafficDistributionHints(ep: Endpoint, mode: 'zone' | 'node'): Hints | undefined {
  const hints: Hints = {};
  if (ep.zone) hints.forZones = [{ name: ep.zone }];
  if (mode === 'node' && ep.nodeName) hints.forNodes = [{ name: ep.nodeName }];
  return hints.forZones || hints.forNodes ? hints : undefined;
}

/**
 * topology-mode: Auto, reduced: upstream's topology cache spreads endpoints over zones in
 * proportion to each zone's allocatable CPU; svcnet gives each endpoint its own zone, and only
 * when it is safe to do so at all — every endpoint has a zone and every zone that has nodes has
 * a ready endpoint (otherwise a zone would be left with nothing, the case upstream also refuses).
 */
export function autoHintsAllowed(endpoints: readonly Endpoint[], nodes: readonly Node[]): boolean {
  if (endpoints.length === 0) return false;
  const served = new Set<string>();
  for (const ep of endpoints) {
    if (!ep.zone) return false;
    if (ep.conditions?.ready !== false) served.add(ep.zone);
  }
  for (const n of nodes) {
    const zone = n.metadata?.labels?.[labelKeys.topologyZone];
    if (zone && !served.has(zone)) return false;
  }
  return true;
}
