// The ipset seam: `ipset restore` of a command list and `ipset save`, inside the node's network
// namespace (sets are per namespace). Like the tool, a restore runs its commands in order and
// stops at the first error, keeping what came before: it is not a transaction, so callers order
// their commands to be safe at every step (a set's contents are replaced atomically with `swap`).
// FakeIpset (fake-ipset.ts) behaves the same way in memory.
import { type Runner, run } from './exec.ts';
import { inNetns } from './netns.ts';
import { blamedLine, RestoreError } from './restore-error.ts';

export interface Ipset {
  /**
   * Runs `ipset restore` commands (create/add/del/flush/swap/destroy), in order; with `exist`,
   * `-exist`: create of an identical set, add of a present element (its extensions are updated)
   * and del of an absent one are not errors. Rejects with a RestoreError at the first failure.
   */
  restore(text: string, opts?: { exist?: boolean }): Promise<void>;
  /** Names of every set in the namespace. */
  list(): Promise<string[]>;
  /** `ipset save` of one set (or all): create lines, then add lines. */
  save(name?: string): Promise<string>;
}

export class ExecIpset implements Ipset {
  constructor(
    private readonly netns: string | undefined,
    private readonly runner: Runner = run,
  ) {}

  async restore(text: string, opts: { exist?: boolean } = {}): Promise<void> {
    const argv = inNetns(this.netns, ['ipset', ...(opts.exist ? ['-exist'] : []), 'restore']);
    try {
      await this.runner(argv, { input: text, timeoutMs: 120_000 });
    } catch (e) {
      const stderr = (e as { stderr?: string }).stderr ?? String(e);
      throw new RestoreError('ipset', firstLines(stderr), blamedLine(stderr), e);
    }
  }

  async list(): Promise<string[]> {
    try {
      const { stdout } = await this.runner(inNetns(this.netns, ['ipset', 'list', '-n']), { timeoutMs: 30_000 });
      return stdout.split('\n').filter((l) => l !== '');
    } catch (e) {
      throw new RestoreError(
        'ipset',
        `list failed: ${firstLines((e as { stderr?: string }).stderr ?? String(e))}`,
        undefined,
        e,
      );
    }
  }

  async save(name?: string): Promise<string> {
    try {
      const argv = inNetns(this.netns, ['ipset', 'save', ...(name ? [name] : [])]);
      return (await this.runner(argv, { timeoutMs: 60_000 })).stdout;
    } catch (e) {
      throw new RestoreError(
        'ipset',
        `save failed: ${firstLines((e as { stderr?: string }).stderr ?? String(e))}`,
        undefined,
        e,
      );
    }
  }
}

function firstLines(s: string): string {
  return s
    .trim()
    .split('\n')
    .filter((l) => l.trim() !== '' && !/^Try `/.test(l))
    .slice(0, 4)
    .join(' | ');
}

export { firstLines as restoreMessage };
