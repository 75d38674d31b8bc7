// The lab's kubelet: registers the Node, watches the pods bound to it and runs each as
// processes — in its own network namespace as root, on its own 127.x.y.z without — with
// probes, restarts and graceful termination, reporting status through the API like a kubelet.
//
// Deletion: a pod with deletionTimestamp is stopped (SIGTERM, grace, SIGKILL) and then deleted
// for good, as the kubelet does after a graceful delete. A pod that vanishes from the API at
// once (an immediate delete) is stopped the same way; only its status can no longer be written.
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Container, Service, ServiceAccount } from 'kubernetes-types/core/v1.js';
import { isNotFound } from '../api/status.ts';
import type { KubeObject, Pod } from '../api/types.ts';
import type { Client } from '../client/client.ts';
import { Informer } from '../client/informer.ts';
import { EventRecorder } from '../controllers/loadbalancer/recorder.ts';
import { nodeEntryArgv } from '../kernel/entry.ts';
import { type Prober, SystemProber } from '../kernel/probe.ts';
import { type Spawner, systemSpawner } from '../kernel/process.ts';
import { type SandboxSpec, type SandboxVolume, sandboxArgv } from '../kernel/sandbox.ts';
import { MountedUtsNamespaces, pruneOrphanUts, type UtsNamespaces } from '../kernel/uts.ts';
import { type LabClock, realLabClock } from './clock.ts';
import {
  type BackoffOptions,
  type ContainerLaunch,
  ContainerRunner,
  kubeletBackoff,
  type StartRefusal,
} from './container.ts';
import { containerInvocation } from './env.ts';
import { NodeHeartbeat } from './heartbeat.ts';
import { managedHostsFile } from './hosts.ts';
import { containerLogDir, dropPodLogs } from './logs.ts';
import { type NodeInfo, registerNode, retryOnConflict, setNodeStatus } from './node.ts';
import { podStatus } from './pod-status.ts';
import { buildCheck, ProbeWorker } from './probes.ts';
import { type ContainerIdentity, containerIdentity } from './security-context.ts';
import {
  automountsToken,
  ProjectedServiceAccountToken,
  podServiceAccountName,
  podServiceEnv,
  podVolumesDir,
  type ServiceAccountTokenIssuer,
  serviceAccountMountPath,
  serviceAccountVolumeRoot,
} from './service-account.ts';
import type { LabTopology, PodNetwork } from './topology.ts';

export type PodObj = Pod & KubeObject;
type ServiceObj = Service & KubeObject;
type ServiceAccountObj = ServiceAccount & KubeObject;

export interface PodRunnerOptions {
  client: Client;
  /** Not started yet: the runner starts and stops it. */
  topology: LabTopology;
  nodeName: string;
  dataDir: string;
  zone?: string;
  /** Annotations the Node carries (the lab writes which lab the node belongs to). */
  nodeAnnotations?: Record<string, string>;
  /** Node lease renewal (kubelet: 10 s); undefined: the kubelet's default. */
  leaseRenewIntervalMs?: number;
  /** Cluster DNS: written into each pod's resolv.conf (dnsPolicy ClusterFirst). */
  dnsIP?: string;
  clusterDomain?: string;
  backoff?: Partial<BackoffOptions>;
  /** Grace cap when the runner itself shuts down (pods stay in the API). */
  shutdownGraceMs?: number;
  clock?: LabClock;
  spawner?: Spawner;
  prober?: Prober;
  /** Each pod's UTS namespace (its hostname); default: mounted ones when the lab has namespaces. */
  uts?: UtsNamespaces;
  /**
   * ServiceAccount tokens for the pods' kube-api-access volume (TokenRequest) and the CA that
   * goes with them; undefined: pods get no token. Only pods in network namespaces get the
   * volume (their sandbox mounts it); rootless pods share svcnet's own view of the files.
   */
  serviceAccountTokens?: { issue: ServiceAccountTokenIssuer; caPem: string };
  /** How to start the svcnet/echo image; default: this Node with tsx on src/lab/echo/main.ts. */
  echoArgv?: string[];
  onError?: (err: unknown, where: string) => void;
}

