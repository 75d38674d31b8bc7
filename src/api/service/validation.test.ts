import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { errorBody, type FieldError } from '../field.ts';
import { newInvalid } from '../status.ts';
import type { Service, ServiceSpec } from '../types.ts';
import {
  validateClusterIPsRelatedFields,
  validateService,
  validateServiceStatusUpdate,
  validateServiceUpdate,
} from './validation.ts';

interface Cause {
  type: FieldError['type'];
  field: string;
  body: string;
}

const shape = (errs: readonly FieldError[]): Cause[] =>
  errs.map((e) => ({ type: e.type, field: e.field, body: errorBody(e) }));

/** A valid, defaulted, allocated ClusterIP service; `mutate` breaks it. */
function clusterIP(mutate: (spec: ServiceSpec, svc: Service) => void = () => {}): Service {
  const svc: Service = {
    metadata: { name: 'x', namespace: 'default', resourceVersion: '1' },
    spec: {
      type: 'ClusterIP',
      clusterIP: '10.0.0.10',
      clusterIPs: ['10.0.0.10'],
      ipFamilies: ['IPv4'],
      ipFamilyPolicy: 'SingleStack',
      ports: [{ port: 80, protocol: 'TCP', targetPort: 8080 }],
      selector: { app: 'x' },
      sessionAffinity: 'None',
      internalTrafficPolicy: 'Cluster',
    },
  };
  mutate(svc.spec ?? {}, svc);
  return svc;
}

function nodePort(mutate: (spec: ServiceSpec, svc: Service) => void = () => {}): Service {
  return clusterIP((spec, svc) => {
    spec.type = 'NodePort';
    spec.externalTrafficPolicy = 'Cluster';
    spec.ports = [{ port: 80, protocol: 'TCP', targetPort: 8080, nodePort: 30080 }];
    mutate(spec, svc);
  });
}

function loadBalancer(mutate: (spec: ServiceSpec, svc: Service) => void = () => {}): Service {
  return nodePort((spec, svc) => {
    spec.type = 'LoadBalancer';
    spec.allocateLoadBalancerNodePorts = true;
    mutate(spec, svc);
  });
}

function headless(mutate: (spec: ServiceSpec, svc: Service) => void = () => {}): Service {
  return clusterIP((spec, svc) => {
    spec.clusterIP = 'None';
    spec.clusterIPs = ['None'];
    mutate(spec, svc);
  });
}

function externalName(mutate: (spec: ServiceSpec, svc: Service) => void = () => {}): Service {
  const svc: Service = {
    metadata: { name: 'x', namespace: 'default', resourceVersion: '1' },
    spec: { type: 'ExternalName', externalName: 'db.example.com', sessionAffinity: 'None' },
  };
  mutate(svc.spec ?? {}, svc);
  return svc;
}

const inv = (field: string, value: string, detail = ''): Cause => ({
  type: 'FieldValueInvalid',
  field,
  body: `Invalid value: ${value}${detail ? `: ${detail}` : ''}`,
});
const req = (field: string, detail = ''): Cause => ({
  type: 'FieldValueRequired',
  field,
  body: detail ? `Required value: ${detail}` : 'Required value',
});
const forb = (field: string, detail: string): Cause => ({
  type: 'FieldValueForbidden',
  field,
  body: `Forbidden: ${detail}`,
});
const dup = (field: string, value: string): Cause => ({
  type: 'FieldValueDuplicate',
  field,
  body: `Duplicate value: ${value}`,
});
const unsup = (field: string, value: string, supported: string): Cause => ({
  type: 'FieldValueNotSupported',
  field,
  body: `Unsupported value: ${value}: supported values: ${supported}`,
});

const dns1035Msg =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
const dns1123SubdomainMsg =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const dns1123LabelMsg =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const qualifiedNameMsg =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const labelValueMsg =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
const badIP = 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)';
const badCIDR = 'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)';
const portRange = 'must be between 1 and 65535, inclusive';
const lbOnly = "may only be used when `type` is 'LoadBalancer'";

interface Case {
  name: string;
  svc: Service;
  want: Cause[];
}

