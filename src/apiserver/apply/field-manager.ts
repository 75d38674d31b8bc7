// The field manager: who owns which field of an object, kept in metadata.managedFields on every
// write, and server-side apply on top of it. Mirrors apimachinery's managedfields FieldManager
// chain (internal/fieldmanager.go, NewDefaultFieldManager), outermost first:
//   versionCheck → lastAppliedUpdater → lastAppliedManager → skipNonApplied → capManagers →
//   buildManagerInfo → managedFieldsUpdater → stripMeta → structured merge (merge/update.go)
import type { ResourceInfo } from '../../api/resources.ts';
import { type ApiError, newApplyConflict, newBadRequest, newUnknownError } from '../../api/status.ts';
import type { KubeObject } from '../../api/types.ts';
import { kindSchema } from '../schema/index.ts';
import { type FieldPath, FieldSet, FieldsError, field, type Json, pathString } from './fieldpath.ts';
import {
  decodeManagedFields,
  emptyManaged,
  encodeManagedFields,
  type Managed,
  type ManagedFieldsEntry,
  managerId,
  now,
  parseManagerId,
  type VersionedSet,
} from './managed-fields.ts';
import { compare, isObj, merge, prune, rootType, TypedError, type TypeNode, toFieldSet } from './typed.ts';
import { zeroObject } from './zero.ts';

export const lastAppliedAnnotation = 'kubectl.kubernetes.io/last-applied-configuration';
const maxUpdateManagers = 10;
const stripSet = FieldSet.of(
  [field('apiVersion')],
  [field('kind')],
  [field('metadata')],
  ...[
    'name',
    'namespace',
    'creationTimestamp',
    'selfLink',
    'uid',
    'clusterName',
    'generation',
    'managedFields',
    'resourceVersion',
  ].map((f): FieldPath => [field('metadata'), field(f)]),
);

export interface Conflict {
  readonly manager: string;
  readonly path: FieldPath;
}

/** merge.Conflicts: an apply refused because other managers own fields it would change. */
export class ConflictsError extends Error {
  constructor(readonly conflicts: readonly Conflict[]) {
    super('apply conflicts');
  }
}

/** printManager (internal/conflict.go). */
function printManager(id: string): string {
  const m = parseManagerId(id);
  let s = JSON.stringify(m.manager);
  if (m.subresource) s += ` with subresource ${JSON.stringify(m.subresource)}`;
  if (m.operation === 'Update') s += ` using ${m.apiVersion ?? ''}`;
  return s;
}

/** NewConflictError: 409 Conflict naming each manager and field, as kube-apiserver words it. */
export function conflictError(conflicts: readonly Conflict[]): ApiError {
  const sorted = [...conflicts].sort((a, b) => (a.manager < b.manager ? -1 : a.manager > b.manager ? 1 : 0));
  let message: string;
  const first = sorted[0];
  if (sorted.length === 1 && first) {
    message = `Apply failed with 1 conflict: conflict with ${printManager(first.manager)}: ${pathString(first.path)}`;
  } else {
    const lines: string[] = [];
    let current = '';
    for (const c of sorted) {
      if (c.manager !== current) {
        current = c.manager;
        lines.push(`conflicts with ${printManager(c.manager)}:`);
      }
      lines.push(`- ${pathString(c.path)}`);
    }
    message = `Apply failed with ${sorted.length} conflicts: ${lines.join('\n')}`;
  }
  return newApplyConflict(
    sorted.map((c) => ({
      reason: 'FieldManagerConflict',
      message: `conflict with ${printManager(c.manager)}`,
      field: pathString(c.path),
    })),
    message,
  );
}

function cloneManaged(m: Managed): Managed {
  const fields = new Map<string, VersionedSet>();
  for (const [k, v] of m.fields) fields.set(k, { ...v, set: v.set.clone() });
  return { fields, times: new Map(m.times) };
}

function isReset(mf: readonly ManagedFieldsEntry[] | undefined): boolean {
  if (!mf) return false;
  if (mf.length === 0) return true;
  return mf.length === 1 && Object.keys(mf[0] ?? {}).length === 0;
}

type Obj = Record<string, Json>;
const asJson = (o: KubeObject): Obj => o as unknown as Obj;

export class FieldManager {
  private readonly type: TypeNode;
  private readonly gv: string;
  private readonly builtin: boolean;
  /** Fields the strategy resets for this (sub)resource (GetResetFields): never owned here. */
  private readonly ignored: FieldSet;