export function defaultEchoArgv(): string[] {
  return nodeEntryArgv('echo');
}

/** `svcnet/echo[:tag]`, optionally from docker.io. */
export function isEchoImage(image: string | undefined): boolean {
  return /^(docker\.io\/)?svcnet\/echo(:[\w.-]+)?(@sha256:[0-9a-f]+)?$/.test(image ?? '');
}

/** agnhost's `netexec` subcommand maps onto svcnet/echo (same endpoints and flags). */
function isAgnhostNetexec(c: Container): boolean {
  return /(^|\/)agnhost(:|@|$)/.test(c.image ?? '') && !c.command?.length && c.args?.[0] === 'netexec';
}

export function resolvConf(namespace: string, dnsIP: string, domain: string): string {
  return `nameserver ${dnsIP}\nsearch ${namespace}.svc.${domain} svc.${domain} ${domain}\noptions ndots:5\n`;
}

export class PodRunner {
  private readonly informer: Informer<PodObj>;
  private readonly workers = new Map<string, PodWorker>();
  private readonly node: NodeInfo;
  readonly clock: LabClock;
  readonly spawner: Spawner;
  readonly prober: Prober;
  readonly backoff: BackoffOptions;
  readonly echoArgv: string[];
  readonly uts: UtsNamespaces | undefined;
  private stopped = false;
  private heartbeat: NodeHeartbeat | undefined;
  /** The kubelet's Events on pods (source component "kubelet"). */
  readonly events: EventRecorder;

  constructor(readonly opts: PodRunnerOptions) {
    this.events = new EventRecorder(opts.client, { component: 'kubelet', onError: (e) => this.report(e, 'event') });
    this.clock = opts.clock ?? realLabClock;
    this.spawner = opts.spawner ?? systemSpawner;
    this.prober = opts.prober ?? new SystemProber();
    this.backoff = { ...kubeletBackoff, ...opts.backoff };
    this.echoArgv = opts.echoArgv ?? defaultEchoArgv();
    this.uts = opts.uts ?? (opts.topology.mode === 'netns' ? new MountedUtsNamespaces() : undefined);
    this.node = {
      name: opts.nodeName,
      internalIP: '',
      podCIDR: '',
      ...(opts.zone ? { zone: opts.zone } : {}),
      ...(opts.nodeAnnotations ? { annotations: opts.nodeAnnotations } : {}),
    };
    this.informer = new Informer<PodObj>(opts.client, 'pods', {
      fieldSelector: `spec.nodeName=${opts.nodeName}`,
    });
  }

  get topology(): LabTopology {
    return this.opts.topology;
  }

  get nodeIP(): string {
    return this.opts.topology.nodeIP;
  }

  report(err: unknown, where: string): void {
    if (this.opts.onError) this.opts.onError(err, where);
    else process.stderr.write(`pod runner: ${where}: ${err instanceof Error ? err.message : String(err)}\n`);
  }

  async start(): Promise<void> {
    const topo = this.opts.topology;
    await topo.start();
    // UTS namespaces a crashed run left behind (the network namespaces went in topo.start()).
    if (this.uts) await pruneOrphanUts(this.uts, await topo.netnsOps.list());
    // Volumes of pods a previous run of this node left (it rebuilds every pod it runs).
    await rm(podVolumesDir(this.opts.dataDir, this.opts.nodeName), { recursive: true, force: true });
    this.node.internalIP = topo.nodeIP;
    this.node.podCIDR = topo.podCIDR;
    await registerNode(this.opts.client, this.node, this.clock.now());
    this.heartbeat = new NodeHeartbeat({
      client: this.opts.client,
      nodeName: this.node.name,
      clock: this.clock,
      ...(this.opts.leaseRenewIntervalMs !== undefined ? { renewIntervalMs: this.opts.leaseRenewIntervalMs } : {}),
      onNotReady: async () => {
        await setNodeStatus(this.opts.client, this.node, true, this.clock.now(), readyMessage);
      },
      onError: (e) => this.report(e, 'node lease'),
    });
    await this.heartbeat.start();
    this.informer.on((old, cur) => this.onPod(old, cur));
    this.informer.start();
    await this.informer.waitForSync();
  }

