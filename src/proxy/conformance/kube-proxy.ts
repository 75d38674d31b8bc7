// Scenarios ported from kube-proxy's own tests (pkg/proxy/nftables/proxier_test.go and
// pkg/proxy/iptables/proxier_test.go), with their names, addresses and expected outcomes, so a
// plane's tracer is checked against what kube-proxy asserts about itself:
// - TestInternalExternalMasquerade: every source kind × every VIP kind × Cluster/eTP Local/iTP
//   Local, under the four combinations of --masquerade-all and local-traffic detection;
// - TestLoadBalancer (with the source range written " 203.0.113.0/25 ", as
//   TestOverallIPTablesRules does, to check the trimming kube-proxy does).
// Services go through the agent's trackers as API objects (fixture.ts).
import type { ProxySnapshot } from '../snapshot.ts';
import type { NodeInfo } from '../types.ts';
import { type SvcSpec, snapshotOfSpecs } from './fixture.ts';
import type { ConformanceCase } from './types.ts';

const testNodeIP = '192.168.0.2';
const testExternalClient = '203.0.113.2';
const testExternalClientBlocked = '203.0.113.130';
const pod = '10.0.0.2';
const tcp = 'TCP' as const;

export interface KubeProxyScenario {
  readonly name: string;
  readonly masqueradeAll: boolean;
  readonly snapshot: ProxySnapshot;
  readonly cases: readonly ConformanceCase[];
  /** Addresses local to the node (what `fib saddr type local` matches). */
  readonly localAddresses: readonly string[];
}

function node(localDetector: boolean): NodeInfo {
  return { name: 'test-node', zone: '', ips: [testNodeIP], podCIDRs: localDetector ? ['10.0.0.0/8'] : [] };
}

const masqServices: readonly SvcSpec[] = [1, 2, 3].map((i) => ({
  name: `svc${i}`,
  clusterIP: `172.30.0.4${i}`,
  type: 'LoadBalancer' as const,
  ports: [{ name: 'p80', port: 80, targetPort: 80, protocol: tcp, nodePort: 3000 + i }],
  lbIngress: [{ ip: ['1.2.3.4', '5.6.7.8', '9.10.11.12'][i - 1] ?? '' }],
  ...(i === 2 ? { etp: 'Local' as const, healthCheckNodePort: 30000 } : {}),
  ...(i === 3 ? { itp: 'Local' as const } : {}),
  eps: [
    { ip: `10.180.0.${i}`, node: 'test-node' },
    { ip: `10.180.1.${i}`, node: 'remote' },
  ],
}));

type Flow = [name: string, src: string, dst: string, dport: number, output: readonly string[], masq: boolean];

const all = (i: number) => [`10.180.0.${i}:80`, `10.180.1.${i}:80`];
const local = (i: number) => [`10.180.0.${i}:80`];

// The "normal case" table of TestInternalExternalMasquerade (working local detector, no
// --masquerade-all), verbatim including "node to NodePort with eTP:Local", which kube-proxy
// sends to svc1's NodePort.
const masqFlows: readonly Flow[] = [
  ['pod to ClusterIP', pod, '172.30.0.41', 80, all(1), false],
  ['pod to NodePort', pod, testNodeIP, 3001, all(1), true],
  ['pod to LB', pod, '1.2.3.4', 80, all(1), true],
  ['node to ClusterIP', testNodeIP, '172.30.0.41', 80, all(1), true],
  ['node to NodePort', testNodeIP, testNodeIP, 3001, all(1), true],
  ['node to LB', testNodeIP, '1.2.3.4', 80, all(1), true],
  ['external to ClusterIP', testExternalClient, '172.30.0.41', 80, all(1), true],
  ['external to NodePort', testExternalClient, testNodeIP, 3001, all(1), true],
  ['external to LB', testExternalClient, '1.2.3.4', 80, all(1), true],
  ['pod to ClusterIP with eTP:Local', pod, '172.30.0.42', 80, all(2), false],
  ['pod to NodePort with eTP:Local', pod, testNodeIP, 3002, all(2), false],
  ['pod to LB with eTP:Local', pod, '5.6.7.8', 80, all(2), false],
  ['node to ClusterIP with eTP:Local', testNodeIP, '172.30.0.42', 80, all(2), true],
  ['node to NodePort with eTP:Local', testNodeIP, testNodeIP, 3001, all(1), true],
  ['node to LB with eTP:Local', testNodeIP, '5.6.7.8', 80, all(2), true],
  ['external to ClusterIP with eTP:Local', testExternalClient, '172.30.0.42', 80, all(2), true],
  ['external to NodePort with eTP:Local', testExternalClient, testNodeIP, 3002, local(2), false],
  ['external to LB with eTP:Local', testExternalClient, '5.6.7.8', 80, local(2), false],
  ['pod to ClusterIP with iTP:Local', pod, '172.30.0.43', 80, local(3), false],
  ['pod to NodePort with iTP:Local', pod, testNodeIP, 3003, all(3), true],
  ['pod to LB with iTP:Local', pod, '9.10.11.12', 80, all(3), true],
  ['node to ClusterIP with iTP:Local', testNodeIP, '172.30.0.43', 80, local(3), true],
  ['node to NodePort with iTP:Local', testNodeIP, testNodeIP, 3003, all(3), true],
  ['node to LB with iTP:Local', testNodeIP, '9.10.11.12', 80, all(3), true],
  ['external to ClusterIP with iTP:Local', testExternalClient, '172.30.0.43', 80, local(3), true],
  ['external to NodePort with iTP:Local', testExternalClient, testNodeIP, 3003, all(3), true],
  ['external to LB with iTP:Local', testExternalClient, '9.10.11.12', 80, all(3), true],
];

