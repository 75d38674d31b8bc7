// The generic REST registry (k8s.io/apiserver registry/generic/registry.Store): one code path
// for every kind, with per-kind behaviour from a ResourceStrategy. Verbs return plain objects;
// errors are ApiErrors carrying Kubernetes Status bodies. Nothing here speaks HTTP.
import { randomInt } from 'node:crypto';
import type { ResourceInfo } from '../../api/resources.ts';
import {
  ApiError,
  newBadRequest,
  newConflict,
  newForbidden,
  newInvalid,
  newMethodNotSupported,
  newNotFound,
} from '../../api/status.ts';
import type { KubeObject } from '../../api/types.ts';
import type {
  ListOptions,
  ObjectKey,
  Preconditions,
  Store,
  Watch,
  WatchHandler,
  WatchOptions,
} from '../../store/store.ts';
import { fieldManagerFor } from '../apply/field-manager.ts';
import type { UserInfo } from '../authz/rbac.ts';
import { noopTxn, type RequestContext, type ResourceStrategy, type Txn } from './types.ts';

/** Kinds whose PUT may create the object (AllowCreateOnUpdate in their registries). */
const createOnUpdate = new Set(['endpoints', 'events', 'leases']);
/** Namespaces the apiserver refuses to delete (NamespaceLifecycle admission). */
const immortalNamespaces = new Set(['default', 'kube-system', 'kube-public']);
/** Metadata owned by the server: copied from the stored object on every update. */
const serverOwnedMeta = [
  'uid',
  'creationTimestamp',
  'generation',
  'resourceVersion',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'selfLink',
] as const;

export interface Target {
  readonly info: ResourceInfo;
  /** "" for cluster-scoped kinds and for all-namespace lists. */
  readonly namespace: string;
}

export interface WriteOptions {
  dryRun?: boolean;
  /** Who writes, for metadata.managedFields; in-process writers default to "svcnet". */
  fieldManager?: string;
  /** produce() already computed managedFields (server-side apply): do not track it as an update. */
  managedFieldsSet?: boolean;
  /** The authenticated writer (RequestContext.user); absent for in-process writes. */
  user?: UserInfo;
}

const defaultManager = 'svcnet';
/** The garbage collector's finalizers (metav1.FinalizerDeleteDependents, FinalizerOrphanDependents). */
export const gcForeground = 'foregroundDeletion';
export const gcOrphan = 'orphan';

export type PatchFn = (current: KubeObject) => KubeObject;

const gr = (info: ResourceInfo) => ({ group: info.group, resource: info.resource });
const gk = (info: ResourceInfo) => ({ group: info.group, kind: info.kind });

function keyOf(t: Target, name: string): ObjectKey {
  return { resource: t.info.resource, namespace: t.info.namespaced ? t.namespace : '', name };
}

const nameAlphabet = 'bcdfghjklmnpqrstvwxz2456789';
/** names.SimpleNameGenerator: generateName + 5 random characters. */
export function generateName(prefix: string): string {
  let s = prefix.length > 58 ? prefix.slice(0, 58) : prefix;
  for (let i = 0; i < 5; i++) s += nameAlphabet[randomInt(nameAlphabet.length)];
  return s;
}

/** Checks the decoded body is an object of the resource's kind and fills apiVersion/kind. */
export function checkBody(info: ResourceInfo, body: unknown): KubeObject {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw newBadRequest(`the body of the request was not a ${info.kind} object`);
  }
  const obj = body as Record<string, unknown>;
  const apiVersion = info.group ? `${info.group}/${info.version}` : info.version;
  if (obj.kind !== undefined && obj.kind !== info.kind) {
    throw newBadRequest(`the kind in the data (${String(obj.kind)}) does not match the expected kind (${info.kind})`);
  }
  if (obj.apiVersion !== undefined && obj.apiVersion !== apiVersion) {
    throw newBadRequest(
      `the API version in the data (${String(obj.apiVersion)}) does not match the expected API version (${apiVersion})`,
    );
  }
  const meta = obj.metadata;
  if (meta !== undefined && (typeof meta !== 'object' || meta === null || Array.isArray(meta))) {
    throw newBadRequest(
      `${info.kind} in version "${info.version}" cannot be handled as a ${info.kind}: metadata must be an object`,
    );
  }
  return { ...obj, apiVersion, kind: info.kind, metadata: { ...((meta as object | undefined) ?? {}) } } as KubeObject;
}

