// `svcnet explain`: the interface every data plane implements, and the stable JSON shape the
// agent answers with (documented in README.md beside this file; explain.test.ts pins it).
import type { TraceVerdict } from '../conformance/types.ts';
import type { ProxySnapshot } from '../snapshot.ts';
import type { Protocol } from '../types.ts';

/** The first packet of a flow, as it leaves the source. */
export interface ExplainPacket {
  readonly src: string;
  readonly dst: string;
  /** What `--proto` accepts (the probe opens TCP connections and UDP flows). */
  readonly proto: 'TCP' | 'UDP';
  readonly dport: number;
}

/** One programmed step a packet meets: a chain, map or rule, a virtual server, a listener. */
export interface PathStep {
  /** 'hook' | 'chain' | 'map' | 'rule' | 'nat' | 'verdict' | 'listener' | 'route' | 'balancer' | … */
  readonly kind: string;
  readonly name: string;
  /** Programmed detail (the rule text, counters, the balancing algorithm). */
  readonly detail?: string;
}

/** What a plane says its programmed state does with a packet. */
export interface PlaneTrace {
  readonly plane: string;
  /**
   * Where the steps were read: `kernel` (listed back from the node's kernel, e.g. `nft list
   * table`), `process` (the plane's live in-process state: the userspace listeners).
   */
  readonly source: 'kernel' | 'process';
  readonly verdict: TraceVerdict;
  /** The programmed rule that decides a REJECT or DROP. */
  readonly rule?: string;
  readonly steps: readonly PathStep[];
  /** The endpoint this client is pinned to by ClientIP affinity, where the plane can tell. */
  readonly pinnedTo?: string;
  /** Set when the plane rewrites sources for its own reason (a proxy that connects itself). */
  readonly masqueradeReason?: string;
  /** Set when the plane differs from the shared decision on purpose: why (e.g. refuses instead of dropping). */
  readonly deviation?: string;
}

/** A real flow the probe sent (as the node saw its original direction). */
export interface FlowTuple {
  readonly proto: 'TCP' | 'UDP';
  readonly src: string;
  readonly sport: number;
  readonly dst: string;
  readonly dport: number;
}

/**
 * Implemented by every data plane (DataPlane.explainer): `explain` walks what is programmed
 * right now; `landing` says which endpoint ("ip:port") a real flow was sent to (conntrack for
 * kernel planes, the connection table for userspace), undefined when the plane saw no such flow.
 */
export interface PlaneExplainer {
  explain(packet: ExplainPacket, snapshot: ProxySnapshot): Promise<PlaneTrace>;
  landing(flow: FlowTuple): Promise<string | undefined>;
  /** Connection counts per (destination, endpoint), for the dashboard and `/counters`. */
  flows(): Promise<PlaneFlows>;
}

/** Flows one destination (a VIP, a node port) sent to one endpoint. */
export interface PlaneFlowCount {
  readonly proto: 'TCP' | 'UDP' | 'SCTP';
  readonly dst: string;
  readonly dport: number;
  /** "ip:port" */
  readonly endpoint: string;
  readonly count: number;
}

/**
 * What a plane counts: `tracked` — entries in the kernel's connection table now (kernel planes:
 * every flow their DNAT translated, read with `conntrack -L`); `accepted` — connections and UDP
 * flows the proxy opened to the endpoint since it started (userspace).
 */
export interface PlaneFlows {
  readonly kind: 'tracked' | 'accepted';
  readonly counts: readonly PlaneFlowCount[];
}

export type DestinationKindName = 'clusterIP' | 'externalIP' | 'loadBalancer' | 'nodePort';

export interface ExplainEndpoint {
  readonly ip: string;
  readonly port: number;
  readonly node: string | null;
  readonly zone: string | null;
  readonly ready: boolean;
  readonly serving: boolean;
  readonly terminating: boolean;
  readonly eligible: boolean;
  /** Why not eligible; absent when eligible. */
  readonly reason?: string;
  /** Share of new flows this endpoint gets (eligible ones only). */
  readonly weight?: number;
}

/** The stable `-o json` shape. */
export interface Explanation {
  readonly node: string;
  readonly plane: string;
  readonly source: { readonly ip: string; readonly kind: 'pod' | 'node' | 'external'; readonly pod?: string };
  readonly destination: {
    readonly ip: string;
    readonly port: number;
    readonly protocol: Protocol;
    readonly kind: DestinationKindName | null;
  };
  readonly service: {
    readonly namespace: string;
    readonly name: string;
    readonly portName: string;
    readonly port: number;
    readonly protocol: Protocol;
    readonly type: string;
    readonly trafficPolicy: string;
  } | null;
  readonly endpoints: readonly ExplainEndpoint[];
  readonly verdict: 'endpoints' | 'REJECT' | 'DROP' | 'UNHANDLED';
  /** What the plane's programmed state does (equal to verdict unless `consistent` says otherwise). */
  readonly planeVerdict: 'endpoints' | 'REJECT' | 'DROP' | 'UNHANDLED';
  /** The rule deciding REJECT/DROP (programmed text where the plane has rules), else the reason. */
  readonly rule: string | null;
  readonly masquerade: boolean;
  readonly masqueradeReason: string;
  readonly affinity: {
    readonly type: 'None' | 'ClientIP';
    readonly timeoutSeconds?: number;
    readonly pinnedTo?: string;
  };
  readonly path: readonly PathStep[];
  readonly pathSource: 'kernel' | 'process';
  /** The plane's programmed verdict agrees with the shared decision; otherwise `detail` says how not. */
  readonly consistent: { readonly matches: boolean; readonly detail?: string };
  readonly probe?: { readonly landed: string; readonly matches: boolean; readonly detail?: string };
  /**
   * For a LoadBalancer IP: the nodes announcing it (layer 2: one; BGP: every eligible node), as
   * their speakers say (`metallb_speaker_announced` on each agent's /metrics), else as the last
   * `nodeAssigned` Event on the Service says (`source: 'events'`). Added by the CLI, not the agent.
   */
  readonly announcedBy?: {
    readonly nodes: readonly string[];
    readonly protocol: string | null;
    readonly source: 'speakers' | 'events' | 'none';
  };
}
