// The EndpointSlice and Endpoints controllers: table tests of the pure reconcilers, one per
// statement of reference §4 and per endpoint case of §7, then the controllers running against a
// real in-process control plane, and kubectl reading what they wrote over HTTPS.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EndpointSubset } from 'kubernetes-types/core/v1.js';
import type { Endpoint, EndpointSlice, Endpoints, KubeObject, Node, Pod, Service } from '../src/api/types.ts';
import type { Client } from '../src/client/client.ts';
import { createInProcessCluster } from '../src/client/cluster.ts';
import { InProcessClient } from '../src/client/in-process.ts';
import { startEndpointsController } from '../src/controllers/endpoints/controller.ts';
import { reconcileEndpoints } from '../src/controllers/endpoints/reconcile.ts';
import { startEndpointControllers } from '../src/controllers/endpoints/start.ts';
import { startEndpointSliceController } from '../src/controllers/endpointslice/controller.ts';
import { reconcileEndpointSlices, type SlicePlan } from '../src/controllers/endpointslice/reconcile.ts';
import { formatRFC3339Nano } from '../src/controllers/runtime/trigger-time.ts';
import { startTestApiServer } from './helpers/apiserver.ts';
import { eventually } from './helpers/eventually.ts';

// ---- fixtures --------------------------------------------------------------------------------

type PortSpec = { name?: string; port: number; targetPort?: number | string; protocol?: string };

function svc(
  name: string,
  o: {
    ns?: string;
    selector?: Record<string, string> | null;
    ports?: PortSpec[];
    families?: ('IPv4' | 'IPv6')[];
    headless?: boolean;
    publishNotReady?: boolean;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    type?: string;
    uid?: string;
    trafficDistribution?: string;
    deleting?: boolean;
  } = {},
): Service {
  const families = o.families ?? ['IPv4'];
  const ips = o.headless ? ['None'] : families.map((f) => (f === 'IPv4' ? '10.96.0.10' : 'fd00::10'));
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name,
      namespace: o.ns ?? 'default',
      uid: o.uid ?? `uid-${name}`,
      creationTimestamp: '2024-01-01T00:00:00Z',
      ...(o.labels ? { labels: o.labels } : {}),
      ...(o.annotations ? { annotations: o.annotations } : {}),
      ...(o.deleting ? { deletionTimestamp: '2024-01-02T00:00:00Z' } : {}),
    },
    spec: {
      type: o.type ?? 'ClusterIP',
      ...(o.selector === null ? {} : { selector: o.selector ?? { app: name } }),
      ports: (o.ports ?? [{ port: 80, targetPort: 8080 }]).map((p) => ({ protocol: 'TCP', ...p })),
      clusterIP: ips[0],
      clusterIPs: ips,
      ipFamilies: families,
      ...(o.publishNotReady ? { publishNotReadyAddresses: true } : {}),
      ...(o.trafficDistribution ? { trafficDistribution: o.trafficDistribution } : {}),
    },
  };
}

function pod(
  name: string,
  o: {
    ns?: string;
    labels?: Record<string, string>;
    ips?: string[];
    ready?: boolean;
    deleting?: boolean;
    phase?: string;
    node?: string;
    hostname?: string;
    subdomain?: string;
    ports?: { name: string; containerPort: number; protocol?: string }[];
    sidecarPorts?: { name: string; containerPort: number }[];
  } = {},
): Pod {
  const ips = o.ips ?? [`10.244.0.${Number(name.replace(/\D/g, '') || 1) % 250}`];
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: o.ns ?? 'default',
      uid: `uid-${name}`,
      labels: o.labels ?? { app: 'web' },
      ...(o.deleting ? { deletionTimestamp: '2024-01-02T00:00:00Z' } : {}),
    },
    spec: {
      nodeName: o.node ?? 'node-a',
      ...(o.hostname ? { hostname: o.hostname } : {}),
      ...(o.subdomain ? { subdomain: o.subdomain } : {}),
      containers: [{ name: 'c', image: 'svcnet/echo', ports: o.ports ?? [] }],
      ...(o.sidecarPorts
        ? { initContainers: [{ name: 'side', image: 'svcnet/echo', restartPolicy: 'Always', ports: o.sidecarPorts }] }
        : {}),
    },
    status: {
      phase: o.phase ?? 'Running',
      ...(ips.length > 0 ? { podIP: ips[0], podIPs: ips.map((ip) => ({ ip })) } : {}),
      conditions: [
        { type: 'Ready', status: o.ready === false ? 'False' : 'True', lastTransitionTime: '2024-01-01T00:00:05Z' },
      ],
    },
  };
}

function node(name: string, zone?: string): Node {
  return { metadata: { name, ...(zone ? { labels: { 'topology.kubernetes.io/zone': zone } } : {}) } };
}

const nodes = [node('node-a', 'zone-a'), node('node-b', 'zone-b')];
const web = (o: Parameters<typeof svc>[1] = {}) => svc('web', { selector: { app: 'web' }, ...o });

/** What an API server does with a plan: names, uids and generations for creates. */
let serial = 0;
function applyPlan(existing: readonly EndpointSlice[], plan: SlicePlan): EndpointSlice[] {
  const gone = new Set(plan.delete.map((s) => s.metadata?.name));
  const updated = new Map(plan.update.map((s) => [s.metadata?.name, s]));
  const out = existing
    .filter((s) => !gone.has(s.metadata?.name))
    .map((s) => {
      const u = updated.get(s.metadata?.name);
      return u
        ? structuredClone({ ...u, metadata: { ...u.metadata, uid: s.metadata?.uid, generation: 2 } })
        : structuredClone(s);
    });
  for (const c of plan.create) {
    serial++;
    out.push(
      structuredClone({
        ...c,
        metadata: { ...c.metadata, name: `${c.metadata?.generateName}x${serial}`, uid: `s${serial}`, generation: 1 },
      }),
    );
  }
  return out;
}