  constructor(
    private readonly info: ResourceInfo,
    private readonly subresource: string,
  ) {
    const entry = kindSchema(info);
    if (!entry) throw new Error(`no schema for ${info.resource}`);
    this.type = rootType(entry.schema);
    this.builtin = entry.builtin;
    this.gv = info.group ? `${info.group}/${info.version}` : info.version;
    const hasStatus = info.subresources.includes('status');
    if (subresource === 'status') this.ignored = FieldSet.of([field('spec')]);
    else if (hasStatus) this.ignored = FieldSet.of([field('status')]);
    else this.ignored = new FieldSet();
  }

  private gvk(): string {
    return `${this.info.group}/${this.info.version}, Kind=${this.info.kind}`;
  }

  private zero(): Obj {
    return zeroObject(this.info.kind);
  }

  private filter(s: FieldSet): FieldSet {
    return s.recursiveDifference(this.ignored);
  }

  /** Updater.update: other managers lose what this change modified or removed; conflicts if !force. */
  private updateOthers(live: Obj, next: Obj, m: Managed, workflow: string, force: boolean) {
    const c = compare(live, next, this.type);
    const added = this.filter(c.added);
    const modified = this.filter(c.modified);
    const removed = this.filter(c.removed);
    const changed = modified.union(added);
    const conflicts: Conflict[] = [];
    const lost = new Map<string, FieldSet>();
    for (const [id, vs] of m.fields) {
      if (id === workflow) continue;
      const clash = vs.set.intersection(changed);
      if (!clash.empty) {
        lost.set(id, clash);
        for (const path of clash.paths()) conflicts.push({ manager: id, path });
      }
    }
    if (!force && conflicts.length) throw new ConflictsError(conflicts);
    for (const [id, vs] of m.fields) {
      if (id === workflow) continue;
      let set = vs.set;
      const clash = lost.get(id);
      if (clash) set = set.difference(clash);
      if (!removed.empty) set = set.difference(removed);
      if (set.empty) m.fields.delete(id);
      else vs.set = set;
    }
    return { added, modified, removed };
  }

  /** stripMetaManager: metadata the server owns is never anyone's field. */
  private strip(m: Managed, id: string): void {
    const vs = m.fields.get(id);
    if (!vs) return;
    const set = vs.set.difference(stripSet);
    if (set.empty) m.fields.delete(id);
    else vs.set = set;
  }

  /** managedFieldsUpdater + stripMeta + structured Update, run for `manager` (an identifier). */
  private trackUpdate(live: Obj, next: Obj, m: Managed, manager: string): void {
    const self = 'current-operation';
    const c = this.updateOthers(live, next, m, self, true);
    const prev = m.fields.get(self)?.set ?? new FieldSet();
    const set = prev.difference(c.removed).union(c.modified).union(c.added);
    if (!set.empty) m.fields.set(self, { set, apiVersion: this.gv, applied: false });
    else m.fields.delete(self);
    this.strip(m, self);
    const vs = m.fields.get(self);
    if (vs) {
      m.fields.delete(self);
      const previous = m.fields.get(manager);
      m.fields.set(manager, { ...vs, set: previous ? vs.set.union(previous.set) : vs.set });
      m.times.set(manager, now());
    }
    this.capManagers(m);
  }

  /** capManagersManager: past ten Update entries the oldest fold into "ancient-changes". */
  private capManagers(m: Managed): void {
    const updaters = [...m.fields].filter(([, vs]) => !vs.applied).map(([id]) => id);
    if (updaters.length <= maxUpdateManagers) return;
    const secs = (id: string) => {
      const t = m.times.get(id);
      return t ? Math.floor(Date.parse(t) / 1000) : 0;
    };
    updaters.sort((a, b) => secs(a) - secs(b) || (a < b ? -1 : a > b ? 1 : 0));
    const firstByVersion = new Map<string, string>();
    let length = updaters.length;
    for (const id of updaters) {
      if (length <= maxUpdateManagers) break;
      const vs = m.fields.get(id);
      if (!vs) continue;
      const bucket = managerId({ manager: 'ancient-changes', operation: 'Update', apiVersion: vs.apiVersion });
      const first = firstByVersion.get(vs.apiVersion);
      if (first === undefined) {
        firstByVersion.set(vs.apiVersion, id);
        continue;
      }
      if (!m.fields.has(bucket)) {
        const s = m.fields.get(first);
        m.fields.delete(first);
        if (s) m.fields.set(bucket, s);
      }
      const b = m.fields.get(bucket);
      m.fields.set(bucket, { set: b ? vs.set.union(b.set) : vs.set, apiVersion: vs.apiVersion, applied: vs.applied });
      m.fields.delete(id);
      m.times.set(bucket, m.times.get(id));
      length--;
    }
  }

