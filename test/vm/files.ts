// The tests that need a kernel with IPVS: every *.vmtest.ts under a directory.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export function vmTests(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    if (e === 'node_modules' || e.startsWith('.')) continue;
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...vmTests(p));
    else if (e.endsWith('.vmtest.ts')) out.push(p);
  }
  return out.sort();
}