function reconcileTo(service: Service, pods: Pod[], existing: EndpointSlice[] = [], max?: number) {
  const plan = reconcileEndpointSlices(service, pods, nodes, existing, { maxEndpointsPerSlice: max });
  return { plan, slices: applyPlan(existing, plan) };
}

const allEndpoints = (slices: readonly EndpointSlice[]) => slices.flatMap((s) => s.endpoints ?? []);
const epOf = (slices: readonly EndpointSlice[], podName: string): Endpoint | undefined =>
  allEndpoints(slices).find((e) => e.targetRef?.name === podName);
const counts = (plan: SlicePlan) => [plan.create.length, plan.update.length, plan.delete.length];

// ---- EndpointSlice reconciler -----------------------------------------------------------------

describe('reconcileEndpointSlices (§4)', () => {
  it('§4.1 selects by equality on every key, only in the Service namespace', () => {
    const s = svc('web', { selector: { app: 'web', tier: 'fe' } });
    const { slices } = reconcileTo(s, [
      pod('p1', { labels: { app: 'web', tier: 'fe', extra: 'x' } }),
      pod('p2', { labels: { app: 'web' } }),
      pod('p3', { labels: { app: 'web', tier: 'fe' }, ns: 'other' }),
    ]);
    assert.deepEqual(
      allEndpoints(slices).map((e) => e.targetRef?.name),
      ['p1'],
    );
  });

  it('§4.2/§4.3 nil selector and ExternalName: nothing managed; our old slices removed', () => {
    const base = reconcileTo(web(), [pod('p1')]).slices;
    for (const s of [web({ selector: null }), web({ type: 'ExternalName' })]) {
      const plan = reconcileEndpointSlices(s, [pod('p1')], nodes, base);
      assert.deepEqual(counts(plan), [0, 0, 1]);
      assert.deepEqual(counts(reconcileEndpointSlices(s, [pod('p1')], nodes, [])), [0, 0, 0]);
    }
  });

  it('§4.4 terminal pods and pods without an IP are skipped; terminating pods stay', () => {
    const { slices } = reconcileTo(web(), [
      pod('p1'),
      pod('p2', { phase: 'Succeeded' }),
      pod('p3', { phase: 'Failed' }),
      pod('p4', { ips: [] }),
      pod('p5', { deleting: true }),
    ]);
    assert.deepEqual(
      allEndpoints(slices)
        .map((e) => e.targetRef?.name)
        .sort(),
      ['p1', 'p5'],
    );
  });

  it('§4.5 conditions from readiness, deletion and publishNotReadyAddresses', () => {
    const cases: [boolean, boolean, boolean, { ready: boolean; serving: boolean; terminating: boolean }][] = [
      // podReady, deleting, publishNotReady → conditions
      [true, false, false, { ready: true, serving: true, terminating: false }],
      [false, false, false, { ready: false, serving: false, terminating: false }],
      [true, true, false, { ready: false, serving: true, terminating: true }],
      [false, true, false, { ready: false, serving: false, terminating: true }],
      [false, false, true, { ready: true, serving: false, terminating: false }],
      [true, true, true, { ready: true, serving: true, terminating: true }],
    ];
    for (const [ready, deleting, pna] of cases) {
      const { slices } = reconcileTo(web({ publishNotReady: pna }), [pod('p1', { ready, deleting })]);
      assert.deepEqual(
        epOf(slices, 'p1')?.conditions,
        cases.find((c) => c[0] === ready && c[1] === deleting && c[2] === pna)?.[3],
      );
    }
  });

  it('§4.6 addresses canonical, targetRef, nodeName, zone, hostname only for the matching subdomain', () => {
    const s = web({ families: ['IPv6'] });
    const { slices } = reconcileTo(s, [
      pod('p1', { ips: ['10.244.0.1', '2001:DB8:0:0::1'], node: 'node-b', hostname: 'h1', subdomain: 'web' }),
      pod('p2', { ips: ['2001:db8::2'], hostname: 'h2', subdomain: 'other' }),
    ]);
    const e1 = epOf(slices, 'p1');
    assert.deepEqual(e1?.addresses, ['2001:db8::1']);
    assert.deepEqual(e1?.targetRef, { kind: 'Pod', namespace: 'default', name: 'p1', uid: 'uid-p1' });
    assert.equal(e1?.nodeName, 'node-b');
    assert.equal(e1?.zone, 'zone-b');
    assert.equal(e1?.hostname, 'h1');
    assert.equal(epOf(slices, 'p2')?.hostname, undefined);
    assert.equal(slices[0]?.addressType, 'IPv6');
  });

  it('§4.7 dual-stack: one slice per family; a dropped family loses its slices', () => {
    const pods = [pod('p1', { ips: ['10.244.0.1', 'fd00::1'] }), pod('p2', { ips: ['10.244.0.2', 'fd00::2'] })];
    const { slices } = reconcileTo(web({ families: ['IPv4', 'IPv6'] }), pods);
    assert.deepEqual(slices.map((s) => s.addressType).sort(), ['IPv4', 'IPv6']);
    const v6 = slices.find((s) => s.addressType === 'IPv6');
    assert.deepEqual(v6?.endpoints?.map((e) => e.addresses[0]).sort(), ['fd00::1', 'fd00::2']);
    const plan = reconcileEndpointSlices(web({ families: ['IPv4'] }), pods, nodes, slices);
    assert.deepEqual(counts(plan), [0, 0, 1]);
    assert.equal(plan.delete[0]?.addressType, 'IPv6');
  });

  it('§4.8 named targetPort per pod: same name and protocol, containers then sidecars, else left out', () => {
    const s = web({
      ports: [
        { name: 'http', port: 80, targetPort: 'http' },
        { name: 'dns', port: 53, targetPort: 'dns', protocol: 'UDP' },
        { name: 'metrics', port: 9000, targetPort: 'metrics' },
      ],
    });
    const { slices } = reconcileTo(s, [
      pod('p1', {
        ports: [
          { name: 'http', containerPort: 8080 },
          { name: 'dns', containerPort: 5353, protocol: 'TCP' },
        ],
        sidecarPorts: [{ name: 'metrics', containerPort: 9100 }],
      }),
    ]);
    assert.equal(slices.length, 1);
    assert.deepEqual(slices[0]?.ports, [
      { name: 'http', port: 8080, protocol: 'TCP' },
      { name: 'metrics', port: 9100, protocol: 'TCP' },
    ]);
  });

  it('§4.9 + §7 named ports that differ per pod land in separate slices', () => {
    const s = web({ ports: [{ name: 'http', port: 80, targetPort: 'http' }] });
    const { slices } = reconcileTo(s, [
      pod('p1', { ports: [{ name: 'http', containerPort: 8080 }] }),
      pod('p2', { ports: [{ name: 'http', containerPort: 8080 }] }),
      pod('p3', { ports: [{ name: 'http', containerPort: 9090 }] }),
    ]);
    const byPort = new Map(slices.map((sl) => [sl.ports?.[0]?.port, sl.endpoints?.map((e) => e.targetRef?.name)]));
    assert.deepEqual(byPort.get(8080), ['p1', 'p2']);
    assert.deepEqual(byPort.get(9090), ['p3']);
  });

  it('§4.10 headless without ports: slices with an empty port list and the headless label', () => {
    const s = web({ headless: true, ports: [] });
    s.spec = { ...s.spec, ports: undefined };
    const { slices } = reconcileTo(s, [pod('p1')]);
    assert.deepEqual(slices[0]?.ports, []);
    assert.equal(slices[0]?.endpoints?.length, 1);
    assert.equal(slices[0]?.metadata?.labels?.['service.kubernetes.io/headless'], '');
  });

  it('§4.11 no endpoints: one placeholder per family, kept rather than recreated', () => {
    const { plan, slices } = reconcileTo(web({ families: ['IPv4', 'IPv6'] }), []);
    assert.deepEqual(counts(plan), [2, 0, 0]);
    for (const sl of slices) {
      assert.deepEqual(sl.endpoints, []);
      assert.deepEqual(sl.ports, []);
    }
    assert.deepEqual(
      counts(reconcileEndpointSlices(web({ families: ['IPv4', 'IPv6'] }), [], nodes, slices)),
      [0, 0, 0],
    );
    // The last endpoint leaving turns the slice into the placeholder by update, not delete+create.
    const one = reconcileTo(web(), [pod('p1')]).slices;
    const plan2 = reconcileEndpointSlices(web(), [], nodes, one);
    assert.deepEqual(counts(plan2), [0, 1, 0]);
    assert.equal(plan2.update[0]?.metadata?.name, one[0]?.metadata?.name);
    assert.deepEqual(plan2.update[0]?.endpoints, []);
  });

  it('§4.12 metadata: generateName, controller ownerReference, labels, trigger time', () => {
    const s = web({
      labels: { team: 'a', 'kubernetes.io/service-name': 'forged', 'endpointslice.kubernetes.io/managed-by': 'x' },
    });
    const t = new Date('2024-05-06T07:08:09.120Z');
    const plan = reconcileEndpointSlices(s, [pod('p1')], nodes, [], { triggerTime: t });
    const m = plan.create[0]?.metadata;
    assert.equal(m?.generateName, 'web-');
    assert.deepEqual(m?.ownerReferences, [
      { apiVersion: 'v1', kind: 'Service', name: 'web', uid: 'uid-web', controller: true, blockOwnerDeletion: true },
    ]);
    assert.deepEqual(m?.labels, {
      team: 'a',
      'kubernetes.io/service-name': 'web',
      'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io',
    });
    assert.equal(m?.annotations?.['endpoints.kubernetes.io/last-change-trigger-time'], '2024-05-06T07:08:09.12Z');
    assert.equal(formatRFC3339Nano(new Date('2024-05-06T07:08:09.000Z')), '2024-05-06T07:08:09Z');
    // A Service label change is copied onto unchanged slices (and only that).
    const slices = applyPlan([], plan);
    const relabel = reconcileEndpointSlices(web({ labels: { team: 'b' } }), [pod('p1')], nodes, slices);
    assert.deepEqual(counts(relabel), [0, 1, 0]);
    assert.equal(relabel.update[0]?.metadata?.labels?.team, 'b');
  });

  it('§4.13 + §7: 250 pods make 3 slices of at most 100; max is configurable', () => {
    const pods = Array.from({ length: 250 }, (_, i) => pod(`p${i}`, { ips: [`10.244.${i >> 8}.${i & 255}`] }));
    const { slices } = reconcileTo(web(), pods);
    assert.deepEqual(slices.map((s) => s.endpoints?.length).sort(), [100, 100, 50]);
    const small = reconcileTo(web(), pods.slice(0, 25), [], 10).slices;
    assert.deepEqual(small.map((s) => s.endpoints?.length).sort(), [10, 10, 5]);
  });

  it('§4.13 no rebalancing: 10 new endpoints and two slices with 5 free places → a new slice', () => {
    const ips = (i: number) => [`10.244.1.${i}`];
    const first = Array.from({ length: 30 }, (_, i) => pod(`a${i}`, { ips: ips(i) }));
    // Two slices of 15 (built with max 15), then max 20: each has 5 free places.
    let slices = reconcileTo(web(), first.slice(0, 15), [], 15).slices;
    slices = reconcileTo(web(), first.slice(0, 30), slices, 15).slices;
    assert.deepEqual(
      slices.map((s) => s.endpoints?.length),
      [15, 15],
    );
    const more = Array.from({ length: 10 }, (_, i) => pod(`b${i}`, { ips: [`10.244.2.${i}`] }));
    const plan = reconcileEndpointSlices(web(), [...first, ...more], nodes, slices, { maxEndpointsPerSlice: 20 });
    assert.deepEqual(counts(plan), [1, 0, 0]);
    assert.equal(plan.create[0]?.endpoints?.length, 10);
  });

  it('§4.13 leftovers go to the unchanged slice they fit best rather than to a new one', () => {
    const a = Array.from({ length: 18 }, (_, i) => pod(`a${String(i).padStart(2, '0')}`, { ips: [`10.244.1.${i}`] }));
    let slices = reconcileTo(web(), a.slice(0, 10), [], 10).slices; // [10]
    slices = reconcileTo(web(), a.slice(0, 15), slices, 10).slices; // [10, 5]
    assert.deepEqual(
      slices.map((s) => s.endpoints?.length),
      [10, 5],
    );
    const plan = reconcileEndpointSlices(web(), a, nodes, slices, { maxEndpointsPerSlice: 10 });
    assert.deepEqual(counts(plan), [0, 1, 0]);
    assert.equal(plan.update[0]?.metadata?.name, slices[1]?.metadata?.name);
    assert.equal(plan.update[0]?.endpoints?.length, 8);
  });

  it('§4.13 fills slices being updated anyway, fullest first, before unchanged ones', () => {
    const a = Array.from({ length: 20 }, (_, i) => pod(`a${i}`, { ips: [`10.244.1.${i}`] }));
    const slices = reconcileTo(web(), a, [], 10).slices; // two full slices of 10
    // a0 turns unready and a19 leaves: both slices are written anyway. The new pod goes to the
    // fullest of them that has room (a19's), with no new slice and no third write.
    const changed = [pod('a0', { ips: ['10.244.1.0'], ready: false }), ...a.slice(1, 19)]; // a19 removed
    const plan = reconcileEndpointSlices(web(), [...changed, pod('n1', { ips: ['10.244.3.1'] })], nodes, slices, {
      maxEndpointsPerSlice: 10,
    });
    assert.deepEqual(counts(plan), [0, 2, 0]);
    const withNew = plan.update.find((s) => s.endpoints?.some((e) => e.targetRef?.name === 'n1'));
    assert.ok(
      withNew?.endpoints?.some((e) => e.targetRef?.name === 'a18'),
      'n1 took the place a19 freed',
    );
  });

  it('§4.14 empty slices are deleted, delete+create becomes an update, foreign owners lose theirs', () => {
    const a = Array.from({ length: 4 }, (_, i) => pod(`a${i}`, { ips: [`10.244.1.${i}`] }));
    const slices = reconcileTo(web(), a, [], 2).slices; // two slices of 2
    const plan = reconcileEndpointSlices(web(), a.slice(0, 2), nodes, slices, { maxEndpointsPerSlice: 2 });
    assert.deepEqual(counts(plan), [0, 0, 1]);
    // Every endpoint replaced by new pods: the emptied slices are reused by name.
    const b = Array.from({ length: 4 }, (_, i) => pod(`b${i}`, { ips: [`10.244.2.${i}`] }));
    const replan = reconcileEndpointSlices(web(), b, nodes, slices, { maxEndpointsPerSlice: 2 });
    assert.deepEqual(counts(replan), [0, 2, 0]);
    assert.deepEqual(replan.update.map((s) => s.metadata?.name).sort(), slices.map((s) => s.metadata?.name).sort());
    // A Service recreated with the same name (new UID): the old Service's slices go.
    const reborn = web({ uid: 'uid-web-2' });
    const p3 = reconcileEndpointSlices(reborn, a, nodes, slices, { maxEndpointsPerSlice: 2 });
    assert.equal(p3.delete.length, 2);
    assert.equal(p3.create.length, 2);
    assert.equal(p3.update.length, 0, 'never rename another owner’s slice');
    // Nothing is created while the Service is being deleted.
    const dying = reconcileEndpointSlices(web({ deleting: true }), a, nodes, []);
    assert.equal(dying.create.length, 0);
  });

  it('§4.15 a pod on an unknown node is skipped unless publishNotReadyAddresses', () => {
    const pods = [pod('p1'), pod('p2', { node: 'ghost' })];
    const plan = reconcileEndpointSlices(web(), pods, nodes, []);
    assert.deepEqual(plan.skippedPods, ['p2']);
    assert.deepEqual(
      allEndpoints(plan.create).map((e) => e.targetRef?.name),
      ['p1'],
    );
    const pna = reconcileEndpointSlices(web({ publishNotReady: true }), pods, nodes, []);
    assert.deepEqual(pna.skippedPods, []);
    assert.equal(epOf(pna.create, 'p2')?.zone, undefined);
  });

  it('§4.16 hints: PreferClose → zone, PreferSameNode → zone and node, Auto annotation wins, else removed', () => {
    const pods = [pod('p1', { node: 'node-a' }), pod('p2', { node: 'node-b' })];
    const close = reconcileTo(web({ trafficDistribution: 'PreferClose' }), pods).slices;
    assert.deepEqual(epOf(close, 'p1')?.hints, { forZones: [{ name: 'zone-a' }] });
    const sameNode = reconcileTo(web({ trafficDistribution: 'PreferSameNode' }), pods).slices;
    assert.deepEqual(epOf(sameNode, 'p2')?.hints, { forZones: [{ name: 'zone-b' }], forNodes: [{ name: 'node-b' }] });
    // Auto with a zone left without endpoints: no hints, even though the field asks for them.
    const auto = web({
      trafficDistribution: 'PreferClose',
      annotations: { 'service.kubernetes.io/topology-mode': 'Auto' },
    });
    assert.equal(epOf(reconcileTo(auto, [pods[0] as Pod]).slices, 'p1')?.hints, undefined);
    assert.deepEqual(epOf(reconcileTo(auto, pods).slices, 'p1')?.hints, { forZones: [{ name: 'zone-a' }] });
    // Dropping the field removes the hints (an update), keeping them is a no-op.
    assert.deepEqual(
      counts(reconcileEndpointSlices(web({ trafficDistribution: 'PreferClose' }), pods, nodes, close)),
      [0, 0, 0],
    );
    const off = reconcileEndpointSlices(web(), pods, nodes, close);
    assert.deepEqual(counts(off), [0, 1, 0]);
    assert.ok(off.update[0]?.endpoints?.every((e) => e.hints === undefined));
  });

  it('is idempotent: the applied plan reconciles to nothing', () => {
    const pods = Array.from({ length: 37 }, (_, i) => pod(`p${i}`, { ready: i % 3 !== 0, ips: [`10.244.1.${i}`] }));
    const s = web({ families: ['IPv4'], publishNotReady: false });
    const { slices } = reconcileTo(s, pods, [], 10);
    assert.deepEqual(counts(reconcileEndpointSlices(s, pods, nodes, slices, { maxEndpointsPerSlice: 10 })), [0, 0, 0]);
  });

  it('§7.2/§7.3/§7.18 pods come and go; multiport named ports; a port added later', () => {
    const one = [{ name: 'svc1', port: 80, targetPort: 'svc1' }];
    const two = [...one, { name: 'svc2', port: 81, targetPort: 'svc2' }];
    const p1 = pod('pod1', { ports: [{ name: 'svc1', containerPort: 100 }] });
    const p2 = pod('pod2', { ports: [{ name: 'svc2', containerPort: 101 }] });
    let slices = reconcileTo(web({ ports: one }), []).slices;
    assert.equal(allEndpoints(slices).length, 0);
    slices = reconcileTo(web({ ports: one }), [p1, p2], slices).slices;
    // pod2 resolves no port of a one-port service: an endpoint with no ports, its own slice.
    slices = reconcileTo(web({ ports: two }), [p1, p2], slices).slices;
    const portsOf = (name: string) => slices.find((s) => s.endpoints?.some((e) => e.targetRef?.name === name))?.ports;
    assert.deepEqual(portsOf('pod1'), [{ name: 'svc1', port: 100, protocol: 'TCP' }]);
    assert.deepEqual(portsOf('pod2'), [{ name: 'svc2', port: 101, protocol: 'TCP' }]);
    slices = reconcileTo(web({ ports: two }), [p2], slices).slices;
    assert.equal(portsOf('pod1'), undefined);
    slices = reconcileTo(web({ ports: two }), [], slices).slices;
    assert.equal(allEndpoints(slices).length, 0);
    assert.equal(slices.length, 1, 'only the placeholder remains');
  });

  it('§7.38 an evicted pod is in no slice, even with publishNotReadyAddresses', () => {
    const { slices } = reconcileTo(web({ publishNotReady: true }), [pod('p1', { phase: 'Failed', ready: false })]);
    assert.equal(slices.length, 1);
    assert.deepEqual(slices[0]?.endpoints, []);
  });
});

