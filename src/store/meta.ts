// Object metadata the store owns (uid, creationTimestamp, resourceVersion, generation,
// deletionTimestamp), no-op detection and preconditions. Shared by every Store implementation so
// they cannot drift apart; the conformance suite pins the behaviour.
import { randomUUID } from 'node:crypto';
import { resourceInfo } from '../api/resources.ts';
import { type GroupResource, newConflict } from '../api/status.ts';
import type { KubeObject, ObjectMeta } from '../api/types.ts';
import type { ObjectKey, Preconditions } from './store.ts';

/** kubernetes-types marks metadata read-only; the store is the one place that owns these fields. */
export type MutableMeta = { -readonly [K in keyof ObjectMeta]: ObjectMeta[K] };

export function setResourceVersion(obj: KubeObject, rv: number | undefined): void {
  const m: MutableMeta = obj.metadata;
  if (rv === undefined) delete m.resourceVersion;
  else m.resourceVersion = String(rv);
}

/** RFC 3339 with second precision, as metav1.Time marshals: "2026-01-02T03:04:05Z". */
export function rfc3339(d: Date): string {
  const second = Math.floor(d.getTime() / 1000);
  // Writes come in bursts within one second; formatting once per second is measurably cheaper.
  if (second !== lastSecond) {
    lastSecond = second;
    lastText = d.toISOString().replace(/\.\d+Z$/, 'Z');
  }
  return lastText;
}
let lastSecond = Number.NaN;
let lastText = '';

/** Structural equality over JSON values; a property holding `undefined` counts as absent (JSON drops it). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  return objectsEqual(a as Record<string, unknown>, b as Record<string, unknown>, undefined);
}

function objectsEqual(
  a: Record<string, unknown>,
  b: Record<string, unknown>,
  skip: ReadonlySet<string> | undefined,
): boolean {
  let countA = 0;
  for (const k of Object.keys(a)) {
    if (skip?.has(k) || a[k] === undefined) continue;
    countA++;
    if (!Object.hasOwn(b, k) || !deepEqual(a[k], b[k])) return false;
  }
  let countB = 0;
  for (const k of Object.keys(b)) if (!skip?.has(k) && b[k] !== undefined) countB++;
  return countA === countB;
}

const metadataAndStatus: ReadonlySet<string> = new Set(['metadata', 'status']);

/** Kubernetes bumps generation only for changes outside metadata and status ("spec" changes). */
export function specChanged(a: KubeObject, b: KubeObject): boolean {
  return !objectsEqual(a, b, metadataAndStatus);
}

function placeKey(m: MutableMeta, key: ObjectKey): void {
  m.name = key.name;
  if (key.namespace) m.namespace = key.namespace;
  else delete m.namespace;
}

/**
 * The object as create stores it: a new top level and metadata (nested fields are shared with
 * `obj` and must be serialised before the caller can touch them again). Store-owned fields are
 * overwritten, whatever the caller sent.
 */
export function prepareForCreate<T extends KubeObject>(key: ObjectKey, obj: T, rv: number, now: Date): T {
  const m: MutableMeta = { ...obj.metadata };
  placeKey(m, key);
  m.uid = randomUUID();
  m.creationTimestamp = rfc3339(now);
  m.resourceVersion = String(rv);
  m.generation = 1;
  delete m.deletionTimestamp;
  delete m.deletionGracePeriodSeconds;
  delete m.selfLink;
  return { ...obj, metadata: m };
}

/**
 * `next` with the store-owned metadata of `old` forced back (callers cannot forge uid,
 * timestamps, generation or deletion state), resourceVersion still `old`'s. Returns undefined
 * when the result equals `old`: a no-op update that must not bump the revision.
 */
export function prepareForUpdate<T extends KubeObject>(key: ObjectKey, old: KubeObject, next: T): T | undefined {
  const om = old.metadata;
  const m: MutableMeta = { ...next.metadata };
  placeKey(m, key);
  copyOrDelete(m, om, 'uid');
  copyOrDelete(m, om, 'creationTimestamp');
  copyOrDelete(m, om, 'deletionTimestamp');
  copyOrDelete(m, om, 'deletionGracePeriodSeconds');
  copyOrDelete(m, om, 'resourceVersion');
  copyOrDelete(m, om, 'generation');
  delete m.selfLink;
  const candidate: T = { ...next, metadata: m };
  if (deepEqual(candidate, old)) return undefined;
  if (specChanged(candidate, old)) m.generation = (om.generation ?? 0) + 1;
  return candidate;
}

function copyOrDelete<K extends keyof ObjectMeta>(to: MutableMeta, from: ObjectMeta, k: K): void {
  const v = from[k];
  if (v === undefined) delete to[k];
  else to[k] = v;
}

/**
 * markAsDeleting: the object stays while finalizers remain. Like the apiserver, generation moves
 * on (controllers watching observedGeneration notice) and the grace period is zero.
 */
export function markDeleting<T extends KubeObject>(obj: T, now: Date, graceSeconds = 0): T {
  const m: MutableMeta = { ...obj.metadata };
  if (m.generation !== undefined && m.generation > 0) m.generation += 1;
  m.deletionTimestamp = rfc3339(new Date(now.getTime() + graceSeconds * 1000));
  m.deletionGracePeriodSeconds = graceSeconds;
  return { ...obj, metadata: m };
}

export function hasFinalizers(obj: KubeObject): boolean {
  return (obj.metadata.finalizers?.length ?? 0) > 0;
}

/** An object whose deletion was requested and whose last finalizer is gone is removed for real. */
export function readyToRemove(obj: KubeObject): boolean {
  return obj.metadata.deletionTimestamp !== undefined && !hasFinalizers(obj);
}

/** storage.Preconditions.Check, surfaced as 409 Conflict the way the registry reports it. */
export function checkPreconditions(
  gr: GroupResource,
  name: string,
  p: Preconditions | undefined,
  obj: KubeObject,
): void {
  if (!p) return;
  const uid = obj.metadata.uid ?? '';
  if (p.uid !== undefined && p.uid !== uid) {
    throw newConflict(gr, name, `Precondition failed: UID in precondition: ${p.uid}, UID in object meta: ${uid}`);
  }
  const rv = obj.metadata.resourceVersion ?? '';
  if (p.resourceVersion !== undefined && p.resourceVersion !== rv) {
    throw newConflict(
      gr,
      name,
      `Precondition failed: ResourceVersion in precondition: ${p.resourceVersion}, ResourceVersion in object meta: ${rv}`,
    );
  }
}

/** The GroupResource that error messages name ("services", "endpointslices.discovery.k8s.io"). */
export function groupResource(resource: string): GroupResource {
  return { group: resourceInfo(resource)?.group ?? '', resource };
}
