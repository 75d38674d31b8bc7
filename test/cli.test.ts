// The `svcnet` command as a user runs it: help, the API server with its kubeconfig, restarts on
// the same data directory, and one-line errors for bad input.
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

const bin = join(import.meta.dirname, '..', 'bin', 'svcnet');

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(bin, args, { timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? Number((err as { code?: number }).code ?? 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

function kubectl(kubeconfig: string, cache: string, args: string[]) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      'kubectl',
      ['--kubeconfig', kubeconfig, '--cache-dir', cache, ...args],
      { timeout: 60_000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? 1 : 0, stdout, stderr });
      },
    );
  });
}

async function startServer(dataDir: string): Promise<{ child: ChildProcess; out: () => string }> {
  const child = spawn(bin, ['apiserver', '--data-dir', dataDir, '--listen', '127.0.0.1:0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d) => {
    out += String(d);
  });
  child.stderr?.on('data', (d) => {
    out += String(d);
  });
  const end = Date.now() + 30_000;
  while (!out.includes('kubeconfig written')) {
    if (Date.now() > end || child.exitCode !== null) throw new Error(`server did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, out: () => out };
}

function stop(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });
}

describe('svcnet CLI', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'svcnet-cli-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('help lists the commands that exist', async () => {
    const r = await run(['--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /\bup\b/);
    assert.match(r.stdout, /\bapiserver\b/);
  });

  it('serves kubectl over TLS with a 0600 kubeconfig, and resumes after a restart', async () => {
    const data = join(dir, 'data');
    const cache = join(dir, 'cache');
    const a = await startServer(data);
    const kubeconfig = join(data, 'kubeconfig');
    try {
      assert.match(a.out(), /listening on https:\/\/127\.0\.0\.1:\d+/);
      assert.equal(statSync(kubeconfig).mode & 0o777, 0o600);
      assert.equal(statSync(join(data, 'token')).mode & 0o777, 0o600);
      const created = await kubectl(kubeconfig, cache, [
        'create',
        'service',
        'nodeport',
        'keep',
        '--tcp=80:8080',
        '--node-port=30555',
      ]);
      assert.equal(created.code, 0, created.stderr);
    } finally {
      assert.equal(await stop(a.child), 0);
    }
    const b = await startServer(data);
    try {
      const got = await kubectl(kubeconfig, cache, ['get', 'svc', 'keep', '-o', 'jsonpath={.spec.ports[0].nodePort}']);
      assert.equal(got.stdout, '30555');
      const clash = await kubectl(kubeconfig, cache, [
        'create',
        'service',
        'nodeport',
        'other',
        '--tcp=80:8080',
        '--node-port=30555',
      ]);
      assert.match(clash.stderr, /provided port is already allocated/);
    } finally {
      assert.equal(await stop(b.child), 0);
    }
  });

  it('bad flags and files give one-line errors and a non-zero exit', async () => {
    const listen = await run(['apiserver', '--data-dir', join(dir, 'x'), '--listen', 'nonsense']);
    assert.equal(listen.code, 1);
    assert.equal(listen.stderr.trim(), 'svcnet: invalid address "nonsense": want HOST:PORT');
    const store = await run(['apiserver', '--data-dir', join(dir, 'y'), '--store', 'etcd']);
    assert.equal(store.code, 1);
    assert.match(store.stderr.trim(), /^svcnet: --store must be sqlite or memory, not etcd$/);
    const corrupt = join(dir, 'corrupt');
    mkdirSync(corrupt);
    writeFileSync(join(corrupt, 'svcnet.db'), 'this is not a database, just some text that is long enough'.repeat(100));
    const r = await run(['apiserver', '--data-dir', corrupt, '--listen', '127.0.0.1:0']);
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /svcnet\.db/);
    const period = await run(['agent', '--node-ip', '10.0.0.1', '--sync-period', '30x']);
    assert.equal(period.code, 1);
    assert.equal(period.stderr.trim(), 'svcnet: --sync-period: "30x" is not a duration (e.g. 30s, 1m, 500ms)');
    const order = await run(['agent', '--node-ip', '10.0.0.1', '--sync-period', '2s', '--min-sync-period', '1m']);
    assert.equal(order.code, 1);
    assert.equal(order.stderr.trim(), 'svcnet: --min-sync-period must not exceed --sync-period');
    const lb = await run(['controller', '--lb-provider', 'aws', '--kubeconfig', join(dir, 'none')]);
    assert.equal(lb.code, 1);
    assert.match(lb.stderr.trim(), /^svcnet: --lb-provider must be one of ipam(, [a-z]+)*, not "aws"$/);
    const upLb = await run(['up', '--data-dir', join(dir, 'up'), '--lb-provider', '']);
    assert.equal(upLb.code, 1);
    assert.match(upLb.stderr.trim(), /^svcnet: --lb-provider must be one of ipam(, [a-z]+)*, not ""$/);
    const edge = await run(['up', '--data-dir', join(dir, 'up'), '--edge-cidr', '198.18.0.0']);
    assert.equal(edge.code, 1);
    assert.equal(edge.stderr.trim(), 'svcnet: --edge-cidr must be an IPv4 CIDR of /16 or smaller, not "198.18.0.0"');
    const ref = await run(['lb', 'show', 'a/b/c']);
    assert.equal(ref.code, 1);
    assert.equal(ref.stderr.trim(), 'svcnet: lb show: want NAMESPACE/NAME of a Service, not "a/b/c"');
    const out = await run(['lb', 'show', 'default/web', '-o', 'yaml']);
    assert.equal(out.code, 1);
    assert.equal(out.stderr.trim(), 'svcnet: lb show: --output must be table or json, not "yaml"');
    const none = await run(['lb', 'show', 'web', '--data-dir', join(dir, 'nolb'), '--kubeconfig', join(dir, 'none')]);
    assert.equal(none.code, 1);
    assert.match(none.stderr.trim(), /^svcnet: lb show: no load-balancer provider runs with data directory \S+nolb /);
  });
});
