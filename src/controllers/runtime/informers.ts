// The informers a controller reads from. Callers may pass shared ones (a controller manager runs
// several controllers over one watch per resource); missing ones are created and owned by the
// controller, which then also starts and stops them.
import type { KubeObject } from '../../api/types.ts';
import type { Client } from '../../client/client.ts';
import { Informer } from '../../client/informer.ts';
import type { InformerLike } from '../../client/informer-api.ts';

export type Obj<T> = T & KubeObject;

export interface OwnedInformers<M extends Record<string, KubeObject>> {
  informers: { [K in keyof M]: InformerLike<M[K]> };
  /** Starts the informers this bundle created (shared ones are the caller's to start). */
  start(): void;
  stop(): void;
  waitForSync(): Promise<void>;
}

export function ownInformers<M extends Record<string, KubeObject>>(
  client: Client,
  resources: { [K in keyof M]: string },
  shared: Partial<{ [K in keyof M]: InformerLike<M[K]> }> = {},
): OwnedInformers<M> {
  const informers = {} as { [K in keyof M]: InformerLike<M[K]> };
  const owned: InformerLike<KubeObject>[] = [];
  for (const key of Object.keys(resources) as (keyof M)[]) {
    const given = shared[key];
    if (given) informers[key] = given;
    else {
      const inf = new Informer<M[typeof key]>(client, resources[key]);
      informers[key] = inf;
      owned.push(inf as unknown as InformerLike<KubeObject>);
    }
  }
  const all = Object.values(informers) as InformerLike<KubeObject>[];
  return {
    informers,
    start: () => {
      for (const i of owned) i.start();
    },
    stop: () => {
      for (const i of owned) i.stop();
    },
    waitForSync: async () => {
      await Promise.all(all.map((i) => i.waitForSync()));
    },
  };
}
