// What the speaker knows when it decides: API objects as the informers hold them plus the one
// thing the API cannot say, when each node's liveness was last seen renewing (observed on the
// local clock, as client-go's leader election does, so clock skew between nodes is harmless).
import type {
  BFDProfile,
  BGPAdvertisement,
  BGPPeer,
  Community,
  EndpointSlice,
  IPAddressPool,
  L2Advertisement,
  Node,
  Service,
} from '../api/types.ts';

export interface World {
  /** The node this speaker runs on. */
  self: string;
  nowMs: number;
  nodes: readonly Node[];
  /** Node name → local time (ms) its liveness Lease was last seen to change. */
  livenessSeenMs: ReadonlyMap<string, number>;
  /** How long without a renewal before a node counts as gone. */
  livenessTimeoutMs: number;
  services: readonly Service[];
  slices: readonly EndpointSlice[];
  pools: readonly IPAddressPool[];
  l2: readonly L2Advertisement[];
  bgpAdvertisements: readonly BGPAdvertisement[];
  peers: readonly BGPPeer[];
  communities: readonly Community[];
  bfdProfiles: readonly BFDProfile[];
}
