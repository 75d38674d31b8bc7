// The system spawner with a real process: output lands in the log file as CRI records, which (with its pod
// directory) only svcnet's user can read.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { systemSpawner } from './process.ts';

const dir = mkdtempSync(join(tmpdir(), 'svcnet-process-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('systemSpawner', () => {
  it('appends output as CRI records to a 0600 log file in a 0700 directory', async () => {
    const logFile = join(dir, 'pods', 'default_web', 'app.log');
    const h = systemSpawner.spawn(['sh', '-c', 'echo hello; echo oops >&2'], { env: {}, logFile });
    assert.deepEqual(await h.exited, { code: 0, signal: null });
    // Two pipes: the order between the streams is the order the records arrived in.
    const records = readFileSync(logFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.replace(/^\S+Z /, ''))
      .sort();
    assert.deepEqual(records, ['stderr F oops', 'stdout F hello']);
    assert.equal(statSync(logFile).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'pods', 'default_web')).mode & 0o777, 0o700);
  });
});
