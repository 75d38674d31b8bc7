import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultEndpoints } from '../defaults/endpoints.ts';
import { errorBody, type FieldError } from '../field.ts';
import type { Endpoints } from '../types.ts';
import { validateEndpoints, validateEndpointsUpdate } from './endpoints.ts';

const causes = (errs: FieldError[]): [string, string, string][] => errs.map((e) => [e.type, e.field, errorBody(e)]);

function ep(subsets: Endpoints['subsets']): Endpoints {
  return { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'web', namespace: 'default' }, subsets };
}

describe('Endpoints validation', () => {
  it('accepts a normal object, including a headless subset without ports', () => {
    const obj = ep([
      { addresses: [{ ip: '10.0.0.1', hostname: 'a', nodeName: 'node-1' }], ports: [{ port: 80, protocol: 'TCP' }] },
      { notReadyAddresses: [{ ip: 'fd00::1' }] },
    ]);
    assert.deepEqual(validateEndpoints(obj), []);
  });

  const special: [string, string][] = [
    ['0.0.0.0', 'may not be unspecified (0.0.0.0)'],
    ['::', 'may not be unspecified (::)'],
    ['127.0.0.1', 'may not be in the loopback range (127.0.0.0/8, ::1/128)'],
    ['::1', 'may not be in the loopback range (127.0.0.0/8, ::1/128)'],
    ['169.254.169.254', 'may not be in the link-local range (169.254.0.0/16, fe80::/10)'],
    ['fe80::1', 'may not be in the link-local range (169.254.0.0/16, fe80::/10)'],
    ['224.0.0.1', 'may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)'],
    ['ff02::1', 'may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)'],
  ];
  for (const [ip, detail] of special) {
    it(`rejects ${ip} in addresses and notReadyAddresses`, () => {
      const obj = ep([{ addresses: [{ ip }], notReadyAddresses: [{ ip }], ports: [{ port: 80, protocol: 'TCP' }] }]);
      assert.deepEqual(causes(validateEndpoints(obj)), [
        ['FieldValueInvalid', 'subsets[0].addresses[0].ip', `Invalid value: ${JSON.stringify(ip)}: ${detail}`],
        ['FieldValueInvalid', 'subsets[0].notReadyAddresses[0].ip', `Invalid value: ${JSON.stringify(ip)}: ${detail}`],
      ]);
    });
  }

  it('rejects a non-IP address', () => {
    const errs = causes(validateEndpoints(ep([{ addresses: [{ ip: 'web.local' }] }])));
    assert.ok(errs.length >= 1);
    assert.ok(errs.every(([t, f]) => t === 'FieldValueInvalid' && f === 'subsets[0].addresses[0].ip'));
    assert.ok(errs.some(([, , m]) => m.startsWith('Invalid value: "web.local": must be a valid IP address')));
  });

  it('requires addresses, names on multiple ports, valid ports and protocols', () => {
    const obj = ep([
      { ports: [{ port: 80, protocol: 'TCP' }] },
      {
        addresses: [{ ip: '10.0.0.2', hostname: 'Bad_Host' }],
        ports: [
          { port: 0, protocol: 'TCP' },
          { name: 'b', port: 70000, protocol: 'ICMP' },
          { name: 'c', port: 1 },
        ],
      },
    ]);
    const got = causes(validateEndpoints(obj));
    assert.deepEqual(got.slice(0, 1), [
      ['FieldValueRequired', 'subsets[0]', 'Required value: must specify `addresses` or `notReadyAddresses`'],
    ]);
    assert.deepEqual(
      got.filter(([, f]) => f.includes('ports')),
      [
        ['FieldValueRequired', 'subsets[1].ports[0].name', 'Required value'],
        ['FieldValueInvalid', 'subsets[1].ports[0].port', 'Invalid value: 0: must be between 1 and 65535, inclusive'],
        [
          'FieldValueInvalid',
          'subsets[1].ports[1].port',
          'Invalid value: 70000: must be between 1 and 65535, inclusive',
        ],
        [
          'FieldValueNotSupported',
          'subsets[1].ports[1].protocol',
          'Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"',
        ],
        ['FieldValueRequired', 'subsets[1].ports[2].protocol', 'Required value'],
      ],
    );
    assert.ok(got.some(([t, f]) => t === 'FieldValueInvalid' && f === 'subsets[1].addresses[0].hostname'));
  });

  it('defaults port protocols to TCP so the missing-protocol case does not reach users', () => {
    const obj = ep([{ addresses: [{ ip: '10.0.0.1' }], ports: [{ port: 80 }] }]);
    defaultEndpoints(obj);
    assert.equal(obj.subsets?.[0]?.ports?.[0]?.protocol, 'TCP');
    assert.deepEqual(validateEndpoints(obj), []);
  });

  it('names must be DNS subdomains; update keeps the name', () => {
    const bad: Endpoints = { ...ep([]), metadata: { name: 'Web', namespace: 'default' } };
    assert.deepEqual(
      validateEndpoints(bad).map((e) => e.field),
      ['metadata.name'],
    );
    const old = { ...ep([]), metadata: { name: 'web', namespace: 'default', resourceVersion: '1' } };
    const renamed = { ...ep([]), metadata: { name: 'web2', namespace: 'default', resourceVersion: '1' } };
    assert.deepEqual(causes(validateEndpointsUpdate(renamed, old)), [
      ['FieldValueInvalid', 'metadata.name', 'Invalid value: "web2": field is immutable'],
    ]);
  });
});
