// The per-node speaker (MetalLB's speaker): informers for everything the election reads, a
// liveness Lease renewed several times a second, and a loop that recomputes the plan whenever the
// view changes or a liveness deadline passes, applies it through the announcer, and says what it
// does (a nodeAssigned Event on the Service, metallb_speaker_announced).
//
// Liveness is a Lease per speaker in kube-node-lease (svcnet-speaker-<node>), renewed every
// livenessIntervalMs. Peers time it out by when they *saw* it change, not by its renewTime, so
// clocks need not agree. A speaker that cannot renew (API gone) sees its own lease go stale and
// stops announcing, which is what keeps a partitioned node from answering beside the new owner.
import { ApiError, isAlreadyExists, isNotFound } from '../api/status.ts';
import type {
  BFDProfile,
  BGPAdvertisement,
  BGPPeer,
  Community,
  EndpointSlice,
  Event,
  IPAddressPool,
  KubeObject,
  L2Advertisement,
  Lease,
  Node,
  Service,
} from '../api/types.ts';
import type { Client } from '../client/client.ts';
import { Informer } from '../client/informer.ts';
import type { Registry } from '../proxy/metrics.ts';
import type { Announcement, Announcer, Plan } from './contract.ts';
import type { World } from './world.ts';

export const livenessNamespace = 'kube-node-lease';
export const livenessLabel = 'svcnet.io/speaker';
export const livenessLeaseName = (node: string): string => `svcnet-speaker-${node}`;

export interface SpeakerOptions {
  client: Client;
  nodeName: string;
  announcer: Announcer;
  metrics: Registry;
  livenessIntervalMs?: number;
  livenessTimeoutMs?: number;
  onError?: (e: unknown, where: string) => void;
  log?: (m: string) => void;
}

export interface Speaker {
  /** The last plan applied. */
  plan(): Plan | undefined;
  stop(how: 'shutdown' | 'crash'): Promise<void>;
}

const microTime = (ms: number): string => `${new Date(ms).toISOString().slice(0, -1)}000Z`;

type Obj<T> = T & KubeObject;

/** MetalLB's speaker metric (internal/speaker/metrics.go). */
export function speakerMetrics(reg: Registry) {
  return {
    announced: reg.gauge(
      'metallb_speaker_announced',
      'Services being announced from this node. This is desired state, it does not guarantee that the routing protocols have converged.',
    ),
  };
}

