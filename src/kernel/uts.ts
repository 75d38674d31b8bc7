// UTS namespaces for lab pods: each pod gets its own, with the pod's hostname, as a kubelet
// pod sandbox does. A namespace outlives its processes by a bind mount on a file (as
// `ip netns` keeps network namespaces), so every container of the pod and every `kubectl exec`
// enters the same one:  /run/svcnet/uts/<name>.
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Runner, run } from './exec.ts';

export interface UtsNamespaces {
  /** Creates (or re-creates) the namespace `name` with this hostname. */
  add(name: string, hostname: string): Promise<void>;
  /** Unmounts and removes it; absent is fine. */
  delete(name: string): Promise<void>;
  list(): Promise<string[]>;
  /** The argv that runs `argv` inside the namespace. */
  execArgv(name: string, argv: readonly string[]): string[];
}

/**
 * Removes the UTS namespaces whose pod network namespace is gone (what a crashed or killed lab
 * left: a pod's network namespace is made before its UTS one and removed before it). Returns
 * how many were removed.
 */
export async function pruneOrphanUts(uts: UtsNamespaces, netnsNames: readonly string[]): Promise<number> {
  const live = new Set(netnsNames);
  let n = 0;
  for (const name of await uts.list()) {
    if (live.has(name)) continue;
    await uts.delete(name);
    n++;
  }
  return n;
}

export const utsDir = '/run/svcnet/uts';

export class MountedUtsNamespaces implements UtsNamespaces {
  constructor(
    private readonly runner: Runner = run,
    private readonly dir = utsDir,
  ) {}

  private path(name: string): string {
    return join(this.dir, name);
  }

  async add(name: string, hostname: string): Promise<void> {
    await this.delete(name);
    await mkdir(this.dir, { recursive: true });
    await writeFile(this.path(name), '');
    // Writing /proc/sys/kernel/hostname sets the hostname of the writer's UTS namespace: the
    // new one, which unshare then keeps by bind-mounting it on the file.
    await this.runner([
      'unshare',
      `--uts=${this.path(name)}`,
      'sh',
      '-c',
      'printf %s "$1" > /proc/sys/kernel/hostname',
      'sh',
      hostname,
    ]);
  }

  async delete(name: string): Promise<void> {
    const p = this.path(name);
    await this.runner(['umount', p]).catch(() => undefined);
    await rm(p, { force: true });
  }

  async list(): Promise<string[]> {
    try {
      return (await readdir(this.dir)).sort();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
  }

  execArgv(name: string, argv: readonly string[]): string[] {
    return ['nsenter', `--uts=${this.path(name)}`, '--', ...argv];
  }
}

/** Records namespaces and hostnames; execArgv marks the argv so tests can see it was entered. */
export class FakeUtsNamespaces implements UtsNamespaces {
  readonly hostnames = new Map<string, string>();

  async add(name: string, hostname: string): Promise<void> {
    this.hostnames.set(name, hostname);
  }

  async delete(name: string): Promise<void> {
    this.hostnames.delete(name);
  }

  async list(): Promise<string[]> {
    return [...this.hostnames.keys()].sort();
  }

  execArgv(name: string, argv: readonly string[]): string[] {
    return ['uts:', name, ...argv];
  }
}
