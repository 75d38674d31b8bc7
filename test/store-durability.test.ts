// Crash durability of the sqlite store: a child writes concurrently and is SIGKILLed mid-stream.
// Every write it acknowledged must be there after reopening, nothing may be half-written, and
// the revision must not have gone back.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { SqliteStore } from '../src/store/sqlite.ts';

const fixture = fileURLToPath(new URL('./fixtures/store-writer.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'svcnet-durability-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Ack {
  name: string;
  rv: number;
  n: number;
}

/** Runs the writer until it has acknowledged `killAfter` writes, then SIGKILLs it. */
function runAndKill(path: string, killAfter: number): Promise<Ack[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, path], { stdio: ['ignore', 'pipe', 'pipe'] });
    const acks: Ack[] = [];
    let buf = '';
    let stderr = '';
    let killed = false;
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const line of lines) {
        const [, name, rv, n] = line.split(' ');
        if (name && rv && n) acks.push({ name, rv: Number(rv), n: Number(n) });
      }
      if (!killed && acks.length >= killAfter) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve(acks);
      else reject(new Error(`writer exited with ${code}: ${stderr}`));
    });
  });
}

describe('sqlite store durability under SIGKILL', () => {
  for (let round = 1; round <= 3; round++) {
    it(`round ${round}: acknowledged writes survive, nothing is torn, revision does not go back`, async () => {
      const path = join(dir, 'store.db');
      // Rounds reuse the file, so later rounds also test recovery of a previously killed writer.
      const acks = await runAndKill(path, 300 + round * 250);
      assert.ok(acks.length > 0);

      const db = new Database(path, { readonly: true });
      assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
      for (const data of db.prepare('SELECT data FROM objects').pluck().all()) JSON.parse(String(data));
      for (const data of db.prepare('SELECT prev_data FROM events WHERE prev_data IS NOT NULL').pluck().all()) {
        JSON.parse(String(data));
      }
      db.close();

      const store = new SqliteStore({ path });
      try {
        const last = new Map<string, Ack>();
        for (const a of acks) if ((last.get(a.name)?.rv ?? 0) < a.rv) last.set(a.name, a);
        for (const [name, a] of last) {
          const o = await store.get({ resource: 'services', namespace: 'default', name });
          assert.ok(o, `acknowledged ${name}@${a.rv} is missing`);
          assert.ok(Number(o.metadata.resourceVersion) >= a.rv, `${name} went back to ${o.metadata.resourceVersion}`);
          assert.ok(Number(o.metadata.annotations?.n) >= a.n, `${name} lost an acknowledged update`);
        }
        const maxAck = Math.max(...acks.map((a) => a.rv));
        assert.ok(store.currentRevision() >= maxAck, `revision ${store.currentRevision()} < acknowledged ${maxAck}`);
      } finally {
        await store.close();
      }
    });
  }
});
