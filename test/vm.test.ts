// The tests that need a kernel with IPVS (test/vm/*.vmtest.ts, src/**/*.vmtest.ts) run inside one
// virtual machine booted by scripts/vm/run.sh, one boot for all of them; their TAP report comes back
// here. Where the VM cannot start this fails with the harness's reason rather than skipping.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';

const root = join(import.meta.dirname, '..');

function vmTests(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...vmTests(p));
    else if (e.endsWith('.vmtest.ts')) out.push(relative(root, p));
  }
  return out.sort();
}

test('the IPVS kernel tests pass inside the VM', { timeout: 300_000 }, async (t) => {
  if (process.getuid?.() !== 0) {
    t.skip('needs root: the VM shares the host root filesystem through virtiofsd');
    return;
  }
  const files = [...vmTests(join(root, 'src')), ...vmTests(join(root, 'test'))];
  assert.ok(files.length > 0);
  const started = Date.now();
  const child = spawn(
    'bash',
    [
      'scripts/vm/run.sh',
      '--timeout',
      '240',
      '--',
      process.execPath,
      '--import',
      'tsx',
      '--test',
      '--test-concurrency=1',
      '--test-reporter=tap',
      ...files,
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
