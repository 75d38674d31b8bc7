// SqliteStore: the embedded default. One file holds the current objects and the change log; the
// in-memory index (core.ts) serves reads, SQLite makes writes durable and replays watches after a
// restart. A write is acknowledged (its promise resolves) only after its transaction committed.
//
// Durability: WAL with synchronous=NORMAL. A commit appends to the WAL through the OS page cache
// without fsync, so it survives a crash or SIGKILL of this process (the kernel still holds the
// pages) and the file is never corrupt; only a power loss or kernel crash can drop the last few
// commits. FULL would fsync on every commit, costing a disk flush per write (milliseconds on
// most disks) for protection a control plane does not need: controllers re-derive lost writes.
import { chmodSync, closeSync, existsSync, openSync, statfsSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { type Backend, CachedStore, type Commit, type StoreOptions } from './core.ts';
import { ByteWindow, defaultHistoryBytes, eventBytes, type History, type LoggedEvent } from './history.ts';
import type { Entry } from './state.ts';
import { labelsOf } from './version.ts';

export interface SqliteStoreOptions extends StoreOptions {
  path: string;
  /** Revisions kept in the event log for watch replay and continue tokens (at least; default 10000). */
  historyLimit?: number;
  /** ...unless their prior versions pass this many bytes (default 128 MiB; history.ts ByteWindow). */
  historyBytes?: number;
}

const magic = 'svcnet-store';
const schemaVersion = 1;

const schema = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS objects (
  resource TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
  rv INTEGER NOT NULL, data TEXT NOT NULL,
  PRIMARY KEY (resource, namespace, name)
);
-- Each event keeps the object before the change (prev_data); the object after it is the next
-- event's prev_data for that key, or the current row (history.ts). So a write stores each version
-- once, and DELETED needs no copy either.
CREATE TABLE IF NOT EXISTS events (
  rv INTEGER PRIMARY KEY, resource TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
  type TEXT NOT NULL, prev_data TEXT
);
`;

/** Refuse, without writing a byte, any file that is not an (empty or) svcnet store database. */
function checkExistingFile(path: string): void {
  if (!existsSync(path) || statSync(path).size === 0) return;
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true, timeout: 1000 });
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all();
    if (tables.length === 0) return;
    if (!tables.includes('meta')) {
      throw new Error(`it has tables (${tables.join(', ')}) but no svcnet meta table`);
    }
    const rows = db.prepare('SELECT key, value FROM meta').all() as { key: string; value: string }[];
    const meta = new Map(rows.map((r) => [r.key, r.value]));
    if (meta.get('magic') !== magic) throw new Error(`its meta table has no ${JSON.stringify(magic)} magic`);
    const v = Number(meta.get('schema'));
    if (v !== schemaVersion) throw new Error(`schema version ${meta.get('schema')} is not ${schemaVersion}`);
  } catch (err) {
    if (isBusy(err)) throw inUse(path, err);
    const why = err instanceof Error ? err.message : String(err);
    // Only what the file holds makes it "not a store"; the disk failing under it does not.
    const code = sqliteCode(err);
    if (code.startsWith('SQLITE_IOERR') || code === 'SQLITE_FULL' || code === 'SQLITE_CANTOPEN') {
      throw new Error(`cannot read ${path}: ${why} (${code})`, { cause: err });
    }
    throw new Error(`${path} is not a svcnet store database: ${why}`, { cause: err });
  } finally {
    db?.close();
  }
}

const isBusy = (err: unknown) => (err as { code?: unknown } | null)?.code === 'SQLITE_BUSY';
const sqliteCode = (err: unknown) => String((err as { code?: unknown } | null)?.code ?? '');

/** Bytes free to this process on the file system holding `path`, or undefined when unknown. */
function freeBytes(path: string): number | undefined {
  try {
    const st = statfsSync(dirname(path));
    return st.bavail * st.bsize;
  } catch {
    return undefined;
  }
}

/** Whether an SQLite failure is the disk's doing (full, or I/O failing because it is full). */
function diskFull(path: string, err: unknown): boolean {
  const code = sqliteCode(err);
  if (code === 'SQLITE_FULL') return true;
  return (code.startsWith('SQLITE_IOERR') || code === 'SQLITE_CANTOPEN') && freeBytes(path) === 0;
}

const diskFullError = (path: string, what: string, cause: unknown) =>
  new Error(
    `${what}: the disk holding ${path} is full (${freeBytes(path) ?? 'unknown'} bytes free); free space on it and retry`,
    { cause },
  );

/**
 * Space set aside next to the database, so that on a full disk deleting objects still works
 * (a delete writes too: WAL frames and an event row) and a restart can still recover the WAL.
 * It is given up when one of those fails for lack of space, and taken again once space is back.
 */
const reserveBytes = 4 * 1024 * 1024;
const reservePathOf = (path: string) => `${path}-reserve`;

function releaseReserve(path: string): boolean {
  try {
    unlinkSync(reservePathOf(path));
    return true;
  } catch {
    return false;
  }
}

function takeReserve(path: string): void {
  const file = reservePathOf(path);
  if (existsSync(file)) return;
  try {
    writeFileSync(file, Buffer.alloc(reserveBytes), { mode: 0o600 });
  } catch {
    // Not enough space yet: try again later.
    releaseReserve(path);
  }
}
const inUse = (path: string, cause: unknown) =>
  new Error(`${path} is in use by another process (one svcnet store per file)`, { cause });

class SqliteBackend implements Backend, History {
  readonly history: History = this;
  private compactedRv: number;
  private readonly batch: number;
  private readonly tx: (c: Commit, compactTo: number | undefined) => void;
  private readonly stmts;
  private readonly bytes: ByteWindow;

  constructor(
    readonly db: Database.Database,
    private readonly path: string,
    private readonly keep: number,
    maxBytes: number,
  ) {
    if (!(keep >= 1)) throw new Error(`history limit must be at least 1, got ${keep}`);
    this.batch = Math.max(1, Math.ceil(keep / 10));
    this.stmts = {
      upsert: db.prepare(
        'INSERT INTO objects (resource, namespace, name, rv, data) VALUES (?, ?, ?, ?, ?) ' +
          'ON CONFLICT (resource, namespace, name) DO UPDATE SET rv = excluded.rv, data = excluded.data',
      ),
      insert: db.prepare('INSERT INTO objects (resource, namespace, name, rv, data) VALUES (?, ?, ?, ?, ?)'),
      remove: db.prepare('DELETE FROM objects WHERE resource = ? AND namespace = ? AND name = ?'),
      event: db.prepare(
        'INSERT INTO events (rv, resource, namespace, name, type, prev_data) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      compact: db.prepare('DELETE FROM events WHERE rv <= ?'),
      setMeta: db.prepare(
        'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      ),
      since: db.prepare(
        'SELECT rv, namespace, name, type, prev_data AS prevJson FROM events WHERE rv > ? AND resource = ? ORDER BY rv',
      ),
    };
    this.compactedRv = Number(db.prepare("SELECT value FROM meta WHERE key = 'compacted'").pluck().get() ?? 0);
    this.bytes = new ByteWindow(maxBytes);
    const sizes = db.prepare('SELECT rv, length(prev_data) FROM events ORDER BY rv').raw().iterate();
    for (const [rv, n] of sizes as Iterable<[number, number | null]>) this.bytes.push(rv, n ?? 0);
    this.tx = db.transaction((c: Commit, compactTo: number | undefined) => this.apply(c, compactTo));
  }

  compacted(): number {
    return this.compactedRv;
  }

  since(resource: string, after: number): LoggedEvent[] {
    const rows = this.stmts.since.all(after, resource) as {
      rv: number;
      namespace: string;
      name: string;
      type: LoggedEvent['type'];
      prevJson: string | null;
    }[];
    return rows.map((r) => ({ ...r, resource, prevJson: r.prevJson ?? undefined }));
  }

  commit(c: Commit): void {
    // Compact in batches (one DELETE per `batch` writes), keeping at least `keep` revisions
    // unless they hold more than the byte bound.
    let compactTo = c.rv - this.compactedRv > this.keep + this.batch ? c.rv - this.keep : undefined;
    this.bytes.push(c.rv, eventBytes(c.prevJson));
    const over = this.bytes.overflow();
    if (over !== undefined && over > (compactTo ?? 0)) compactTo = over;
    try {
      this.runTx(c, compactTo);
    } catch (e) {
      this.bytes.dropLast();
      throw e;
    }
    // Only once committed: a failed transaction rolled back and must not move the mark.
    if (compactTo !== undefined) {
      this.compactedRv = compactTo;
      this.bytes.dropThrough(compactTo);
    }
  }

  /** Writes since the reserve was last found missing; retaking it is tried every so often. */
  private sinceReserveCheck = 0;

  private runTx(c: Commit, compactTo: number | undefined): void {
    try {
      this.tx(c, compactTo);
    } catch (e) {
      if (!diskFull(this.path, e)) throw e;
      // Deletes are how a user frees space: they may spend the reserve.
      if (c.type === 'DELETED' && releaseReserve(this.path)) {
        try {
          this.tx(c, compactTo);
          return;
        } catch (again) {
          if (diskFull(this.path, again)) throw diskFullError(this.path, 'cannot delete', again);
          throw again;
        }
      }
      throw diskFullError(this.path, 'cannot write', e);
    }
    if (++this.sinceReserveCheck >= 100) {
      this.sinceReserveCheck = 0;
      takeReserve(this.path);
    }
  }

  private apply(c: Commit, compactTo: number | undefined): void {
    const s = this.stmts;
    if (c.json === undefined) s.remove.run(c.resource, c.namespace, c.name);
    else (c.type === 'ADDED' ? s.insert : s.upsert).run(c.resource, c.namespace, c.name, c.rv, c.json);
    s.event.run(c.rv, c.resource, c.namespace, c.name, c.type, c.prevJson ?? null);
    if (compactTo !== undefined) {
      s.compact.run(compactTo);
      s.setMeta.run('compacted', String(compactTo));
    }
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

export class SqliteStore extends CachedStore {
  readonly path: string;

  constructor(opts: SqliteStoreOptions) {
    const { backend, revision, objects } = openDatabase(
      opts.path,
      opts.historyLimit ?? 10_000,
      opts.historyBytes ?? defaultHistoryBytes,
    );
    super(backend, { revision, objects }, opts);
    this.path = opts.path;
  }
}

/**
 * The database holds every object, Secrets' kin included: svcnet's user only. SQLite gives its
 * WAL the database file's mode, so creating the file 0600 first covers both; an older file
 * made with the umask's 0644 is tightened.
 */
function restrictMode(path: string): void {
  if (existsSync(path)) {
    if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
    for (const side of [`${path}-wal`, `${path}-shm`]) if (existsSync(side)) chmodSync(side, 0o600);
  } else {
    closeSync(openSync(path, 'wx', 0o600));
  }
}

function openDatabase(path: string, keep: number, maxBytes: number) {
  try {
    return openDatabaseOnce(path, keep, maxBytes);
  } catch (err) {
    // Recovering the WAL needs space: the reserve is there for that.
    const cause = (err as { cause?: unknown }).cause ?? err;
    if (!diskFull(path, cause)) throw err;
    if (releaseReserve(path)) {
      try {
        return openDatabaseOnce(path, keep, maxBytes);
      } catch (again) {
        if (!diskFull(path, (again as { cause?: unknown }).cause ?? again)) throw again;
      }
    }
    throw diskFullError(path, `cannot open ${path}`, cause);
  }
}

function openDatabaseOnce(path: string, keep: number, maxBytes: number) {
  checkExistingFile(path);
  if (path !== ':memory:') restrictMode(path);
  const db = new Database(path, { timeout: 1000 });
  try {
    // The in-memory index is the read path, so a second process writing the same file would be
    // invisible to it: hold the file exclusively (this also keeps the WAL index in private memory).
    db.pragma('locking_mode = EXCLUSIVE');
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    db.exec(schema);
    db.prepare("INSERT OR IGNORE INTO meta (key, value) VALUES ('magic', ?), ('schema', ?), ('compacted', '0')").run(
      magic,
      String(schemaVersion),
    );
    const backend = new SqliteBackend(db, path, keep, maxBytes);
    const maxEvent = Number(db.prepare('SELECT MAX(rv) FROM events').pluck().get() ?? 0);
    const objects: ({ resource: string } & Entry)[] = [];
    let maxObject = 0;
    const rows = db.prepare('SELECT resource, namespace, name, rv, data FROM objects').raw().iterate();
    for (const row of rows as Iterable<[string, string, string, number, string]>) {
      const [resource, namespace, name, rv, json] = row;
      objects.push({ resource, namespace, name, rv, json, labels: labelsOf(JSON.parse(json)) });
      if (rv > maxObject) maxObject = rv;
    }
    // The latest event is never compacted, so MAX(rv) is the revision; the rest are belts and braces.
    const revision = Math.max(1, maxEvent, maxObject, backend.compacted());
    if (path !== ':memory:') takeReserve(path);
    return { backend, revision, objects };
  } catch (err) {
    db.close();
    throw isBusy(err) ? inUse(path, err) : err;
  }
}