// ---- Endpoints reconciler --------------------------------------------------------------------

function endpointsFor(service: Service, pods: Pod[], existing?: Endpoints): Endpoints {
  const plan = reconcileEndpoints(service, pods, existing);
  assert.ok(plan.kind === 'create' || plan.kind === 'update', `expected a write, got ${plan.kind}`);
  return plan.endpoints;
}

const ips = (ss: EndpointSubset[] | undefined, field: 'addresses' | 'notReadyAddresses') =>
  (ss ?? []).flatMap((s) => (s[field] ?? []).map((a) => a.ip));

describe('reconcileEndpoints (§4.17–§4.22)', () => {
  it('§4.17 named like the Service, its labels plus the headless marker; none when equal', () => {
    const s = web({ headless: true, labels: { team: 'a' } });
    const ep = endpointsFor(s, [pod('p1')]);
    assert.equal(ep.metadata?.name, 'web');
    assert.equal(ep.metadata?.namespace, 'default');
    assert.deepEqual(ep.metadata?.labels, { team: 'a', 'service.kubernetes.io/headless': '' });
    const stored = { ...ep, metadata: { ...ep.metadata, resourceVersion: '5' } };
    assert.deepEqual(reconcileEndpoints(s, [pod('p1')], stored), { kind: 'none' });
    assert.equal(reconcileEndpoints(s, [pod('p1'), pod('p2')], stored).kind, 'update');
  });

  it('§4.18 + §7.30 ready vs notReadyAddresses; publishNotReadyAddresses publishes all as ready', () => {
    const pods = [pod('p1'), pod('p2', { ready: false })];
    const ep = endpointsFor(web(), pods);
    assert.deepEqual(ips(ep.subsets, 'addresses'), ['10.244.0.1']);
    assert.deepEqual(ips(ep.subsets, 'notReadyAddresses'), ['10.244.0.2']);
    const pna = endpointsFor(web({ publishNotReady: true }), pods);
    assert.deepEqual(ips(pna.subsets, 'addresses'), ['10.244.0.1', '10.244.0.2']);
    assert.deepEqual(ips(pna.subsets, 'notReadyAddresses'), []);
  });

  it('§4.18 subsets repacked by port set and sorted; multiport named ports per pod (§7.3)', () => {
    const s = web({
      ports: [
        { name: 'svc1', port: 80, targetPort: 'svc1' },
        { name: 'svc2', port: 81, targetPort: 'svc2' },
      ],
    });
    const both = [
      { name: 'svc1', containerPort: 100 },
      { name: 'svc2', containerPort: 101 },
    ];
    const ep = endpointsFor(s, [
      pod('p3', { ips: ['10.244.0.30'], ports: both }),
      pod('p1', { ips: ['10.244.0.9'], ports: both }),
      pod('p2', { ips: ['10.244.0.20'], ports: [{ name: 'svc2', containerPort: 101 }] }),
    ]);
    // Addresses are grouped per exact port set: p2 offers only svc2, so the port sets differ.
    const shapes = (e: Endpoints) =>
      e.subsets?.map((ss) => `${ss.addresses?.map((a) => a.ip).join(',')}|${ss.ports?.map((p) => p.port).join(',')}`);
    assert.deepEqual(shapes(ep)?.sort(), ['10.244.0.9,10.244.0.20,10.244.0.30|101', '10.244.0.9,10.244.0.30|100']);
    const merged = endpointsFor(s, [
      pod('p3', { ips: ['10.244.0.30'], ports: both }),
      pod('p1', { ips: ['10.244.0.9'], ports: both }),
    ]);
    assert.deepEqual(shapes(merged), ['10.244.0.9,10.244.0.30|100,101']);
    assert.deepEqual(
      merged.subsets?.[0]?.ports?.map((p) => p.name),
      ['svc1', 'svc2'],
    );
    // Deterministic: any pod order gives the same object.
    const again = endpointsFor(s, [
      pod('p2', { ips: ['10.244.0.20'], ports: [{ name: 'svc2', containerPort: 101 }] }),
      pod('p1', { ips: ['10.244.0.9'], ports: both }),
      pod('p3', { ips: ['10.244.0.30'], ports: both }),
    ]);
    assert.deepEqual(again.subsets, ep.subsets);
    const a = ep.subsets?.[0]?.addresses?.[0];
    assert.equal(a?.nodeName, 'node-a');
    assert.equal(a?.targetRef?.kind, 'Pod');
  });

  it('§4.19 only the primary family; pods without it are skipped', () => {
    const s = web({ families: ['IPv6', 'IPv4'] });
    const ep = endpointsFor(s, [pod('p1', { ips: ['10.244.0.1', 'fd00::1'] }), pod('p2', { ips: ['10.244.0.2'] })]);
    assert.deepEqual(ips(ep.subsets, 'addresses'), ['fd00::1']);
  });

  it('§4.20 over 1000: not-ready cut first, proportionally, annotation set and later removed', () => {
    const s = web({
      ports: [{ name: 'http', port: 80, targetPort: 'http' }],
    });
    const mk = (i: number, port: number, ready: boolean) =>
      pod(`p${i}`, {
        ips: [`10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`],
        ready,
        ports: [{ name: 'http', containerPort: port }],
      });
    // 900 ready; 150 not ready on port 1 and 50 not ready on port 2 → 100 not-ready places.
    const pods = [
      ...Array.from({ length: 900 }, (_, i) => mk(i, 1, true)),
      ...Array.from({ length: 150 }, (_, i) => mk(1000 + i, 1, false)),
      ...Array.from({ length: 50 }, (_, i) => mk(2000 + i, 2, false)),
    ];
    const ep = endpointsFor(s, pods);
    assert.equal(ep.metadata?.annotations?.['endpoints.kubernetes.io/over-capacity'], 'truncated');
    assert.equal(ips(ep.subsets, 'addresses').length, 900);
    const nr = ep.subsets?.map((ss) => ({ port: ss.ports?.[0]?.port, n: ss.notReadyAddresses?.length ?? 0 }));
    assert.deepEqual(nr?.find((x) => x.port === 1)?.n, 75);
    assert.deepEqual(nr?.find((x) => x.port === 2)?.n, 25);
    // Ready addresses over capacity: all not-ready dropped, ready cut to 1000.
    const many = endpointsFor(
      s,
      Array.from({ length: 1200 }, (_, i) => mk(i, 1, i % 2 === 0 || i < 1100)),
    );
    assert.equal(ips(many.subsets, 'addresses').length, 1000);
    assert.equal(ips(many.subsets, 'notReadyAddresses').length, 0);
    // Back under the limit: annotation removed.
    const stored = { ...ep, metadata: { ...ep.metadata, resourceVersion: '9' } };
    assert.equal(reconcileEndpoints(s, pods, stored).kind, 'none');
    const fewer = endpointsFor(s, pods.slice(0, 950), stored);
    assert.equal(fewer.metadata?.annotations?.['endpoints.kubernetes.io/over-capacity'], undefined);
  });

  it('§4.21 headless without ports: addresses with no ports; others without ports get nothing', () => {
    const h = web({ headless: true });
    h.spec = { ...h.spec, ports: undefined };
    const ep = endpointsFor(h, [pod('p1')]);
    assert.deepEqual(ep.subsets, [
      {
        addresses: [
          {
            ip: '10.244.0.1',
            nodeName: 'node-a',
            targetRef: { kind: 'Pod', namespace: 'default', name: 'p1', uid: 'uid-p1' },
          },
        ],
      },
    ]);
    const c = web();
    c.spec = { ...c.spec, ports: undefined };
    assert.deepEqual(endpointsFor(c, [pod('p1')]).subsets, []);
  });

  it('§4.22 + §4.2/§4.3: orphans deleted except leader locks; user Endpoints of selector-less Services kept', () => {
    const orphan: Endpoints = { metadata: { name: 'gone', namespace: 'default' } };
    assert.deepEqual(reconcileEndpoints(undefined, [], orphan), { kind: 'delete', namespace: 'default', name: 'gone' });
    const lock: Endpoints = {
      metadata: {
        name: 'lock',
        namespace: 'kube-system',
        annotations: { 'control-plane.alpha.kubernetes.io/leader': '{}' },
      },
    };
    assert.deepEqual(reconcileEndpoints(undefined, [], lock), { kind: 'none' });
    const user: Endpoints = {
      metadata: { name: 'web', namespace: 'default' },
      subsets: [{ addresses: [{ ip: '1.2.3.4' }] }],
    };
    assert.deepEqual(reconcileEndpoints(web({ selector: null }), [pod('p1')], user), { kind: 'none' });
    assert.deepEqual(reconcileEndpoints(web({ type: 'ExternalName' }), [pod('p1')], user), { kind: 'none' });
  });

  it('§7.31/§7.32 terminating pods only with publishNotReadyAddresses; §7.38 evicted never', () => {
    const pods = [pod('p1', { deleting: true, ready: false }), pod('p2', { phase: 'Failed', ready: false })];
    assert.deepEqual(endpointsFor(web(), pods).subsets, []);
    const pna = endpointsFor(web({ publishNotReady: true }), pods);
    assert.deepEqual(ips(pna.subsets, 'addresses'), ['10.244.0.1']);
  });
});

