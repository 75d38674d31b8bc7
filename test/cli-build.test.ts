// How `svcnet` starts: bin/svcnet runs the compiled build when it is at least as new as every
// source file and the TypeScript sources through tsx otherwise, and every subcommand module is
// loaded only when that subcommand runs. The launcher is checked on a scratch project so that
// staleness can be produced without touching this checkout.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { version } from '../src/cli/version.ts';
import { entryPoints, nodeEntryArgv, projectRoot, runsCompiled } from '../src/kernel/entry.ts';

const repo = join(import.meta.dirname, '..');

describe('bin/svcnet chooses the compiled build or the sources', () => {
  let dir: string;
  const run = (env: NodeJS.ProcessEnv = {}) =>
    spawnSync(join(dir, 'bin', 'svcnet'), ['--version'], { env: { ...process.env, ...env }, encoding: 'utf8' });

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'svcnet-launcher-'));
    mkdirSync(join(dir, 'bin'));
    copyFileSync(join(repo, 'bin', 'svcnet'), join(dir, 'bin', 'svcnet'));
    execFileSync('chmod', ['+x', join(dir, 'bin', 'svcnet')]);
    symlinkSync(join(repo, 'node_modules'), join(dir, 'node_modules'));
    writeFileSync(join(dir, 'package.json'), '{"type": "module"}\n');
    mkdirSync(join(dir, 'src', 'cli'), { recursive: true });
    writeFileSync(join(dir, 'src', 'cli', 'main.ts'), "const from: string = 'sources';\nconsole.log(from);\n");
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('runs the sources through tsx when there is no build', () => {
    const r = run();
    assert.equal(r.stdout.trim(), 'sources', r.stderr);
  });

  it('runs the build when its stamp is newer than every source file', () => {
    mkdirSync(join(dir, 'dist', 'cli'), { recursive: true });
    writeFileSync(join(dir, 'dist', 'cli', 'main.js'), "console.log('compiled');\n");
    writeFileSync(join(dir, 'dist', '.build-stamp'), 'now\n');
    const past = new Date(Date.now() - 60_000);
    utimesSync(join(dir, 'src', 'cli', 'main.ts'), past, past);
    assert.equal(run().stdout.trim(), 'compiled');
    assert.match(run({ SVCNET_DEBUG: '1' }).stderr, /running the compiled build/);
    assert.equal(run({ SVCNET_FROM_SOURCE: '1' }).stdout.trim(), 'sources');
  });

  it('falls back to the sources once a source file is newer than the build', () => {
    const future = new Date(Date.now() + 60_000);
    utimesSync(join(dir, 'src', 'cli', 'main.ts'), future, future);
    assert.equal(run().stdout.trim(), 'sources');
  });
});

describe('svcnet entry points', () => {
  it('finds the project root and every entry point source', () => {
    assert.equal(projectRoot, repo);
    assert.equal(runsCompiled, false);
    for (const rel of Object.values(entryPoints)) readFileSync(join(repo, 'src', `${rel}.ts`));
  });

  it('starts a child the way this process runs (here: the sources through tsx)', () => {
    const argv = nodeEntryArgv('echo');
    assert.equal(argv[0], process.execPath);
    assert.equal(argv[1], '--import');
    assert.equal(argv.at(-1), join(repo, 'src', 'lab', 'echo', 'main.ts'));
  });

  it('keeps the printed version equal to package.json', () => {
    const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version: string };
    assert.equal(version, pkg.version);
    const out = spawnSync(join(repo, 'bin', 'svcnet'), ['--version'], { encoding: 'utf8' });
    assert.equal(out.stdout.trim(), pkg.version);
  });

  it('a built checkout runs its subcommands from dist/', () => {
    const stamp = join(repo, 'dist', '.build-stamp');
    assert.ok(readFileSync(stamp, 'utf8'), 'setup builds dist/ (scripts/build.ts)');
    const r = spawnSync(join(repo, 'bin', 'svcnet'), ['exec', '--help'], {
      encoding: 'utf8',
      env: { ...process.env, SVCNET_DEBUG: '1' },
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /running the compiled build/);
    assert.match(r.stdout, /svcnet exec \[-n NS\] POD -- CMD/);
  });
});
