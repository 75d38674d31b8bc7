import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { type ApiError, isBadRequest } from '../../api/status.ts';
import { kindSchema } from '../schema/index.ts';
import { decodeProtobufObject } from './decode.ts';
import { bytesField, encodeMessage, envelope, stringField, tag, varint, varintField } from './test-encoder.ts';

function roundTrip(obj: Record<string, unknown> & { apiVersion: string; kind: string }): unknown {
  const schema = kindSchema(obj.kind)?.schema;
  assert.ok(schema);
  return decodeProtobufObject(envelope(obj.apiVersion, obj.kind, encodeMessage(schema, obj)));
}

const fixture = (name: string) => readFileSync(new URL(`testdata/${name}`, import.meta.url));

describe('decodeProtobufObject: real kubectl 1.32 bodies (testdata/capture.ts)', () => {
  it('kubectl create service nodeport my-np --tcp=80:8080 --node-port=30080', () => {
    assert.deepEqual(decodeProtobufObject(fixture('service-nodeport.pb')), {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'my-np', labels: { app: 'my-np' } },
      spec: {
        ports: [{ name: '80-8080', protocol: 'TCP', port: 80, targetPort: 8080, nodePort: 30080 }],
        selector: { app: 'my-np' },
        type: 'NodePort',
      },
    });
  });

  it('kubectl create namespace x', () => {
    assert.deepEqual(decodeProtobufObject(fixture('namespace.pb')), {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'x' },
    });
  });

  it('kubectl create deployment d --image=nginx --replicas=2', () => {
    assert.deepEqual(decodeProtobufObject(fixture('deployment.pb')), {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'd', labels: { app: 'd' } },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'd' } },
        template: {
          metadata: { labels: { app: 'd' } },
          spec: { containers: [{ name: 'nginx', image: 'nginx' }] },
        },
      },
    });
  });
});

