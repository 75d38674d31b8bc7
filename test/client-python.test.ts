// The official Python client (Debian's python3-kubernetes) against svcnet: list, create, strategic
// and JSON merge patch, delete, and a watch (the client sends watch=True) resumed from a
// resourceVersion. Skipped, with the reason, where the package is not installed.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestApiServer, type TestApiServer } from './helpers/apiserver.ts';

// Debian's interpreter: the package lives in its dist-packages, not in another python3 on PATH.
const python = '/usr/bin/python3';

function hasClient(): boolean {
  try {
    execFileSync(python, ['-c', 'import kubernetes'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const skip = hasClient() ? false : 'python3-kubernetes is not installed (scripts/setup.sh installs it)';

describe('official Python client', { skip }, () => {
  let s: TestApiServer;
  before(async () => {
    s = await startTestApiServer();
  });
  after(async () => {
    await s?.close();
  });

  it('lists, creates, patches (strategic and merge), deletes and watches with resume', async () => {
    const script = join(import.meta.dirname, 'fixtures', 'python-client.py');
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(
        python,
        [script, s.kubeconfig],
        { timeout: 60_000, env: { ...process.env, HOME: s.dir } },
        (err, out, errOut) => (err ? reject(new Error(`${err.message}\n${errOut}`)) : resolve(out)),
      );
    });
    const out = JSON.parse(stdout);
    assert.deepEqual(out.listed, ['kubernetes']);
    assert.match(out.clusterIP, /^10\./);
    assert.deepEqual(out.strategic, [80, 81]);
    assert.deepEqual(out.merge, { tier: 'web' });
    assert.deepEqual(out.events, ['MODIFIED', 'MODIFIED', 'DELETED']);
    assert.deepEqual(out.resumed, [['ADDED', 'py2']]);
    assert.deepEqual(out.gone, [404, 'services "py" not found']);
  });
});