export async function startSpeaker(o: SpeakerOptions): Promise<Speaker> {
  const onError = o.onError ?? (() => {});
  const interval = o.livenessIntervalMs ?? 200;
  const timeout = o.livenessTimeoutMs ?? 700;
  const inf = <T>(resource: string, opts = {}) =>
    new Informer<Obj<T>>(o.client, resource, { ...opts, onError: (e: unknown) => onError(e, resource) } as never);
  // MetalLB's kinds may be missing (a real API server without its CRDs: 404) or unreadable
  // (RBAC: 403). Such a kind counts as empty and synced, as the agent does with IPAddressPools;
  // otherwise one absent CRD (say BFDProfile) would keep the speaker from ever announcing.
  const unavailable = new Set<Informer<KubeObject>>();
  const optional = <T>(resource: string) => {
    const i: Informer<Obj<T>> = new Informer<Obj<T>>(o.client, resource, {
      onError: (e: unknown, phase) => {
        if (phase === 'list' && e instanceof ApiError && (e.code === 404 || e.code === 403)) {
          if (unavailable.has(i as never)) return;
          unavailable.add(i as never);
          i.stop();
          onError(new Error(`${resource} unavailable (${e.message}): treated as none`), resource);
          request();
          return;
        }
        onError(e, resource);
      },
    });
    return i;
  };
  const services = inf<Service>('services');
  const slices = inf<EndpointSlice>('endpointslices');
  const nodes = inf<Node>('nodes');
  const pools = optional<IPAddressPool>('ipaddresspools');
  const l2 = optional<L2Advertisement>('l2advertisements');
  const bgpAdvs = optional<BGPAdvertisement>('bgpadvertisements');
  const peers = optional<BGPPeer>('bgppeers');
  const communities = optional<Community>('communities');
  const bfd = optional<BFDProfile>('bfdprofiles');
  const leases = inf<Lease>('leases', { namespace: livenessNamespace, labelSelector: livenessLabel });
  const all = [services, slices, nodes, pools, l2, bgpAdvs, peers, communities, bfd, leases];

  const seen = new Map<string, number>();
  leases.on((old, cur) => {
    const holder = cur?.spec?.holderIdentity;
    if (holder && cur?.spec?.renewTime !== old?.spec?.renewTime) seen.set(holder, Date.now());
    request();
  });
  for (const i of all) if (i !== leases) i.on(() => request());

  const { announced } = speakerMetrics(o.metrics);
  let last: Plan | undefined;
  let lastKey = '';
  let stopped = false;
  let pending = false;
  let applying: Promise<void> = Promise.resolve();

  function world(): World {
    return {
      self: o.nodeName,
      nowMs: Date.now(),
      nodes: nodes.list(),
      livenessSeenMs: seen,
      livenessTimeoutMs: timeout,
      services: services.list(),
      slices: slices.list(),
      pools: pools.list(),
      l2: l2.list(),
      bgpAdvertisements: bgpAdvs.list(),
      peers: peers.list(),
      communities: communities.list(),
      bfdProfiles: bfd.list(),
    };
  }

  function request(): void {
    if (pending || stopped) return;
    pending = true;
    setImmediate(() => {
      pending = false;
      applying = applying.then(sync, (e) => onError(e, 'apply'));
    });
  }

  async function sync(): Promise<void> {
    if (stopped || !all.every((i) => i.hasSynced() || unavailable.has(i as never))) return;
    const plan = o.announcer.plan(world());
    const key = JSON.stringify([plan.announce, plan.peers ?? []]);
    if (key === lastKey) return;
    const before = new Set((last?.announce ?? []).map((a) => `${a.service} ${a.ip}`));
    await o.announcer.apply(plan);
    lastKey = key;
    last = plan;
    announced.reset();
    for (const a of plan.announce) {
      announced.set(1, { ip: a.ip, node: o.nodeName, protocol: o.announcer.protocol, service: a.service });
      if (!before.has(`${a.service} ${a.ip}`)) {
        o.log?.(`announcing ${a.ip} (${a.service}) with protocol ${o.announcer.protocol}`);
        void recordAssigned(a).catch((e) => onError(e, 'event'));
      }
    }
  }

  async function recordAssigned(a: Announcement): Promise<void> {
    const [namespace = '', name = ''] = a.service.split('/');
    const now = new Date().toISOString();
    const ev: Event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: {
        namespace,
        name: `${name}.${Date.now().toString(16)}${Math.floor(Math.random() * 0xffff).toString(16)}`,
      },
      involvedObject: { apiVersion: 'v1', kind: 'Service', namespace, name },
      reason: 'nodeAssigned',
      message: `announcing from node "${o.nodeName}" with protocol "${o.announcer.protocol}"`,
      type: 'Normal',
      source: { component: 'metallb-speaker', host: o.nodeName },
      reportingComponent: 'metallb-speaker',
      reportingInstance: o.nodeName,
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    };
    await o.client.create('events', ev as unknown as KubeObject);
  }

  const leaseName = livenessLeaseName(o.nodeName);
  async function renew(): Promise<void> {
    const renewTime = microTime(Date.now());
    try {
      await o.client.patch('leases', livenessNamespace, leaseName, 'merge', { spec: { renewTime } });
    } catch (e) {
      if (!isNotFound(e)) throw e;
      const lease = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: leaseName, namespace: livenessNamespace, labels: { [livenessLabel]: o.nodeName } },
        spec: { holderIdentity: o.nodeName, leaseDurationSeconds: Math.max(1, Math.ceil(timeout / 1000)), renewTime },
      };
      try {
        await o.client.create('leases', lease as unknown as KubeObject);
      } catch (e2) {
        if (!isAlreadyExists(e2)) throw e2;
      }
    }
  }
  let renewing = false;
  const beat = setInterval(() => {
    if (renewing || stopped) return;
    renewing = true;
    renew()
      .catch((e) => onError(e, 'liveness'))
      .finally(() => {
        renewing = false;
      });
  }, interval);
  // Deadlines pass without any event: look again at a fraction of the timeout.
  const tick = setInterval(request, Math.max(20, Math.floor(timeout / 7)));

  for (const i of all) i.start();
  await renew().catch((e) => onError(e, 'liveness'));

  return {
    plan: () => last,
    async stop(how) {
      stopped = true;
      clearInterval(beat);
      clearInterval(tick);
      for (const i of all) i.stop();
      await applying.catch(() => {});
      await o.announcer.close(how);
      announced.reset();
    },
  };
}
