// One node for traffic-during-change tests and the soak (not used at runtime): an in-process
// control plane, the agent core driving a data plane from the plane table (planes.ts), and the
// churn lab's pods as real backends. Runs in the node namespace (netns-child.ts). EndpointSlices
// are written here directly, so a test decides the order kubelet and the controller would
// produce (terminating → not serving → removed, then the sandbox goes).
import type { EndpointSlice, KubeObject, Service } from '../../api/types.ts';
import { createInProcessCluster, type InProcessCluster } from '../../client/cluster.ts';
import { type Agent, type AgentOptions, startAgent } from '../agent.ts';
import { Registry } from '../metrics.ts';
import type { DataPlane } from '../plane.ts';
import { type PlaneMode, planes } from '../planes.ts';
import type { ProxySnapshot } from '../snapshot.ts';
import type { ServicePortKey } from '../types.ts';
import { type ChurnLab, type ChurnPod, createChurnLab } from './churn-lab.ts';

export const serviceCIDR = '10.96.0.0/12';
export const tcpPort = 80;
export const udpPort = 53;

export interface Ep {
  readonly pod: ChurnPod;
  readonly ready?: boolean;
  readonly serving?: boolean;
  readonly terminating?: boolean;
}

export interface ChurnNode {
  readonly mode: PlaneMode;
  readonly cluster: InProcessCluster;
  readonly lab: ChurnLab;
  readonly agent: Agent;
  readonly plane: DataPlane;
  readonly log: string[];
  /** A ClusterIP Service with a TCP port 80 and a UDP port 53 (targets 8080/8081); returns its IP. */
  service(name: string, spec?: Partial<NonNullable<Service['spec']>>): Promise<string>;
  /** Writes the Service's one slice; resolves once the agent applied it (with the time it did). */
  setEndpoints(name: string, eps: readonly Ep[]): Promise<number>;
  /** Writes without waiting for the agent. */
  writeEndpoints(name: string, eps: readonly Ep[]): Promise<void>;
  close(): Promise<void>;
}

const tcpKey = (name: string) => `default/${name}:tcp/TCP` as ServicePortKey;

export function sliceOf(name: string, eps: readonly Ep[]): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    addressType: 'IPv4',
    metadata: { namespace: 'default', name: `${name}-x`, labels: { 'kubernetes.io/service-name': name } },
    ports: [
      { name: 'tcp', port: 8080, protocol: 'TCP' },
      { name: 'udp', port: 8081, protocol: 'UDP' },
    ],
    endpoints: eps.map((e) => {
      const ready = e.ready ?? true;
      return {
        addresses: [e.pod.ip],
        nodeName: 'node-a',
        conditions: { ready, serving: e.serving ?? ready, terminating: e.terminating ?? false },
      };
    }),
  };
}

/** Whether the snapshot holds exactly these endpoints (with these conditions) for `name`. */
export function snapshotHas(s: ProxySnapshot, name: string, eps: readonly Ep[]): boolean {
  const got = s.endpoints.get(tcpKey(name)) ?? [];
  return (
    got.length === eps.length &&
    eps.every((e) => {
      const ready = e.ready ?? true;
      return got.some(
        (g) =>
          g.ip === e.pod.ip &&
          g.ready === ready &&
          g.serving === (e.serving ?? ready) &&
          g.terminating === (e.terminating ?? false),
      );
    })
  );
}

export async function startChurnNode(
  mode: PlaneMode,
  netns: string,
  opts: Partial<Pick<AgentOptions, 'minSyncIntervalMs' | 'maxSyncIntervalMs'>> = {},
): Promise<ChurnNode> {
  const log: string[] = [];
  const cluster = await createInProcessCluster();
  const lab = await createChurnLab(netns);
  const metrics = new Registry();
  const plane = planes[mode].create({
    netns,
    serviceCIDRs: [serviceCIDR],
    masqueradeAll: false,
    metrics,
    log: (m) => log.push(m),
  });
  const agent = await startAgent({
    client: cluster.client,
    nodeName: 'node-a',
    nodeIPs: [lab.gateway],
    podCIDRs: [lab.podCIDR],
    plane,
    metrics,
    minSyncIntervalMs: opts.minSyncIntervalMs ?? 100,
    maxSyncIntervalMs: opts.maxSyncIntervalMs ?? 30_000,
    localhostNodePorts: false,
    healthz: null,
    onError: (e, where) => log.push(`${where}: ${(e as Error).message}`),
  });
  const resourceVersions = new Map<string, string | undefined>();
  const writeEndpoints = async (name: string, eps: readonly Ep[]) => {
    const slice = sliceOf(name, eps);
    const known = resourceVersions.get(name);
    const obj = known
      ? await cluster.client.update<EndpointSlice & KubeObject>('endpointslices', {
          ...slice,
          metadata: { ...slice.metadata, resourceVersion: known },
        } as never)
      : await cluster.client.create<EndpointSlice & KubeObject>('endpointslices', slice as never);
    resourceVersions.set(name, obj.metadata?.resourceVersion);
  };
  const node: ChurnNode = {
    mode,
    cluster,
    lab,
    agent,
    plane,
    log,
    async service(name, spec = {}) {
      const svc = await cluster.client.create<Service & KubeObject>('services', {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { namespace: 'default', name },
        spec: {
          ports: [
            { name: 'tcp', port: tcpPort, targetPort: 8080, protocol: 'TCP' },
            { name: 'udp', port: udpPort, targetPort: 8081, protocol: 'UDP' },
          ],
          ...spec,
        },
      } as never);
      return svc.spec?.clusterIP ?? '';
    },
    writeEndpoints,
    async setEndpoints(name, eps) {
      await writeEndpoints(name, eps);
      await agent.waitForSnapshot((s) => snapshotHas(s, name, eps));
      return Date.now();
    },
    async close() {
      await agent.stop({ drainMs: 200 });
      await planes[mode].cleanup({ netns, serviceCIDRs: [serviceCIDR] }).catch(() => {});
      await lab.close();
      await cluster.close();
    },
  };
  return node;
}
