// Invalid manifests from reference/service-semantics.md §1 and §3 sent through real kubectl:
// each is rejected with the exact Kubernetes message and nothing stored changes.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestApiServer, type TestApiServer } from './helpers/apiserver.ts';

type Spec = Record<string, unknown>;

interface Case {
  rule: string;
  name: string;
  spec?: Spec;
  metadata?: Record<string, unknown>;
  /** Substrings kubectl must print (each a `field: body` of one cause, or a whole line). */
  expect: string[];
  /** An update instead of a create: the first object is created, then this spec is applied. */
  updateFrom?: Spec;
  namespace?: string;
  strict?: boolean;
}

const port80 = [{ port: 80, targetPort: 8080, protocol: 'TCP' }];
const dns1035 =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character";

const cases: Case[] = [
  {
    rule: '1.1',
    name: 'MyService',
    spec: { ports: port80 },
    expect: [`metadata.name: Invalid value: "MyService": ${dns1035}`],
  },
  { rule: '1.1', name: '1svc', spec: { ports: port80 }, expect: [`metadata.name: Invalid value: "1svc": ${dns1035}`] },
  { rule: '1.1', name: 'a'.repeat(64), spec: { ports: port80 }, expect: ['must be no more than 63 characters'] },
  {
    rule: '1.3',
    name: 'topo',
    metadata: {
      annotations: {
        'service.kubernetes.io/topology-mode': 'Auto',
        'service.kubernetes.io/topology-aware-hints': 'Disabled',
      },
    },
    spec: { ports: port80 },
    expect: [
      'metadata.annotations[service.kubernetes.io/topology-mode]: Invalid value: "Auto": must match annotations[service.kubernetes.io/topology-aware-hints] when both are specified',
    ],
  },
  { rule: '1.4', name: 'noports', spec: { selector: { a: 'b' } }, expect: ['spec.ports: Required value'] },
  {
    rule: '1.5',
    name: 'unnamed',
    spec: { ports: [{ port: 80 }, { port: 81 }] },
    expect: ['spec.ports[0].name: Required value', 'spec.ports[1].name: Required value'],
  },
  {
    rule: '1.6',
    name: 'dotname',
    spec: { ports: [{ name: 'my.port', port: 80 }] },
    expect: ['spec.ports[0].name: Invalid value: "my.port": must not contain dots'],
  },
  {
    rule: '1.6',
    name: 'dupname',
    spec: {
      ports: [
        { name: 'http', port: 80 },
        { name: 'http', port: 81 },
      ],
    },
    expect: ['spec.ports[1].name: Duplicate value: "http"'],
  },
  {
    rule: '1.7',
    name: 'port0',
    spec: { ports: [{ port: 0, targetPort: 80 }] },
    expect: ['spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive'],
  },
  {
    rule: '1.7',
    name: 'portbig',
    spec: { ports: [{ port: 70000 }] },
    expect: ['spec.ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive'],
  },
  {
    rule: '1.8',
    name: 'proto',
    spec: { ports: [{ port: 80, protocol: 'HTTP' }] },
    expect: ['spec.ports[0].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"'],
  },
  {
    rule: '1.9',
    name: 'tpbig',
    spec: { ports: [{ port: 80, targetPort: 70000 }] },
    expect: ['spec.ports[0].targetPort: Invalid value: 70000: must be between 1 and 65535, inclusive'],
  },
  {
    rule: '1.9',
    name: 'tplong',
    spec: { ports: [{ port: 80, targetPort: 'a-very-long-port-name' }] },
    expect: ['spec.ports[0].targetPort: Invalid value: "a-very-long-port-name": must be no more than 15 characters'],
  },
  {
    rule: '1.9',
    name: 'tpchars',
    spec: { ports: [{ port: 80, targetPort: 'Http_Port' }] },
    expect: [
      'spec.ports[0].targetPort: Invalid value: "Http_Port": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)',
    ],
  },
  {
    rule: '1.9',
    name: 'tpdigits',
    spec: { ports: [{ port: 80, targetPort: '123' }] },
    expect: ['spec.ports[0].targetPort: Invalid value: "123": must contain at least one letter (a-z)'],
  },
  {
    rule: '1.9',
    name: 'tphyphens',
    spec: { ports: [{ port: 80, targetPort: 'a--b' }] },
    expect: ['spec.ports[0].targetPort: Invalid value: "a--b": must not contain consecutive hyphens'],
  },
  {
    rule: '1.9',
    name: 'tpedge',
    spec: { ports: [{ port: 80, targetPort: '-ab' }] },
    expect: ['spec.ports[0].targetPort: Invalid value: "-ab": must not begin or end with a hyphen'],
  },
  {
    rule: '1.11',
    name: 'appproto',
    spec: { ports: [{ port: 80, appProtocol: 'bad proto!' }] },
    expect: ['spec.ports[0].appProtocol: Invalid value: "bad proto!"'],
  },
  {
    rule: '1.12',
    name: 'dupport',
    spec: {
      ports: [
        { name: 'a', port: 80 },
        { name: 'b', port: 80 },
      ],
    },
    expect: ['spec.ports[1]: Duplicate value:'],
  },
  {
    rule: '1.14',
    name: 'cipnodeport',
    spec: { type: 'ClusterIP', ports: [{ port: 80, nodePort: 30500 }] },
    expect: ["spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"],
  },
  {
    rule: '1.16',
    name: 'badtype',
    spec: { type: 'Foo', ports: port80 },
    expect: [
      'spec.type: Unsupported value: "Foo": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"',
    ],
  },
  {
    rule: '1.17',
    name: 'selval',
    spec: { ports: port80, selector: { app: 'bad value!' } },
    expect: ['spec.selector: Invalid value: "bad value!"'],
  },
  {
    rule: '1.18',
    name: 'extcip',
    spec: { type: 'ExternalName', externalName: 'example.com', clusterIP: '10.96.7.7' },
    expect: ['spec.clusterIPs: Forbidden: may not be set for ExternalName services'],
  },
  {
    rule: '1.19',
    name: 'npnone',
    spec: { type: 'NodePort', clusterIP: 'None', ports: port80 },
    expect: ['spec.clusterIPs[0]: Invalid value: "None": may not be set to \'None\' for NodePort services'],
  },
  {
    rule: '1.19',
    name: 'lbnone',
    spec: { type: 'LoadBalancer', clusterIP: 'None', ports: port80 },
    expect: ['spec.clusterIPs[0]: Invalid value: "None": may not be set to \'None\' for LoadBalancer services'],
  },
  {
    rule: '1.20',
    name: 'cipmismatch',
    spec: { clusterIP: '10.96.8.8', clusterIPs: ['10.96.8.9'], ports: port80 },
    expect: ['spec.clusterIPs: Invalid value: ["10.96.8.9"]: first value must match `clusterIP`'],
  },
  {
    rule: '1.21',
    name: 'badfamily',
    spec: { ipFamilies: ['IPv5'], ports: port80 },
    expect: ['spec.ipFamilies[0]: Unsupported value: "IPv5": supported values: "IPv4", "IPv6"'],
  },
  {
    rule: '1.22',
    name: 'badpolicy',
    spec: { ipFamilyPolicy: 'Both', ports: port80 },
    expect: [
      'spec.ipFamilyPolicy: Unsupported value: "Both": supported values: "PreferDualStack", "RequireDualStack", "SingleStack"',
    ],
  },
  {
    rule: '1.23',
    name: 'badip',
    spec: { clusterIP: '10.96.0.300', ports: port80 },
    expect: [
      'spec.clusterIPs[0]: Invalid value: "10.96.0.300": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)',
    ],
  },
  {
    rule: '1.26',
    name: 'requiredual',
    spec: { ipFamilyPolicy: 'RequireDualStack', ports: port80 },
    expect: [
      'spec.ipFamilyPolicy: Invalid value: "RequireDualStack": this cluster is not configured for dual-stack services',
    ],
  },
  {
    rule: '1.26',
    name: 'v6family',
    spec: { ipFamilies: ['IPv6'], ports: port80 },
    expect: ['spec.ipFamilies[0]: Invalid value: "IPv6": not configured on this cluster'],
  },
  {
    rule: '1.27',
    name: 'extloop',
    spec: { ports: port80, externalIPs: ['127.0.0.1'] },
    expect: [
      'spec.externalIPs[0]: Invalid value: "127.0.0.1": may not be in the loopback range (127.0.0.0/8, ::1/128)',
    ],
  },
  {
    rule: '1.27',
    name: 'extunspec',
    spec: { ports: port80, externalIPs: ['0.0.0.0'] },
    expect: ['spec.externalIPs[0]: Invalid value: "0.0.0.0": may not be unspecified (0.0.0.0)'],
  },
  {
    rule: '1.27',
    name: 'extnotip',
    spec: { ports: port80, externalIPs: ['not-an-ip'] },
    expect: [
      'spec.externalIPs[0]: Invalid value: "not-an-ip": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)',
    ],
  },
  {
    rule: '1.28',
    name: 'lbsrcnotlb',
    spec: { ports: port80, loadBalancerSourceRanges: ['10.0.0.0/8'] },
    expect: ["spec.LoadBalancerSourceRanges: Forbidden: may only be used when `type` is 'LoadBalancer'"],
  },
  {
    rule: '1.28',
    name: 'lbsrcbad',
    spec: { type: 'LoadBalancer', ports: port80, loadBalancerSourceRanges: ['10.0.0.0/33'] },
    expect: [
      'spec.LoadBalancerSourceRanges[0]: Invalid value: "10.0.0.0/33": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)',
    ],
  },
  {
    rule: '1.30',
    name: 'alnpnotlb',
    spec: { ports: port80, allocateLoadBalancerNodePorts: false },
    expect: ['spec.allocateLoadBalancerNodePorts: Forbidden'],
  },
  {
    rule: '1.31',
    name: 'lbclassnotlb',
    spec: { ports: port80, loadBalancerClass: 'example.com/internal-vip' },
    expect: ["spec.loadBalancerClass: Forbidden: may only be used when `type` is 'LoadBalancer'"],
  },
  {
    rule: '1.31',
    name: 'lbclassbad',
    spec: { type: 'LoadBalancer', ports: port80, loadBalancerClass: 'Bad Class' },
    expect: ['spec.loadBalancerClass: Invalid value: "Bad Class"'],
  },
  {
    rule: '1.32',
    name: 'etpcip',
    spec: { ports: port80, externalTrafficPolicy: 'Local' },
    expect: ['spec.externalTrafficPolicy: Invalid value: "Local": may only be set for externally-accessible services'],
  },
  {
    rule: '1.32',
    name: 'etpbad',
    spec: { type: 'NodePort', ports: port80, externalTrafficPolicy: 'Foo' },
    expect: ['spec.externalTrafficPolicy: Unsupported value: "Foo": supported values: "Cluster", "Local"'],
  },
  {
    rule: '1.33',
    name: 'hcnp',
    spec: { ports: port80, healthCheckNodePort: 31000 },
    expect: [
      "spec.healthCheckNodePort: Invalid value: 31000: may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'",
    ],
  },
  {
    rule: '1.35',
    name: 'itpbad',
    spec: { ports: port80, internalTrafficPolicy: 'Foo' },
    expect: ['spec.internalTrafficPolicy: Unsupported value: "Foo": supported values: "Cluster", "Local"'],
  },
  {
    rule: '1.36',
    name: 'tdbad',
    spec: { ports: port80, trafficDistribution: 'Random' },
    expect: ['spec.trafficDistribution: Unsupported value: "Random"'],
  },
  {
    rule: '1.37',
    name: 'affbad',
    spec: { ports: port80, sessionAffinity: 'Sticky' },
    expect: ['spec.sessionAffinity: Unsupported value: "Sticky": supported values: "ClientIP", "None"'],
  },
  {
    rule: '1.37',
    name: 'afftimeout',
    spec: {
      ports: port80,
      sessionAffinity: 'ClientIP',
      sessionAffinityConfig: { clientIP: { timeoutSeconds: 86401 } },
    },
    expect: [
      'spec.sessionAffinityConfig.clientIP.timeoutSeconds: Invalid value: 86401: must be greater than 0 and less than 86400',
    ],
  },
  { rule: '1.38', name: 'extnoname', spec: { type: 'ExternalName' }, expect: ['spec.externalName: Required value'] },
  {
    rule: '1.38',
    name: 'extbadname',
    spec: { type: 'ExternalName', externalName: 'Bad_Name.example.com' },
    expect: [
      'spec.externalName: Invalid value: "Bad_Name.example.com": a lowercase RFC 1123 subdomain must consist of',
    ],
  },
  {
    rule: '3.7',
    name: 'ciprange',
    spec: { clusterIP: '192.168.1.1', ports: port80 },
    expect: [
      'failed to allocate IP 192.168.1.1: the provided IP (192.168.1.1) is not in the valid range. The range of valid IPs is 10.96.0.0/12',
    ],
  },
  {
    rule: '3.8',
    name: 'cipused',
    spec: { clusterIP: '10.96.0.1', ports: port80 },
    expect: ['failed to allocate IP 10.96.0.1: provided IP is already allocated'],
  },
  {
    rule: '3.15',
    name: 'np80',
    spec: { type: 'NodePort', ports: [{ port: 80, nodePort: 80 }] },
    expect: [
      'spec.ports[0].nodePort: Invalid value: 80: provided port is not in the valid range. The range of valid ports is 30000-32767',
    ],
  },
  {
    rule: '1.42',
    name: 'cipchange',
    updateFrom: { clusterIP: '10.96.9.9', ports: port80 },
    spec: { clusterIP: '10.96.9.10', ports: port80 },
    expect: ['spec.clusterIPs[0]: Invalid value: ["10.96.9.10"]: may not change once set'],
  },
  {
    rule: '1.31',
    name: 'lbclasschange',
    updateFrom: { type: 'LoadBalancer', loadBalancerClass: 'example.com/a', ports: port80 },
    spec: { type: 'LoadBalancer', loadBalancerClass: 'example.com/b', ports: port80 },
    expect: ['spec.loadBalancerClass: Invalid value: "example.com/b": may not change once set'],
  },
  {
    rule: 'admission',
    name: 'nons',
    namespace: 'nope',
    spec: { ports: port80 },
    expect: ['namespaces "nope" not found'],
  },
  {
    rule: 'fieldValidation',
    name: 'unknownfield',
    strict: true,
    spec: { ports: port80, bogus: true },
    expect: ['strict decoding error: unknown field "spec.bogus"'],
  },
];

