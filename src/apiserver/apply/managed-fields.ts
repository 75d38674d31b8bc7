// metadata.managedFields in and out (apimachinery managedfields/internal/managedfields.go): each
// entry is one manager's field set, keyed by manager, operation, subresource and — for Update
// entries only — apiVersion, so an applier keeps one entry across versions while each updater
// gets one per version it wrote with.
import { rfc3339 } from '../../store/meta.ts';
import { FieldSet, FieldsError } from './fieldpath.ts';

export interface VersionedSet {
  set: FieldSet;
  apiVersion: string;
  applied: boolean;
}

export interface Managed {
  /** Manager identifier (buildManagerIdentifier's JSON) → its fields. */
  fields: Map<string, VersionedSet>;
  times: Map<string, string | undefined>;
}

export interface ManagerInfo {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion?: string;
  subresource?: string;
}

export interface ManagedFieldsEntry {
  manager?: string;
  operation?: string;
  apiVersion?: string;
  time?: string;
  fieldsType?: string;
  fieldsV1?: unknown;
  subresource?: string;
}

export const emptyManaged = (): Managed => ({ fields: new Map(), times: new Map() });

/** BuildManagerIdentifier: the entry without fields, type and time (and apiVersion for Apply). */
export function managerId(m: ManagerInfo): string {
  const o: Record<string, string> = { manager: m.manager, operation: m.operation };
  if (m.operation === 'Update' && m.apiVersion) o.apiVersion = m.apiVersion;
  if (m.subresource) o.subresource = m.subresource;
  return JSON.stringify(o);
}

export function parseManagerId(id: string): ManagerInfo {
  return JSON.parse(id) as ManagerInfo;
}

/** DecodeManagedFields; throws FieldsError with upstream's text for entries it cannot use. */
export function decodeManagedFields(entries: readonly ManagedFieldsEntry[]): Managed {
  const out = emptyManaged();
  entries.forEach((e, i) => {
    if (e.operation !== 'Apply' && e.operation !== 'Update')
      throw new FieldsError('operation must be `Apply` or `Update`');
    if (!e.apiVersion) throw new FieldsError('apiVersion must not be empty');
    if (e.fieldsType === undefined || e.fieldsType === '') {
      throw new FieldsError(`missing fieldsType in managed fields entry ${i}`);
    }
    if (e.fieldsType !== 'FieldsV1')
      throw new FieldsError(`invalid fieldsType "${e.fieldsType}" in managed fields entry ${i}`);
    const id = managerId({
      manager: e.manager ?? '',
      operation: e.operation,
      apiVersion: e.apiVersion,
      subresource: e.subresource,
    });
    out.fields.set(id, {
      set: FieldSet.fromFields(e.fieldsV1 ?? {}),
      apiVersion: e.apiVersion,
      applied: e.operation === 'Apply',
    });
    out.times.set(id, e.time);
  });
  return out;
}

function seconds(t: string | undefined): number {
  return t ? Math.floor(Date.parse(t) / 1000) : 0;
}

/** encodeManagedFields + sortEncodedManagedFields: Apply before Update, then oldest first. */
export function encodeManagedFields(m: Managed): ManagedFieldsEntry[] | undefined {
  if (m.fields.size === 0) return undefined;
  const entries: ManagedFieldsEntry[] = [];
  for (const [id, vs] of m.fields) {
    const info = parseManagerId(id);
    const e: ManagedFieldsEntry = { manager: info.manager, operation: vs.applied ? 'Apply' : 'Update' };
    e.apiVersion = vs.apiVersion;
    const time = m.times.get(id);
    if (time) e.time = time;
    e.fieldsType = 'FieldsV1';
    e.fieldsV1 = vs.set.toFields();
    if (info.subresource) e.subresource = info.subresource;
    entries.push(e);
  }
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  entries.sort(
    (p, q) =>
      cmp(p.operation ?? '', q.operation ?? '') ||
      seconds(p.time) - seconds(q.time) ||
      cmp(p.manager ?? '', q.manager ?? '') ||
      cmp(p.apiVersion ?? '', q.apiVersion ?? '') ||
      cmp(p.subresource ?? '', q.subresource ?? ''),
  );
  return entries;
}

export const now = (): string => rfc3339(new Date());