  private updateId(manager: string): string {
    return managerId({ manager, operation: 'Update', apiVersion: this.gv, subresource: this.subresource || undefined });
  }

  /**
   * Records `manager`'s change from `live` (undefined on create) to `next` in
   * next.metadata.managedFields (FieldManager.UpdateNoErrors: on any failure the live entries stay).
   */
  update(live: KubeObject | undefined, next: KubeObject, manager: string): void {
    const meta = next.metadata as { managedFields?: ManagedFieldsEntry[] };
    const liveMF = (live?.metadata as { managedFields?: ManagedFieldsEntry[] } | undefined)?.managedFields;
    const decodeOr = (mf: ManagedFieldsEntry[] | undefined): Managed => {
      try {
        return decodeManagedFields(mf ?? []);
      } catch {
        return emptyManaged();
      }
    };
    let managed: Managed;
    if (this.subresource) managed = decodeOr(liveMF);
    else if (isReset(meta.managedFields)) managed = emptyManaged();
    else {
      try {
        managed = decodeManagedFields(Array.isArray(meta.managedFields) ? meta.managedFields : []);
        if (managed.fields.size === 0) managed = decodeOr(liveMF);
      } catch {
        managed = decodeOr(liveMF);
      }
    }
    delete meta.managedFields;
    // skipNonAppliedManager: objects that exist untracked stay untracked until their first apply.
    if (managed.fields.size === 0 && live?.metadata.uid) return;
    try {
      this.trackUpdate(live ? asJson(live) : this.zero(), asJson(next), managed, this.updateId(manager));
      const out = encodeManagedFields(managed);
      if (out) meta.managedFields = out;
    } catch (e) {
      if (!(e instanceof TypedError || e instanceof FieldsError)) throw e;
      if (liveMF) meta.managedFields = liveMF;
    }
  }

  /**
   * Server-side apply of `patch` by `manager` onto `live` (undefined: the object is created).
   * Returns the object to write, managedFields included; throws 409 on conflicts unless force.
   */
  apply(live: KubeObject | undefined, patch: Obj, manager: string, force: boolean): KubeObject {
    const gvkOf = (o: Obj) => {
      const av = typeof o.apiVersion === 'string' ? o.apiVersion : '';
      const i = av.indexOf('/');
      const [g, v] = i < 0 ? ['', av] : [av.slice(0, i), av.slice(i + 1)];
      return `${g}/${v}, Kind=${typeof o.kind === 'string' ? o.kind : ''}`;
    };
    if (gvkOf(patch) !== this.gvk()) throw newBadRequest(`invalid object type: ${gvkOf(patch)}`);
    let managed: Managed;
    try {
      managed = decodeManagedFields((live?.metadata as { managedFields?: ManagedFieldsEntry[] })?.managedFields ?? []);
    } catch (e) {
      throw newUnknownError(`failed to decode managed fields: ${(e as Error).message}`);
    }
    const pmeta = isObj(patch.metadata) ? patch.metadata : {};
    if (pmeta.managedFields !== undefined) throw newBadRequest('metadata.managedFields must be nil');
    const liveObj = live ? asJson(live) : this.zero();
    let configSet: FieldSet;
    try {
      configSet = this.filter(toFieldSet(patch, this.type, { allowDuplicates: false, strict: this.builtin }));
    } catch (e) {
      if (!(e instanceof TypedError)) throw e;
      const ns = typeof pmeta.namespace === 'string' ? pmeta.namespace : '';
      const name = typeof pmeta.name === 'string' ? pmeta.name : '';
      // Upstream's text; answered 400, not upstream's 500: the patch is what is wrong.
      throw newBadRequest(`failed to create typed patch object (${ns}/${name}; ${this.gvk()}): ${e.message}`);
    }
    const id = managerId({ manager, operation: 'Apply', subresource: this.subresource || undefined });
    const attempt = (forced: boolean) => this.applyOnce(liveObj, patch, configSet, cloneManaged(managed), id, forced);
    let result: { obj: Obj; managed: Managed };
    try {
      result = attempt(force);
    } catch (e) {
      // lastAppliedManager: kubectl taking over from client-side apply owns, without conflict,
      // what its last-applied-configuration says it applied and the live object still holds.
      if (!(e instanceof ConflictsError) || manager !== 'kubectl') throw toStatus(e);
      const allowed = live ? this.allowedFromLastApplied(liveObj) : undefined;
      if (!allowed) throw toStatus(e);
      const rest = e.conflicts.filter((c) => !allowed.has(c.path));
      if (rest.length) throw conflictError(rest);
      result = attempt(true);
    }
    const out = result.obj as unknown as KubeObject;
    const meta = out.metadata as { managedFields?: ManagedFieldsEntry[]; annotations?: Record<string, string> };
    const encoded = encodeManagedFields(result.managed);
    if (encoded) meta.managedFields = encoded;
    else delete meta.managedFields;
    // lastAppliedUpdater: keep kubectl's client-side annotation in step with what it applies.
    if (manager === 'kubectl' && meta.annotations?.[lastAppliedAnnotation]) {
      const copy = structuredClone(patch);
      const cm = isObj(copy.metadata) ? copy.metadata : undefined;
      const ann = cm && isObj(cm.annotations) ? cm.annotations : undefined;
      if (ann) delete ann[lastAppliedAnnotation];
      // runtime.Encode of an Unstructured: json.Marshal's sorted keys and the Encoder's newline.
      meta.annotations[lastAppliedAnnotation] = `${JSON.stringify(sortKeys(copy))}\n`;
    }
    return out;
  }