  private onPod(old: PodObj | undefined, cur: PodObj | undefined): void {
    if (this.stopped) return;
    const oldUid = old?.metadata.uid ?? '';
    const curUid = cur?.metadata.uid ?? '';
    if (old && oldUid !== curUid) this.workers.get(oldUid)?.terminate(false);
    if (!cur) return;
    const w = this.workers.get(curUid);
    if (w) {
      w.update(cur);
      return;
    }
    const nw = new PodWorker(this, cur);
    this.workers.set(curUid, nw);
    void nw.finished.then(() => {
      if (this.workers.get(curUid) === nw) this.workers.delete(curUid);
    });
    nw.start();
  }

  /** Resolves when the runner no longer runs anything for this pod uid. */
  async podGone(uid: string): Promise<void> {
    await this.workers.get(uid)?.finished;
  }

  worker(uid: string): PodWorker | undefined {
    return this.workers.get(uid);
  }

  /** The node's InternalIP moved (lab `node set-ip`): the Node and every pod's hostIP follow. */
  async setNodeIP(ip: string): Promise<void> {
    await this.opts.topology.setNodeIP(ip);
    this.node.internalIP = ip;
    await setNodeStatus(this.opts.client, this.node, true, this.clock.now(), readyMessage);
    for (const w of this.workers.values()) w.refreshStatus();
  }

  /**
   * The machine died: containers are killed, the node's namespaces vanish, the lease stops
   * being renewed, and nothing more is written to the API (no pod or node status).
   */
  async crash(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.informer.stop();
    await this.heartbeat?.stop();
    await Promise.all([...this.workers.values()].map((w) => w.crash()));
    this.workers.clear();
    await this.opts.topology.crash();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.informer.stop();
    await this.heartbeat?.stop();
    const cap = this.opts.shutdownGraceMs ?? 5_000;
    // The pods stay in the API (a restart runs them again), so their logs stay too.
    await Promise.all([...this.workers.values()].map((w) => w.terminate(false, cap, true)));
    await this.opts.topology.stop();
    await setNodeStatus(this.opts.client, this.node, false, this.clock.now(), 'svcnet pod runner stopped').catch(
      (e: unknown) => this.report(e, 'node status'),
    );
  }
}

