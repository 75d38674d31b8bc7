// SetDefaults_Endpoints / SetDefaults_EndpointPort (discovery): a port without a protocol is TCP;
// an EndpointSlice port without a name has the name "". Endpoint conditions are not defaulted:
// an absent condition means "unknown", which consumers read as ready/serving (reference §4.5).
import type { EndpointSlice, Endpoints } from '../types.ts';

export function defaultEndpoints(ep: Endpoints): void {
  for (const ss of ep.subsets ?? []) for (const p of ss.ports ?? []) p.protocol ||= 'TCP';
}

export function defaultEndpointSlice(slice: EndpointSlice): void {
  for (const p of slice.ports ?? []) {
    p.name ??= '';
    p.protocol ??= 'TCP';
  }
}
