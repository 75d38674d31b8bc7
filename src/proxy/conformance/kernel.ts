// The packet-flow cases with real traffic on a real kernel: a kernel plane programs the node
// namespace of a lab shaped after the fixture (testing/conformance-lab.ts) and every case is
// sent from a namespace that owns its source address, its outcome read off the reply (which
// endpoint answered, with which peer address), a refusal or a timeout. A plane plugs in with a
// factory; nothing here knows nftables, iptables or IPVS. A run inside a VM only needs root.
import { hasNetAdmin } from '../../kernel/exec.ts';
import type { DataPlane } from '../plane.ts';
import { syncChanges } from '../snapshot.ts';
import { type ConformanceLab, createConformanceLab, type Listen, Probers } from '../testing/conformance-lab.ts';
import { cases as allCases } from './cases.ts';
import type { ConformanceCase, ConformancePlane, Packet, TraceVerdict } from './types.ts';

export interface KernelPlaneFactory {
  readonly name: string;
  /** A plane programming the named network namespace (the lab's node). */
  create(netns: string, cfg: { serviceCIDRs: readonly string[] }): DataPlane | Promise<DataPlane>;
  /** Case name → why this plane does something else (a skip needs a reason). */
  readonly skips?: Readonly<Record<string, string>>;
}

/**
 * The skip reason kernel planes give the cases of Services svcnet ignores: as kube-proxy's
 * nftables mode does 5.14, an address in the service CIDR no live Service owns is dropped once
 * DNAT had its chance, so the outcome is DROP where a plane that captures nothing says UNHANDLED.
 */
export const unservedServiceIPReason =
  'kernel planes drop service-CIDR addresses they do not serve (5.14); the trace says DROP, not UNHANDLED';

/** Why the kernel run cannot happen here, or false. */
export function kernelConformanceSkip(): string | false {
  return hasNetAdmin() ? false : 'needs root (CAP_NET_ADMIN) to create network namespaces';
}

/** The fixture's service CIDR: what kernel planes drop when unserved (5.14). */
const serviceCIDRs = ['10.96.0.0/16'];

/**
 * New flows per case: a set of two endpoints is seen whole with probability 1 - 2^-23; a
 * refusal, a drop or the sink's answer stop the series at once.
 */
const tries = 24;
/** No answer in this long is a DROP; an answer in the lab takes well under 10 ms. */
const dropAfterMs = 1500;

export function kernelConformancePlane(
  factory: KernelPlaneFactory,
  opts: { prefix: string; cases?: readonly ConformanceCase[] },
): ConformancePlane & { close(): Promise<void> } {
  const cases = opts.cases ?? allCases;
  let lab: ConformanceLab | undefined;
  let plane: DataPlane | undefined;
  const probers = new Probers();
  return {
    name: `${factory.name} (real kernel)`,
    ...(factory.skips ? { skips: factory.skips } : {}),
    async load(snapshot) {
      const destinations: Listen[] = cases.map((c) => ({ ip: c.dst, port: c.dport, proto: c.proto }));
      lab = await createConformanceLab(opts.prefix, {
        snapshot,
        sources: [...new Set(cases.map((c) => c.src))],
        destinations,
        serviceCIDRs,
      });
      plane = await factory.create(lab.node, { serviceCIDRs });
      await plane.sync(snapshot, syncChanges({ full: true }));
    },
    async trace(p: Packet): Promise<TraceVerdict> {
      if (!lab) throw new Error('kernel conformance: not loaded');
      const got = await probers.probe(lab.nsOf(p.src), { ...p, tries, timeout: dropAfterMs });
      return verdictOf(p, got);
    },
    async close() {
      probers.close();
      await plane?.stop();
      await lab?.close();
    },
  };
}

/** What a series of probe results says, in the suite's vocabulary. */
export function verdictOf(p: Packet, got: readonly string[]): TraceVerdict {
  const [first = '!EMPTY'] = got;
  if (first.startsWith('UNHANDLED')) return { kind: 'UNHANDLED' };
  if (first === '!TIMEOUT') return { kind: 'DROP' };
  // A TCP RST or an ICMP unreachable: what REJECT (and an unserved local port) look like.
  if (/^!(ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENETUNREACH)$/.test(first)) return { kind: 'REJECT' };
  if (first.startsWith('!')) throw new Error(`probe ${p.src} → ${p.dst}:${p.dport}: ${first}`);
  const endpoints = new Set<string>();
  let masq = false;
  for (const line of got) {
    const [ep, peer] = line.split(' ');
    if (!ep || !peer) throw new Error(`probe ${p.src} → ${p.dst}:${p.dport}: mixed outcomes ${got.join(', ')}`);
    endpoints.add(ep);
    if (peer !== p.src) masq = true;
  }
  return { kind: 'endpoints', endpoints: [...endpoints], masq };
}
