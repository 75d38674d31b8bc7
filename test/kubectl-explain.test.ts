// kubectl explain (1.32, OpenAPI v3) against svcnet: the output a real cluster prints for the
// fields svcnet serves, for every served kind, and the index kubectl caches documents by.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { resources } from '../src/api/resources.ts';
import { startTestApiServer, type TestApiServer } from './helpers/apiserver.ts';

// What `kubectl explain service.spec.ports --recursive` prints against kube-apiserver.
const portsRecursive = `KIND:       Service
VERSION:    v1

FIELD: ports <[]ServicePort>


DESCRIPTION:
    The list of ports that are exposed by this service. More info:
    https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies
    ServicePort contains information on service's port.
    
FIELDS:
  appProtocol\t<string>
  name\t<string>
  nodePort\t<integer>
  port\t<integer> -required-
  protocol\t<string>
  enum: SCTP, TCP, UDP
  targetPort\t<IntOrString>

`;

describe('kubectl explain', () => {
  let s: TestApiServer;
  before(async () => {
    s = await startTestApiServer();
  });
  after(async () => {
    await s.close();
  });

  it('service.spec.ports --recursive prints what a cluster prints', async () => {
    assert.equal(await s.kc(['explain', 'service.spec.ports', '--recursive']), portsRecursive);
  });

  it('shows enums, list markers agree with strategic merge keys, and nested types resolve', async () => {
    const proto = await s.kc(['explain', 'svc.spec.ports.protocol']);
    assert.match(proto, /^FIELD: protocol <string>\nENUM:\n {4}SCTP\n {4}TCP\n {4}UDP\n/m);
    const spec = await s.kc(['explain', 'svc.spec']);
    assert.match(spec, /^ {2}type\t<string>\n {2}enum: ClusterIP, ExternalName, LoadBalancer, NodePort\n/m);
    assert.match(spec, /^ {2}sessionAffinityConfig\t<SessionAffinityConfig>$/m);
    const doc = (await (await s.fetch('/openapi/v3/api/v1')).json()) as {
      components: { schemas: Record<string, { properties: Record<string, Record<string, unknown>> }> };
    };
    const ports = doc.components.schemas['io.k8s.api.core.v1.ServiceSpec']?.properties.ports;
    assert.deepEqual(ports?.['x-kubernetes-list-map-keys'], ['port', 'protocol']);
    assert.equal(ports?.['x-kubernetes-list-type'], 'map');
    assert.equal(ports?.['x-kubernetes-patch-merge-key'], 'port');
    const deploy = await s.kc(['explain', 'deployment.spec.template.spec.containers.ports']);
    assert.match(deploy, /^FIELD: ports <\[\]ContainerPort>/m);
    assert.match(deploy, /containerPort\t<integer> -required-/);
  });

  it('every served kind explains, custom resources included', async () => {
    for (const r of resources) {
      const out = await s.kc(['explain', r.group ? `${r.resource}.${r.group}` : r.resource]);
      assert.match(out, new RegExp(`^KIND: {7}${r.kind}$`, 'm'), r.resource);
      assert.match(out, /^FIELDS:$/m, r.resource);
    }
  });

  it('documents are addressed by hash and immutable under it', async () => {
    const index = (await (await s.fetch('/openapi/v3')).json()) as {
      paths: Record<string, { serverRelativeURL: string }>;
    };
    const url = index.paths['apis/apps/v1']?.serverRelativeURL ?? '';
    assert.match(url, /^\/openapi\/v3\/apis\/apps\/v1\?hash=[0-9A-F]{128}$/);
    const res = await s.fetch(url);
    assert.equal(res.headers.get('cache-control'), 'public, immutable');
  });
});
