// Where svcnet's own files are, and how to start one of its programs as a Node process. svcnet
// runs either as compiled JavaScript (`dist/`, built by scripts/build.ts at setup) or straight
// from the TypeScript sources through tsx (a source checkout without a build). A child program
// is started the same way its parent runs, so a built svcnet never pays tsx's compile at the
// start of each pod or relay, and tests running the sources spawn the sources.

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Programs svcnet starts as separate processes, by source path under src/ (without `.ts`). */
export const entryPoints = {
  cli: 'cli/main',
  echo: 'lab/echo/main',
  relayChild: 'proxy/localhost-relay-child',
} as const;
export type EntryPoint = keyof typeof entryPoints;

/** The directory holding svcnet's package.json, found upwards from this module (src/ or dist/). */
export const projectRoot: string = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'native'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`svcnet: no project root above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
})();

/** Whether this process runs the compiled build (this module was loaded from dist/). */
export const runsCompiled: boolean = fileURLToPath(import.meta.url).startsWith(join(projectRoot, 'dist'));

/** A native addon's built `.node` file (native/<name>/build/Release/<target>.node). */
export function nativeAddonPath(addon: string, target: string): string {
  return join(projectRoot, 'native', addon, 'build', 'Release', `${target}.node`);
}

const loaded = new Map<string, unknown>();

/**
 * A native addon's exports, loaded once; null when it is not built (callers that can do without
 * it keep their fallback, the others say which addon is missing).
 */
export function loadNativeAddon<T>(addon: string, target: string): T | null {
  const path = nativeAddonPath(addon, target);
  if (!loaded.has(path)) {
    try {
      loaded.set(path, createRequire(import.meta.url)(path));
    } catch {
      loaded.set(path, null);
    }
  }
  return loaded.get(path) as T | null;
}

/** argv (node first) that runs `entry` the way this process runs: compiled, or through tsx. */
export function nodeEntryArgv(entry: EntryPoint): string[] {
  const rel = entryPoints[entry];
  if (runsCompiled) return [process.execPath, join(projectRoot, 'dist', `${rel}.js`)];
  return [process.execPath, '--import', import.meta.resolve('tsx'), join(projectRoot, 'src', `${rel}.ts`)];
}
