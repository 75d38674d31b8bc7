// The shared decision (eligibility.decide over traffic-class.ts, what the userspace plane runs per
// connection) against kube-proxy's own scenarios; each kernel plane's tracer runs them too.
import { describeKubeProxyScenarios } from './conformance/describe.ts';
import { type DestinationKind, decide } from './eligibility.ts';
import type { ServicePortInfo } from './types.ts';

describeKubeProxyScenarios('kube-proxy scenarios: shared eligibility rules', (sc) => {
  const snap = sc.snapshot;
  const dests = (svc: ServicePortInfo): [string, number, DestinationKind][] => [
    ...svc.clusterIPs.map((ip): [string, number, DestinationKind] => [ip, svc.port, 'clusterIP']),
    ...svc.loadBalancerIPs.map((ip): [string, number, DestinationKind] => [ip, svc.port, 'loadBalancer']),
    ...snap.nodePortIPs.map((ip): [string, number, DestinationKind] => [ip, svc.nodePort, 'nodePort']),
  ];
  return (p) => {
    for (const svc of snap.services.values()) {
      const hit = dests(svc).find(([ip, port]) => ip === p.dst && port === p.dport);
      if (!hit) continue;
      const v = decide(svc, snap.endpoints.get(svc.key) ?? [], hit[2], p.src, snap.node, {
        masqueradeAll: sc.masqueradeAll,
      });
      return v.kind === 'endpoints'
        ? { kind: 'endpoints', endpoints: v.endpoints.map((e) => e.key), masq: v.masquerade }
        : { kind: v.kind };
    }
    return { kind: 'UNHANDLED' };
  };
});