/**
 * The pod registry's CheckGracefulDelete: the request's grace period, else the pod's
 * terminationGracePeriodSeconds (default 30); unscheduled and finished pods go at once.
 */
function podGracePeriod(pod: KubeObject, requested: number | undefined): number {
  const spec = (pod.spec ?? {}) as { nodeName?: string; terminationGracePeriodSeconds?: number };
  const phase = (pod.status as { phase?: string } | undefined)?.phase;
  if (!spec.nodeName || phase === 'Succeeded' || phase === 'Failed') return 0;
  return Math.max(0, requested ?? spec.terminationGracePeriodSeconds ?? 30);
}

export class GenericRegistry {
  constructor(
    private readonly store: Store,
    private readonly strategies: ReadonlyMap<string, ResourceStrategy>,
  ) {}

  private strategy(info: ResourceInfo): ResourceStrategy {
    const s = this.strategies.get(info.resource);
    if (!s) throw newMethodNotSupported(gr(info), 'create');
    return s;
  }

  async get(t: Target, name: string): Promise<KubeObject> {
    const obj = await this.store.get(keyOf(t, name));
    if (!obj) throw newNotFound(gr(t.info), name);
    return obj;
  }

  list(t: Target, opts: ListOptions) {
    return this.store.list(t.info.resource, { ...opts, namespace: t.info.namespaced ? t.namespace : '' });
  }

  watch(t: Target, opts: WatchOptions, handler: WatchHandler): Watch {
    return this.store.watch(t.info.resource, { ...opts, namespace: t.info.namespaced ? t.namespace : '' }, handler);
  }

  private async checkNamespace(t: Target, ctxVerb: string): Promise<void> {
    if (!t.info.namespaced) return;
    if (!t.namespace) throw newBadRequest('the server could not find the requested resource: namespace is required');
    const ns = await this.store.get({ resource: 'namespaces', namespace: '', name: t.namespace });
    if (!ns) throw newNotFound({ group: '', resource: 'namespaces' }, t.namespace);
    if (
      ctxVerb === 'create' &&
      (ns.metadata.deletionTimestamp || (ns.status as { phase?: string })?.phase === 'Terminating')
    ) {
      throw newForbidden(
        gr(t.info),
        '',
        `unable to create new content in namespace ${t.namespace} because it is being terminated`,
      );
    }
  }