const createCases: Case[] = [
  { name: 'valid ClusterIP service', svc: clusterIP(), want: [] },
  { name: 'valid NodePort service', svc: nodePort(), want: [] },
  { name: 'valid LoadBalancer service', svc: loadBalancer(), want: [] },
  { name: 'valid ExternalName service', svc: externalName(), want: [] },
  // Metadata
  {
    name: '1.1 name must be a DNS-1035 label (starts with a digit)',
    svc: clusterIP((_s, svc) => {
      svc.metadata = { ...svc.metadata, name: '1st' };
    }),
    want: [inv('metadata.name', '"1st"', dns1035Msg)],
  },
  {
    name: '1.1 name longer than 63 characters',
    svc: clusterIP((_s, svc) => {
      svc.metadata = { ...svc.metadata, name: 'a'.repeat(64) };
    }),
    want: [inv('metadata.name', JSON.stringify('a'.repeat(64)), 'must be no more than 63 characters')],
  },
  {
    name: '1.1 name with upper case and underscore',
    svc: clusterIP((_s, svc) => {
      svc.metadata = { ...svc.metadata, name: 'My_svc' };
    }),
    want: [inv('metadata.name', '"My_svc"', dns1035Msg)],
  },
  {
    name: '1.2 name or generateName is required; namespace is required',
    svc: clusterIP((_s, svc) => {
      svc.metadata = { resourceVersion: '1' };
    }),
    want: [req('metadata.name', 'name or generateName is required'), req('metadata.namespace')],
  },
  {
    name: '1.2 generateName prefix may end with a dash',
    svc: clusterIP((_s, svc) => {
      svc.metadata = { ...svc.metadata, generateName: 'web-', name: 'web-x7k2p' };
    }),
    want: [],
  },
  {
    name: '1.3 topology-mode must match topology-aware-hints',
    svc: clusterIP((_s, svc) => {
      svc.metadata = {
        ...svc.metadata,
        annotations: {
          'service.kubernetes.io/topology-mode': 'Auto',
          'service.kubernetes.io/topology-aware-hints': 'Disabled',
        },
      };
    }),
    want: [
      inv(
        'metadata.annotations[service.kubernetes.io/topology-mode]',
        '"Auto"',
        'must match annotations[service.kubernetes.io/topology-aware-hints] when both are specified',
      ),
    ],
  },
  {
    name: '1.3 equal topology annotations are fine',
    svc: clusterIP((_s, svc) => {
      svc.metadata = {
        ...svc.metadata,
        annotations: {
          'service.kubernetes.io/topology-mode': 'Auto',
          'service.kubernetes.io/topology-aware-hints': 'Auto',
        },
      };
    }),
    want: [],
  },
  // Ports
  {
    name: '1.4 ports required for a non-headless ClusterIP service',
    svc: clusterIP((s) => {
      s.ports = [];
    }),
    want: [req('spec.ports')],
  },
  {
    name: '1.4 headless service may have no ports',
    svc: headless((s) => {
      delete s.ports;
    }),
    want: [],
  },
  {
    name: '1.4 ExternalName service may have no ports',
    svc: externalName(),
    want: [],
  },
  {
    name: '1.5 every port needs a name when there are several',
    svc: clusterIP((s) => {
      s.ports = [
        { name: 'http', port: 80, protocol: 'TCP', targetPort: 80 },
        { port: 443, protocol: 'TCP', targetPort: 443 },
      ];
    }),
    want: [req('spec.ports[1].name')],
  },
  {
    name: '1.6 port name with dots',
    svc: clusterIP((s) => {
      s.ports = [{ name: 'a.b', port: 80, protocol: 'TCP', targetPort: 80 }];
    }),
    want: [inv('spec.ports[0].name', '"a.b"', 'must not contain dots')],
  },
  {
    name: '1.6 port name with upper case',
    svc: clusterIP((s) => {
      s.ports = [{ name: 'Http', port: 80, protocol: 'TCP', targetPort: 80 }];
    }),
    want: [inv('spec.ports[0].name', '"Http"', dns1123LabelMsg)],
  },
  {
    name: '1.6 duplicate port name',
    svc: clusterIP((s) => {
      s.ports = [
        { name: 'p', port: 80, protocol: 'TCP', targetPort: 80 },
        { name: 'p', port: 81, protocol: 'TCP', targetPort: 81 },
      ];
    }),
    want: [dup('spec.ports[1].name', '"p"')],
  },
  {
    name: '1.7 port 0',
    svc: clusterIP((s) => {
      s.ports = [{ port: 0, protocol: 'TCP', targetPort: 80 }];
    }),
    want: [inv('spec.ports[0].port', '0', portRange)],
  },
  {
    name: '1.7 port 65536',
    svc: clusterIP((s) => {
      s.ports = [{ port: 65536, protocol: 'TCP', targetPort: 80 }];
    }),
    want: [inv('spec.ports[0].port', '65536', portRange)],
  },
  {
    name: '1.8 protocol required',
    svc: clusterIP((s) => {
      s.ports = [{ port: 80, targetPort: 80 }];
    }),
    want: [req('spec.ports[0].protocol')],
  },
  {
    name: '1.8 protocol not supported',
    svc: clusterIP((s) => {
      s.ports = [{ port: 80, protocol: 'ICMP', targetPort: 80 }];
    }),
    want: [unsup('spec.ports[0].protocol', '"ICMP"', '"SCTP", "TCP", "UDP"')],
  },
  {
    name: '1.9 int targetPort out of range',
    svc: clusterIP((s) => {
      s.ports = [{ port: 80, protocol: 'TCP', targetPort: 70000 }];
    }),
    want: [inv('spec.ports[0].targetPort', '70000', portRange)],
  },
  {
    name: '1.9 targetPort name too long',
    svc: clusterIP((s) => {
      s.ports = [{ port: 80, protocol: 'TCP', targetPort: 'a-very-long-name' }];
    }),
    want: [inv('spec.ports[0].targetPort', '"a-very-long-name"', 'must be no more than 15 characters')],
  },
  {
    name: '1.9 targetPort name with several faults',
    svc: clusterIP((s) => {
      s.ports = [{ port: 80, protocol: 'TCP', targetPort: '-9--' }];
    }),
    want: [
      inv('spec.ports[0].targetPort', '"-9--"', 'must contain at least one letter (a-z)'),
      inv('spec.ports[0].targetPort', '"-9--"', 'must not contain consecutive hyphens'),
      inv('spec.ports[0].targetPort', '"-9--"', 'must not begin or end with a hyphen'),
    ],
  },
  {
    name: '1.9 targetPort name with a bad character',
    svc: clusterIP((s) => {
      s.ports = [{ port: 80, protocol: 'TCP', targetPort: 'Http' }];
    }),
    want: [
      inv(
        'spec.ports[0].targetPort',
        '"Http"',
        'must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)',
      ),
    ],
  },
  {
    name: '1.9 named targetPort is fine',
    svc: clusterIP((s) => {
      s.ports = [{ port: 80, protocol: 'TCP', targetPort: 'http' }];
    }),
    want: [],
  },
  {
    name: '1.10 headless service may have targetPort != port',
    svc: headless((s) => {
      s.ports = [{ port: 80, protocol: 'TCP', targetPort: 9376 }];
    }),
    want: [],
  },
  {
    name: '1.11 appProtocol must be a qualified name',
    svc: clusterIP((s) => {
      s.ports = [{ port: 80, protocol: 'TCP', targetPort: 80, appProtocol: 'kubernetes.io/-h2c' }];
    }),
    want: [inv('spec.ports[0].appProtocol', '"kubernetes.io/-h2c"', qualifiedNameMsg)],
  },
  {
    name: '1.11 prefixed appProtocol is fine',
    svc: clusterIP((s) => {
      s.ports = [{ port: 80, protocol: 'TCP', targetPort: 80, appProtocol: 'kubernetes.io/h2c' }];
    }),
    want: [],
  },
  {
    name: '1.12 duplicate (protocol, port)',
    svc: clusterIP((s) => {
      s.ports = [
        { name: 'a', port: 80, protocol: 'TCP', targetPort: 80 },
        { name: 'b', port: 80, protocol: 'TCP', targetPort: 81 },
      ];
    }),
    want: [
      dup('spec.ports[1]', '{"Name":"","Protocol":"TCP","AppProtocol":null,"Port":80,"TargetPort":0,"NodePort":0}'),
    ],
  },
  {
    name: '1.12 same port under TCP and UDP is fine',
    svc: clusterIP((s) => {
      s.ports = [
        { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 },
        { name: 'dns-udp', port: 53, protocol: 'UDP', targetPort: 53 },
      ];
    }),
    want: [],
  },
  {
    name: '1.13 duplicate (protocol, nodePort)',
    svc: nodePort((s) => {
      s.ports = [
        { name: 'a', port: 80, protocol: 'TCP', targetPort: 80, nodePort: 30080 },
        { name: 'b', port: 81, protocol: 'TCP', targetPort: 81, nodePort: 30080 },
      ];
    }),
    want: [dup('spec.ports[1].nodePort', '30080')],
  },
  {
    name: '1.13 same nodePort under TCP and UDP is fine',
    svc: nodePort((s) => {
      s.ports = [
        { name: 'a', port: 53, protocol: 'TCP', targetPort: 53, nodePort: 30053 },
        { name: 'b', port: 53, protocol: 'UDP', targetPort: 53, nodePort: 30053 },
      ];
    }),
    want: [],
  },
  {
    name: '1.14 nodePort forbidden for ClusterIP',
    svc: clusterIP((s) => {
      s.ports = [{ port: 80, protocol: 'TCP', targetPort: 80, nodePort: 30080 }];
    }),
    want: [forb('spec.ports[0].nodePort', "may not be used when `type` is 'ClusterIP'")],
  },
  {
    name: '1.15 validation does not check the node-port range',
    svc: nodePort((s) => {
      s.ports = [{ port: 80, protocol: 'TCP', targetPort: 80, nodePort: 80 }];
    }),
    want: [],
  },
  // Type and selector
  {
    name: '1.16 type required',
    svc: clusterIP((s) => {
      delete s.type;
    }),
    want: [req('spec.type')],
  },
  {
    name: '1.16 type not supported',
    svc: clusterIP((s) => {
      s.type = 'Internal';
    }),
    want: [unsup('spec.type', '"Internal"', '"ClusterIP", "ExternalName", "LoadBalancer", "NodePort"')],
  },
  {
    name: '1.17 selector keys and values are label syntax',
    svc: clusterIP((s) => {
      s.selector = { 'bad key': 'x', app: 'bad value' };
    }),
    want: [inv('spec.selector', '"bad key"', qualifiedNameMsg), inv('spec.selector', '"bad value"', labelValueMsg)],
  },
  // ClusterIPs and families
  {
    name: '1.18 ExternalName forbids clusterIPs, ipFamilies and ipFamilyPolicy',
    svc: externalName((s) => {
      s.clusterIP = '10.0.0.1';
      s.clusterIPs = ['10.0.0.1'];
      s.ipFamilies = ['IPv4'];
      s.ipFamilyPolicy = 'SingleStack';
    }),
    want: [
      forb('spec.clusterIPs', 'may not be set for ExternalName services'),
      forb('spec.ipFamilies', 'may not be set for ExternalName services'),
      forb('spec.ipFamilyPolicy', 'may not be set for ExternalName services'),
    ],
  },
  {
    name: '1.19 LoadBalancer may not be headless',
    svc: loadBalancer((s) => {
      s.clusterIP = 'None';
      s.clusterIPs = ['None'];
    }),
    want: [inv('spec.clusterIPs[0]', '"None"', "may not be set to 'None' for LoadBalancer services")],
  },
  {
    name: '1.19 NodePort may not be headless',
    svc: nodePort((s) => {
      s.clusterIP = 'None';
      s.clusterIPs = ['None'];
    }),
    want: [inv('spec.clusterIPs[0]', '"None"', "may not be set to 'None' for NodePort services")],
  },
  {
    name: '1.20 clusterIPs required when clusterIP is set',
    svc: clusterIP((s) => {
      delete s.clusterIPs;
    }),
    want: [req('spec.clusterIPs')],
  },
  {
    name: '1.20 clusterIPs[0] must match clusterIP',
    svc: clusterIP((s) => {
      s.clusterIPs = ['10.0.0.11'];
    }),
    want: [inv('spec.clusterIPs', '["10.0.0.11"]', 'first value must match `clusterIP`')],
  },
  {
    name: '1.20 clusterIPs must be empty without clusterIP',
    svc: clusterIP((s) => {
      delete s.clusterIP;
    }),
    want: [inv('spec.clusterIPs', '["10.0.0.10"]', 'must be empty when `clusterIP` is not specified')],
  },
  {
    name: '1.21 ipFamilies values',
    svc: clusterIP((s) => {
      s.ipFamilies = ['IPv5'];
    }),
    want: [unsup('spec.ipFamilies[0]', '"IPv5"', '"IPv4", "IPv6"')],
  },
  {
    name: '1.21 ipFamilies duplicate',
    svc: clusterIP((s) => {
      s.ipFamilies = ['IPv4', 'IPv4'];
    }),
    want: [dup('spec.ipFamilies[1]', '"IPv4"')],
  },
  {
    name: '1.22 ipFamilyPolicy values',
    svc: clusterIP((s) => {
      s.ipFamilyPolicy = 'DualStack';
    }),
    want: [unsup('spec.ipFamilyPolicy', '"DualStack"', '"PreferDualStack", "RequireDualStack", "SingleStack"')],
  },
  {
    name: "1.23 'None' must be the first and only value",
    svc: clusterIP((s) => {
      s.clusterIP = 'None';
      s.clusterIPs = ['None', 'fd00::1'];
      delete s.ipFamilies;
    }),
    want: [inv('spec.clusterIPs', '["None","fd00::1"]', "'None' must be the first and only value")],
  },
  {
    name: '1.23 clusterIPs entries must be IPs',
    svc: clusterIP((s) => {
      s.clusterIP = 'banana';
      s.clusterIPs = ['banana'];
    }),
    want: [inv('spec.clusterIPs[0]', '"banana"', badIP)],
  },
  {
    name: '1.23 strict: leading zeros',
    svc: clusterIP((s) => {
      s.clusterIP = '10.0.0.010';
      s.clusterIPs = ['10.0.0.010'];
    }),
    want: [inv('spec.clusterIPs[0]', '"10.0.0.010"', 'must not have leading 0s')],
  },
  {
    name: '1.23 strict: IPv4-mapped IPv6',
    svc: clusterIP((s) => {
      s.clusterIP = '::ffff:10.0.0.10';
      s.clusterIPs = ['::ffff:10.0.0.10'];
    }),
    want: [inv('spec.clusterIPs[0]', '"::ffff:10.0.0.10"', 'must not be an IPv4-mapped IPv6 address')],
  },
  {
    name: '1.23 strict: canonical form',
    svc: clusterIP((s) => {
      s.clusterIP = 'FD00::10';
      s.clusterIPs = ['FD00::10'];
      s.ipFamilies = ['IPv6'];
    }),
    want: [inv('spec.clusterIPs[0]', '"FD00::10"', 'must be in canonical form ("fd00::10")')],
  },
  {
    name: '1.24 at most two clusterIPs',
    svc: clusterIP((s) => {
      s.clusterIPs = ['10.0.0.10', 'fd00::10', '10.0.0.11'];
      delete s.ipFamilies;
    }),
    want: [inv('spec.clusterIPs', '["10.0.0.10","fd00::10","10.0.0.11"]', 'may only hold up to 2 values')],
  },
  {
    name: '1.24 two clusterIPs must be one per family',
    svc: clusterIP((s) => {
      s.clusterIPs = ['10.0.0.10', '10.0.0.11'];
      delete s.ipFamilies;
    }),
    want: [inv('spec.clusterIPs', '["10.0.0.10","10.0.0.11"]', 'may specify no more than one IP for each IP family')],
  },
  {
    name: '1.25 clusterIPs[i] must match ipFamilies[i]',
    svc: clusterIP((s) => {
      s.clusterIP = 'fd00::10';
      s.clusterIPs = ['fd00::10', '10.0.0.10'];
      s.ipFamilies = ['IPv4', 'IPv6'];
      s.ipFamilyPolicy = 'RequireDualStack';
    }),
    want: [
      inv('spec.clusterIPs[0]', '"fd00::10"', 'expected an IPv4 value as indicated by `ipFamilies[0]`'),
      inv('spec.clusterIPs[1]', '"10.0.0.10"', 'expected an IPv6 value as indicated by `ipFamilies[1]`'),
    ],
  },
  // External IPs and LB fields
  {
    name: '1.27 externalIPs must be valid IPs',
    svc: clusterIP((s) => {
      s.externalIPs = ['1.2.3.256'];
      s.externalTrafficPolicy = 'Cluster';
    }),
    want: [inv('spec.externalIPs[0]', '"1.2.3.256"', badIP)],
  },
  {
    name: '1.27 externalIPs may not be special addresses',
    svc: clusterIP((s) => {
      s.externalIPs = ['0.0.0.0', '127.0.0.1', '169.254.1.1', 'ff02::1', '203.0.113.7'];
      s.externalTrafficPolicy = 'Cluster';
    }),
    want: [
      inv('spec.externalIPs[0]', '"0.0.0.0"', 'may not be unspecified (0.0.0.0)'),
      inv('spec.externalIPs[1]', '"127.0.0.1"', 'may not be in the loopback range (127.0.0.0/8, ::1/128)'),
      inv('spec.externalIPs[2]', '"169.254.1.1"', 'may not be in the link-local range (169.254.0.0/16, fe80::/10)'),
      inv('spec.externalIPs[3]', '"ff02::1"', 'may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)'),
    ],
  },
  {
    name: '1.28 loadBalancerSourceRanges only for LoadBalancer (capital-L path)',
    svc: clusterIP((s) => {
      s.loadBalancerSourceRanges = ['10.0.0.0/8'];
    }),
    want: [forb('spec.LoadBalancerSourceRanges', lbOnly)],
  },
  {
    name: '1.28 loadBalancerSourceRanges entries are trimmed CIDRs',
    svc: loadBalancer((s) => {
      s.loadBalancerSourceRanges = [' 10.0.0.0/8 ', '10.0.0.1', '10.0.0.1/8'];
    }),
    want: [
      inv('spec.LoadBalancerSourceRanges[1]', '"10.0.0.1"', badCIDR),
      inv('spec.LoadBalancerSourceRanges[2]', '"10.0.0.1/8"', 'must not have bits set beyond the prefix length'),
    ],
  },
  {
    name: '1.29 source-ranges annotation is checked when the field is empty',
    svc: loadBalancer((_s, svc) => {
      svc.metadata = {
        ...svc.metadata,
        annotations: { 'service.beta.kubernetes.io/load-balancer-source-ranges': ' 10.0.0.0/8, 1.2.3.4 ' },
      };
    }),
    want: [inv('metadata.annotations[service.beta.kubernetes.io/load-balancer-source-ranges]', '"1.2.3.4"', badCIDR)],
  },
  {
    name: '1.29 source-ranges annotation only for LoadBalancer',
    svc: clusterIP((_s, svc) => {
      svc.metadata = {
        ...svc.metadata,
        annotations: { 'service.beta.kubernetes.io/load-balancer-source-ranges': '10.0.0.0/8' },
      };
    }),
    want: [forb('metadata.annotations[service.beta.kubernetes.io/load-balancer-source-ranges]', lbOnly)],
  },
  {
    name: '1.30 allocateLoadBalancerNodePorts only for LoadBalancer',
    svc: nodePort((s) => {
      s.allocateLoadBalancerNodePorts = false;
    }),
    want: [forb('spec.allocateLoadBalancerNodePorts', lbOnly)],
  },
  {
    name: '1.30 allocateLoadBalancerNodePorts required for LoadBalancer, at the quirky path',
    svc: loadBalancer((s) => {
      delete s.allocateLoadBalancerNodePorts;
    }),
    want: [req('allocateLoadBalancerNodePorts')],
  },
  {
    name: '1.31 loadBalancerClass only for LoadBalancer',
    svc: clusterIP((s) => {
      s.loadBalancerClass = 'example.com/internal-vip';
    }),
    want: [forb('spec.loadBalancerClass', lbOnly)],
  },
  {
    name: '1.31 loadBalancerClass must be a qualified name',
    svc: loadBalancer((s) => {
      s.loadBalancerClass = 'example.com/-vip';
    }),
    want: [inv('spec.loadBalancerClass', '"example.com/-vip"', qualifiedNameMsg)],
  },
  // Traffic policies, health check port, affinity
  {
    name: '1.32 externalTrafficPolicy only for externally accessible services',
    svc: clusterIP((s) => {
      s.externalTrafficPolicy = 'Local';
    }),
    want: [inv('spec.externalTrafficPolicy', '"Local"', 'may only be set for externally-accessible services')],
  },
  {
    name: '1.32 externalTrafficPolicy required for NodePort',
    svc: nodePort((s) => {
      delete s.externalTrafficPolicy;
    }),
    want: [req('spec.externalTrafficPolicy')],
  },
  {
    name: '1.32 externalTrafficPolicy required for ClusterIP with externalIPs',
    svc: clusterIP((s) => {
      s.externalIPs = ['203.0.113.7'];
    }),
    want: [req('spec.externalTrafficPolicy')],
  },
  {
    name: '1.32 externalTrafficPolicy values',
    svc: nodePort((s) => {
      s.externalTrafficPolicy = 'Global';
    }),
    want: [unsup('spec.externalTrafficPolicy', '"Global"', '"Cluster", "Local"')],
  },
  {
    name: '1.33 healthCheckNodePort only for LoadBalancer with ETP Local',
    svc: nodePort((s) => {
      s.externalTrafficPolicy = 'Local';
      s.healthCheckNodePort = 31000;
    }),
    want: [
      inv(
        'spec.healthCheckNodePort',
        '31000',
        "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'",
      ),
    ],
  },
  {
    name: '1.33 healthCheckNodePort required for LoadBalancer with ETP Local',
    svc: loadBalancer((s) => {
      s.externalTrafficPolicy = 'Local';
    }),
    want: [req('spec.healthCheckNodePort')],
  },
  {
    name: '1.33 healthCheckNodePort range',
    svc: loadBalancer((s) => {
      s.externalTrafficPolicy = 'Local';
      s.healthCheckNodePort = 70000;
    }),
    want: [inv('spec.healthCheckNodePort', '70000', portRange)],
  },
  {
    name: '1.35 internalTrafficPolicy required for ClusterIP',
    svc: clusterIP((s) => {
      delete s.internalTrafficPolicy;
    }),
    want: [req('spec.internalTrafficPolicy')],
  },
  {
    name: '1.35 internalTrafficPolicy values',
    svc: clusterIP((s) => {
      s.internalTrafficPolicy = 'Node';
    }),
    want: [unsup('spec.internalTrafficPolicy', '"Node"', '"Cluster", "Local"')],
  },
  {
    name: '1.35 ExternalName may omit internalTrafficPolicy',
    svc: externalName(),
    want: [],
  },
  {
    name: '1.36 trafficDistribution accepts PreferClose, PreferSameZone, PreferSameNode',
    svc: clusterIP((s) => {
      s.trafficDistribution = 'PreferSameNode';
    }),
    want: [],
  },
  {
    name: '1.36 trafficDistribution rejects other values',
    svc: clusterIP((s) => {
      s.trafficDistribution = 'Random';
    }),
    want: [unsup('spec.trafficDistribution', '"Random"', '"PreferClose", "PreferSameNode", "PreferSameZone"')],
  },
  {
    name: '1.37 sessionAffinity required',
    svc: clusterIP((s) => {
      delete s.sessionAffinity;
    }),
    want: [req('spec.sessionAffinity')],
  },
  {
    name: '1.37 sessionAffinity values',
    svc: clusterIP((s) => {
      s.sessionAffinity = 'Sticky';
    }),
    want: [unsup('spec.sessionAffinity', '"Sticky"', '"ClientIP", "None"')],
  },
  {
    name: '1.37 ClientIP needs sessionAffinityConfig',
    svc: clusterIP((s) => {
      s.sessionAffinity = 'ClientIP';
    }),
    want: [req('spec.sessionAffinityConfig', 'when session affinity type is ClientIP')],
  },
  {
    name: '1.37 ClientIP needs sessionAffinityConfig.clientIP',
    svc: clusterIP((s) => {
      s.sessionAffinity = 'ClientIP';
      s.sessionAffinityConfig = {};
    }),
    want: [req('spec.sessionAffinityConfig.clientIP', 'when session affinity type is ClientIP')],
  },
  {
    name: '1.37 ClientIP needs timeoutSeconds',
    svc: clusterIP((s) => {
      s.sessionAffinity = 'ClientIP';
      s.sessionAffinityConfig = { clientIP: {} };
    }),
    want: [req('spec.sessionAffinityConfig.clientIP.timeoutSeconds', 'when session affinity type is ClientIP')],
  },
  {
    name: '1.37 timeoutSeconds must be in (0, 86400]',
    svc: clusterIP((s) => {
      s.sessionAffinity = 'ClientIP';
      s.sessionAffinityConfig = { clientIP: { timeoutSeconds: 86401 } };
    }),
    want: [
      inv('spec.sessionAffinityConfig.clientIP.timeoutSeconds', '86401', 'must be greater than 0 and less than 86400'),
    ],
  },
  {
    name: '1.37 timeoutSeconds 86400 is allowed',
    svc: clusterIP((s) => {
      s.sessionAffinity = 'ClientIP';
      s.sessionAffinityConfig = { clientIP: { timeoutSeconds: 86400 } };
    }),
    want: [],
  },
  {
    name: '1.37 sessionAffinityConfig forbidden with None',
    svc: clusterIP((s) => {
      s.sessionAffinityConfig = { clientIP: { timeoutSeconds: 10 } };
    }),
    want: [forb('spec.sessionAffinityConfig', 'must not be set when session affinity is None')],
  },
  // ExternalName
  {
    name: '1.38 externalName required',
    svc: externalName((s) => {
      s.externalName = '.';
    }),
    want: [req('spec.externalName')],
  },
  {
    name: '1.38 externalName may end with one dot',
    svc: externalName((s) => {
      s.externalName = 'db.example.com.';
    }),
    want: [],
  },
  {
    name: '1.38 externalName must be a DNS-1123 subdomain',
    svc: externalName((s) => {
      s.externalName = 'DB_host.example.com';
    }),
    want: [inv('spec.externalName', '"DB_host.example.com"', dns1123SubdomainMsg)],
  },
  {
    name: '1.38 an IPv4 string passes the subdomain regex',
    svc: externalName((s) => {
      s.externalName = '1.2.3.4';
    }),
    want: [],
  },
];

