// Compiles svcnet to JavaScript in dist/ (esbuild: one ES module per entry point, shared code in
// chunks, npm packages left as imports). bin/svcnet runs dist/ when its stamp is newer than every
// source file, so a started command never pays for compiling TypeScript (tsx compiles each file at
// every start: over a second for `svcnet --version`). The new build is written beside the old one
// and swapped in, so a command starting meanwhile sees either a whole build or none (then tsx).
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { uiBuildOptions } from '../src/apiserver/ui/serve.ts';
import { entryPoints, projectRoot } from '../src/kernel/entry.ts';

const quiet = process.argv.includes('--quiet');
const out = join(projectRoot, 'dist');
const next = join(projectRoot, `dist.new-${process.pid}`);
const old = join(projectRoot, `dist.old-${process.pid}`);

const t0 = performance.now();
rmSync(next, { recursive: true, force: true });
mkdirSync(next, { recursive: true });
try {
  await build({
    entryPoints: Object.fromEntries(
      Object.values(entryPoints).map((rel) => [rel, join(projectRoot, 'src', `${rel}.ts`)]),
    ),
    outdir: next,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // Bundled packages load as one file (yaml alone is ~60 CJS modules); native ones cannot be,
    // nor esbuild (it finds its binary from its own file's path).
    external: ['better-sqlite3', 'esbuild'],
    // Bundled CommonJS packages require Node's built-ins; ES modules have no `require` of their own.
    banner: {
      js: "import { createRequire as __svcnetRequire } from 'node:module'; const require = __svcnetRequire(import.meta.url);",
    },
    chunkNames: 'chunks/[name]-[hash]',
    sourcemap: 'linked',
    logLevel: 'warning',
  });
  // The dashboard's front end, built here so the API server serves it without bundling.
  await build({ ...uiBuildOptions(), outfile: join(next, 'ui', 'app.js') });
  // Written last: bin/svcnet trusts a build only with its stamp.
  writeFileSync(join(next, '.build-stamp'), `${new Date().toISOString()}\n`);
  try {
    renameSync(out, old);
  } catch {
    // No earlier build.
  }
  renameSync(next, out);
  rmSync(old, { recursive: true, force: true });
} catch (e) {
  rmSync(next, { recursive: true, force: true });
  throw e;
}
if (!quiet) console.error(`build: dist/ in ${Math.round(performance.now() - t0)} ms`);