function manifest(c: Case, spec: Spec | undefined) {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: c.name, ...(c.namespace ? { namespace: c.namespace } : {}), ...(c.metadata ?? {}) },
    spec,
  });
}

describe('invalid Services through kubectl', () => {
  let s: TestApiServer;
  let snapshot: () => Promise<string>;
  before(async () => {
    s = await startTestApiServer();
    snapshot = async () => {
      const list = JSON.parse(await s.kc(['get', 'svc', '-A', '-o', 'json']));
      return JSON.stringify(
        list.items.map((i: { metadata: { name: string; resourceVersion: string } }) => [
          i.metadata.name,
          i.metadata.resourceVersion,
        ]),
      );
    };
  });
  after(async () => {
    await s.close();
  });

  it(`has at least 40 cases`, () => {
    assert.ok(cases.length >= 40, `${cases.length} cases`);
  });

  for (const c of cases) {
    it(`${c.rule} ${c.name} is rejected with the Kubernetes message`, async () => {
      if (c.updateFrom) await s.kc(['create', '-f', '-'], manifest(c, c.updateFrom));
      const before = await snapshot();
      const verb = c.updateFrom ? ['replace', '-f', '-'] : ['create', '-f', '-'];
      const r = await s.kubectl(c.strict ? [...verb, '--validate=strict'] : verb, manifest(c, c.spec));
      assert.notEqual(r.code, 0, `accepted: ${r.stdout}`);
      for (const e of c.expect) assert.ok(r.stderr.includes(e), `stderr lacks ${JSON.stringify(e)}:\n${r.stderr}`);
      assert.equal(await snapshot(), before, 'nothing stored changed');
    });
  }
});