describe('validateService', () => {
  for (const c of createCases) {
    it(c.name, () => assert.deepEqual(shape(validateService(c.svc)), c.want));
  }
});

describe('aggregate messages (0.5)', () => {
  it('one error', () => {
    const errs = validateService(
      clusterIP((s) => {
        s.ports = [{ port: 80, protocol: 'TCP', targetPort: 80, nodePort: 30080 }];
      }),
    );
    assert.equal(
      newInvalid({ group: '', kind: 'Service' }, 'x', errs).message,
      'Service "x" is invalid: spec.ports[0].nodePort: Forbidden: may not be used when `type` is \'ClusterIP\'',
    );
  });
  it('several errors in Go order', () => {
    const errs = validateService(
      clusterIP((s) => {
        s.type = 'LoadBalancer';
        s.ports = [{ port: 0, protocol: 'TCP', targetPort: 80 }];
      }),
    );
    const err = newInvalid({ group: '', kind: 'Service' }, 'x', errs);
    assert.equal(
      err.message,
      'Service "x" is invalid: [spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive, ' +
        'allocateLoadBalancerNodePorts: Required value, spec.externalTrafficPolicy: Required value]',
    );
    assert.equal(err.status.code, 422);
    assert.deepEqual(err.status.details?.causes?.[1], {
      reason: 'FieldValueRequired',
      message: 'Required value',
      field: 'allocateLoadBalancerNodePorts',
    });
  });
  it('ExternalName with leftovers', () => {
    const errs = validateService(
      externalName((s) => {
        s.externalName = '';
        s.ipFamilyPolicy = 'SingleStack';
      }),
    );
    assert.equal(
      newInvalid({ group: '', kind: 'Service' }, 'x', errs).message,
      'Service "x" is invalid: [spec.ipFamilyPolicy: Forbidden: may not be set for ExternalName services, ' +
        'spec.externalName: Required value]',
    );
  });
});

