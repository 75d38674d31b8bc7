// An in-process cluster control plane: store + apiserver registry (initialized: system
// namespaces, default/kubernetes, repaired allocators) behind an InProcessClient. `svcnet up`
// and tests use it; nothing listens on a socket unless start() is called on `server`.
import { ApiServer, type ApiServerOptions } from '../apiserver/server.ts';
import { openStore, type StoreConfig } from '../store/open.ts';
import type { Store } from '../store/store.ts';
import { InProcessClient } from './in-process.ts';

export interface InProcessCluster {
  client: InProcessClient;
  server: ApiServer;
  store: Store;
  close(): Promise<void>;
}

export async function createInProcessCluster(
  opts: { store?: StoreConfig } & Partial<Omit<ApiServerOptions, 'store' | 'token'>> = {},
): Promise<InProcessCluster> {
  const { store: storeConfig, ...serverOpts } = opts;
  const store = await openStore(storeConfig ?? { kind: 'memory' });
  const server = new ApiServer({ token: 'in-process', host: '127.0.0.1', port: 0, ...serverOpts, store });
  await server.initialize(6443);
  return {
    client: new InProcessClient(server.registry),
    server,
    store,
    async close() {
      await server.stop();
      await store.close();
    },
  };
}
