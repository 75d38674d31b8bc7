// The thin part: hands transaction text to `nft -f -` inside the node's network namespace, and
// reads back the names of what the table holds. A fake beside it applies the same text to
// FakeNft, so the plane's logic is tested without a kernel.
import { type Runner, run } from '../../kernel/exec.ts';
import { inNetns } from '../../kernel/netns.ts';
import { FakeNft } from './fake.ts';
import { parseNftList, type ReadBack } from './readback.ts';
import type { ExistingObjects } from './render.ts';
import { type NftFamily, tableName } from './structure.ts';

export interface NftApplier {
  /** Applies one atomic transaction; rejects on any error (nothing of it is applied). */
  apply(text: string): Promise<void>;
  /** Names of chains and sets in svcnet's table of `family`; undefined when the table is absent. */
  list(family: NftFamily): Promise<ExistingObjects | undefined>;
  /** What the kernel holds now in svcnet's tables of `families`, with rule counters (explain). */
  readBack(families: readonly NftFamily[]): Promise<ReadBack>;
}

export class NftApplierError extends Error {
  readonly code = 'NFT_APPLY_FAILED';
  constructor(message: string, cause: unknown) {
    super(message, { cause });
    this.name = 'NftApplierError';
  }
}

interface NftJsonList {
  nftables?: { chain?: { name: string }; set?: { name: string }; map?: { name: string } }[];
}

export class ExecNftApplier implements NftApplier {
  constructor(
    private readonly netns: string | undefined,
    private readonly runner: Runner = run,
  ) {}

  async apply(text: string): Promise<void> {
    try {
      await this.runner(inNetns(this.netns, ['nft', '-f', '-']), { input: text, timeoutMs: 120_000 });
    } catch (e) {
      const stderr = (e as { stderr?: string }).stderr ?? String(e);
      throw new NftApplierError(`nft -f failed: ${stderr.trim().split('\n').slice(0, 6).join(' | ')}`, e);
    }
  }

  async list(family: NftFamily): Promise<ExistingObjects | undefined> {
    let stdout: string;
    try {
      // -t (terse): no set elements, so this costs the same with 10 or 100,000 services.
      ({ stdout } = await this.runner(inNetns(this.netns, ['nft', '-t', '-j', 'list', 'table', family, tableName]), {
        timeoutMs: 30_000,
      }));
    } catch (e) {
      if (/No such file or directory/.test((e as { stderr?: string }).stderr ?? '')) return undefined;
      throw new NftApplierError('nft list table failed', e);
    }
    const parsed = JSON.parse(stdout) as NftJsonList;
    const chains: string[] = [];
    const sets: string[] = [];
    const maps: string[] = [];
    for (const o of parsed.nftables ?? []) {
      if (o.chain) chains.push(o.chain.name);
      if (o.set) sets.push(o.set.name);
      if (o.map) {
        sets.push(o.map.name);
        maps.push(o.map.name);
      }
    }
    return { chains, sets, maps };
  }

  async readBack(families: readonly NftFamily[]): Promise<ReadBack> {
    let text = '';
    for (const family of families) {
      try {
        const { stdout } = await this.runner(inNetns(this.netns, ['nft', 'list', 'table', family, tableName]), {
          timeoutMs: 30_000,
        });
        text += stdout;
      } catch (e) {
        if (/No such file or directory/.test((e as { stderr?: string }).stderr ?? '')) continue;
        throw new NftApplierError('nft list table failed', e);
      }
    }
    return parseNftList(text);
  }
}

/** The same seam over the fake kernel. */
export class FakeNftApplier implements NftApplier {
  /** Transactions handed over, in order (tests assert on their size and content). */
  readonly applied: string[] = [];
  constructor(readonly nft: FakeNft) {}

  async apply(text: string): Promise<void> {
    this.nft.apply(text);
    this.applied.push(text);
  }

  async list(family: NftFamily): Promise<ExistingObjects | undefined> {
    return this.nft.listNames(family, tableName);
  }

  async readBack(): Promise<ReadBack> {
    const nft = new FakeNft();
    nft.load(this.nft.dump());
    return { nft, counters: new Map() };
  }
}