interface UpdateCase {
  name: string;
  old: Service;
  svc: Service;
  want: Cause[];
}

const dualStack = (spec: ServiceSpec): void => {
  spec.clusterIPs = ['10.0.0.10', 'fd00::10'];
  spec.ipFamilies = ['IPv4', 'IPv6'];
  spec.ipFamilyPolicy = 'RequireDualStack';
};

const updateCases: UpdateCase[] = [
  { name: 'unchanged update is valid', old: clusterIP(), svc: clusterIP(), want: [] },
  {
    name: '1.39 name is immutable',
    old: clusterIP(),
    svc: clusterIP((_s, svc) => {
      svc.metadata = { ...svc.metadata, name: 'y' };
    }),
    want: [inv('metadata.name', '"y"', 'field is immutable')],
  },
  {
    name: '1.39 namespace and uid are immutable',
    old: clusterIP((_s, svc) => {
      svc.metadata = { ...svc.metadata, uid: 'a' };
    }),
    svc: clusterIP((_s, svc) => {
      svc.metadata = { ...svc.metadata, namespace: 'other', uid: 'b' };
    }),
    want: [
      inv('metadata.namespace', '"other"', 'field is immutable'),
      inv('metadata.uid', '"b"', 'field is immutable'),
    ],
  },
  {
    name: '1.39 the full create validation runs too',
    old: clusterIP(),
    svc: clusterIP((s) => {
      s.sessionAffinity = 'Sticky';
    }),
    want: [unsup('spec.sessionAffinity', '"Sticky"', '"ClientIP", "None"')],
  },
  {
    name: '1.31 loadBalancerClass is immutable LB to LB',
    old: loadBalancer((s) => {
      s.loadBalancerClass = 'example.com/a';
    }),
    svc: loadBalancer((s) => {
      s.loadBalancerClass = 'example.com/b';
    }),
    want: [inv('spec.loadBalancerClass', '"example.com/b"', 'may not change once set')],
  },
  {
    name: '1.31 loadBalancerClass may not be set later LB to LB',
    old: loadBalancer(),
    svc: loadBalancer((s) => {
      s.loadBalancerClass = 'example.com/b';
    }),
    want: [inv('spec.loadBalancerClass', '"example.com/b"', 'may not change once set')],
  },
  {
    name: '1.31 loadBalancerClass may be set when becoming LoadBalancer',
    old: nodePort(),
    svc: loadBalancer((s) => {
      s.loadBalancerClass = 'example.com/b';
    }),
    want: [],
  },
  {
    name: '1.34 healthCheckNodePort is immutable while needed',
    old: loadBalancer((s) => {
      s.externalTrafficPolicy = 'Local';
      s.healthCheckNodePort = 31000;
    }),
    svc: loadBalancer((s) => {
      s.externalTrafficPolicy = 'Local';
      s.healthCheckNodePort = 31001;
    }),
    want: [forb('spec.healthCheckNodePort', 'field is immutable')],
  },
  {
    name: '1.42 changed clusterIP',
    old: clusterIP(),
    svc: clusterIP((s) => {
      s.clusterIP = '10.0.0.11';
      s.clusterIPs = ['10.0.0.11'];
    }),
    want: [inv('spec.clusterIPs[0]', '["10.0.0.11"]', 'may not change once set')],
  },
  {
    name: '1.42 ClusterIP to headless in place is rejected',
    old: clusterIP(),
    svc: headless(),
    want: [inv('spec.clusterIPs[0]', '["None"]', 'may not change once set')],
  },
  {
    name: '1.42 headless to headless needs no check',
    old: headless(),
    svc: headless((s) => {
      s.ipFamilies = ['IPv6'];
    }),
    want: [],
  },
  {
    name: '1.42 primary clusterIP can not be unset',
    old: clusterIP(),
    svc: clusterIP((s) => {
      delete s.clusterIP;
      delete s.clusterIPs;
    }),
    want: [inv('spec.clusterIPs[0]', 'null', 'primary clusterIP can not be unset')],
  },
  {
    name: '1.42 releasing the secondary clusterIP needs SingleStack',
    old: clusterIP(dualStack),
    svc: clusterIP((s) => {
      s.ipFamilyPolicy = 'PreferDualStack';
    }),
    want: [
      inv(
        'spec.ipFamilyPolicy',
        '"PreferDualStack"',
        "must be set to 'SingleStack' when releasing the secondary clusterIP",
      ),
      inv(
        'spec.ipFamilyPolicy',
        '"PreferDualStack"',
        "must be set to 'SingleStack' when releasing the secondary ipFamily",
      ),
    ],
  },
  {
    name: '1.42 downgrade to SingleStack is fine',
    old: clusterIP(dualStack),
    svc: clusterIP(),
    want: [],
  },
  {
    name: '1.42 upgrade keeps the primary',
    old: clusterIP(),
    svc: clusterIP(dualStack),
    want: [],
  },
  {
    name: '1.42 upgrade may not change the primary',
    old: clusterIP(),
    svc: clusterIP((s) => {
      s.clusterIP = 'fd00::10';
      s.clusterIPs = ['fd00::10', '10.0.0.10'];
      s.ipFamilies = ['IPv6', 'IPv4'];
      s.ipFamilyPolicy = 'RequireDualStack';
    }),
    want: [
      inv('spec.clusterIPs[0]', '["fd00::10","10.0.0.10"]', 'may not change once set'),
      inv('spec.ipFamilies[0]', '["fd00::10","10.0.0.10"]', 'may not change once set'),
    ],
  },
  {
    name: '1.42 ExternalName transitions are not checked',
    old: externalName(),
    svc: clusterIP(),
    want: [],
  },
  {
    name: '1.43 the primary ipFamily never changes (reported at ipFamilies[0])',
    old: clusterIP(dualStack),
    svc: clusterIP((s) => {
      dualStack(s);
      s.ipFamilies = ['IPv6', 'IPv4'];
    }),
    want: [
      inv('spec.ipFamilies[0]', '["IPv6","IPv4"]', 'may not change once set'),
      inv('spec.ipFamilies[0]', '["IPv6","IPv4"]', 'may not change once set'),
      inv('spec.clusterIPs[0]', '"10.0.0.10"', 'expected an IPv6 value as indicated by `ipFamilies[0]`'),
      inv('spec.clusterIPs[1]', '"fd00::10"', 'expected an IPv4 value as indicated by `ipFamilies[1]`'),
    ],
  },
  {
    name: '1.43 headless services may change families',
    old: headless(),
    svc: headless((s) => {
      s.ipFamilies = ['IPv6'];
    }),
    want: [],
  },
  {
    name: '1.43 headless services may drop a family without SingleStack',
    old: headless((s) => {
      s.ipFamilies = ['IPv4', 'IPv6'];
    }),
    svc: headless((s) => {
      s.ipFamilyPolicy = 'RequireDualStack';
    }),
    want: [],
  },
  {
    name: '1.43 releasing only the secondary ipFamily on a ClusterIP service',
    old: clusterIP((s) => {
      s.ipFamilies = ['IPv4', 'IPv6'];
      s.ipFamilyPolicy = 'PreferDualStack';
    }),
    svc: clusterIP((s) => {
      s.ipFamilyPolicy = 'PreferDualStack';
    }),
    want: [
      inv(
        'spec.ipFamilyPolicy',
        '"PreferDualStack"',
        "must be set to 'SingleStack' when releasing the secondary ipFamily",
      ),
    ],
  },
  {
    name: '1.23 stored non-canonical clusterIPs are not re-checked on update',
    old: clusterIP((s) => {
      s.clusterIP = '10.0.0.010';
      s.clusterIPs = ['10.0.0.010'];
    }),
    svc: clusterIP((s) => {
      s.clusterIP = '10.0.0.010';
      s.clusterIPs = ['10.0.0.010'];
    }),
    want: [],
  },
  {
    name: '1.28 stored source ranges with host bits are not re-checked on update',
    old: loadBalancer((s) => {
      s.loadBalancerSourceRanges = ['10.0.0.1/8'];
    }),
    svc: loadBalancer((s) => {
      s.loadBalancerSourceRanges = ['10.0.0.1/8', '192.168.0.1/16'];
    }),
    want: [
      inv('spec.LoadBalancerSourceRanges[1]', '"192.168.0.1/16"', 'must not have bits set beyond the prefix length'),
    ],
  },
];