const readyMessage = 'svcnet pod runner is posting ready status';
/** Docker's default PATH, which most images keep. */
const imagePath = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export class PodWorker {
  private pod: PodObj;
  readonly uid: string;
  private net: PodNetwork | undefined;
  private containers: ContainerRunner[] = [];
  private readonly startTime: number;
  private started: Promise<void> = Promise.resolve();
  private terminating: Promise<void> | undefined;
  private sandboxError: string | undefined;
  /** The kubelet's service variables (the `kubernetes` Service, service links). */
  private serviceEnv: Record<string, string> = {};
  private token: ProjectedServiceAccountToken | undefined;
  private volumes: SandboxVolume[] = [];
  /** Per container: how its processes (and exec, exec probes) are confined. */
  private readonly sandboxes = new Map<string, SandboxSpec>();
  private writing = false;
  private dirty = false;
  private lastWritten = '';
  private objectGone = false;
  private resolveFinished: () => void = () => {};
  readonly finished: Promise<void>;

  constructor(
    private readonly runner: PodRunner,
    pod: PodObj,
  ) {
    this.pod = pod;
    this.uid = pod.metadata.uid ?? '';
    this.startTime = runner.clock.now();
    this.finished = new Promise((r) => {
      this.resolveFinished = r;
    });
  }

  /** The pod's hostname, as the kubelet sets it (spec.hostname, else the name, ≤ 63). */
  private get hostname(): string {
    return (this.pod.spec?.hostname || this.pod.metadata.name || '').slice(0, 63);
  }

  private get label(): string {
    return `${this.pod.metadata.namespace}/${this.pod.metadata.name}`;
  }

  start(): void {
    if (this.pod.metadata.deletionTimestamp) {
      // Deleted before it ever ran here: nothing to stop, just finish the deletion.
      void this.terminate(true);
      return;
    }
    this.started = this.setUp().catch((e: unknown) => {
      this.sandboxError = e instanceof Error ? e.message : String(e);
      this.runner.report(e, `pod ${this.label}: sandbox`);
      this.markDirty();
    });
  }

  update(pod: PodObj): void {
    this.pod = pod;
    if (pod.metadata.deletionTimestamp) void this.terminate(true);
  }

  /** A pod object carrying the IPs, for the downward API and probes. */
  private podWithIPs(): PodObj {
    const podIP = this.net?.ip;
    return {
      ...this.pod,
      status: {
        ...(this.pod.status ?? {}),
        hostIP: this.runner.nodeIP,
        hostIPs: [{ ip: this.runner.nodeIP }],
        ...(podIP ? { podIP, podIPs: [{ ip: podIP }] } : {}),
      },
    };
  }

  private async setUp(): Promise<void> {
    const topo = this.runner.topology;
    const net = await topo.addPod(this.uid);
    this.net = net;
    const o = this.runner.opts;
    const dnsPolicy = this.pod.spec?.dnsPolicy ?? 'ClusterFirst';
    if (net.netns && o.dnsIP && (dnsPolicy === 'ClusterFirst' || dnsPolicy === 'ClusterFirstWithHostNet')) {
      const conf = resolvConf(this.pod.metadata.namespace ?? 'default', o.dnsIP, o.clusterDomain ?? 'cluster.local');
      await topo.netnsOps.writeEtc(net.netns, 'resolv.conf', conf);
    }
    if (net.netns) {
      const hosts = managedHostsFile(this.pod, [net.ip], o.clusterDomain ?? 'cluster.local');
      await topo.netnsOps.writeEtc(net.netns, 'hosts', hosts);
      await this.runner.uts?.add(net.netns, this.hostname);
    }
    this.serviceEnv = await this.loadServiceEnv();
    if (net.netns) this.volumes = await this.projectServiceAccountToken();
    if (this.terminating) return;
    const pod = this.podWithIPs();
    const grace = (this.pod.spec?.terminationGracePeriodSeconds ?? 30) * 1000;
    for (const c of this.pod.spec?.containers ?? []) {
      const launch = this.launchFor(pod, c, net);
      // The kubelet reports a container it cannot configure as a Warning, each time it tries.
      if ('reason' in launch && launch.reason === 'CreateContainerConfigError') {
        void this.runner.events.record(
          { ...this.pod, apiVersion: 'v1', kind: 'Pod' },
          'Warning',
          'Failed',
          `Error: ${launch.message}`,
        );
      }
      const env = 'reason' in launch ? {} : launch.env;
      const sandbox = this.sandboxes.get(c.name);
      const inContainer = (argv: readonly string[]) => (sandbox ? sandboxArgv(sandbox, argv) : [...argv]);
      const runner = new ContainerRunner(c, launch, {
        spawner: this.runner.spawner,
        clock: this.runner.clock,
        backoff: this.runner.backoff,
        restartPolicy: (this.pod.spec?.restartPolicy ?? 'Always') as 'Always' | 'OnFailure' | 'Never',
        graceMs: grace,
        podLabel: `${this.pod.metadata.name}_${this.pod.metadata.namespace}(${this.uid})`,
        onChange: () => this.markDirty(),
        probes: (onLivenessFailure, onChange) => {
          const make = (kind: 'readiness' | 'liveness', probe: NonNullable<Container['readinessProbe']>) =>
            new ProbeWorker(
              kind,
              probe,
              buildCheck(probe, pod, c, this.runner.prober, net.netns, env, inContainer),
              this.runner.clock,
              (success) => {
                if (kind === 'liveness' && !success) onLivenessFailure();
                onChange();
              },
            );
          return {
            ...(c.readinessProbe ? { readiness: make('readiness', c.readinessProbe) } : {}),
            ...(c.livenessProbe ? { liveness: make('liveness', c.livenessProbe) } : {}),
          };
        },
      });
      this.containers.push(runner);
      runner.start();
    }
    this.markDirty();
  }

  private launchFor(pod: PodObj, c: Container, net: PodNetwork): ContainerLaunch | StartRefusal {
    const o = this.runner.opts;
    const base: Record<string, string> = {
      // An image's PATH, not svcnet's own (whose entries may lie where the pod's user cannot go).
      PATH: net.netns ? imagePath : (process.env.PATH ?? imagePath),
      HOSTNAME: this.hostname,
    };
    let inv: ReturnType<typeof containerInvocation>;
    try {
      inv = containerInvocation(pod, c, this.serviceEnv);
    } catch (e) {
      return { reason: 'CreateContainerConfigError', message: e instanceof Error ? e.message : String(e) };
    }
    let argv = inv.argv;
    if (!c.command?.length) {
      const bind = net.netns ? [] : ['--bind-address', net.ip];
      if (isEchoImage(c.image)) argv = [...this.runner.echoArgv, ...bind, ...inv.argv];
      else if (isAgnhostNetexec(c)) argv = [...this.runner.echoArgv, ...bind, ...inv.argv.slice(1)];
      else {
        return {
          reason: 'ErrImagePull',
          message: `svcnet runs processes, not images: give container "${c.name}" a command (only svcnet/echo runs without one)`,
        };
      }
    }
    if (argv.length === 0) return { reason: 'CreateContainerError', message: 'empty command' };
    const id = containerIdentity(pod, c);
    if ('reason' in id) return id;
    const sandbox = net.netns ? this.sandboxSpec(c, id) : undefined;
    if (sandbox) this.sandboxes.set(c.name, sandbox);
    const m = this.pod.metadata;
    return {
      argv: this.inSandbox(argv, sandbox),
      env: { ...base, ...this.serviceEnv, ...inv.env },
      logDir: containerLogDir(o.dataDir, m.namespace ?? '', m.name ?? '', this.uid, c.name),
    };
  }

  /**
   * How a container's processes are confined: its user, the pod's volumes, svcnet's data
   * directory hidden, the container's working directory (an image's default is /).
   */
  private sandboxSpec(c: Container, id: ContainerIdentity): SandboxSpec {
    return {
      uid: id.uid,
      gid: id.gid,
      groups: id.groups,
      capabilities: id.capabilities,
      noNewPrivileges: id.noNewPrivileges,
      volumeRoots: this.volumes.length ? [serviceAccountVolumeRoot] : [],
      volumes: this.volumes,
      hide: [resolve(this.runner.opts.dataDir)],
      workingDir: c.workingDir || '/',
    };
  }

  /**
   * `argv` run inside the pod's namespaces (network, UTS) and, given one, a container's
   * sandbox; as is in the rootless lab.
   */
  private inSandbox(argv: readonly string[], sandbox?: SandboxSpec): string[] {
    const ns = this.net?.netns;
    if (!ns) return [...argv];
    const inNet = this.runner.topology.netnsOps.execArgv(ns, sandbox ? sandboxArgv(sandbox, argv) : argv);
    return this.runner.uts ? this.runner.uts.execArgv(ns, inNet) : inNet;
  }

  /** getServiceEnvVarMap's Services: read when the pod starts, as the kubelet does per container start. */
  private async loadServiceEnv(): Promise<Record<string, string>> {
    const client = this.runner.opts.client;
    const master = await client.get<ServiceObj>('services', 'default', 'kubernetes').catch(() => undefined);
    const own =
      this.pod.spec?.enableServiceLinks === false
        ? []
        : (await client.list<ServiceObj>('services', { namespace: this.pod.metadata.namespace ?? 'default' })).items;
    return podServiceEnv(this.pod, master, own);
  }

  /**
   * The kube-api-access volume, unless automounting is off. Its ServiceAccount must exist (the
   * pod waits in ContainerCreating until it does, as a kubelet's volume mount retries), except
   * "default": a cluster without a ServiceAccount controller has none, and its pods just get no
   * token.
   */
  private async projectServiceAccountToken(): Promise<SandboxVolume[]> {
    const sat = this.runner.opts.serviceAccountTokens;
    if (!sat) return [];
    const client = this.runner.opts.client;
    const namespace = this.pod.metadata.namespace ?? 'default';
    const name = podServiceAccountName(this.pod);
    const dir = join(podVolumesDir(this.runner.opts.dataDir, this.runner.opts.nodeName, this.uid), 'kube-api-access');
    while (!this.terminating) {
      let sa: ServiceAccountObj | undefined;
      try {
        sa = await client.get<ServiceAccountObj>('serviceaccounts', namespace, name);
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
      if (!automountsToken(this.pod, sa)) return [];
      if (!sa && name === 'default') return [];
      try {
        if (!sa) throw new Error(`serviceaccounts "${name}" not found`);
        const token = new ProjectedServiceAccountToken(dir, {
          namespace,
          serviceAccount: name,
          caPem: sat.caPem,
          issue: sat.issue,
          clock: this.runner.clock,
          onError: (e) => this.runner.report(e, `pod ${this.label}: token`),
        });
        await token.start();
        this.token = token;
        if (this.sandboxError) {
          this.sandboxError = undefined;
          this.markDirty();
        }
        return [{ source: dir, target: serviceAccountMountPath }];
      } catch (e) {
        const why = e instanceof Error ? e.message : String(e);
        const msg = `MountVolume.SetUp failed for volume "kube-api-access": failed to fetch token: ${why}`;
        if (msg !== this.sandboxError) {
          this.sandboxError = msg;
          this.markDirty();
        }
        await new Promise<void>((r) => this.runner.clock.setTimeout(r, 1_000));
      }
    }
    return [];
  }

  /**
   * How to run a command in one of the pod's containers (`kubectl exec`): inside the pod's
   * namespaces with the container's environment; or why not, in the kubelet's words.
   */
  execLaunch(
    container: string,
    argv: readonly string[],
  ): { argv: string[]; env: Record<string, string> } | { error: string } {
    const name = this.pod.metadata.name ?? '';
    const c = this.containers.find((r) => r.spec.name === container);
    if (!c?.running() || this.terminating) {
      return { error: `container ${container} is not running in pod ${name}` };
    }
    return { argv: this.inSandbox(argv, this.sandboxes.get(container)), env: c.execEnv() ?? {} };
  }

  /** The pod's network namespace (port-forward dials from it); undefined when rootless. */
  get podIP(): string | undefined {
    return this.net?.ip;
  }

  get netns(): string | undefined {
    return this.net?.netns;
  }

  /**
   * Stops every container (SIGTERM, grace, SIGKILL), tears the network down and, when the
   * pod was deleted gracefully, removes the object. Idempotent.
   */
  terminate(deleteObject: boolean, graceCapMs?: number, keepLogs = false): Promise<void> {
    if (this.terminating) return this.terminating;
    this.terminating = (async () => {
      await this.started;
      const graceS = this.pod.metadata.deletionGracePeriodSeconds ?? this.pod.spec?.terminationGracePeriodSeconds ?? 30;
      const grace = Math.min(graceS * 1000, graceCapMs ?? Number.POSITIVE_INFINITY);
      await Promise.all(this.containers.map((c) => c.stop(grace)));
      await this.flushStatus();
      this.objectGone = true;
      const ns = this.net?.netns;
      await this.runner.topology
        .removePod(this.uid)
        .catch((e: unknown) => this.runner.report(e, `pod ${this.label}: teardown`));
      if (ns) await this.runner.uts?.delete(ns).catch((e: unknown) => this.runner.report(e, `pod ${this.label}: uts`));
      await this.token?.stop().catch((e: unknown) => this.runner.report(e, `pod ${this.label}: token`));
      await rm(podVolumesDir(this.runner.opts.dataDir, this.runner.opts.nodeName, this.uid), {
        recursive: true,
        force: true,
      }).catch((e: unknown) => this.runner.report(e, `pod ${this.label}: volumes`));
      if (deleteObject) await this.deleteObject();
      // A deleted pod's logs go with it, as the kubelet removes /var/log/pods/<pod>.
      const m = this.pod.metadata;
      if (!keepLogs) await dropPodLogs(this.runner.opts.dataDir, m.namespace ?? '', m.name ?? '', this.uid);
    })()
      .catch((e: unknown) => this.runner.report(e, `pod ${this.label}: terminate`))
      .finally(() => this.resolveFinished());
    return this.terminating;
  }

  private async deleteObject(): Promise<void> {
    const m = this.pod.metadata;
    try {
      // Grace 0: the containers are gone, so this is the kubelet's final delete.
      await this.runner.opts.client.delete('pods', m.namespace ?? '', m.name ?? '', {
        preconditions: { uid: this.uid },
        gracePeriodSeconds: 0,
      });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  /** Kills the containers at once and writes nothing more (the node died). */
  async crash(): Promise<void> {
    this.objectGone = true;
    this.terminating ??= Promise.resolve();
    await this.started;
    await Promise.all(this.containers.map((c) => c.stop(0)));
    await this.token?.stop().catch(() => {});
    this.resolveFinished();
  }

  /** Writes the status again (the node's address changed). */
  refreshStatus(): void {
    this.markDirty();
  }

  containerRunners(): readonly ContainerRunner[] {
    return this.containers;
  }

  private markDirty(): void {
    this.dirty = true;
    if (!this.writing) void this.writeLoop();
  }

  private async flushStatus(): Promise<void> {
    this.markDirty();
    while (this.writing) await new Promise((r) => setTimeout(r, 5));
  }

  private async writeLoop(): Promise<void> {
    this.writing = true;
    try {
      while (this.dirty && !this.objectGone) {
        this.dirty = false;
        await this.writeStatus();
      }
    } finally {
      this.writing = false;
    }
  }

  private async writeStatus(): Promise<void> {
    const client = this.runner.opts.client;
    const m = this.pod.metadata;
    const cs = this.containers.map((c) => c.status());
    if (this.sandboxError || cs.length === 0) {
      for (const c of this.pod.spec?.containers ?? []) {
        if (cs.some((s) => s.name === c.name)) continue;
        cs.push({
          name: c.name,
          image: c.image ?? '',
          imageID: '',
          ready: false,
          restartCount: 0,
          started: false,
          state: {
            waiting: { reason: 'ContainerCreating', ...(this.sandboxError ? { message: this.sandboxError } : {}) },
          },
        });
      }
    }
    try {
      await retryOnConflict(async () => {
        const cur = await client.get<PodObj>('pods', m.namespace ?? '', m.name ?? '');
        if (cur.metadata.uid !== this.uid) {
          this.objectGone = true;
          return;
        }
        const status = podStatus({
          previous: cur.status,
          restartPolicy: (cur.spec?.restartPolicy ?? 'Always') as 'Always' | 'OnFailure' | 'Never',
          podIP: this.net?.ip,
          hostIP: this.runner.nodeIP,
          startTime: this.startTime,
          containers: cs,
          now: this.runner.clock.now(),
        });
        const text = JSON.stringify(status);
        if (text === this.lastWritten && JSON.stringify(cur.status) === text) return;
        await client.updateStatus<PodObj>('pods', { ...cur, status });
        this.lastWritten = text;
      });
    } catch (e) {
      if (isNotFound(e)) this.objectGone = true;
      else this.runner.report(e, `pod ${this.label}: status`);
    }
  }
}