// ---- controllers against a real control plane -------------------------------------------------

const asObj = <T>(o: T) => o as T & KubeObject;

async function createReadyPod(client: Client, p: Pod): Promise<void> {
  const { status, ...rest } = p;
  const created = await client.create('pods', asObj(rest));
  await client.updateStatus('pods', asObj({ ...created, status }));
}

async function setReady(client: Client, name: string, ready: boolean, ns = 'default'): Promise<void> {
  const cur = await client.get<Pod & KubeObject>('pods', ns, name);
  const conditions = [
    { type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: new Date().toISOString() },
  ];
  await client.updateStatus('pods', { ...cur, status: { ...cur.status, conditions } });
}

async function slicesOf(client: Client, service: string, ns = 'default'): Promise<EndpointSlice[]> {
  const l = await client.list<EndpointSlice & KubeObject>('endpointslices', {
    namespace: ns,
    labelSelector: `kubernetes.io/service-name=${service}`,
  });
  return l.items;
}

function apiService(name: string, o: { selector?: Record<string, string> | null; publishNotReady?: boolean } = {}) {
  return asObj({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'default', labels: { team: 'net' } },
    spec: {
      ...(o.selector === null ? {} : { selector: o.selector ?? { app: name } }),
      ports: [{ name: 'http', port: 80, targetPort: 'http' }],
      ...(o.publishNotReady ? { publishNotReadyAddresses: true } : {}),
    },
  } satisfies Service);
}

