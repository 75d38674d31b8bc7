// Network namespaces (`ip netns`). Named namespaces live as /run/netns/<name>; `ip netns exec`
// also bind-mounts /etc/netns/<name>/* over /etc (how pods get their own resolv.conf).
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fromExec, isKernelError, KernelError } from './errors.ts';
import { type ExecOptions, type ExecResult, type Runner, run } from './exec.ts';

export interface Netns {
  /** Fails with ALREADY_EXISTS when the name is taken. */
  add(name: string): Promise<void>;
  /** Fails with NOT_FOUND when absent. Links inside go with it (veth peers elsewhere too). */
  delete(name: string): Promise<void>;
  list(): Promise<string[]>;
  /** Runs a short command inside the namespace and collects its output. */
  exec(name: string, argv: readonly string[], opts?: ExecOptions): Promise<ExecResult>;
  /** The argv that runs `argv` inside the namespace, for long-running processes. */
  execArgv(name: string, argv: readonly string[]): string[];
  /**
   * SIGKILLs every process inside the namespace (`ip netns pids`): what a crashed run left
   * running there. Returns how many were signalled.
   */
  killAll(name: string): Promise<number>;
  /** Writes /etc/netns/<name>/<file>, which `ip netns exec` mounts over /etc/<file>. */
  writeEtc(name: string, file: string, content: string): Promise<void>;
  /** Reads /etc/netns/<name>/<file>; undefined when absent. */
  readEtc(name: string, file: string): Promise<string | undefined>;
  /** Removes /etc/netns/<name> (`ip netns delete` leaves it behind). */
  removeEtc(name: string): Promise<void>;
  /** Names that have an /etc/netns directory (to clean leftovers by prefix). */
  listEtc(): Promise<string[]>;
}

export const maxNameLength = 15;

/**
 * The argv that runs `argv` inside the named network namespace (`ip netns exec`, which also
 * mounts /etc/netns/<name>/* over /etc), or here when `netns` is undefined: the one way every
 * caller enters a namespace.
 */
export function inNetns(netns: string | undefined, argv: readonly string[]): string[] {
  return netns ? ['ip', 'netns', 'exec', netns, ...argv] : [...argv];
}

export class IpNetns implements Netns {
  constructor(
    private readonly runner: Runner = run,
    private readonly etcDir = '/etc/netns',
    private readonly runDir = '/run/netns',
  ) {}

  async add(name: string): Promise<void> {
    await this.ip(['netns', 'add', name]);
  }

  async delete(name: string): Promise<void> {
    await this.ip(['netns', 'delete', name]);
  }

  async list(): Promise<string[]> {
    // What `ip netns list` prints, read directly: `svcnet exec` looks up namespaces at every
    // start, and spawning ip costs more than the rest of the lookup.
    try {
      return (await readdir(this.runDir)).sort();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
  }

  async exec(name: string, argv: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
    return this.runner(this.execArgv(name, argv), opts);
  }

  execArgv(name: string, argv: readonly string[]): string[] {
    return inNetns(name, argv);
  }

  async killAll(name: string): Promise<number> {
    const { stdout } = await this.ip(['netns', 'pids', name]);
    let n = 0;
    for (const pid of stdout.split(/\s+/).filter((p) => /^[0-9]+$/.test(p))) {
      try {
        process.kill(Number(pid), 'SIGKILL');
        n++;
      } catch {
        // Exited meanwhile.
      }
    }
    return n;
  }

  async writeEtc(name: string, file: string, content: string): Promise<void> {
    const dir = join(this.etcDir, safeName(name));
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, safeName(file)), content);
  }

  async readEtc(name: string, file: string): Promise<string | undefined> {
    try {
      return await readFile(join(this.etcDir, safeName(name), safeName(file)), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  async removeEtc(name: string): Promise<void> {
    await rm(join(this.etcDir, safeName(name)), { recursive: true, force: true });
  }

  async listEtc(): Promise<string[]> {
    try {
      return await readdir(this.etcDir);
    } catch {
      return [];
    }
  }

  private async ip(args: string[]): Promise<ExecResult> {
    try {
      return await this.runner(['ip', ...args]);
    } catch (e) {
      throw fromExec(e);
    }
  }
}

function safeName(name: string): string {
  if (!name || name === '.' || name === '..' || name.includes('/')) {
    throw new KernelError('INVALID', `invalid name "${name}"`);
  }
  return name;
}

/** Deletes a namespace, treating "already gone" as done (cleanup paths). */
export async function deleteNetnsIfPresent(netns: Netns, name: string): Promise<void> {
  try {
    await netns.delete(name);
  } catch (e) {
    if (!isKernelError(e, 'NOT_FOUND')) throw e;
  }
}
