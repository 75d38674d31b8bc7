// One entry point for callers that pick the store from configuration.
import type { StoreOptions } from './core.ts';
import { MemoryStore } from './memory.ts';
import { SqliteStore } from './sqlite.ts';
import type { Store } from './store.ts';

export type StoreConfig =
  | ({ kind: 'memory'; historyLimit?: number; historyBytes?: number } & StoreOptions)
  | ({ kind: 'sqlite'; path: string; historyLimit?: number; historyBytes?: number } & StoreOptions);

/** Store plus the on-demand bookmark both implementations offer. */
export type OpenedStore = Store & { bookmarkNow(): void };

export async function openStore(config: StoreConfig): Promise<OpenedStore> {
  const { kind, ...opts } = config;
  if (kind === 'memory') return new MemoryStore(opts);
  if (config.kind === 'sqlite') return new SqliteStore({ ...opts, path: config.path });
  throw new Error(`unknown store kind ${JSON.stringify(kind)}`);
}