  private applyOnce(
    liveIn: Obj,
    patch: Obj,
    configSet: FieldSet,
    m: Managed,
    id: string,
    force: boolean,
  ): { obj: Obj; managed: Managed } {
    const live = structuredClone(liveIn);
    delete (isObj(live.metadata) ? live.metadata : {}).managedFields;
    // skipNonAppliedManager: the first apply to an untracked object credits what is already there
    // to "before-first-apply", so the applier conflicts with it instead of silently taking it.
    if (m.fields.size === 0 && liveIn !== undefined && (liveIn.metadata as Obj | undefined)?.uid) {
      this.trackUpdate(this.zero(), live, m, this.updateId('before-first-apply'));
    }
    let next = merge(live, patch, this.type) as Obj;
    const lastSet = m.fields.get(id);
    m.fields.set(id, { set: configSet, apiVersion: this.gv, applied: true });
    if (lastSet && !lastSet.set.empty) {
      let owned = new FieldSet();
      for (const vs of m.fields.values()) owned = owned.union(vs.set);
      next = (prune(next, this.type, lastSet.set, owned) ?? {}) as Obj;
    }
    this.updateOthers(live, next, m, id, force);
    this.strip(m, id);
    const changed = !jsonEqualObj(live, next);
    if (changed) m.times.set(id, now());
    return { obj: changed ? next : live, managed: m };
  }

  /** The fields of last-applied-configuration whose values the live object still has. */
  private allowedFromLastApplied(live: Obj): FieldSet | undefined {
    const ann = isObj(live.metadata) && isObj(live.metadata.annotations) ? live.metadata.annotations : undefined;
    const text = ann?.[lastAppliedAnnotation];
    if (typeof text !== 'string' || text === '') return undefined;
    let last: unknown;
    try {
      last = JSON.parse(text);
    } catch {
      return undefined;
    }
    if (!isObj(last) || last.apiVersion !== this.gv) return undefined;
    try {
      const set = toFieldSet(last, this.type);
      const c = compare(last, live, this.type);
      return set.difference(c.modified).difference(c.added).difference(c.removed);
    } catch {
      return undefined;
    }
  }
}

function toStatus(e: unknown): unknown {
  return e instanceof ConflictsError ? conflictError(e.conflicts) : e;
}

function jsonEqualObj(a: Json, b: Json): boolean {
  return JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
}

function sortKeys(v: Json): Json {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (isObj(v)) {
    const out: Obj = {};
    for (const k of Object.keys(v).sort()) if (v[k] !== undefined) out[k] = sortKeys(v[k] as Json);
    return out;
  }
  return v;
}

const managers = new Map<string, FieldManager>();

/** One field manager per resource and subresource (they hold only schema-derived state). */
export function fieldManagerFor(info: ResourceInfo, subresource = ''): FieldManager {
  const key = `${info.resource}/${subresource}`;
  let fm = managers.get(key);
  if (!fm) {
    fm = new FieldManager(info, subresource);
    managers.set(key, fm);
  }
  return fm;
}

/** managerOrUserAgent: the fieldManager parameter, else the User-Agent up to its first "/". */
export function managerOrUserAgent(fieldManager: string, userAgent: string | undefined): string {
  if (fieldManager) return fieldManager;
  let out = '';
  for (const ch of (userAgent ?? '').split('/')[0] ?? '') {
    if (!/^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u.test(ch)) continue;
    if (Buffer.byteLength(out + ch) > 128) break;
    out += ch;
  }
  return out;
}
