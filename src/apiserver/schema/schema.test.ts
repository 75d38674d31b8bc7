import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resources } from '../../api/resources.ts';
import { kindSchema, kindSchemas } from './index.ts';
import { type MessageSchema, messageOf } from './types.ts';
import { findUnknownFields, strictDecodingError, unknownFieldWarning } from './unknown-fields.ts';

/** Every message reachable from a kind, once. */
function messages(root: MessageSchema, seen = new Set<MessageSchema>()): Set<MessageSchema> {
  if (seen.has(root)) return seen;
  seen.add(root);
  for (const f of Object.values(root)) {
    const m = messageOf(f);
    if (m) messages(m, seen);
  }
  return seen;
}

describe('schema tables', () => {
  it('cover every served kind', () => {
    for (const r of resources) {
      assert.ok(kindSchema(r.resource), r.resource);
      assert.equal(kindSchema(r.kind)?.info.kind, r.kind);
      assert.equal(kindSchema(`${r.group}/${r.kind}`)?.info.resource, r.resource);
    }
  });

  it('have unique protobuf numbers, and merge keys that exist in the element', () => {
    for (const { info, schema } of kindSchemas) {
      for (const m of messages(schema)) {
        const numbers = Object.values(m).flatMap((f) => (f.n === undefined ? [] : [f.n]));
        assert.equal(new Set(numbers).size, numbers.length, `${info.kind}: duplicate field number`);
        for (const [name, f] of Object.entries(m)) {
          if (f.key === undefined) continue;
          assert.ok(f.patch?.includes('merge'), `${info.kind} ${name}: merge key without merge strategy`);
          const elem = messageOf(f);
          if (elem) assert.ok(elem[f.key] || elem['*'], `${info.kind} ${name}: merge key ${f.key} not a field`);
        }
      }
    }
  });

  it('carry the upstream patch tags kubectl apply depends on', () => {
    const svc = kindSchema('Service')?.schema;
    const spec = messageOf(svc?.spec);
    assert.equal(spec?.ports?.key, 'port');
    const pod = messageOf(kindSchema('pods')?.schema.spec);
    assert.equal(pod?.containers?.key, 'name');
    assert.equal(pod?.volumes?.patch, 'merge,retainKeys');
    const container = messageOf(pod?.containers);
    assert.equal(container?.ports?.key, 'containerPort');
    assert.equal(container?.env?.key, 'name');
    const deploy = messageOf(kindSchema('deployments')?.schema.spec);
    assert.equal(deploy?.strategy?.patch, 'retainKeys');
  });
});

describe('findUnknownFields', () => {
  it('reports paths of unknown fields, not of known ones', () => {
    const svc = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'a', labels: { x: 'y' }, bogus: 1 },
      spec: { foo: 1, ports: [{ port: 80 }, { port: 81, bar: true }], selector: { app: 'a' } },
      status: { loadBalancer: { ingress: [{ ip: '1.2.3.4', ipMode: 'VIP', nope: 1 }] } },
    };
    assert.deepEqual(findUnknownFields('Service', svc), [
      'metadata.bogus',
      'spec.foo',
      'spec.ports[1].bar',
      'status.loadBalancer.ingress[0].nope',
    ]);
  });

  it('accepts inline members (probe handlers) and leaves "any" subtrees alone', () => {
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p' },
      spec: {
        containers: [
          {
            name: 'c',
            readinessProbe: { httpGet: { port: 'http', path: '/' }, periodSeconds: 1, exex: {} },
            env: [{ name: 'A', valueFrom: { configMapKeyRef: { name: 'cm', key: 'k' } } }],
            securityContext: { anything: { goes: true } },
          },
        ],
        affinity: { whatever: 1 },
        volumes: [{ name: 'v', emptyDir: {} }],
      },
    };
    assert.deepEqual(findUnknownFields('pods', pod), ['spec.containers[0].readinessProbe.exex']);
  });

  it('checks MetalLB CRDs too', () => {
    const pool = {
      apiVersion: 'metallb.io/v1beta1',
      kind: 'IPAddressPool',
      metadata: {},
      spec: { addresses: [], x: 1 },
    };
    assert.deepEqual(findUnknownFields('ipaddresspools', pool), ['spec.x']);
  });

  it('formats the apiserver strict decoding error and warnings', () => {
    const err = strictDecodingError('Service', 'v1', ['spec.foo', 'spec.bar']);
    assert.equal(err.code, 400);
    assert.equal(err.reason, 'BadRequest');
    assert.equal(
      err.message,
      'Service in version "v1" cannot be handled as a Service: strict decoding error: unknown field "spec.foo", unknown field "spec.bar"',
    );
    assert.equal(unknownFieldWarning('spec.foo'), 'unknown field "spec.foo"');
  });
});