describe('validateServiceUpdate', () => {
  for (const c of updateCases) {
    it(c.name, () => assert.deepEqual(shape(validateServiceUpdate(c.svc, c.old)), c.want));
  }
  it('1.39 resourceVersion must be specified for an update', () => {
    const svc = clusterIP((_s, s) => {
      s.metadata = { ...s.metadata, resourceVersion: '' };
    });
    assert.deepEqual(shape(validateServiceUpdate(svc, clusterIP())), [
      inv('metadata.resourceVersion', '""', 'must be specified for an update'),
    ]);
  });
  it('1.31 the loadBalancerClass format error is reported twice on update, as upstream does', () => {
    const svc = loadBalancer((s) => {
      s.loadBalancerClass = '-x';
    });
    const old = loadBalancer((s) => {
      s.loadBalancerClass = '-x';
    });
    const errs = validateServiceUpdate(svc, old);
    assert.deepEqual(shape(errs), [
      inv('spec.loadBalancerClass', '"-x"', qualifiedNameMsg),
      inv('spec.loadBalancerClass', '"-x"', qualifiedNameMsg),
    ]);
    assert.equal(
      newInvalid({ group: '', kind: 'Service' }, 'x', errs).message,
      `Service "x" is invalid: spec.loadBalancerClass: Invalid value: "-x": ${qualifiedNameMsg}`,
    );
  });
});

