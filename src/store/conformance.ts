// The one conformance suite every Store implementation runs (memory.test.ts, sqlite.test.ts).
// It pins the semantics documented in store.ts against what a real apiserver does: Status
// messages, resourceVersion and generation rules, finalizers, paging and watch.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ApiError, isApiError } from '../api/status.ts';
import type { KubeObject } from '../api/types.ts';
import type { ObjectKey, Store, WatchEvent, WatchOptions } from './store.ts';

export interface ConformanceOptions {
  historyLimit?: number;
  historyBytes?: number;
  bookmarkIntervalMs?: number;
}

/** A store under test: the Store contract plus the on-demand bookmark trigger. */
export type StoreUnderTest = Store & { bookmarkNow(): void };
export type StoreFactory = (opts: ConformanceOptions) => StoreUnderTest | Promise<StoreUnderTest>;

const svcKey = (name: string, namespace = 'default'): ObjectKey => ({ resource: 'services', namespace, name });

interface SvcOpts {
  namespace?: string;
  labels?: Record<string, string>;
  type?: string;
  port?: number;
  finalizers?: string[];
}

function svc(name: string, o: SvcOpts = {}): KubeObject {
  const metadata: KubeObject['metadata'] = { name, namespace: o.namespace ?? 'default' };
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      ...metadata,
      ...(o.labels ? { labels: o.labels } : {}),
      ...(o.finalizers ? { finalizers: o.finalizers } : {}),
    },
    spec: { type: o.type ?? 'ClusterIP', selector: { app: name }, ports: [{ port: o.port ?? 80, protocol: 'TCP' }] },
  };
}

interface SpecView {
  type?: string;
  ports?: { port: number }[];
}
const specOf = (o: KubeObject | undefined): SpecView => (o?.spec ?? {}) as SpecView;

function statusOf(e: unknown): ApiError['status'] {
  assert.ok(isApiError(e), `expected an ApiError, got ${String(e)}`);
  return e.status;
}

async function rejectsWith(p: Promise<unknown> | (() => unknown), code: number, reason: string, message?: string) {
  let caught: unknown;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    caught = e;
  }
  assert.ok(caught !== undefined, `expected ${reason}, but nothing was thrown`);
  const s = statusOf(caught);
  assert.equal(s.code, code);
  assert.equal(s.reason, reason);
  assert.equal(s.kind, 'Status');
  if (message !== undefined) assert.equal(s.message, message);
  return s;
}

const tick = () => new Promise<void>((r) => setImmediate(r));

