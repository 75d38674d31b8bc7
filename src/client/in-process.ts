// The in-process transport: calls go straight into the apiserver's generic registry, so every
// write is defaulted, validated and allocated exactly as over HTTP, without sockets.
import { mustResource } from '../api/resources.ts';
import { ApiError, type Status } from '../api/status.ts';
import type { KubeObject } from '../api/types.ts';
import { applyPatch } from '../apiserver/codec.ts';
import type { GenericRegistry } from '../apiserver/registry/generic.ts';
import type {
  Client,
  ClientList,
  ClientListOptions,
  ClientWatch,
  ClientWatchOptions,
  DeleteOptions,
  PatchType,
  WatchEvent,
  WriteOptions,
} from './client.ts';

const patchTypes = { merge: 'merge', strategic: 'strategic', json: 'json' } as const;

export class InProcessClient implements Client {
  constructor(private readonly registry: GenericRegistry) {}

  private target(resource: string, namespace: string | undefined) {
    return { info: mustResource(resource), namespace: namespace ?? '' };
  }

  async get<T extends KubeObject>(resource: string, namespace: string, name: string): Promise<T> {
    return (await this.registry.get(this.target(resource, namespace), name)) as T;
  }

  async list<T extends KubeObject>(resource: string, opts: ClientListOptions = {}): Promise<ClientList<T>> {
    const r = await this.registry.list(this.target(resource, opts.namespace), opts);
    return {
      items: r.items as T[],
      resourceVersion: r.resourceVersion,
      ...(r.continue ? { continue: r.continue } : {}),
    };
  }

  async create<T extends KubeObject>(resource: string, obj: T, opts: WriteOptions = {}): Promise<T> {
    return (await this.registry.create(this.target(resource, obj.metadata.namespace), structuredClone(obj), opts)) as T;
  }

  private put<T extends KubeObject>(resource: string, obj: T, opts: WriteOptions, subresource?: string): Promise<T> {
    const body = structuredClone(obj);
    return this.registry.update(this.target(resource, obj.metadata.namespace), obj.metadata.name ?? '', () => body, {
      ...opts,
      subresource,
    }) as Promise<T>;
  }

  update<T extends KubeObject>(resource: string, obj: T, opts: WriteOptions = {}): Promise<T> {
    return this.put(resource, obj, opts);
  }

  updateStatus<T extends KubeObject>(resource: string, obj: T, opts: WriteOptions = {}): Promise<T> {
    return this.put(resource, obj, opts, 'status');
  }

  async patch<T extends KubeObject>(
    resource: string,
    namespace: string,
    name: string,
    type: PatchType,
    patch: unknown,
    opts: WriteOptions & { subresource?: 'status' } = {},
  ): Promise<T> {
    const t = this.target(resource, namespace);
    const raw = Buffer.from(JSON.stringify(patch));
    return (await this.registry.update(t, name, (cur) => applyPatch(patchTypes[type], t.info, cur, raw), {
      ...opts,
      isPatch: true,
    })) as T;
  }

  async delete<T extends KubeObject>(
    resource: string,
    namespace: string,
    name: string,
    opts: DeleteOptions = {},
  ): Promise<T> {
    return (await this.registry.delete(this.target(resource, namespace), name, opts)) as T;
  }

  watch<T extends KubeObject>(
    resource: string,
    opts: ClientWatchOptions,
    onEvent: (e: WatchEvent<T>) => void,
    onClose: (err?: unknown) => void,
  ): ClientWatch {
    let closed = false;
    let timer: NodeJS.Timeout | undefined;
    const close = (err?: unknown) => {
      if (closed) return;
      closed = true;
      if (timer) clearTimeout(timer);
      w?.stop();
      // Deliver asynchronously, as a network transport would.
      queueMicrotask(() => onClose(err));
    };
    let w: { stop(): void } | undefined;
    try {
      w = this.registry.watch(this.target(resource, opts.namespace), opts, (e) => {
        if (closed) return;
        if (e.type === 'ERROR') close(new ApiError(e.object as unknown as Status));
        else onEvent(e as WatchEvent<T>);
      });
    } catch (e) {
      close(e);
    }
    if (opts.timeoutSeconds && opts.timeoutSeconds > 0) timer = setTimeout(() => close(), opts.timeoutSeconds * 1000);
    return {
      stop() {
        if (closed) return;
        closed = true;
        if (timer) clearTimeout(timer);
        w?.stop();
      },
    };
  }
}
