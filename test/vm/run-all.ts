// Inside the IPVS VM: every *.vmtest.ts in one process (test/vm.test.ts runs this), so the
// emulated CPU compiles and loads the sources once instead of once per file. Arguments: only
// these files.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { vmTests } from './files.ts';

const root = join(import.meta.dirname, '..', '..');
const only = process.argv.slice(2);
const files = only.length
  ? only.map((f) => join(process.cwd(), f))
  : [...vmTests(join(root, 'src')), ...vmTests(join(root, 'test'))];
console.log(`# vm: ${files.length} files`);
for (const f of files) await import(pathToFileURL(f).href);