/** Collects watch events; `upTo(n)` waits (bounded) until n have arrived. */
function collect(store: Store, resource: string, opts: WatchOptions) {
  const events: WatchEvent[] = [];
  const watch = store.watch(resource, opts, (e) => events.push(e));
  return {
    events,
    watch,
    async upTo(n: number, timeoutMs = 2000): Promise<WatchEvent[]> {
      const deadline = Date.now() + timeoutMs;
      while (events.length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
      await tick();
      return events;
    },
  };
}

const summary = (events: readonly WatchEvent[]) =>
  events.map((e) => `${e.type} ${e.object.metadata.name ?? ''} ${e.object.metadata.resourceVersion ?? ''}`);

export function runStoreConformance(name: string, factory: StoreFactory): void {
  async function withStore(opts: ConformanceOptions, fn: (s: StoreUnderTest) => Promise<void>): Promise<void> {
    const s = await factory(opts);
    try {
      await fn(s);
    } finally {
      await s.close();
    }
  }

  describe(`store conformance: ${name}`, () => {
    describe('create and get', () => {
      it('sets uid, creationTimestamp, generation and resourceVersion, ignoring forged values', () =>
        withStore({}, async (s) => {
          const before = s.currentRevision();
          const input = svc('a');
          const forged = {
            ...input,
            metadata: {
              ...input.metadata,
              uid: 'forged',
              resourceVersion: '999',
              generation: 7,
              creationTimestamp: '2000-01-01T00:00:00Z',
              deletionTimestamp: '2000-01-01T00:00:00Z',
            },
          };
          const out = await s.create(svcKey('a'), forged);
          assert.match(out.metadata.uid ?? '', /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
          assert.match(out.metadata.creationTimestamp ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
          assert.equal(out.metadata.generation, 1);
          assert.equal(out.metadata.deletionTimestamp, undefined);
          assert.equal(s.currentRevision(), before + 1);
          assert.equal(out.metadata.resourceVersion, String(before + 1));
          assert.deepEqual(await s.get(svcKey('a')), out);
        }));

      it('takes name and namespace from the key', () =>
        withStore({}, async (s) => {
          const out = await s.create(svcKey('right', 'ns1'), svc('wrong', { namespace: 'other' }));
          assert.equal(out.metadata.name, 'right');
          assert.equal(out.metadata.namespace, 'ns1');
          const node: KubeObject = await s.create(
            { resource: 'nodes', namespace: '', name: 'n1' },
            { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' } },
          );
          assert.equal(node.metadata.namespace, undefined);
          assert.equal((await s.list('nodes')).items.length, 1);
        }));

      it('never lets callers mutate stored state', () =>
        withStore({}, async (s) => {
          const input = svc('a', { labels: { app: 'web' } });
          const out = await s.create(svcKey('a'), input);
          (input.metadata.labels as Record<string, string>).app = 'changed-input';
          (out.metadata.labels as Record<string, string>).app = 'changed-output';
          const got = await s.get(svcKey('a'));
          assert.equal(got?.metadata.labels?.app, 'web');
          (got?.metadata.labels as Record<string, string>).app = 'changed-get';
          const listed = await s.list('services', { labelSelector: 'app=web' });
          assert.equal(listed.items.length, 1);
          (listed.items[0]?.spec as { type: string }).type = 'changed';
          assert.equal(specOf(await s.get(svcKey('a'))).type, 'ClusterIP');
        }));

      it('AlreadyExists with the apiserver message', () =>
        withStore({}, async (s) => {
          await s.create(svcKey('x'), svc('x'));
          const rev = s.currentRevision();
          const st = await rejectsWith(
            s.create(svcKey('x'), svc('x')),
            409,
            'AlreadyExists',
            'services "x" already exists',
          );
          assert.deepEqual(st.details, { name: 'x', kind: 'services' });
          assert.equal(s.currentRevision(), rev);
          const key = { resource: 'endpointslices', namespace: 'default', name: 'x-1' };
          const slice = { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'x-1' } };
          await s.create(key, slice);
          await rejectsWith(
            s.create(key, slice),
            409,
            'AlreadyExists',
            'endpointslices.discovery.k8s.io "x-1" already exists',
          );
        }));

      it('get of a missing object is undefined; update and delete are NotFound', () =>
        withStore({}, async (s) => {
          assert.equal(await s.get(svcKey('nope')), undefined);
          await rejectsWith(
            s.update(svcKey('nope'), (o) => o),
            404,
            'NotFound',
            'services "nope" not found',
          );
          await rejectsWith(s.delete(svcKey('nope')), 404, 'NotFound', 'services "nope" not found');
        }));

      it('dryRun create writes nothing', () =>
        withStore({}, async (s) => {
          const rev = s.currentRevision();
          const out = await s.create(svcKey('d'), svc('d'), { dryRun: true });
          assert.equal(out.metadata.name, 'd');
          assert.equal(s.currentRevision(), rev);
          assert.equal(await s.get(svcKey('d')), undefined);
        }));
    });

    describe('update', () => {
      it('bumps generation only for changes outside metadata and status', () =>
        withStore({}, async (s) => {
          await s.create(svcKey('a'), svc('a'));
          const labelled = await s.update(svcKey('a'), (o) => {
            o.metadata = { ...o.metadata, labels: { x: 'y' } };
            return o;
          });
          assert.equal(labelled.metadata.generation, 1);
          const withStatus = await s.update(svcKey('a'), (o) => ({ ...o, status: { loadBalancer: {} } }));
          assert.equal(withStatus.metadata.generation, 1);
          const specced = await s.update(svcKey('a'), (o) => {
            (o.spec as { type: string }).type = 'NodePort';
            return o;
          });
          assert.equal(specced.metadata.generation, 2);
          assert.equal(specced.metadata.resourceVersion, String(s.currentRevision()));
          const forged = await s.update(svcKey('a'), (o) => ({
            ...o,
            metadata: { ...o.metadata, generation: 40, uid: 'forged', creationTimestamp: '2000-01-01T00:00:00Z' },
            spec: { ...(o.spec as object), type: 'ClusterIP' },
          }));
          assert.equal(forged.metadata.generation, 3);
          assert.equal(forged.metadata.uid, specced.metadata.uid);
          assert.equal(forged.metadata.creationTimestamp, specced.metadata.creationTimestamp);
        }));

      it('a no-op update does not bump the revision', () =>
        withStore({}, async (s) => {
          const created = await s.create(svcKey('a'), svc('a', { labels: { a: '1', b: '2' } }));
          const rev = s.currentRevision();
          const same = await s.update(svcKey('a'), (o) => o);
          assert.deepEqual(same, created);
          // Same content rebuilt in another key order is still the same object.
          await s.update(svcKey('a'), (o) => ({
            spec: o.spec,
            metadata: { ...o.metadata, labels: { b: '2', a: '1' } },
            kind: o.kind,
            apiVersion: o.apiVersion,
          }));
          assert.equal(s.currentRevision(), rev);
        }));

      it('errors thrown by tryUpdate propagate unchanged and write nothing', () =>
        withStore({}, async (s) => {
          await s.create(svcKey('a'), svc('a'));
          const rev = s.currentRevision();
          const boom = new Error('boom');
          await assert.rejects(
            s.update(svcKey('a'), () => {
              throw boom;
            }),
            (e) => e === boom,
          );
          assert.equal(s.currentRevision(), rev);
        }));

      it('retries tryUpdate on concurrent writes so every increment lands', () =>
        withStore({}, async (s) => {
          await s.create(svcKey('c'), { ...svc('c'), metadata: { name: 'c', annotations: { n: '0' } } });
          let calls = 0;
          const inc = () =>
            s.update(svcKey('c'), async (o) => {
              calls++;
              await tick();
              const n = Number(o.metadata.annotations?.n ?? '0');
              return { ...o, metadata: { ...o.metadata, annotations: { n: String(n + 1) } } };
            });
          await Promise.all([inc(), inc()]);
          assert.equal((await s.get(svcKey('c')))?.metadata.annotations?.n, '2');
          assert.ok(calls >= 3, 'the loser must have retried');
          await Promise.all(Array.from({ length: 8 }, inc));
          assert.equal((await s.get(svcKey('c')))?.metadata.annotations?.n, '10');
        }));

      it('checks uid and resourceVersion preconditions', () =>
        withStore({}, async (s) => {
          const created = await s.create(svcKey('p'), svc('p'));
          const uid = created.metadata.uid ?? '';
          const rv = created.metadata.resourceVersion ?? '';
          await rejectsWith(
            s.update(svcKey('p'), (o) => o, { preconditions: { uid: 'bad' } }),
            409,
            'Conflict',
            `Operation cannot be fulfilled on services "p": Precondition failed: UID in precondition: bad, UID in object meta: ${uid}`,
          );
          await rejectsWith(
            s.delete(svcKey('p'), { preconditions: { resourceVersion: '1' } }),
            409,
            'Conflict',
            `Operation cannot be fulfilled on services "p": Precondition failed: ResourceVersion in precondition: 1, ResourceVersion in object meta: ${rv}`,
          );
          const updated = await s.update(svcKey('p'), (o) => ({ ...o, spec: { type: 'NodePort' } }), {
            preconditions: { uid, resourceVersion: rv },
          });
          await rejectsWith(
            s.update(svcKey('p'), (o) => ({ ...o, spec: {} }), { preconditions: { resourceVersion: rv } }),
            409,
            'Conflict',
          );
          const res = await s.delete(svcKey('p'), {
            preconditions: { uid, resourceVersion: updated.metadata.resourceVersion ?? '' },
          });
          assert.equal(res.deleted, true);
        }));

      it('dryRun update writes nothing', () =>
        withStore({}, async (s) => {
          await s.create(svcKey('a'), svc('a'));
          const rev = s.currentRevision();
          const out = await s.update(svcKey('a'), (o) => ({ ...o, spec: { type: 'NodePort' } }), { dryRun: true });
          assert.deepEqual(out.spec, { type: 'NodePort' });
          assert.equal(s.currentRevision(), rev);
          assert.equal(specOf(await s.get(svcKey('a'))).type, 'ClusterIP');
        }));
    });

    describe('delete and finalizers', () => {
      it('removes the object and returns it', () =>
        withStore({}, async (s) => {
          const created = await s.create(svcKey('a'), svc('a'));
          const dry = await s.delete(svcKey('a'), { dryRun: true });
          assert.equal(dry.deleted, true);
          assert.ok(await s.get(svcKey('a')));
          const res = await s.delete(svcKey('a'));
          assert.equal(res.deleted, true);
          assert.deepEqual(res.object, created);
          assert.equal(await s.get(svcKey('a')), undefined);
          assert.equal(s.currentRevision(), Number(created.metadata.resourceVersion) + 1);
        }));

      it('finalizers keep the object with deletionTimestamp until the last one is removed', () =>
        withStore({}, async (s) => {
          await s.create(svcKey('f'), svc('f', { finalizers: ['example.com/a', 'example.com/b'] }));
          const w = collect(s, 'services', { resourceVersion: String(s.currentRevision()) });
          const res = await s.delete(svcKey('f'));
          assert.equal(res.deleted, false);
          assert.match(res.object.metadata.deletionTimestamp ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
          assert.equal(res.object.metadata.deletionGracePeriodSeconds, 0);
          assert.equal(res.object.metadata.generation, 2);
          const rev = s.currentRevision();
          const again = await s.delete(svcKey('f'));
          assert.equal(again.deleted, false);
          assert.equal(s.currentRevision(), rev, 'a second delete of a terminating object writes nothing');
          // Callers cannot clear deletionTimestamp.
          const kept = await s.update(svcKey('f'), (o) => ({
            ...o,
            metadata: { ...o.metadata, deletionTimestamp: undefined, finalizers: ['example.com/b'] },
          }));
          assert.equal(kept.metadata.deletionTimestamp, res.object.metadata.deletionTimestamp);
          const gone = await s.update(svcKey('f'), (o) => ({ ...o, metadata: { ...o.metadata, finalizers: [] } }));
          assert.equal(gone.metadata.resourceVersion, String(s.currentRevision()));
          assert.equal(await s.get(svcKey('f')), undefined);
          const events = await w.upTo(3);
          assert.deepEqual(
            events.map((e) => e.type),
            ['MODIFIED', 'MODIFIED', 'DELETED'],
          );
          assert.equal(events[2]?.object.metadata.resourceVersion, String(s.currentRevision()));
          w.watch.stop();
        }));
    });

    describe('list', () => {
      async function seed(s: Store) {
        await s.create(svcKey('b', 'ns2'), svc('b', { namespace: 'ns2', labels: { app: 'web', tier: 'a' } }));
        await s.create(svcKey('a', 'ns2'), svc('a', { namespace: 'ns2', labels: { app: 'db' } }));
        await s.create(svcKey('c', 'ns1'), svc('c', { namespace: 'ns1', labels: { app: 'web', tier: 'b' } }));
        await s.create(
          svcKey('d', 'ns1'),
          svc('d', { namespace: 'ns1', labels: { app: 'web', legacy: 'yes' }, type: 'NodePort' }),
        );
      }
      const names = (items: readonly KubeObject[]) =>
        items.map((o) => `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`);

      it('lists in (namespace, name) order at the current revision, optionally in one namespace', () =>
        withStore({}, async (s) => {
          await seed(s);
          const all = await s.list('services');
          assert.deepEqual(names(all.items), ['ns1/c', 'ns1/d', 'ns2/a', 'ns2/b']);
          assert.equal(all.resourceVersion, String(s.currentRevision()));
          assert.equal(all.continue, undefined);
          assert.deepEqual(names((await s.list('services', { namespace: 'ns2' })).items), ['ns2/a', 'ns2/b']);
          assert.deepEqual((await s.list('endpoints')).items, []);
        }));

      it('filters by label and field selectors', () =>
        withStore({}, async (s) => {
          await seed(s);
          const q = async (labelSelector?: string, fieldSelector?: string) =>
            names(
              (
                await s.list('services', {
                  ...(labelSelector ? { labelSelector } : {}),
                  ...(fieldSelector ? { fieldSelector } : {}),
                })
              ).items,
            );
          assert.deepEqual(await q('app=web'), ['ns1/c', 'ns1/d', 'ns2/b']);
          assert.deepEqual(await q('app=web,!legacy'), ['ns1/c', 'ns2/b']);
          assert.deepEqual(await q('tier in (a,b)'), ['ns1/c', 'ns2/b']);
          assert.deepEqual(await q(undefined, 'metadata.namespace=ns2'), ['ns2/a', 'ns2/b']);
          assert.deepEqual(await q('app=web', 'spec.type!=NodePort'), ['ns1/c', 'ns2/b']);
          assert.deepEqual(await q(undefined, 'metadata.name=a'), ['ns2/a']);
          await rejectsWith(s.list('services', { labelSelector: 'a in (' }), 400, 'BadRequest');
          await rejectsWith(s.list('services', { fieldSelector: 'spec.nope=1' }), 400, 'BadRequest');
        }));

      it('pages with limit/continue over one consistent snapshot', () =>
        withStore({}, async (s) => {
          for (let i = 0; i < 7; i++) await s.create(svcKey(`s${i}`), svc(`s${i}`));
          const p1 = await s.list('services', { limit: 3 });
          assert.deepEqual(names(p1.items), ['default/s0', 'default/s1', 'default/s2']);
          assert.equal(p1.remainingItemCount, 4);
          assert.ok(p1.continue);
          // Changes after the first page must not show up in later pages.
          await s.delete(svcKey('s3'));
          await s.update(svcKey('s4'), (o) => ({ ...o, metadata: { ...o.metadata, labels: { changed: 'yes' } } }));
          await s.create(svcKey('s35'), svc('s35'));
          await s.create(svcKey('s9'), svc('s9'));
          const p2 = await s.list('services', { limit: 3, continue: p1.continue });
          assert.deepEqual(names(p2.items), ['default/s3', 'default/s4', 'default/s5']);
          assert.equal(p2.items[1]?.metadata.labels, undefined);
          assert.equal(p2.resourceVersion, p1.resourceVersion);
          assert.equal(p2.remainingItemCount, 1);
          const p3 = await s.list('services', { limit: 3, continue: p2.continue ?? '' });
          assert.deepEqual(names(p3.items), ['default/s6']);
          assert.equal(p3.continue, undefined);
          assert.equal(p3.remainingItemCount, undefined);
          const now = await s.list('services', { limit: 100 });
          assert.equal(now.items.length, 8);
        }));

      it('pages through a selector and a namespace', () =>
        withStore({}, async (s) => {
          await seed(s);
          const p1 = await s.list('services', { labelSelector: 'app=web', limit: 2 });
          assert.deepEqual(names(p1.items), ['ns1/c', 'ns1/d']);
          assert.equal(p1.remainingItemCount, undefined);
          const p2 = await s.list('services', { labelSelector: 'app=web', limit: 2, continue: p1.continue ?? '' });
          assert.deepEqual(names(p2.items), ['ns2/b']);
          assert.equal(p2.continue, undefined);
          const n1 = await s.list('services', { namespace: 'ns2', limit: 1 });
          const n2 = await s.list('services', { namespace: 'ns2', limit: 1, continue: n1.continue ?? '' });
          assert.deepEqual(names([...n1.items, ...n2.items]), ['ns2/a', 'ns2/b']);
          assert.equal(n2.continue, undefined);
        }));

      it('an expired continue token is 410 Expired; a malformed one is 400', () =>
        withStore({ historyLimit: 5 }, async (s) => {
          for (let i = 0; i < 3; i++) await s.create(svcKey(`s${i}`), svc(`s${i}`));
          const p1 = await s.list('services', { limit: 1 });
          for (let i = 0; i < 30; i++) await s.update(svcKey('s0'), (o) => ({ ...o, spec: { n: i } }));
          await rejectsWith(
            s.list('services', { limit: 1, continue: p1.continue ?? '' }),
            410,
            'Expired',
            'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.',
          );
          await rejectsWith(s.list('services', { continue: 'not-a-token' }), 400, 'BadRequest');
        }));
    });

    describe('watch', () => {
      it('from "" (and "0") sends ADDED for existing objects, then changes', () =>
        withStore({}, async (s) => {
          const r = s.currentRevision();
          await s.create(svcKey('b'), svc('b'));
          await s.create(svcKey('a'), svc('a'));
          const existing = [`ADDED a ${r + 2}`, `ADDED b ${r + 1}`];
          for (const resourceVersion of [undefined, '0']) {
            const w = collect(s, 'services', resourceVersion === undefined ? {} : { resourceVersion });
            assert.equal(w.events.length, 0, 'delivery is asynchronous');
            assert.deepEqual(summary(await w.upTo(2)), existing);
            w.watch.stop();
          }
          const w = collect(s, 'services', {});
          await s.create(svcKey('c'), svc('c'));
          await s.delete(svcKey('a'));
          assert.deepEqual(summary(await w.upTo(4)), [...existing, `ADDED c ${r + 3}`, `DELETED a ${r + 4}`]);
          w.watch.stop();
        }));

      it('from a resourceVersion replays every later change in order', () =>
        withStore({}, async (s) => {
          await s.create(svcKey('a'), svc('a'));
          const from = s.currentRevision();
          await s.create(svcKey('b'), svc('b'));
          await s.update(svcKey('a'), (o) => ({ ...o, spec: { type: 'NodePort' } }));
          await s.delete(svcKey('b'));
          await s.create(svcKey('b'), svc('b', { port: 81 }));
          await s.create(svcKey('x', 'other'), svc('x', { namespace: 'other' }));
          const w = collect(s, 'services', { resourceVersion: String(from) });
          const ns = collect(s, 'services', { resourceVersion: String(from), namespace: 'other' });
          await s.update(svcKey('b'), (o) => ({ ...o, spec: { type: 'NodePort' } }));
          const r = from;
          assert.deepEqual(summary(await w.upTo(6)), [
            `ADDED b ${r + 1}`,
            `MODIFIED a ${r + 2}`,
            `DELETED b ${r + 3}`,
            `ADDED b ${r + 4}`,
            `ADDED x ${r + 5}`,
            `MODIFIED b ${r + 6}`,
          ]);
          const ev = w.events;
          assert.deepEqual(specOf(ev[1]?.object).type, 'NodePort');
          assert.deepEqual(specOf(ev[3]?.object).ports?.[0]?.port, 81);
          assert.deepEqual(summary(await ns.upTo(1)), [`ADDED x ${r + 5}`]);
          const current = collect(s, 'services', { resourceVersion: String(s.currentRevision()) });
          await tick();
          assert.equal(current.events.length, 0);
          for (const x of [w, ns, current]) x.watch.stop();
          assert.throws(() => s.watch('services', { resourceVersion: 'abc' }, () => {}), isBadRequestError);
        }));

      it('selectors turn entering into ADDED and leaving into DELETED (previous content, new rv)', () =>
        withStore({}, async (s) => {
          const start = s.currentRevision();
          const live = collect(s, 'services', { labelSelector: 'app=web' });
          const set = (app: string, port = 80) =>
            s.update(svcKey('a'), (o) => ({
              ...o,
              metadata: { ...o.metadata, labels: { app } },
              spec: { ports: [{ port }] },
            }));
          await s.create(svcKey('a'), svc('a', { labels: { app: 'db' } }));
          await set('web');
          await set('web', 81);
          await set('db');
          await set('db', 82);
          await set('web');
          await s.delete(svcKey('a'));
          await s.create(svcKey('b'), svc('b', { labels: { app: 'db' } }));
          await s.delete(svcKey('b'));
          const r = start;
          const expected = [
            `ADDED a ${r + 2}`,
            `MODIFIED a ${r + 3}`,
            `DELETED a ${r + 4}`,
            `ADDED a ${r + 6}`,
            `DELETED a ${r + 7}`,
          ];
          assert.deepEqual(summary(await live.upTo(5)), expected);
          const left = live.events[2];
          assert.equal(left?.object.metadata.labels?.app, 'web', 'DELETED on leaving carries the previous content');
          assert.deepEqual(specOf(left?.object).ports?.[0]?.port, 81);
          const replay = collect(s, 'services', { labelSelector: 'app=web', resourceVersion: String(start) });
          assert.deepEqual(summary(await replay.upTo(5)), expected);
          const byField = collect(s, 'services', { fieldSelector: 'metadata.name=b', resourceVersion: String(start) });
          assert.deepEqual(summary(await byField.upTo(2)), [`ADDED b ${r + 8}`, `DELETED b ${r + 9}`]);
          for (const x of [live, replay, byField]) x.watch.stop();
        }));

      it('each watcher gets its own copy of every object', () =>
        withStore({}, async (s) => {
          const seen: string[] = [];
          const w1 = s.watch('services', {}, (e) => {
            (e.object.metadata as { name: string }).name = 'mutated';
          });
          const w2 = s.watch('services', {}, (e) => seen.push(e.object.metadata.name ?? ''));
          await s.create(svcKey('a'), svc('a'));
          await tick();
          assert.deepEqual(seen, ['a']);
          assert.equal((await s.get(svcKey('a')))?.metadata.name, 'a');
          w1.stop();
          w2.stop();
        }));

      it('sends BOOKMARKs on demand and periodically, only when allowed', () =>
        withStore({ bookmarkIntervalMs: 20 }, async (s) => {
          await s.create(svcKey('a'), svc('a'));
          const rv = String(s.currentRevision());
          const marks = collect(s, 'services', { resourceVersion: rv, allowBookmarks: true });
          const plain = collect(s, 'services', { resourceVersion: rv });
          s.bookmarkNow();
          const got = await marks.upTo(1);
          assert.deepEqual(got[0], {
            type: 'BOOKMARK',
            object: { apiVersion: 'v1', kind: 'Service', metadata: { resourceVersion: rv } },
          });
          await marks.upTo(3, 3000);
          assert.ok(marks.events.length >= 3, 'periodic bookmarks arrive');
          assert.ok(marks.events.every((e) => e.type === 'BOOKMARK'));
          assert.equal(plain.events.length, 0);
          marks.watch.stop();
          plain.watch.stop();
          const slices = collect(s, 'endpointslices', { resourceVersion: rv, allowBookmarks: true });
          s.bookmarkNow();
          const [b] = await slices.upTo(1);
          assert.equal(b?.object.apiVersion, 'discovery.k8s.io/v1');
          assert.equal(b?.object.kind, 'EndpointSlice');
          slices.watch.stop();
        }));

      it('a compacted resourceVersion is 410 "too old resource version: N (M)"', () =>
        withStore({ historyLimit: 5 }, async (s) => {
          await s.create(svcKey('a'), svc('a'));
          for (let i = 0; i < 40; i++) await s.update(svcKey('a'), (o) => ({ ...o, spec: { n: i } }));
          const st = await rejectsWith(() => s.watch('services', { resourceVersion: '2' }, () => {}), 410, 'Expired');
          const m = /^too old resource version: 2 \((\d+)\)$/.exec(st.message);
          assert.ok(m, st.message);
          const oldest = Number(m[1]);
          assert.ok(oldest > 2 && oldest <= s.currentRevision() - 5, st.message);
          // Everything after the kept window replays.
          const w = collect(s, 'services', { resourceVersion: String(oldest) });
          await w.upTo(s.currentRevision() - oldest);
          assert.equal(w.events.length, s.currentRevision() - oldest);
          w.watch.stop();
        }));

      it('the history window is bounded in bytes too: large versions compact sooner', () =>
        withStore({ historyLimit: 10_000, historyBytes: 200_000 }, async (s) => {
          const big = 'x'.repeat(20_000);
          await s.create(svcKey('a'), svc('a'));
          const first = s.currentRevision();
          for (let i = 0; i < 60; i++) {
            await s.update(svcKey('a'), (o) => ({
              ...o,
              metadata: { ...o.metadata, annotations: { big, i: String(i) } },
            }));
          }
          // 60 prior versions of ~20 kB are ~1.2 MB: far more than the bound keeps.
          const st = await rejectsWith(
            () => s.watch('services', { resourceVersion: String(first) }, () => {}),
            410,
            'Expired',
          );
          const oldest = Number(/\((\d+)\)$/.exec(st.message)?.[1]);
          const kept = s.currentRevision() - oldest;
          assert.ok(kept >= 5 && kept <= 11, `kept ${kept} revisions of ~20 kB under a 200 kB bound`);
          // What is kept replays.
          const w = collect(s, 'services', { resourceVersion: String(oldest) });
          await w.upTo(kept);
          w.watch.stop();
        }));

      it('a resourceVersion the store never reached is 504 "Too large resource version" (watch and list)', () =>
        withStore({}, async (s) => {
          await s.create(svcKey('a'), svc('a'));
          const cur = s.currentRevision();
          const msg = `Timeout: Too large resource version: ${cur + 5}, current: ${cur}`;
          const w = await rejectsWith(
            () => s.watch('services', { resourceVersion: String(cur + 5) }, () => {}),
            504,
            'Timeout',
            msg,
          );
          assert.deepEqual(w.details?.causes?.[0]?.reason, 'ResourceVersionTooLarge');
          assert.equal(w.details?.retryAfterSeconds, 1);
          await rejectsWith(s.list('services', { resourceVersion: String(cur + 5) }), 504, 'Timeout', msg);
          // The current revision and older ones are served.
          assert.equal((await s.list('services', { resourceVersion: String(cur) })).items.length, 1);
          assert.equal((await s.list('services', { resourceVersion: '1' })).items.length, 1);
          s.watch('services', { resourceVersion: String(cur) }, () => {}).stop();
        }));

      it('stop() ends delivery, also from inside a handler, and is idempotent', () =>
        withStore({}, async (s) => {
          const got: string[] = [];
          const w = s.watch('services', {}, (e) => {
            got.push(e.object.metadata.name ?? '');
            w.stop();
          });
          await s.create(svcKey('a'), svc('a'));
          await s.create(svcKey('b'), svc('b'));
          await tick();
          assert.deepEqual(got, ['a']);
          w.stop();
          const other = collect(s, 'services', { resourceVersion: String(s.currentRevision()) });
          other.watch.stop();
          await s.create(svcKey('c'), svc('c'));
          await tick();
          assert.equal(other.events.length, 0);
        }));
    });

    it('the revision only ever increases, by one per write', () =>
      withStore({}, async (s) => {
        const revs = [s.currentRevision()];
        const step = async (p: Promise<unknown>, delta: number) => {
          await p.catch(() => undefined);
          const r = s.currentRevision();
          assert.equal(r, (revs.at(-1) ?? 0) + delta);
          revs.push(r);
        };
        await step(s.create(svcKey('a'), svc('a')), 1);
        await step(s.create(svcKey('a'), svc('a')), 0);
        await step(
          s.update(svcKey('a'), (o) => o),
          0,
        );
        await step(
          s.update(svcKey('a'), (o) => ({ ...o, spec: {} })),
          1,
        );
        await step(s.delete(svcKey('a')), 1);
        await step(s.delete(svcKey('a')), 0);
        await step(s.create({ resource: 'pods', namespace: 'x', name: 'p' }, svc('p')), 1);
        assert.ok(revs.every((r, i) => i === 0 || r >= (revs[i - 1] ?? 0)));
      }));
  });
}

function isBadRequestError(e: unknown): boolean {
  return isApiError(e) && e.status.code === 400;
}
