// Generates src/apiserver/openapi/docs.json: the Kubernetes API documentation (type and field
// descriptions, required fields, component names) for exactly the fields svcnet's schema tables
// model, read from the doc comments kubernetes-types ships. The tables stay the one schema; this
// file only adds the words. Run after changing a table or upgrading kubernetes-types:
//   node --import tsx scripts/gen-api-docs.ts
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import type { PropDoc, TypeDoc } from '../src/apiserver/openapi/schemas.ts';
import { kindSchemas } from '../src/apiserver/schema/index.ts';
import { type FieldSpec, jsonFields, type MessageSchema, OPEN_KEY } from '../src/apiserver/schema/types.ts';

const root = join(import.meta.dirname, '..');
const typesDir = join(root, 'node_modules', 'kubernetes-types');
const out = join(root, 'src', 'apiserver', 'openapi', 'docs.json');

/** kubernetes-types file (group/version) → OpenAPI component name prefix. */
function prefixOf(file: string): string | undefined {
  const rel = file.slice(typesDir.length + 1).replace(/\.d\.ts$/, '');
  if (rel === 'meta/v1') return 'io.k8s.apimachinery.pkg.apis.meta.v1';
  if (rel === 'api/resource') return 'io.k8s.apimachinery.pkg.api.resource';
  if (/^[a-z]+\/v[0-9a-z]+$/.test(rel)) return `io.k8s.api.${rel.replace('/', '.')}`;
  return undefined;
}

const files = [
  'core/v1',
  'apps/v1',
  'discovery/v1',
  'coordination/v1',
  'rbac/v1',
  'authorization/v1',
  'meta/v1',
  'api/resource',
].map((f) => join(typesDir, `${f}.d.ts`));
const program = ts.createProgram(files, { strict: true });
const checker = program.getTypeChecker();

function interfaceNamed(file: string, name: string): ts.InterfaceDeclaration | undefined {
  const sf = program.getSourceFile(file);
  let found: ts.InterfaceDeclaration | undefined;
  sf?.forEachChild((n) => {
    if (ts.isInterfaceDeclaration(n) && n.name.text === name) found = n;
  });
  return found;
}

function doc(node: ts.Node): string {
  const sym = checker.getSymbolAtLocation((node as ts.NamedDeclaration).name ?? node);
  return sym ? ts.displayPartsToString(sym.getDocumentationComment(checker)) : '';
}

/** The interface a property's type names (through Array<> and map index signatures). */
function targetOf(t: ts.TypeNode | undefined): ts.InterfaceDeclaration | undefined {
  if (!t) return undefined;
  if (ts.isTypeReferenceNode(t)) {
    if (t.typeName.getText() === 'Array' && t.typeArguments?.[0]) return targetOf(t.typeArguments[0]);
    const sym = checker.getSymbolAtLocation(t.typeName);
    const real = sym && sym.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(sym) : sym;
    const decl = real?.declarations?.[0];
    return decl && ts.isInterfaceDeclaration(decl) ? decl : undefined;
  }
  if (ts.isTypeLiteralNode(t)) {
    const index = t.members.find(ts.isIndexSignatureDeclaration);
    return index ? targetOf(index.type) : undefined;
  }
  return undefined;
}

const docs: Record<string, TypeDoc> = {};

function componentName(decl: ts.InterfaceDeclaration): string | undefined {
  const prefix = prefixOf(decl.getSourceFile().fileName);
  return prefix ? `${prefix}.${decl.name.text}` : undefined;
}

function walk(decl: ts.InterfaceDeclaration, schema: MessageSchema): string | undefined {
  const name = componentName(decl);
  if (!name) return undefined;
  if (docs[name]) return name;
  const entry: TypeDoc = { description: doc(decl), properties: {} };
  docs[name] = entry;
  const members = new Map<string, ts.PropertySignature>();
  for (const m of decl.members) if (ts.isPropertySignature(m)) members.set(m.name.getText().replace(/^"|"$/g, ''), m);
  const required: string[] = [];
  for (const [field, spec] of jsonFields(schema) as Map<string, FieldSpec>) {
    if (field === OPEN_KEY) continue;
    const m = members.get(field);
    if (!m) continue;
    const p: PropDoc = {};
    const d = doc(m);
    if (d) p.description = d;
    if (!m.questionToken) required.push(field);
    if (typeof spec.of === 'object') {
      const target = targetOf(m.type);
      const ref = target ? walk(target, spec.of) : undefined;
      if (ref) p.ref = ref;
    }
    entry.properties[field] = p;
  }
  if (required.length) entry.required = required;
  return name;
}

const kinds: Record<string, string> = {};
for (const k of kindSchemas) {
  if (!k.builtin) continue;
  const gv = `${k.info.group === '' ? 'core' : k.info.group.split('.')[0]}/${k.info.version}`;
  const decl = interfaceNamed(join(typesDir, `${gv}.d.ts`), k.info.kind);
  if (!decl) throw new Error(`kubernetes-types has no ${gv} ${k.info.kind}`);
  const name = walk(decl, k.schema);
  if (name) kinds[`${k.info.group}/${k.info.kind}`] = name;
}

// Scalar wrappers are type aliases in kubernetes-types; their components carry their own text.
for (const [file, alias, name] of [
  ['meta/v1', 'Time', 'io.k8s.apimachinery.pkg.apis.meta.v1.Time'],
  ['meta/v1', 'MicroTime', 'io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime'],
  ['api/resource', 'Quantity', 'io.k8s.apimachinery.pkg.api.resource.Quantity'],
] as const) {
  const sf = program.getSourceFile(join(typesDir, `${file}.d.ts`));
  sf?.forEachChild((n) => {
    if (ts.isTypeAliasDeclaration(n) && n.name.text === alias) docs[name] = { description: doc(n), properties: {} };
  });
}

const sorted = Object.fromEntries(Object.entries(docs).sort(([a], [b]) => (a < b ? -1 : 1)));
writeFileSync(out, `${JSON.stringify({ source: 'kubernetes-types@1.30.0', kinds, types: sorted }, null, 1)}\n`);
// In the repository's format, so the lint stays clean and regenerating changes only what changed.
execFileSync(join(root, 'node_modules', '.bin', 'biome'), ['format', '--write', out], { stdio: 'ignore' });
console.log(`wrote ${out}: ${Object.keys(sorted).length} types`);
