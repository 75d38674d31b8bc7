// Regenerates the *.pb fixtures: runs the real kubectl (v1.32, /usr/bin/kubectl) against a stub
// apiserver on 127.0.0.1 and saves the protobuf bodies its typed clients POST.
//   node --import tsx src/apiserver/protobuf/testdata/capture.ts
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const here = new URL('.', import.meta.url).pathname;

const resource = (name: string, kind: string, namespaced: boolean) => ({
  name,
  singularName: kind.toLowerCase(),
  namespaced,
  kind,
  verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
});

const docs: Record<string, unknown> = {
  '/version': { major: '1', minor: '32', gitVersion: 'v1.32.0', platform: 'linux/amd64' },
  '/api': { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] },
  '/apis': {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: [
      {
        name: 'apps',
        versions: [{ groupVersion: 'apps/v1', version: 'v1' }],
        preferredVersion: { groupVersion: 'apps/v1', version: 'v1' },
      },
    ],
  },
  '/api/v1': {
    kind: 'APIResourceList',
    groupVersion: 'v1',
    resources: [resource('services', 'Service', true), resource('namespaces', 'Namespace', false)],
  },
  '/apis/apps/v1': {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: 'apps/v1',
    resources: [resource('deployments', 'Deployment', true)],
  },
};

const created: Record<string, { apiVersion: string; kind: string; name: string; fixture: string }> = {
  '/api/v1/namespaces/default/services': { apiVersion: 'v1', kind: 'Service', name: 'my-np', fixture: 'service-nodeport.pb' },
  '/api/v1/namespaces': { apiVersion: 'v1', kind: 'Namespace', name: 'x', fixture: 'namespace.pb' },
  '/apis/apps/v1/namespaces/default/deployments': {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    name: 'd',
    fixture: 'deployment.pb',
  },
};

function handle(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  const send = (code: number, obj: unknown) => {
    res.writeHead(code, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(obj));
  };
  const doc = docs[path];
  if (req.method === 'GET' && doc) return send(200, doc);
  const c = created[path];
  if (req.method === 'POST' && c) {
    writeFileSync(join(here, c.fixture), body);
    console.log(`${c.fixture}: ${body.length} bytes, ${req.headers['content-type']} ${req.url}`);
    return send(201, { apiVersion: c.apiVersion, kind: c.kind, metadata: { name: c.name } });
  }
  send(404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404 });
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => handle(req, res, Buffer.concat(chunks)));
});
await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
const { port } = server.address() as AddressInfo;
const dir = mkdtempSync(join(tmpdir(), 'kubectl-capture-'));
const kubeconfig = join(dir, 'kubeconfig');
writeFileSync(
  kubeconfig,
  `apiVersion: v1
kind: Config
clusters: [{name: stub, cluster: {server: "http://127.0.0.1:${port}"}}]
users: [{name: stub, user: {}}]
contexts: [{name: stub, context: {cluster: stub, user: stub, namespace: default}}]
current-context: stub
`,
);
const kubectl = (...args: string[]) =>
  run('/usr/bin/kubectl', [...args, `--kubeconfig=${kubeconfig}`, `--cache-dir=${join(dir, 'cache')}`], {
    env: { ...process.env, HOME: dir },
  });
try {
  for (const args of [
    ['create', 'service', 'nodeport', 'my-np', '--tcp=80:8080', '--node-port=30080'],
    ['create', 'namespace', 'x'],
    ['create', 'deployment', 'd', '--image=nginx', '--replicas=2'],
  ]) {
    const { stdout } = await kubectl(...args, '--validate=false');
    process.stdout.write(stdout);
  }
} finally {
  server.close();
  rmSync(dir, { recursive: true, force: true });
}