describe('endpoint controllers in a control plane', () => {
  it('keep EndpointSlices and Endpoints current as pods and the Service change', async () => {
    const cluster = await createInProcessCluster();
    const { client } = cluster;
    const errors: string[] = [];
    const onError = (key: string, r: { reason: string }) => errors.push(`${key}: ${r.reason}`);
    const slicesCtl = startEndpointSliceController(client, { onError });
    const epCtl = startEndpointsController(client, { onError });
    try {
      await client.create('nodes', asObj({ apiVersion: 'v1', kind: 'Node', ...node('node-a', 'zone-a') }));
      // A user-written Endpoints for a selector-less Service, and an orphan one.
      await client.create('services', apiService('manual', { selector: null }));
      await client.create(
        'endpoints',
        asObj({
          apiVersion: 'v1',
          kind: 'Endpoints',
          metadata: { name: 'manual', namespace: 'default' },
          subsets: [{ addresses: [{ ip: '192.0.2.1' }], ports: [{ port: 80 }] }],
        }),
      );
      await Promise.all([slicesCtl.synced(), epCtl.synced()]);

      await client.create('services', apiService('echo'));
      const placeholder = await eventually('placeholder slice', async () => {
        const s = await slicesOf(client, 'echo');
        return s.length === 1 ? s[0] : undefined;
      });
      assert.deepEqual(placeholder.endpoints ?? [], []);
      assert.equal(
        placeholder.metadata?.labels?.['endpointslice.kubernetes.io/managed-by'],
        'endpointslice-controller.k8s.io',
      );
      assert.equal(placeholder.metadata?.labels?.team, 'net');

      const ports = [{ name: 'http', containerPort: 8080 }];
      await createReadyPod(client, pod('echo-1', { labels: { app: 'echo' }, ips: ['10.244.0.11'], ports }));
      await createReadyPod(
        client,
        pod('echo-2', { labels: { app: 'echo' }, ips: ['10.244.0.12'], ports, ready: false }),
      );
      await createReadyPod(client, pod('other', { labels: { app: 'other' }, ips: ['10.244.0.13'], ports }));

      const slice = await eventually('two endpoints', async () => {
        const s = await slicesOf(client, 'echo');
        return s.length === 1 && s[0]?.endpoints?.length === 2 ? s[0] : undefined;
      });
      assert.equal(slice.metadata?.name, placeholder.metadata?.name, 'the placeholder was filled, not replaced');
      assert.deepEqual(slice.ports, [{ name: 'http', port: 8080, protocol: 'TCP' }]);
      const c = (name: string) => slice.endpoints?.find((e) => e.targetRef?.name === name)?.conditions;
      assert.deepEqual(c('echo-1'), { ready: true, serving: true, terminating: false });
      assert.deepEqual(c('echo-2'), { ready: false, serving: false, terminating: false });
      assert.equal(slice.endpoints?.[0]?.zone, 'zone-a');
      assert.ok(slice.metadata?.annotations?.['endpoints.kubernetes.io/last-change-trigger-time']);

      const ep = await eventually('Endpoints', async () => {
        const e = await client.get<Endpoints & KubeObject>('endpoints', 'default', 'echo');
        return ips(e.subsets, 'notReadyAddresses').length === 1 ? e : undefined;
      });
      assert.deepEqual(ips(ep.subsets, 'addresses'), ['10.244.0.11']);

      // Readiness flips.
      await setReady(client, 'echo-1', false);
      await setReady(client, 'echo-2', true);
      await eventually('conditions follow readiness', async () => {
        const s = (await slicesOf(client, 'echo'))[0];
        const r = (n: string) => s?.endpoints?.find((e) => e.targetRef?.name === n)?.conditions?.ready;
        return r('echo-1') === false && r('echo-2') === true ? true : undefined;
      });
      await eventually('Endpoints follow readiness', async () => {
        const e = await client.get<Endpoints & KubeObject>('endpoints', 'default', 'echo');
        return ips(e.subsets, 'addresses').join() === '10.244.0.12' ? true : undefined;
      });

      // A pod deleted gracefully: terminating in the slice (§4.5), gone from Endpoints (§4.4);
      // then the deletion completes and the endpoint disappears.
      await client.delete('pods', 'default', 'echo-2');
      await eventually('endpoint terminating', async () => {
        const e = (await slicesOf(client, 'echo'))[0]?.endpoints?.find((x) => x.targetRef?.name === 'echo-2');
        return e?.conditions?.terminating ? e : undefined;
      }).then((e) => assert.deepEqual(e.conditions, { ready: false, serving: true, terminating: true }));
      await eventually('terminating address dropped from Endpoints', async () => {
        const e = await client.get<Endpoints & KubeObject>('endpoints', 'default', 'echo');
        return ips(e.subsets, 'addresses').length === 0 && ips(e.subsets, 'notReadyAddresses').join() === '10.244.0.11'
          ? true
          : undefined;
      });
      await client.delete('pods', 'default', 'echo-2', { gracePeriodSeconds: 0 });
      await eventually('endpoint gone', async () => {
        const s = await slicesOf(client, 'echo');
        return s.length === 1 && s[0]?.endpoints?.map((e) => e.targetRef?.name).join() === 'echo-1' ? true : undefined;
      });

      // The Service deleted: its slices and Endpoints go; user objects stay.
      await client.delete('services', 'default', 'echo');
      await eventually('slices gone', async () => ((await slicesOf(client, 'echo')).length === 0 ? true : undefined));
      await eventually('Endpoints gone', async () => {
        try {
          await client.get('endpoints', 'default', 'echo');
          return undefined;
        } catch {
          return true;
        }
      });
      await Promise.all([slicesCtl.idle(), epCtl.idle()]);
      const manual = await client.get<Endpoints & KubeObject>('endpoints', 'default', 'manual');
      assert.deepEqual(ips(manual.subsets, 'addresses'), ['192.0.2.1']);
      assert.equal((await slicesOf(client, 'manual')).length, 0);
      assert.deepEqual(
        errors.filter((e) => !/out of date|Conflict|modified/.test(e)),
        [],
      );
    } finally {
      await slicesCtl.stop();
      await epCtl.stop();
      await cluster.close();
    }
  });

  it('deletes orphaned Endpoints and slices at start-up, keeping leader locks (§4.22)', async () => {
    const cluster = await createInProcessCluster();
    const { client } = cluster;
    try {
      const mk = (name: string, annotations?: Record<string, string>) =>
        asObj({
          apiVersion: 'v1',
          kind: 'Endpoints',
          metadata: { name, namespace: 'default', ...(annotations ? { annotations } : {}) },
        });
      await client.create('endpoints', mk('orphan'));
      await client.create(
        'endpoints',
        mk('lock', { 'control-plane.alpha.kubernetes.io/leader': '{"holderIdentity":"x"}' }),
      );
      await client.create(
        'endpointslices',
        asObj({
          apiVersion: 'discovery.k8s.io/v1',
          kind: 'EndpointSlice',
          metadata: {
            name: 'orphan-abcde',
            namespace: 'default',
            labels: {
              'kubernetes.io/service-name': 'orphan',
              'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io',
            },
          },
          addressType: 'IPv4',
          endpoints: [],
        }),
      );
      const a = startEndpointsController(client);
      const b = startEndpointSliceController(client);
      try {
        await Promise.all([a.idle(), b.idle()]);
        await assert.rejects(client.get('endpoints', 'default', 'orphan'), /not found/);
        await client.get('endpoints', 'default', 'lock');
        assert.equal((await slicesOf(client, 'orphan')).length, 0);
      } finally {
        await a.stop();
        await b.stop();
      }
    } finally {
      await cluster.close();
    }
  });

  it('kubectl get endpoints -o yaml and get endpointslices show what the controllers wrote', async () => {
    const s = await startTestApiServer();
    const client = new InProcessClient(s.server.registry);
    // Both controllers over shared Service and Pod informers, as `svcnet controller` runs them.
    const ctl = startEndpointControllers(client);
    try {
      await ctl.synced();
      await client.create('nodes', asObj({ apiVersion: 'v1', kind: 'Node', ...node('node-a') }));
      await client.create('services', apiService('my-service'));
      const ports = [{ name: 'http', containerPort: 9376 }];
      for (const i of [1, 2, 3, 4]) {
        await createReadyPod(
          client,
          pod(`my-pod-${i}`, { labels: { app: 'my-service' }, ips: [`10.244.0.${i}`], ports, ready: i !== 4 }),
        );
      }
      await eventually('endpoints', async () => {
        const e = await client.get<Endpoints & KubeObject>('endpoints', 'default', 'my-service');
        return ips(e.subsets, 'addresses').length === 3 ? true : undefined;
      });
      await ctl.idle();

      const yaml = await s.kc(['get', 'endpoints', 'my-service', '-o', 'yaml']);
      assert.match(yaml, /^kind: Endpoints$/m);
      assert.match(yaml, /^ {2}name: my-service$/m);
      for (const i of [1, 2, 3]) assert.match(yaml, new RegExp(`- ip: 10\\.244\\.0\\.${i}$`, 'm'));
      assert.match(yaml, /notReadyAddresses:\n {2}- ip: 10\.244\.0\.4/);
      assert.match(yaml, /ports:\n {2}- name: http\n {4}port: 9376\n {4}protocol: TCP/);

      const cols = (line: string) => line.trim().split(/\s{2,}/);
      const eps = (await s.kc(['get', 'endpoints', 'my-service'])).trim().split('\n');
      assert.deepEqual(cols(eps[0] ?? ''), ['NAME', 'ENDPOINTS', 'AGE']);
      assert.deepEqual(cols(eps[1] ?? '').slice(0, 2), [
        'my-service',
        '10.244.0.1:9376,10.244.0.2:9376,10.244.0.3:9376',
      ]);

      const out = (await s.kc(['get', 'endpointslices'])).trim().split('\n');
      assert.deepEqual(cols(out[0] ?? ''), ['NAME', 'ADDRESSTYPE', 'PORTS', 'ENDPOINTS', 'AGE']);
      const row = out.map(cols).find((r) => r[0]?.startsWith('my-service-'));
      assert.ok(row, out.join('\n'));
      assert.match(row[0] ?? '', /^my-service-[a-z0-9]{5}$/);
      assert.deepEqual(row.slice(1, 4), ['IPv4', '9376', '10.244.0.1,10.244.0.2,10.244.0.3 + 1 more...']);
    } finally {
      await ctl.stop();
      await s.close();
    }
  });
});
