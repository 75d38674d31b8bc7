// The sqlite store on a full disk (a 16 MiB tmpfs in a mount namespace of the test's own):
// writes fail naming the disk; deletes still succeed (the store keeps a reserve for them); a
// restart on a full disk blames the disk, not the file; once space is back it opens with every
// acknowledged delete kept.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const child = fileURLToPath(new URL('./fixtures/store-disk-full.ts', import.meta.url));

describe('sqlite store on a full disk', () => {
  it('fails writes naming the disk, keeps deletes working, and blames the disk on restart', (t) => {
    if (process.getuid?.() !== 0) {
      t.skip('needs root to mount a small tmpfs in a private mount namespace');
      return;
    }
    const dir = mkdtempSync(join(tmpdir(), 'svcnet-full-'));
    try {
      const db = join(dir, 'svcnet.db');
      const node = `${JSON.stringify(process.execPath)} --import tsx ${JSON.stringify(child)}`;
      // One mount namespace for the whole scenario: the tmpfs vanishes with it.
      const script = [
        'set -e',
        `mount -t tmpfs -o size=16m tmpfs ${dir}`,
        `${node} fill ${db}`,
        // Whatever room the deletes left, taken by someone else.
        `dd if=/dev/zero of=${dir}/junk bs=64k 2>/dev/null || true`,
        `${node} reopen ${db}`,
        `rm ${dir}/junk`,
        `${node} reopen ${db}`,
      ].join('\n');
      const r = spawnSync('unshare', ['-m', 'sh', '-c', script], { encoding: 'utf8', timeout: 120_000 });
      assert.equal(r.status, 0, r.stderr);
      const lines = r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      const [filled, del1, del2, fullReopen, reopen] = lines;
      console.log(
        `# disk full after ${filled?.created} Services: ${filled?.error}; restart on the full disk: ${JSON.stringify(fullReopen)}`,
      );
      assert.match(String(filled?.error), /the disk holding .*svcnet\.db is full/);
      assert.deepEqual(del1, { deleted: 's1' });
      assert.deepEqual(del2, { deleted: 's2' });
      if (fullReopen?.opened === false) {
        assert.match(String(fullReopen.error), /is full/);
        assert.doesNotMatch(String(fullReopen.error), /not a svcnet store database/);
      }
      assert.deepEqual(reopen, { opened: true, s1: false, s3: true });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