interface StatusCase {
  name: string;
  svc: Service;
  want: Cause[];
}

const withIngress = (
  ingress: NonNullable<NonNullable<Service['status']>['loadBalancer']>['ingress'],
  base = loadBalancer(),
): Service => ({ ...base, status: { loadBalancer: { ingress } } });

const statusCases: StatusCase[] = [
  {
    name: '1.47 valid ip and hostname ingress',
    svc: withIngress([{ ip: '203.0.113.7', ipMode: 'VIP' }, { hostname: 'lb.example.com' }]),
    want: [],
  },
  {
    name: '1.47 ingress ip must be a valid IP',
    svc: withIngress([{ ip: '203.0.113.07', ipMode: 'VIP' }]),
    want: [inv('status.loadBalancer.ingress[0].ip', '"203.0.113.07"', 'must not have leading 0s')],
  },
  {
    name: '1.47 ingress hostname must be a DNS-1123 subdomain',
    svc: withIngress([{ hostname: 'LB.example.com' }]),
    want: [inv('status.loadBalancer.ingress[0].hostname', '"LB.example.com"', dns1123SubdomainMsg)],
  },
  {
    name: '1.47 ingress hostname may not be an IP',
    svc: withIngress([{ hostname: '1.2.3.4' }]),
    want: [inv('status.loadBalancer.ingress[0].hostname', '"1.2.3.4"', 'must be a DNS name, not an IP address')],
  },
  {
    name: '1.47 ipMode only with ip',
    svc: withIngress([{ hostname: 'lb.example.com', ipMode: 'VIP' }]),
    want: [forb('status.loadBalancer.ingress[0].ipMode', 'may not be specified when `ip` is not set')],
  },
  {
    name: '1.47 ipMode must be VIP or Proxy',
    svc: withIngress([{ ip: '203.0.113.7', ipMode: 'Direct' }]),
    want: [unsup('status.loadBalancer.ingress[0].ipMode', '"Direct"', '"Proxy", "VIP"')],
  },
  {
    name: '1.47 ipMode required with ip',
    svc: withIngress([{ ip: '203.0.113.7' }]),
    want: [req('status.loadBalancer.ingress[0].ipMode', 'must be specified when `ip` is set')],
  },
  {
    name: '1.47 ingress only on LoadBalancer services',
    svc: withIngress([{ ip: '203.0.113.7', ipMode: 'VIP' }], nodePort()),
    want: [forb('status.loadBalancer.ingress', "may only be used when `spec.type` is 'LoadBalancer'")],
  },
];