  async create(t: Target, body: unknown, opts: WriteOptions = {}): Promise<KubeObject> {
    const s = this.strategy(t.info);
    const obj = checkBody(t.info, body);
    const meta = obj.metadata;
    if (t.info.namespaced) {
      if (meta.namespace && t.namespace && meta.namespace !== t.namespace) {
        throw newBadRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      meta.namespace = t.namespace || meta.namespace;
    } else {
      delete meta.namespace;
    }
    if (meta.resourceVersion) throw newBadRequest('resourceVersion should not be set on objects to be created');
    if (!meta.name && meta.generateName) meta.name = generateName(meta.generateName);
    for (const k of serverOwnedMeta) delete meta[k];
    await this.checkNamespace({ info: t.info, namespace: meta.namespace ?? '' }, 'create');
    const ctx: RequestContext = {
      dryRun: !!opts.dryRun,
      namespace: meta.namespace ?? '',
      ...(opts.user ? { user: opts.user, requestName: '' } : {}),
    };
    s.prepareForCreate?.(obj);
    s.default(obj);
    // Ownership is recorded before allocation, as the apiserver's handler does: addresses and
    // ports the server picks belong to no manager.
    if (!opts.managedFieldsSet) fieldManagerFor(t.info).update(undefined, obj, opts.fieldManager || defaultManager);
    const txn = (await s.beginCreate?.(obj, ctx)) ?? noopTxn;
    try {
      const errs = s.validateCreate(obj);
      if (errs.length) throw newInvalid(gk(t.info), meta.name ?? '', errs);
      const stored = await this.store.create(
        keyOf({ info: t.info, namespace: meta.namespace ?? '' }, meta.name ?? ''),
        obj,
        {
          dryRun: ctx.dryRun,
        },
      );
      if (ctx.dryRun) txn.revert();
      else txn.commit();
      return stored;
    } catch (e) {
      txn.revert();
      throw e;
    }
  }

  /**
   * PUT and PATCH share this path: `produce` turns the current object into the desired one
   * (PUT ignores current; PATCH applies the patch to it). Runs inside the store's optimistic
   * update, so a conflicting concurrent write re-runs produce on the fresh object.
   */
  async update(
    t: Target,
    name: string,
    produce: (current: KubeObject) => unknown,
    opts: WriteOptions & { subresource?: string; isPatch?: boolean } = {},
  ): Promise<KubeObject> {
    const s = this.strategy(t.info);
    const key = keyOf(t, name);
    const ctx: RequestContext = {
      dryRun: !!opts.dryRun,
      namespace: key.namespace,
      ...(opts.user ? { user: opts.user, requestName: name } : {}),
    };
    const status = opts.subresource === 'status';
    let txn: Txn = noopTxn;
    const existing = await this.store.get(key);
    if (!existing) {
      if (opts.isPatch || status || !createOnUpdate.has(t.info.resource)) throw newNotFound(gr(t.info), name);
      const body = checkBody(t.info, produce(undefined as unknown as KubeObject));
      body.metadata.name ||= name;
      return this.create(t, body, opts);
    }
    try {
      const result = await this.store.update(
        key,
        (current) => {
          txn.revert();
          txn = noopTxn;
          const obj = checkBody(t.info, produce(structuredClone(current)));
          const meta = obj.metadata;
          if (meta.name !== undefined && meta.name !== name) {
            throw newBadRequest(`the name of the object (${meta.name}) does not match the name on the URL (${name})`);
          }
          if (t.info.namespaced && meta.namespace && meta.namespace !== key.namespace) {
            throw newBadRequest(
              'the namespace of the provided object does not match the namespace sent on the request',
            );
          }
          if (meta.resourceVersion && meta.resourceVersion !== current.metadata.resourceVersion) {
            throw newConflict(gr(t.info), name);
          }
          if (meta.uid && meta.uid !== current.metadata.uid) {
            throw newConflict(
              gr(t.info),
              name,
              `Precondition failed: UID in precondition: ${meta.uid}, UID in object meta: ${current.metadata.uid ?? ''}`,
            );
          }
          meta.name = name;
          if (t.info.namespaced) meta.namespace = key.namespace;
          else delete meta.namespace;
          for (const k of serverOwnedMeta) {
            if (current.metadata[k] === undefined) delete meta[k];
            else (meta as Record<string, unknown>)[k] = current.metadata[k];
          }
          return this.prepareUpdate(s, t.info, obj, current, status, ctx, opts, (x) => {
            txn = x;
          });
        },
        { dryRun: ctx.dryRun },
      );
      if (ctx.dryRun) txn.revert();
      else txn.commit();
      return result;
    } catch (e) {
      txn.revert();
      throw e;
    }
  }

  private async prepareUpdate(
    s: ResourceStrategy,
    info: ResourceInfo,
    obj: KubeObject,
    current: KubeObject,
    status: boolean,
    ctx: RequestContext,
    opts: WriteOptions,
    setTxn: (t: Txn) => void,
  ): Promise<KubeObject> {
    const track = () => {
      if (opts.managedFieldsSet) return;
      fieldManagerFor(info, status ? 'status' : '').update(current, obj, opts.fieldManager || defaultManager);
    };
    if (status) {
      s.prepareForStatusUpdate?.(obj, current);
      s.default(obj);
      track();
      const errs = s.validateStatusUpdate ? s.validateStatusUpdate(obj, current) : s.validateUpdate(obj, current);
      if (errs.length) throw newInvalid(gk(info), obj.metadata.name ?? '', errs);
      return obj;
    }
    s.prepareForUpdate?.(obj, current);
    s.default(obj);
    track();
    const txn = (await s.beginUpdate?.(obj, current, ctx)) ?? noopTxn;
    setTxn(txn);
    const errs = s.validateUpdate(obj, current);
    if (errs.length) throw newInvalid(gk(info), obj.metadata.name ?? '', errs);
    return obj;
  }

  async delete(
    t: Target,
    name: string,
    opts: WriteOptions & {
      preconditions?: Preconditions;
      gracePeriodSeconds?: number;
      propagationPolicy?: 'Foreground' | 'Background' | 'Orphan';
      orphanDependents?: boolean;
    } = {},
  ): Promise<KubeObject> {
    const key = keyOf(t, name);
    if (t.info.resource === 'namespaces') return this.deleteNamespace(name, opts);
    const strategy = this.strategies.get(t.info.resource);
    if (strategy?.beforeDelete) {
      const cur = await this.store.get(key);
      if (!cur) throw newNotFound(gr(t.info), name);
      await strategy.beforeDelete(cur, { dryRun: !!opts.dryRun, namespace: key.namespace });
    }
    let gracePeriodSeconds: number | undefined;
    if (t.info.resource === 'pods') {
      const pod = await this.store.get(key);
      if (!pod) throw newNotFound(gr(t.info), name);
      gracePeriodSeconds = podGracePeriod(pod, opts.gracePeriodSeconds);
    }
    // deletionFinalizersForGarbageCollection: Foreground and Orphan hand the object to the
    // garbage collector, which removes the finalizer once dependents are gone or released.
    const gc =
      opts.propagationPolicy === 'Foreground'
        ? gcForeground
        : opts.propagationPolicy === 'Orphan' || opts.orphanDependents === true
          ? gcOrphan
          : undefined;
    if (gc && !opts.dryRun) {
      // The apiserver writes the finalizer and the deletion mark at once; the store marks deletion
      // itself, so here the finalizer goes first (the collector acts only on marked objects).
      await this.store.update(
        key,
        (cur) => {
          if (cur.metadata.deletionTimestamp) return cur;
          const kept = (cur.metadata.finalizers ?? []).filter((f) => f !== gcForeground && f !== gcOrphan);
          return { ...cur, metadata: { ...cur.metadata, finalizers: [...kept, gc] } };
        },
        { preconditions: opts.preconditions },
      );
    }
    const res = await this.store.delete(key, {
      preconditions: opts.preconditions,
      dryRun: !!opts.dryRun,
      gracePeriodSeconds,
    });
    if (res.deleted && !opts.dryRun) {
      this.strategies.get(t.info.resource)?.afterDelete?.(res.object, { dryRun: false, namespace: key.namespace });
    }
    return res.object;
  }

  /**
   * Namespace deletion, done synchronously: mark Terminating, delete every namespaced object
   * in it (releasing their allocations), then remove the namespace.
   */
  private async deleteNamespace(name: string, opts: WriteOptions & { preconditions?: Preconditions }) {
    const gr = { group: '', resource: 'namespaces' };
    if (immortalNamespaces.has(name)) throw newForbidden(gr, name, 'this namespace may not be deleted');
    const key: ObjectKey = { resource: 'namespaces', namespace: '', name };
    const ns = await this.store.get(key);
    if (!ns) throw newNotFound(gr, name);
    if (opts.dryRun) return ns;
    await this.store.update(key, (cur) => ({ ...cur, status: { ...(cur.status as object), phase: 'Terminating' } }));
    for (const [resource, strategy] of this.strategies) {
      const { items } = await this.store.list(resource, { namespace: name });
      for (const item of items) {
        if (!item.metadata.namespace) continue;
        try {
          const r = await this.store.delete({ resource, namespace: name, name: item.metadata.name ?? '' });
          if (r.deleted) strategy.afterDelete?.(r.object, { dryRun: false, namespace: name });
        } catch (e) {
          if (!(e instanceof ApiError && e.code === 404)) throw e;
        }
      }
    }
    return (await this.store.delete(key, { preconditions: opts.preconditions })).object;
  }

  async deleteCollection(
    t: Target,
    opts: ListOptions & WriteOptions & { propagationPolicy?: 'Foreground' | 'Background' | 'Orphan' },
  ): Promise<KubeObject[]> {
    const { items } = await this.list(t, { labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector });
    const out: KubeObject[] = [];
    for (const item of items) {
      try {
        out.push(
          await this.delete({ info: t.info, namespace: item.metadata.namespace ?? '' }, item.metadata.name ?? '', opts),
        );
      } catch (e) {
        if (!(e instanceof ApiError && e.code === 404)) throw e;
      }
    }
    return out;
  }
}
