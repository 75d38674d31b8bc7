// Runs a script again inside a network namespace it creates, for tests and benchmarks whose
// sockets and rules must live in the node namespace (a userspace plane's listeners are this
// process's sockets). The namespace is named <prefix><pid>; namespaces of the prefix whose
// process is gone (a crashed run) are removed first, and ours is removed on exit, also on failure.
import { spawn } from 'node:child_process';
import { run } from '../../kernel/exec.ts';
import { inNetns } from '../../kernel/netns.ts';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export interface NetnsChildResult {
  code: number | null;
  output: string;
}

/**
 * Spawns `argv` (a node script and its arguments) inside a fresh namespace with `envVar` set
 * to its name; stdout/stderr are collected (and passed through when `passThrough`).
 */
export async function runInOwnNetns(
  prefix: string,
  envVar: string,
  argv: readonly string[],
  opts: { passThrough?: boolean; env?: NodeJS.ProcessEnv } = {},
): Promise<NetnsChildResult> {
  const { stdout } = await run(['ip', 'netns', 'list']);
  for (const line of stdout.split('\n')) {
    const name = line.split(' ')[0] ?? '';
    // The child's pod namespaces are named after ours (<prefix><pid>p<n>): they go with it.
    const m = new RegExp(`^${prefix}(\\d+)(p[0-9a-z]+)?$`).exec(name);
    if (m && !isAlive(Number(m[1]))) await run(['ip', 'netns', 'delete', name]).catch(() => {});
  }
  const ns = `${prefix}${process.pid}`;
  await run(['ip', 'netns', 'add', ns]);
  try {
    await run(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    const [cmd = 'ip', ...args] = inNetns(ns, [process.execPath, ...argv]);
    // NODE_TEST_CONTEXT would make a test child report to us in the runner's private protocol.
    const child = spawn(cmd, args, {
      env: { ...process.env, ...opts.env, [envVar]: ns, NODE_TEST_CONTEXT: undefined },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const take = (d: Buffer, to: NodeJS.WriteStream) => {
      output += d;
      if (opts.passThrough) to.write(d);
    };
    child.stdout.on('data', (d: Buffer) => take(d, process.stdout));
    child.stderr.on('data', (d: Buffer) => take(d, process.stderr));
    const code = await new Promise<number | null>((r) => child.on('close', r));
    return { code, output };
  } finally {
    const { stdout: left } = await run(['ip', 'netns', 'list']);
    for (const line of left.split('\n')) {
      const name = line.split(' ')[0] ?? '';
      if (name === ns || name.startsWith(`${ns}p`)) await run(['ip', 'netns', 'delete', name]).catch(() => {});
    }
  }
}
