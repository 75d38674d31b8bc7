// The tests that need a kernel with IPVS (*.vmtest.ts under src/ and test/) run inside one virtual
// machine booted by scripts/vm/run.sh, one boot and one process for all of them (test/vm/run-all.ts); their TAP report comes back
// here. Where the VM cannot start this fails with the harness's reason rather than skipping.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { vmTests } from './vm/files.ts';

const root = join(import.meta.dirname, '..');

test('the IPVS kernel tests pass inside the VM', { timeout: 480_000 }, async (t) => {
  if (process.getuid?.() !== 0) {
    t.skip('needs root: the VM shares the host root filesystem through virtiofsd');
    return;
  }
  const files = [...vmTests(join(root, 'src')), ...vmTests(join(root, 'test'))].map((f) => relative(root, f));
  assert.ok(files.length > 0);
  const started = Date.now();
  const child = spawn(
    'bash',
    [
      'scripts/vm/run.sh',
      '--timeout',
      '420',
      '--',
      process.execPath,
      '--import',
      'tsx',
      '--test-reporter=tap',
      'test/vm/run-all.ts',
    ],
    // Without NODE_TEST_CONTEXT: the runner inside would take itself for a child of this one and
    // report in its binary protocol instead of TAP.
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_TEST_CONTEXT: undefined } },
  );
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    err += d;
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  t.diagnostic(`VM run: ${((Date.now() - started) / 1000).toFixed(1)} s for ${files.length} files`);
  const failed = out.split('\n').filter((l) => /^\s*not ok /.test(l));
  assert.equal(code, 0, `VM tests exited ${code}\n${failed.join('\n')}\n${out.slice(-6000)}\n${err.slice(-4000)}`);
  assert.match(out, /^# fail 0$/m, out.slice(-4000));
  assert.doesNotMatch(out, /^# pass 0$/m);
});
