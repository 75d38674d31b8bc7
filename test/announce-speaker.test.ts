// Three speakers against one real API server (in process): liveness Leases, the election over
// the informers' view, the nodeAssigned Event and metallb_speaker_announced. Frames go to an
// in-memory LAN that delivers every frame to every speaker, so "exactly one answers" and the
// takeover time are measured on what the speakers actually send.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { layer2 } from '../src/announcer/layer2/announcer.ts';
import { decodeArp, encodeArp } from '../src/announcer/layer2/arp.ts';
import { type Speaker, startSpeaker } from '../src/announcer/speaker.ts';
import type { KubeObject } from '../src/api/types.ts';
import { InProcessClient } from '../src/client/in-process.ts';
import { Registry } from '../src/proxy/metrics.ts';
import { startTestApiServer, type TestApiServer } from './helpers/apiserver.ts';
import { eventually } from './helpers/eventually.ts';

const client = '02:00:00:00:00:02';
const nodes = ['n1', 'n2', 'n3'];

describe('layer 2 speakers through the API', () => {
  let s: TestApiServer;
  const speakers = new Map<string, Speaker>();
  const registries = new Map<string, Registry>();
  /** Every reply on the LAN: [node, frame]. */
  const lan: { node: string; frame: Buffer }[] = [];
  const listeners = new Map<string, (f: Buffer) => void>();
  const ask = (ip: string) =>
    encodeArp({
      ethDst: 'ff:ff:ff:ff:ff:ff',
      ethSrc: client,
      op: 'request',
      senderMAC: client,
      senderIP: '192.0.2.2',
      targetMAC: '00:00:00:00:00:00',
      targetIP: ip,
    });
  const answerers = (ip: string): string[] => {
    const from = lan.length;
    for (const l of listeners.values()) l(ask(ip));
    return lan
      .slice(from)
      .filter((x) => decodeArp(x.frame)?.op === 'reply' && decodeArp(x.frame)?.ethDst === client)
      .map((x) => x.node);
  };

  before(async () => {
    s = await startTestApiServer();
    const c = new InProcessClient(s.server.registry);
    for (const n of nodes)
      await c.create('nodes', {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name: n },
        status: { conditions: [{ type: 'Ready', status: 'True' }] },
      } as unknown as KubeObject);
    await s.kc(
      ['apply', '-f', '-'],
      `
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: lan, namespace: metallb-system}
spec: {addresses: [192.0.2.200/32]}
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata: {name: lan, namespace: metallb-system}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default, annotations: {metallb.io/ip-allocated-from-pool: lan}}
spec: {type: LoadBalancer, ports: [{port: 80}], selector: {app: web}}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, namespace: default, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
endpoints: [{addresses: [10.244.0.5], nodeName: n2, conditions: {ready: true}}]
ports: [{port: 80}]
`,
    );
    const svc = await c.get('services', 'default', 'web');
    await c.updateStatus('services', { ...svc, status: { loadBalancer: { ingress: [{ ip: '192.0.2.200' }] } } });
    for (const n of nodes) {
      const reg = new Registry();
      registries.set(n, reg);
      const mac = `02:00:00:00:00:1${nodes.indexOf(n)}`;
      speakers.set(
        n,
        await startSpeaker({
          client: new InProcessClient(s.server.registry),
          nodeName: n,
          metrics: reg,
          livenessIntervalMs: 100,
          livenessTimeoutMs: 400,
          announcer: layer2.create(n, {
            allInterfaces: () => ['eth0'],
            open: (_if, _type, onFrame) => {
              listeners.set(n, onFrame);
              return { mac, send: (frame) => lan.push({ node: n, frame }), close: () => listeners.delete(n) };
            },
          }),
        }),
      );
    }
  });
  after(async () => {
    for (const sp of speakers.values()) await sp.stop('crash');
    await s.close();
  });

  let owner = '';
  it('one speaker owns the address and answers; the others stay silent', async () => {
    const who = await eventually('an owner answers', async () => {
      const a = answerers('192.0.2.200');
      return a.length > 0 ? a : undefined;
    });
    assert.equal(who.length, 1, `answering: ${who}`);
    owner = who[0] ?? '';
    assert.deepEqual(answerers('192.0.2.201'), []);
    const metric = registries.get(owner)?.render() ?? '';
    assert.match(
      metric,
      /metallb_speaker_announced\{ip="192.0.2.200",node="n\d",protocol="layer2",service="default\/web"\} 1/,
    );
    const evs = await eventually('nodeAssigned', async () => {
      const l = JSON.parse(await s.kc(['get', 'events', '-o', 'json'])) as {
        items: { reason: string; message: string }[];
      };
      const e = l.items.filter((x) => x.reason === 'nodeAssigned');
      return e.length > 0 ? e : undefined;
    });
    assert.deepEqual(
      evs.map((e) => e.message),
      [`announcing from node "${owner}" with protocol "layer2"`],
    );
  });

  it('a crashed owner is replaced within a second, by exactly one node', async () => {
    const t0 = Date.now();
    await speakers.get(owner)?.stop('crash');
    speakers.delete(owner);
    const who = await eventually(
      'another owner',
      async () => {
        const a = answerers('192.0.2.200');
        return a.length > 0 && !a.includes(owner) ? a : undefined;
      },
      5_000,
      20,
    );
    const ms = Date.now() - t0;
    assert.equal(who.length, 1);
    assert.ok(ms < 1000, `takeover took ${ms} ms`);
    // The new owner announced itself with gratuitous ARP at once.
    assert.ok(lan.some((x) => x.node === who[0] && decodeArp(x.frame)?.ethDst === 'ff:ff:ff:ff:ff:ff'));
  });
});
