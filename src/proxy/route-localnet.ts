// net.ipv4.conf.all.route_localnet for kernel planes' 127.0.0.1 NodePorts (5.22). The sysctl
// belongs to the namespace, not to svcnet: the value found before the first write is recorded
// and written back by cleanup, so `svcnet cleanup` leaves the node as it was. The record lives in
// a file under /run (tmpfs: gone at reboot, exactly when the sysctl resets too) named after the
// network namespace's inode, so a crashed agent's record is found by the next start or cleanup
// and a new namespace that reuses a name never inherits an old record.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Runner, run } from '../kernel/exec.ts';
import { inNetns } from '../kernel/netns.ts';

const key = 'net.ipv4.conf.all.route_localnet';
export const defaultStateDir = '/run/svcnet/route-localnet';

export class RouteLocalnet {
  constructor(
    private readonly netns: string | undefined,
    private readonly runner: Runner = run,
    private readonly stateDir = defaultStateDir,
  ) {}

  private async sh(argv: string[]): Promise<string> {
    return (await this.runner(inNetns(this.netns, argv))).stdout.trim();
  }

  /** undefined when the namespace cannot be identified (then nothing is recorded). */
  private async recordPath(): Promise<string | undefined> {
    const inode = await this.sh(['stat', '-L', '-c', '%i', '/proc/self/ns/net']).catch(() => '');
    return /^\d+$/.test(inode) ? join(this.stateDir, inode) : undefined;
  }

  /** Sets route_localnet=1, recording the value found unless a record (an earlier run's) exists. */
  async enable(): Promise<void> {
    const path = await this.recordPath();
    const recorded = path && (await readFile(path, 'utf8').catch(() => undefined));
    if (path && recorded === undefined) {
      const found = await this.sh(['sysctl', '-n', key]);
      await mkdir(this.stateDir, { recursive: true, mode: 0o700 });
      await writeFile(path, `${found}\n`, { mode: 0o600 });
    }
    await this.sh(['sysctl', '-q', '-w', `${key}=1`]);
  }

  /** Writes back the recorded value (if any) and forgets it; returns the value restored. */
  async restore(): Promise<string | undefined> {
    const path = await this.recordPath();
    if (!path) return undefined;
    const recorded = (await readFile(path, 'utf8').catch(() => undefined))?.trim();
    if (recorded === undefined) return undefined;
    if (/^[01]$/.test(recorded)) await this.sh(['sysctl', '-q', '-w', `${key}=${recorded}`]);
    await rm(path, { force: true });
    return recorded;
  }
}