type Override = { masq?: boolean; output?: readonly string[] };

const noDetector: Record<string, Override> = {
  // With no local-traffic detector every source to a ClusterIP counts as a pod: no masquerade.
  'node to ClusterIP': { masq: false },
  'node to ClusterIP with eTP:Local': { masq: false },
  'node to ClusterIP with iTP:Local': { masq: false },
  'external to ClusterIP': { masq: false },
  'external to ClusterIP with eTP:Local': { masq: false },
  'external to ClusterIP with iTP:Local': { masq: false },
  // And no eTP:Local short-circuit for pods: they get only the local endpoints.
  'pod to NodePort with eTP:Local': { output: local(2) },
  'pod to LB with eTP:Local': { output: local(2) },
};
const masqAll: Record<string, Override> = {
  'pod to ClusterIP': { masq: true },
  'pod to ClusterIP with eTP:Local': { masq: true },
  'pod to ClusterIP with iTP:Local': { masq: true },
};

const variants: readonly {
  name: string;
  masqueradeAll: boolean;
  localDetector: boolean;
  o: Record<string, Override>;
}[] = [
  { name: 'base', masqueradeAll: false, localDetector: true, o: {} },
  { name: 'no LocalTrafficDetector', masqueradeAll: false, localDetector: false, o: noDetector },
  { name: 'masqueradeAll', masqueradeAll: true, localDetector: true, o: masqAll },
  {
    name: 'masqueradeAll, no LocalTrafficDetector',
    masqueradeAll: true,
    localDetector: false,
    // As in "masqueradeAll", and the pod short-circuit of "no LocalTrafficDetector".
    o: {
      ...masqAll,
      'pod to NodePort with eTP:Local': { output: local(2) },
      'pod to LB with eTP:Local': { output: local(2) },
    },
  },
];

const spec = 'kube-proxy TestInternalExternalMasquerade';

export function masqueradeScenarios(): KubeProxyScenario[] {
  return variants.map((v) => ({
    name: `TestInternalExternalMasquerade/${v.name}`,
    masqueradeAll: v.masqueradeAll,
    localAddresses: [testNodeIP],
    snapshot: snapshotOfSpecs(masqServices, {
      node: node(v.localDetector),
      nodePortAddresses: [],
      externalIPAllowCIDRs: [],
    }),
    cases: masqFlows.map(([name, src, dst, dport, output, masq]) => ({
      name,
      spec,
      src,
      proto: tcp,
      dst,
      dport,
      expect: v.o[name]?.output ?? output,
      masq: v.o[name]?.masq ?? masq,
    })),
  }));
}

export function sourceRangeScenario(): KubeProxyScenario {
  const svc: SvcSpec = {
    name: 'svc1',
    clusterIP: '172.30.0.41',
    type: 'LoadBalancer',
    ports: [{ name: 'p80', port: 80, targetPort: 80, protocol: tcp, nodePort: 3001 }],
    lbIngress: [{ ip: '1.2.3.4' }],
    sourceRanges: [' 203.0.113.0/25 '],
    eps: [{ ip: '10.180.0.1', node: 'test-node' }],
  };
  const ep = ['10.180.0.1:80'];
  const c = (
    name: string,
    src: string,
    dst: string,
    dport: number,
    expect: ConformanceCase['expect'],
    masq?: boolean,
  ) =>
    ({
      name,
      spec: 'kube-proxy TestLoadBalancer',
      src,
      proto: tcp,
      dst,
      dport,
      expect,
      ...(masq === undefined ? {} : { masq }),
    }) as const;
  return {
    name: 'TestLoadBalancer (source range with surrounding spaces)',
    masqueradeAll: false,
    localAddresses: [testNodeIP],
    snapshot: snapshotOfSpecs([svc], { node: node(true), nodePortAddresses: [], externalIPAllowCIDRs: [] }),
    cases: [
      c('pod to cluster IP', pod, '172.30.0.41', 80, ep, false),
      c('external to nodePort', testExternalClient, testNodeIP, 3001, ep, true),
      c('nodePort bypasses LoadBalancerSourceRanges', testExternalClientBlocked, testNodeIP, 3001, ep, true),
      c('accepted external to LB', testExternalClient, '1.2.3.4', 80, ep, true),
      c('blocked external to LB', testExternalClientBlocked, '1.2.3.4', 80, 'DROP'),
      c('pod to LB (blocked by LoadBalancerSourceRanges)', pod, '1.2.3.4', 80, 'DROP'),
      c('node to LB (blocked by LoadBalancerSourceRanges)', testNodeIP, '1.2.3.4', 80, 'DROP'),
    ],
  };
}

export function kubeProxyScenarios(): KubeProxyScenario[] {
  return [...masqueradeScenarios(), sourceRangeScenario()];
}
