// The native UDP path's answer to EAGAIN on send: replies the kernel will not take yet are queued
// (bounded) and flushed when the socket turns writable; past the bound they are dropped, counted.
// On plain loopback a UDP send never waits (lo frees the send buffer at once), so the server runs
// in a namespace of our own whose lo is shaped by tbf (udp-native-eagain.child.ts). Needs root,
// `ip` and `tc`; skipped without them.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { inNetns } from '../kernel/netns.ts';

const exec = promisify(execFile);
const child = fileURLToPath(new URL('./udp-native-eagain.child.ts', import.meta.url));
const ns = `svh-udpq-${process.pid}`.slice(0, 15);

function skipReason(): string | false {
  if (process.platform !== 'linux') return 'Linux only';
  if (process.getuid?.() !== 0) return 'needs root (network namespace, tc)';
  for (const cmd of ['ip', 'tc']) if (spawnSync('sh', ['-c', `command -v ${cmd}`]).status !== 0) return `no ${cmd}`;
  return false;
}

interface Outcome {
  sent: number;
  received: number;
  bad: number;
  native: { packets: number; sent: number; queued: number; queueFull: number; sendErrors: number };
  queueFullMetric: number;
  socketErrorMetric: number;
}

async function runChild(count: number): Promise<Outcome> {
  const [cmd = 'ip', ...args] = inNetns(ns, [process.execPath, '--import', 'tsx', child, String(count)]);
  const { stdout } = await exec(cmd, args, { timeout: 60_000, cwd: fileURLToPath(new URL('../..', import.meta.url)) });
  return JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as Outcome;
}

describe('native UDP: send EAGAIN (shaped loopback in a namespace)', { skip: skipReason() }, () => {
  before(async () => {
    await exec('ip', ['netns', 'add', ns]);
    await exec('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    const [cmd = 'ip', ...args] = inNetns(ns, [
      'tc',
      'qdisc',
      'add',
      'dev',
      'lo',
      'root',
      'tbf',
      'rate',
      '10mbit',
      'burst',
      '10kb',
      'limit',
      '10mb',
    ]);
    await exec(cmd, args);
  });
  after(async () => {
    await exec('ip', ['netns', 'delete', ns]).catch(() => {});
  });

  it('queues replies on EAGAIN and delivers them all when the socket drains', async () => {
    const o = await runChild(200);
    assert.ok(o.native.queued > 0, `no EAGAIN seen: ${JSON.stringify(o)}`);
    assert.equal(o.native.queueFull, 0);
    assert.equal(o.native.sendErrors, 0);
    // Every query the server read was answered, and every answer arrived intact.
    assert.equal(o.native.sent, o.native.packets);
    assert.equal(o.received, o.native.sent);
    assert.equal(o.bad, 0);
  });

  it('drops and counts replies past the queue bound, and still delivers the rest', async () => {
    const o = await runChild(3000);
    assert.ok(o.native.queueFull > 0, `queue never full: ${JSON.stringify(o)}`);
    assert.equal(o.queueFullMetric, o.native.queueFull);
    assert.equal(o.native.packets, o.native.sent + o.native.queueFull + o.native.sendErrors);
    assert.equal(o.received, o.native.sent);
    assert.ok(o.native.queued >= 1024, `queued ${o.native.queued}`);
  });
});
