import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultEndpointSlice } from '../defaults/endpoints.ts';
import { errorBody, type FieldError } from '../field.ts';
import type { EndpointSlice } from '../types.ts';
import { validateEndpointSliceCreate, validateEndpointSliceUpdate } from './endpointslice.ts';

const causes = (errs: FieldError[]): [string, string, string][] => errs.map((e) => [e.type, e.field, errorBody(e)]);

function slice(addressType: string, addresses: string[][], ports: EndpointSlice['ports'] = []): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'web-abc', namespace: 'default', resourceVersion: '1' },
    addressType,
    endpoints: addresses.map((a) => ({ addresses: a })),
    ports,
  };
}

describe('EndpointSlice validation', () => {
  it('accepts IPv4, IPv6 and FQDN slices', () => {
    assert.deepEqual(
      validateEndpointSliceCreate(slice('IPv4', [['10.0.0.1']], [{ name: 'http', port: 80, protocol: 'TCP' }])),
      [],
    );
    assert.deepEqual(validateEndpointSliceCreate(slice('IPv6', [['fd00::1']])), []);
    assert.deepEqual(validateEndpointSliceCreate(slice('FQDN', [['db.example.com.']])), []);
  });

  const special: [string, string, string][] = [
    ['IPv4', '0.0.0.0', 'may not be unspecified (0.0.0.0)'],
    ['IPv6', '::', 'may not be unspecified (::)'],
    ['IPv4', '127.0.0.1', 'may not be in the loopback range (127.0.0.0/8, ::1/128)'],
    ['IPv6', '::1', 'may not be in the loopback range (127.0.0.0/8, ::1/128)'],
    ['IPv4', '169.254.0.5', 'may not be in the link-local range (169.254.0.0/16, fe80::/10)'],
    ['IPv6', 'fe80::abcd', 'may not be in the link-local range (169.254.0.0/16, fe80::/10)'],
    ['IPv4', '224.0.0.251', 'may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)'],
    ['IPv6', 'ff02::fb', 'may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)'],
  ];
  for (const [type, ip, detail] of special) {
    it(`rejects ${ip} in an ${type} slice`, () => {
      assert.deepEqual(causes(validateEndpointSliceCreate(slice(type, [[ip]]))), [
        ['FieldValueInvalid', 'endpoints[0].addresses[0]', `Invalid value: ${JSON.stringify(ip)}: ${detail}`],
      ]);
    });
  }

  it('addresses must match the addressType family', () => {
    assert.deepEqual(causes(validateEndpointSliceCreate(slice('IPv4', [['fd00::1']]))), [
      ['FieldValueInvalid', 'endpoints[0].addresses[0]', 'Invalid value: "fd00::1": must be a valid IPv4 address'],
    ]);
    assert.deepEqual(causes(validateEndpointSliceCreate(slice('IPv6', [['10.1.2.3']]))), [
      ['FieldValueInvalid', 'endpoints[0].addresses[0]', 'Invalid value: "10.1.2.3": must be a valid IPv6 address'],
    ]);
    assert.deepEqual(causes(validateEndpointSliceCreate(slice('FQDN', [['localhost']]))), [
      [
        'FieldValueInvalid',
        'endpoints[0].addresses[0]',
        'Invalid value: "localhost": should be a domain with at least two segments separated by dots',
      ],
    ]);
  });

  it('addressType is required, must be supported, and is immutable', () => {
    assert.deepEqual(causes(validateEndpointSliceCreate(slice('', []))), [
      ['FieldValueRequired', 'addressType', 'Required value'],
    ]);
    assert.deepEqual(causes(validateEndpointSliceCreate(slice('IP', []))), [
      ['FieldValueNotSupported', 'addressType', 'Unsupported value: "IP": supported values: "FQDN", "IPv4", "IPv6"'],
    ]);
    assert.deepEqual(causes(validateEndpointSliceUpdate(slice('IPv6', []), slice('IPv4', []))), [
      ['FieldValueInvalid', 'addressType', 'Invalid value: "IPv6": field is immutable'],
    ]);
    // The deprecated "IP" type may still be updated in place.
    assert.deepEqual(validateEndpointSliceUpdate(slice('IP', [['10.0.0.1']]), slice('IP', [])), []);
  });

  it('limits endpoints to 1000 and ports to 100', () => {
    const many = slice(
      'IPv4',
      Array.from({ length: 1001 }, () => ['10.0.0.1']),
    );
    assert.deepEqual(causes(validateEndpointSliceCreate(many)), [
      ['FieldValueTooMany', 'endpoints', 'Too many: 1001: must have at most 1000 items'],
    ]);
    const ports = Array.from({ length: 101 }, (_, i) => ({ name: `p${i}`, port: 1000 + i, protocol: 'TCP' }));
    assert.deepEqual(causes(validateEndpointSliceCreate(slice('IPv4', [], ports))), [
      ['FieldValueTooMany', 'ports', 'Too many: 101: must have at most 100 items'],
    ]);
  });

  it('endpoints need an address; ports need unique names and a known protocol', () => {
    const s = slice(
      'IPv4',
      [[]],
      [
        { name: 'http', port: 80, protocol: 'TCP' },
        { name: 'http', port: 81, protocol: 'TCP' },
        { name: 'dns', port: 53, protocol: 'ICMP' },
      ],
    );
    assert.deepEqual(causes(validateEndpointSliceCreate(s)), [
      ['FieldValueRequired', 'endpoints[0].addresses', 'Required value: must contain at least 1 address'],
      ['FieldValueDuplicate', 'ports[1].name', 'Duplicate value: "http"'],
      [
        'FieldValueNotSupported',
        'ports[2].protocol',
        'Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"',
      ],
    ]);
  });

  it('defaults port name to "" and protocol to TCP', () => {
    const s = slice('IPv4', [['10.0.0.1']], [{ port: 80 }]);
    defaultEndpointSlice(s);
    assert.deepEqual(s.ports, [{ name: '', port: 80, protocol: 'TCP' }]);
    assert.equal(s.endpoints[0]?.conditions, undefined);
  });
});
