// `svcnet explain` for the IPVS plane: what the kernel holds right now, read back (ipvsadm -S and
// the helper table's listing), walked for one packet: the helper table's refusals first (they
// run before IPVS), then the virtual server a packet from that kind of source meets (the address
// one, or the firewall-mark one the helper's map picks for pods and the node) and its real
// servers with weight above 0.
import { cidrContains, joinHostPort } from '../../api/ip.ts';
import { findConntrackFlow } from '../../kernel/conntrack.ts';
import { type Runner, run } from '../../kernel/exec.ts';
import { fwmarkKey, parseSave, serviceId } from '../../kernel/ipvs.ts';
import type { TraceVerdict } from '../conformance/types.ts';
import { classifySource } from '../eligibility.ts';
import { trackedFlows } from '../explain/tracked.ts';
import type { PathStep, PlaneExplainer, PlaneTrace } from '../explain/types.ts';
import type { IpvsApplier } from './applier.ts';

/** The elements of one named set or map in `nft list table` output. */
export function listedElements(listing: string, name: string): string[] {
  const m = new RegExp(`(?:set|map) ${name} \\{[^}]*?elements = \\{([^}]*)\\}`, 's').exec(listing);
  if (!m?.[1]) return [];
  return m[1]
    .split(',')
    .map((e) => e.trim().replace(/\s+/g, ' '))
    .filter((e) => e !== '');
}

export function ipvsExplainer(applier: IpvsApplier, netns: string | undefined, runner: Runner = run): PlaneExplainer {
  return {
    async explain(packet, snapshot): Promise<PlaneTrace> {
      const table = parseSave(await applier.ipvs.save());
      const listing = await applier.listHelper();
      const f = packet.dst.includes(':') ? 'ip6' : 'ip';
      const elem = `${packet.dst} . ${packet.proto.toLowerCase()} . ${packet.dport}`;
      const kind = classifySource(packet.src, snapshot.node);
      const steps: PathStep[] = [{ kind: 'table', name: 'inet svcnet-ipvs', detail: 'before IPVS (mangle priority)' }];
      const inSet = (name: string) => listedElements(listing, `${name}-${f}`).includes(elem);
      const refuse = (verdict: 'REJECT' | 'DROP', rule: string): PlaneTrace => ({
        plane: 'ipvs',
        source: 'kernel',
        verdict: { kind: verdict },
        rule,
        steps: [...steps, { kind: 'verdict', name: verdict, detail: rule }],
      });
      const bound = listedElements(listing, `bound-${f}`).includes(packet.dst);
      const vip = listedElements(listing, `vips-${f}`).includes(elem);
      if (!bound && !vip) {
        const cidr = listedElements(listing, `service-cidrs-${f}`).find((c) => cidrContains(c, packet.dst));
        if (cidr) return refuse('DROP', `forward: ${f} daddr @service-cidrs-${f} (${cidr}) drop`);
        // A node address with no virtual server on that port: the kernel itself answers (RST or
        // ICMP port unreachable) when nothing listens.
        if (snapshot.node.ips.includes(packet.dst)) {
          return refuse('REJECT', `${packet.dst}:${packet.dport} is a node address without a virtual server`);
        }
        return { plane: 'ipvs', source: 'kernel', verdict: { kind: 'UNHANDLED' }, steps };
      }
      if (inSet('reject')) return refuse('REJECT', `services-${f}: ${elem} @reject-${f} reject`);
      if (inSet('ranged')) {
        const allowed = listedElements(listing, `range-allow-${f}`).some((e) => {
          const cidr = e.slice(elem.length + 3);
          return (
            e.startsWith(`${elem} . `) &&
            cidrContains(cidr.includes('/') ? cidr : `${cidr}/${f === 'ip' ? 32 : 128}`, packet.src)
          );
        });
        if (!allowed) return refuse('DROP', `services-${f}: ${elem} @ranged-${f} saddr not in @range-allow-${f}: drop`);
      }
      if (inSet(`drop-${kind}`)) return refuse('DROP', `services-${f}: ${elem} @drop-${kind}-${f} drop`);
      let key = joinHostPort(packet.dst, packet.dport);
      let id = serviceId({ protocol: packet.proto, key });
      if (kind !== 'external') {
        const mark = listedElements(listing, `mark-${kind}-${f}`)
          .map((e) => e.split(' : '))
          .find(([k]) => k === elem)?.[1];
        if (mark) {
          steps.push({ kind: 'map', name: `mark-${kind}-${f}`, detail: `${elem} : ${mark}` });
          key = fwmarkKey(Number(mark), f === 'ip' ? 'IPv4' : 'IPv6');
          id = key;
        }
      }
      const vs = table.get(id);
      if (!vip) return refuse('REJECT', `services-${f}: ${packet.dst} @bound-${f} not a service port: reject`);
      if (!vs) return { plane: 'ipvs', source: 'kernel', verdict: { kind: 'UNHANDLED' }, steps };
      const live = [...vs.dests.values()].filter((d) => d.weight > 0);
      steps.push({
        kind: 'virtual-server',
        name: `${packet.proto} ${key}`,
        detail: `scheduler ${vs.service.scheduler}${vs.service.persistence ? `, persistence ${vs.service.persistence}s` : ''}`,
      });
      for (const d of vs.dests.values()) {
        steps.push({
          kind: 'real-server',
          name: d.key,
          detail: d.weight > 0 ? `masq weight ${d.weight}` : 'weight 0: draining',
        });
      }
      // Hairpin masquerade (5.8) depends on the pick and is not part of the verdict.
      const verdict: TraceVerdict =
        live.length > 0
          ? { kind: 'endpoints', endpoints: live.map((d) => d.key), masq: inSet(`masq-${kind}`) }
          : { kind: 'REJECT' };
      return { plane: 'ipvs', source: 'kernel', verdict, steps };
    },
    async landing(flow) {
      const f = await findConntrackFlow(netns, flow, runner);
      return f ? joinHostPort(f.ip, f.port) : undefined;
    },
    flows: () => trackedFlows(netns, runner),
  };
}
