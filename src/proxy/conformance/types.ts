// The packet-flow conformance suite's vocabulary (DESIGN.md convention 4): cases are data, and
// every data plane supplies a tracer that says what its real rules/code do with a packet.
import type { ProxySnapshot } from '../snapshot.ts';

export interface Packet {
  readonly src: string;
  readonly proto: 'TCP' | 'UDP';
  readonly dst: string;
  readonly dport: number;
}

/**
 * Endpoint keys ("ip:port") the flow may be sent to (exactly this set), or REJECT (refused:
 * ICMP unreachable / RST), DROP (silently discarded), UNHANDLED (not a service destination on
 * this node: the packet continues untouched).
 */
export type Expectation = readonly string[] | 'REJECT' | 'DROP' | 'UNHANDLED';

export interface ConformanceCase extends Packet {
  readonly name: string;
  readonly expect: Expectation;
  /** Whether the source address is rewritten (masquerade/SNAT); omitted when it does not matter. */
  readonly masq?: boolean;
  /** The statement of service-semantics.md the case checks. */
  readonly spec: string;
}

export type TraceVerdict =
  | { readonly kind: 'endpoints'; readonly endpoints: readonly string[]; readonly masq: boolean }
  | { readonly kind: 'REJECT' | 'DROP' | 'UNHANDLED' };

export interface ConformancePlane {
  readonly name: string;
  /** Render/apply the snapshot (kernel planes: render(snapshot) into a fake kernel). */
  load(snapshot: ProxySnapshot): void | Promise<void>;
  trace(packet: Packet): TraceVerdict | Promise<TraceVerdict>;
  /** Case name → why this plane does not do what the case expects. */
  readonly skips?: Readonly<Record<string, string>>;
  /** Set when the plane cannot preserve source addresses at all: why masq is not compared. */
  readonly ignoreMasq?: string;
  /** Releases what load() made (a kernel lab); called after the last case. */
  close?(): Promise<void>;
}
