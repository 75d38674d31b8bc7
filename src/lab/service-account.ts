// ServiceAccount credentials in lab pods, as a cluster gives them: the ServiceAccount admission
// plugin adds the kube-api-access projected volume to every pod (unless
// automountServiceAccountToken is false on the pod, or on its ServiceAccount when the pod does
// not say), and the kubelet fills it — a token for the pod's ServiceAccount from TokenRequest
// (3607 s, renewed once 80% of its life has passed, as the kubelet's token manager does), the
// cluster's CA and the pod's namespace — mounted read-only at serviceAccountMountPath. The
// kubelet also gives every container the `kubernetes` Service's address (and, with
// enableServiceLinks, every Service of the pod's namespace) as environment variables.
//
// The lab writes the files into a host directory under its data directory and the pod sandbox
// bind-mounts it (kernel/sandbox.ts); files are replaced by rename, so a reader sees the old
// token or the new one, never half of one, and the mount shows each new token at once.
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Service, ServiceAccount } from 'kubernetes-types/core/v1.js';
import type { KubeObject, Pod } from '../api/types.ts';
import type { LabClock } from './clock.ts';

export const serviceAccountMountPath = '/var/run/secrets/kubernetes.io/serviceaccount';
/** The mount point whose tmpfs holds the volume's mount point, as in a container image's /var/run. */
export const serviceAccountVolumeRoot = '/var/run/secrets';
/** What the kubelet asks for (an hour and the 7 s that mark a kubelet-issued token). */
export const podTokenExpirationSeconds = 3607;

export interface IssuedToken {
  token: string;
  /** When it expires, in ms since the epoch. */
  expiresAtMs: number;
}

/** TokenRequest for a ServiceAccount; throws the API's 404 when it does not exist. */
export type ServiceAccountTokenIssuer = (
  namespace: string,
  name: string,
  expirationSeconds: number,
) => Promise<IssuedToken>;

export function podServiceAccountName(pod: Pod): string {
  return pod.spec?.serviceAccountName || pod.spec?.serviceAccount || 'default';
}

/** The admission plugin's rule: the pod's setting wins, then the ServiceAccount's, else true. */
export function automountsToken(pod: Pod, sa: ServiceAccount | undefined): boolean {
  return pod.spec?.automountServiceAccountToken ?? sa?.automountServiceAccountToken ?? true;
}

/** A pod's volume directory on the host: <dataDir>/volumes/<node>/<pod uid>/kube-api-access. */
export function podVolumesDir(dataDir: string, nodeName: string, uid?: string): string {
  const base = join(dataDir, 'volumes', nodeName);
  return uid === undefined ? base : join(base, uid);
}

async function writeAtomic(dir: string, name: string, content: string): Promise<void> {
  const tmp = join(dir, `.${name}.tmp`);
  await writeFile(tmp, content, { mode: 0o644 });
  await rename(tmp, join(dir, name));
}

/** The kube-api-access volume of one pod, kept fresh until stop(). */
export class ProjectedServiceAccountToken {
  private timer: unknown;
  private stopped = false;

  constructor(
    readonly dir: string,
    private readonly o: {
      namespace: string;
      serviceAccount: string;
      caPem: string;
      issue: ServiceAccountTokenIssuer;
      clock: LabClock;
      onError: (e: unknown) => void;
    },
  ) {}

  /** Writes token, ca.crt and namespace; throws what TokenRequest threw (the pod cannot start yet). */
  async start(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o755 });
    await writeAtomic(this.dir, 'ca.crt', this.o.caPem);
    await writeAtomic(this.dir, 'namespace', this.o.namespace);
    await this.refresh();
  }

  private async refresh(): Promise<void> {
    const issuedAt = this.o.clock.now();
    const t = await this.o.issue(this.o.namespace, this.o.serviceAccount, podTokenExpirationSeconds);
    if (this.stopped) return;
    await writeAtomic(this.dir, 'token', t.token);
    this.schedule(issuedAt + 0.8 * (t.expiresAtMs - issuedAt));
  }

  private schedule(atMs: number): void {
    if (this.stopped) return;
    const wait = Math.max(1_000, atMs - this.o.clock.now());
    this.timer = this.o.clock.setTimeout(() => {
      this.timer = undefined;
      this.refresh().catch((e: unknown) => {
        // The old token is still good for a fifth of its life: try again shortly.
        this.o.onError(e);
        this.schedule(this.o.clock.now() + 10_000);
      });
    }, wait);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) this.o.clock.clearTimeout(this.timer);
    this.timer = undefined;
    await rm(this.dir, { recursive: true, force: true });
  }
}

type ServiceObj = Service & KubeObject;

function envName(s: string): string {
  const n = s.replaceAll('.', '_').replaceAll('-', '_').toUpperCase();
  return /^[0-9]/.test(n) ? `_${n}` : n;
}

/** envvars.FromServices: the variables for each Service with a ClusterIP, in order. */
export function serviceEnv(services: readonly ServiceObj[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const s of services) {
    const ip = s.spec?.clusterIP;
    const ports = s.spec?.ports ?? [];
    if (!ip || ip === 'None' || ports.length === 0) continue;
    const prefix = envName(s.metadata.name ?? '');
    env[`${prefix}_SERVICE_HOST`] = ip;
    env[`${prefix}_SERVICE_PORT`] = String(ports[0]?.port ?? 0);
    for (const p of ports) if (p.name) env[`${prefix}_SERVICE_PORT_${envName(p.name)}`] = String(p.port);
    ports.forEach((p, i) => {
      const proto = (p.protocol ?? 'TCP').toLowerCase();
      const url = `${proto}://${ip}:${p.port}`;
      if (i === 0) env[`${prefix}_PORT`] = url;
      const pp = `${prefix}_PORT_${p.port}_${proto.toUpperCase()}`;
      env[pp] = url;
      env[`${pp}_PROTO`] = proto;
      env[`${pp}_PORT`] = String(p.port);
      env[`${pp}_ADDR`] = ip;
    });
  }
  return env;
}

/**
 * getServiceEnvVarMap: the `kubernetes` Service of the default namespace always, and with
 * enableServiceLinks every Service of the pod's namespace (one of the same name wins over it).
 */
export function podServiceEnv(
  pod: Pod,
  master: ServiceObj | undefined,
  own: readonly ServiceObj[],
): Record<string, string> {
  const byName = new Map<string, ServiceObj>();
  if (master) byName.set(master.metadata.name ?? '', master);
  if (pod.spec?.enableServiceLinks !== false) for (const s of own) byName.set(s.metadata.name ?? '', s);
  return serviceEnv([...byName.values()]);
}
