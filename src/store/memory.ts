// MemoryStore: the shared store semantics with nothing persisted; the change log is an
// in-memory window. For tests and for components that want a throwaway API.
import { type Backend, CachedStore, type StoreOptions } from './core.ts';
import { EventLog } from './history.ts';

export interface MemoryStoreOptions extends StoreOptions {
  /** Revisions kept for watch replay and continue tokens (at least this many; default 10000). */
  historyLimit?: number;
  /** ...unless their prior versions pass this many bytes (default 128 MiB). */
  historyBytes?: number;
}

class MemoryBackend implements Backend {
  readonly history: EventLog;
  constructor(keep: number, maxBytes: number | undefined) {
    this.history = new EventLog(keep, 0, maxBytes);
  }
  commit(c: Parameters<Backend['commit']>[0]): void {
    this.history.push({
      rv: c.rv,
      resource: c.resource,
      namespace: c.namespace,
      name: c.name,
      type: c.type,
      prevJson: c.prevJson,
    });
  }
  close(): void {}
}

export class MemoryStore extends CachedStore {
  constructor(opts: MemoryStoreOptions = {}) {
    super(new MemoryBackend(opts.historyLimit ?? 10_000, opts.historyBytes), { revision: 1, objects: [] }, opts);
  }
}
