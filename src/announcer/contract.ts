// The one contract every announcer meets (MetalLB's speaker Protocol): the speaker computes the
// world once, each protocol says which addresses this node should announce in it, and applies that
// set. Layer 2 and BGP declare themselves with `satisfies AnnouncerFactory`, so a protocol that
// drifts from the contract fails to compile where it is declared, not where it is used.
import type { IPFamily } from '../api/ip.ts';
import type { World } from './world.ts';

export type Protocol = 'layer2' | 'bgp';

/** One LoadBalancer address this node announces, and why it may. */
export interface Announcement {
  /** "ns/name" of the Service. */
  service: string;
  ip: string;
  family: IPFamily;
  /** The IPAddressPool the address came from (metallb.io/ip-allocated-from-pool). */
  pool: string;
  /** Layer 2: interfaces to answer on (empty: every interface). BGP: unused. */
  interfaces: readonly string[];
  /** BGP: what to attach to the route, from the matching BGPAdvertisements. */
  bgp?: readonly BGPAttributes[];
}

export interface BGPAttributes {
  /** The prefix announced: ip/aggregationLength. */
  prefix: string;
  localPref?: number;
  /** Community values, aliases already resolved ("65535:65282", "large:1:2:3"). */
  communities: readonly string[];
  /** BGPPeer names; empty: every peer. */
  peers: readonly string[];
}

/** Why this node does not announce an address: MetalLB's "notOwner", "noIPAllocated", … */
export type Withheld =
  | 'noAdvertisement'
  | 'nodeNotSelected'
  | 'nodeUnhealthy'
  | 'noLocalEndpoint'
  | 'noEndpoints'
  | 'notOwner';

/** BGP: a session this node keeps, from a BGPPeer whose nodeSelectors select it. */
export interface PeerSpec {
  /** The BGPPeer's name (what BGPAdvertisement.peers names). */
  name: string;
  myASN: number;
  peerASN: number;
  peerAddress: string;
  peerPort: number;
  sourceAddress?: string;
  /** Seconds (0: no keepalives, no hold timer). */
  holdTime: number;
  keepaliveTime?: number;
  routerID?: string;
  /** TCP-MD5 (RFC 2385) key, from password or the passwordSecret's "password" key. */
  password?: string;
  /** The passwordSecret could not be read: the session must not start without its key. */
  passwordError?: string;
}

export interface Plan {
  announce: readonly Announcement[];
  /** Keyed "ns/name ip". */
  withheld: ReadonlyMap<string, Withheld>;
  /** BGP: the sessions this node keeps (layer 2: absent). */
  peers?: readonly PeerSpec[];
}

export interface Announcer {
  readonly protocol: Protocol;
  /** Pure: what this node announces in the given world. */
  plan(world: World): Plan;
  /** Make the node announce exactly these (idempotent, may be called with the same plan again). */
  apply(plan: Plan): Promise<void>;
  /**
   * Stop announcing. "shutdown" is an orderly stop (BGP sends the graceful-shutdown community
   * first); "crash" drops everything at once, as a killed process would.
   */
  close(how: 'shutdown' | 'crash'): Promise<void>;
}

/** How a protocol is declared: a name and a constructor for one node. */
export interface AnnouncerFactory<Options> {
  readonly protocol: Protocol;
  create(node: string, options: Options): Announcer;
}