describe('decodeProtobufObject: encoded samples', () => {
  it('round-trips a Service with every value type', () => {
    const svc = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name: 'web',
        namespace: 'default',
        uid: 'u-1',
        generation: 3,
        creationTimestamp: '2024-05-06T07:08:09Z',
        labels: { app: 'web', empty: '' },
        ownerReferences: [{ apiVersion: 'v1', kind: 'X', name: 'x', uid: 'u0', controller: false }],
        finalizers: ['a', 'b'],
      },
      spec: {
        ports: [
          { name: 'http', protocol: 'TCP', port: 80, targetPort: 'http', appProtocol: 'h2c' },
          { name: 'dns', protocol: 'UDP', port: 53, targetPort: 5353, nodePort: 30053 },
        ],
        selector: { app: 'web' },
        clusterIPs: ['10.0.0.1', 'fd00::1'],
        type: 'LoadBalancer',
        sessionAffinityConfig: { clientIP: { timeoutSeconds: 0 } },
        allocateLoadBalancerNodePorts: false,
        ipFamilyPolicy: 'PreferDualStack',
      },
      status: { loadBalancer: { ingress: [{ ip: '192.0.2.1', ipMode: 'VIP' }] } },
    };
    assert.deepEqual(roundTrip(svc), svc);
  });

  it('round-trips a Pod: inline probe handlers, quantities, env sources, int64', () => {
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', deletionGracePeriodSeconds: 0 },
      spec: {
        containers: [
          {
            name: 'c',
            image: 'busybox',
            ports: [{ containerPort: 8080, name: 'http', protocol: 'TCP' }],
            env: [
              { name: 'A', value: 'x' },
              { name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
            ],
            resources: { limits: { cpu: '500m', memory: '64Mi' } },
            readinessProbe: { httpGet: { path: '/ready', port: 'http' }, periodSeconds: 2 },
            livenessProbe: { tcpSocket: { port: 8080 }, terminationGracePeriodSeconds: 5 },
          },
        ],
        nodeName: 'n1',
        hostname: 'h',
        subdomain: 's',
        hostNetwork: true,
        restartPolicy: 'Always',
        terminationGracePeriodSeconds: 0,
        readinessGates: [{ conditionType: 'x/ready' }],
      },
      status: {
        phase: 'Running',
        podIPs: [{ ip: '10.1.0.5' }],
        conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2024-01-02T03:04:05Z' }],
      },
    };
    assert.deepEqual(roundTrip(pod), pod);
  });

  it('round-trips an EndpointSlice (pointer bools keep false) and a Lease (MicroTime)', () => {
    const slice = {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 's-1' },
      addressType: 'IPv4',
      endpoints: [{ addresses: ['10.1.0.5'], conditions: { ready: false, serving: true }, nodeName: 'n1' }],
      ports: [{ name: '', port: 80, protocol: 'TCP' }],
    };
    assert.deepEqual(roundTrip(slice), slice);
    const lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'l' },
      spec: { holderIdentity: 'me', leaseDurationSeconds: 15, renewTime: '2024-01-02T03:04:05.123456Z' },
    };
    assert.deepEqual(roundTrip(lease), lease);
  });

  it('drops gogo zero values of non-pointer fields and skips unknown field numbers', () => {
    const spec = Buffer.concat([
      bytesField(1, Buffer.concat([varintField(3, 0), stringField(1, ''), bytesField(4, Buffer.alloc(0))])),
      stringField(3, ''),
      stringField(4, 'ClusterIP'),
      varintField(13, false),
      varintField(99, 7),
      bytesField(98, Buffer.from('junk')),
    ]);
    const raw = Buffer.concat([
      bytesField(1, Buffer.concat([stringField(1, 's'), bytesField(8, Buffer.alloc(0))])),
      bytesField(2, spec),
    ]);
    assert.deepEqual(decodeProtobufObject(envelope('v1', 'Service', raw)), {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 's' },
      spec: { ports: [{}], type: 'ClusterIP' },
    });
  });

  it('reads negative int32 (ten-byte varints)', () => {
    const raw = Buffer.concat([
      bytesField(2, Buffer.concat([varintField(1, -1)])), // spec.replicas = -1 (pointer: kept)
    ]);
    assert.deepEqual(decodeProtobufObject(envelope('apps/v1', 'Deployment', raw)).spec, { replicas: -1 });
    assert.equal(varint(-1).length, 10);
  });
});

describe('decodeProtobufObject: malformed input is 400', () => {
  const bad = (body: Buffer, message: string) =>
    assert.throws(
      () => decodeProtobufObject(body),
      (e: ApiError) => isBadRequest(e) && e.message === message,
    );

  it('rejects missing magic, truncation, bad wire types and unknown kinds', () => {
    bad(
      Buffer.from('{"kind":"Service"}'),
      'provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]',
    );
    bad(Buffer.alloc(0), 'empty data');
    const good = envelope('v1', 'Namespace', bytesField(1, stringField(1, 'x')));
    bad(good.subarray(0, good.length - 2), 'unexpected EOF');
    bad(
      envelope('v1', 'Namespace', Buffer.concat([tag(1, 0), varint(5)])),
      'proto: wrong wireType = 0 for field metadata',
    );
    bad(envelope('v1', 'Namespace', Buffer.concat([tag(1, 3)])), 'proto: illegal wireType 3');
    bad(envelope('v1', 'Secret', Buffer.alloc(0)), 'no kind "Secret" is registered for version "v1"');
    bad(
      envelope('metallb.io/v1beta1', 'IPAddressPool', Buffer.alloc(0)),
      'no kind "IPAddressPool" is registered for version "metallb.io/v1beta1"',
    );
  });

  it('words errors like the create handler when the URL kind is given', () => {
    assert.throws(
      () => decodeProtobufObject(Buffer.from('nope'), { kind: 'Service', version: 'v1' }),
      (e: ApiError) =>
        e.message ===
        'Service in version "v1" cannot be handled as a Service: provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]',
    );
  });
});
