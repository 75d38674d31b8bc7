import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { KubeObject } from '../api/types.ts';
import { runStoreConformance } from './conformance.ts';
import { openStore } from './open.ts';
import { SqliteStore } from './sqlite.ts';
import type { WatchEvent } from './store.ts';

const dir = mkdtempSync(join(tmpdir(), 'svcnet-sqlite-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const freshPath = () => join(dir, `store-${++n}.db`);

runStoreConformance('sqlite', (opts) => new SqliteStore({ ...opts, path: freshPath() }));

const key = (name: string) => ({ resource: 'services', namespace: 'default', name });
const svc = (name: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name },
  spec: { ports: [] },
});

describe('sqlite store: persistence', () => {
  it('keeps objects, revision and history across reopen; watch replays from the log', async () => {
    const path = freshPath();
    const s1 = new SqliteStore({ path });
    await s1.create(key('a'), svc('a'));
    const from = s1.currentRevision();
    await s1.create(key('b'), svc('b'));
    await s1.update(key('a'), (o) => ({ ...o, spec: { type: 'NodePort' } }));
    await s1.delete(key('b'));
    const rev = s1.currentRevision();
    const listed = await s1.list('services');
    await s1.close();

    const s2 = await openStore({ kind: 'sqlite', path });
    assert.equal(s2.currentRevision(), rev);
    assert.deepEqual(await s2.list('services'), listed);
    const events: WatchEvent[] = [];
    const w = s2.watch('services', { resourceVersion: String(from) }, (e) => events.push(e));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(
      events.map((e) => `${e.type} ${e.object.metadata.name} ${e.object.metadata.resourceVersion}`),
      [`ADDED b ${from + 1}`, `MODIFIED a ${from + 2}`, `DELETED b ${from + 3}`],
    );
    w.stop();
    // Deleting everything must not let the revision go back after reopen.
    await s2.delete(key('a'));
    const last = s2.currentRevision();
    await s2.close();
    const s3 = new SqliteStore({ path });
    assert.equal(s3.currentRevision(), last);
    const c = await s3.create(key('c'), svc('c'));
    assert.equal(c.metadata.resourceVersion, String(last + 1));
    await s3.close();
  });

  it('keeps compaction across reopen and still serves replay after the kept window', async () => {
    const path = freshPath();
    const s1 = new SqliteStore({ path, historyLimit: 5 });
    await s1.create(key('a'), svc('a'));
    for (let i = 0; i < 30; i++) await s1.update(key('a'), (o) => ({ ...o, spec: { n: i } }));
    await s1.close();
    const s2 = new SqliteStore({ path, historyLimit: 5 });
    assert.throws(
      () => s2.watch('services', { resourceVersion: '2' }, () => {}),
      (e: unknown) => e instanceof Error && /^too old resource version: 2 \(\d+\)$/.test(e.message),
    );
    await s2.close();
    const db = new Database(path, { readonly: true });
    const count = db.prepare('SELECT COUNT(*) FROM events').pluck().get() as number;
    db.close();
    assert.ok(count >= 5 && count <= 11, `event log is bounded (${count})`);
  });

  it('keeps the database and its WAL readable by its own user only (0600), also an older 0644 file', async () => {
    const path = freshPath();
    const s = new SqliteStore({ path });
    await s.create(key('a'), svc('a'));
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(statSync(`${path}-wal`).mode & 0o777, 0o600);
    await s.close();
    chmodSync(path, 0o644);
    const again = new SqliteStore({ path });
    assert.equal(statSync(path).mode & 0o777, 0o600);
    await again.close();
  });

  it('refuses a second store on a file that is in use', async () => {
    const path = freshPath();
    const s1 = new SqliteStore({ path });
    await s1.create(key('a'), svc('a'));
    assert.throws(() => new SqliteStore({ path }), {
      message: `${path} is in use by another process (one svcnet store per file)`,
    });
    await s1.close();
    const s2 = new SqliteStore({ path });
    assert.ok(await s2.get(key('a')));
    await s2.close();
  });

  it('refuses a file of random bytes, naming it, without changing it', () => {
    const path = join(dir, 'random.db');
    writeFileSync(path, randomBytes(8192));
    const before = readFileSync(path);
    const mtime = statSync(path).mtimeMs;
    assert.throws(
      () => new SqliteStore({ path }),
      (e: unknown) => e instanceof Error && e.message.startsWith(`${path} is not a svcnet store database`),
    );
    assert.deepEqual(readFileSync(path), before);
    assert.equal(statSync(path).mtimeMs, mtime);
  });

  it('refuses a sqlite database of some other program without changing it', () => {
    const path = join(dir, 'other.db');
    const db = new Database(path);
    db.exec("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO users (name) VALUES ('x');");
    db.close();
    const before = readFileSync(path);
    assert.throws(
      () => new SqliteStore({ path }),
      (e: unknown) =>
        e instanceof Error &&
        e.message === `${path} is not a svcnet store database: it has tables (users) but no svcnet meta table`,
    );
    assert.deepEqual(readFileSync(path), before);
    // A foreign meta table is refused too.
    const p2 = join(dir, 'other-meta.db');
    const db2 = new Database(p2);
    db2.exec("CREATE TABLE meta (key TEXT, value TEXT); INSERT INTO meta VALUES ('magic', 'someone-else');");
    db2.close();
    assert.throws(() => new SqliteStore({ path: p2 }), /is not a svcnet store database: its meta table has no/);
  });
});