describe('validateServiceStatusUpdate', () => {
  for (const c of statusCases) {
    it(c.name, () => assert.deepEqual(shape(validateServiceStatusUpdate(c.svc, loadBalancer())), c.want));
  }
  it('1.47 metadata rules still apply on /status', () => {
    const svc = loadBalancer((_s, s) => {
      s.metadata = { ...s.metadata, name: 'y' };
    });
    assert.deepEqual(shape(validateServiceStatusUpdate(svc, loadBalancer())), [
      inv('metadata.name', '"y"', 'field is immutable'),
    ]);
  });
  it('1.47 spec problems are not reported by a status update', () => {
    const svc = loadBalancer((s) => {
      s.sessionAffinity = 'Sticky';
    });
    assert.deepEqual(validateServiceStatusUpdate(svc, loadBalancer()), []);
  });
});

describe('validateClusterIPsRelatedFields (registry pre-validation)', () => {
  it('skips ExternalName', () => {
    assert.deepEqual(
      validateClusterIPsRelatedFields(
        externalName((s) => {
          s.clusterIPs = ['x'];
        }),
      ),
      [],
    );
  });
  it('stops before family checks when an IP is invalid', () => {
    const svc = clusterIP((s) => {
      s.clusterIPs = ['10.0.0.10', 'nope'];
      s.ipFamilies = ['IPv6'];
    });
    assert.deepEqual(shape(validateClusterIPsRelatedFields(svc)), [inv('spec.clusterIPs[1]', '"nope"', badIP)]);
  });
});
