// Probe transports: how a check reaches a pod. As root the pod lives in its own namespace, so
// the check runs there (`ip netns exec` + curl for HTTP, bash's /dev/tcp for TCP) — Node cannot
// open a socket in another namespace. Rootless pods share ours, so plain sockets do.
import { request } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { joinHostPort } from '../api/ip.ts';
import { isExecError, type Runner, run } from './exec.ts';
import { inNetns } from './netns.ts';

export interface ProbeOutcome {
  ok: boolean;
  /** Why it failed, as the kubelet words it in events ("HTTP probe failed with statuscode: 500"). */
  message: string;
}

export interface HttpCheck {
  scheme: 'http' | 'https';
  host: string;
  port: number;
  path: string;
  headers: [string, string][];
}

export interface Prober {
  http(netns: string | undefined, c: HttpCheck, timeoutMs: number): Promise<ProbeOutcome>;
  tcp(netns: string | undefined, host: string, port: number, timeoutMs: number): Promise<ProbeOutcome>;
  exec(
    netns: string | undefined,
    argv: readonly string[],
    env: Record<string, string>,
    timeoutMs: number,
  ): Promise<ProbeOutcome>;
}

const ok: ProbeOutcome = { ok: true, message: '' };

function statusOutcome(code: number): ProbeOutcome {
  // The kubelet's HTTP prober: 200 ≤ code < 400 is success (redirects are not followed).
  return code >= 200 && code < 400 ? ok : { ok: false, message: `HTTP probe failed with statuscode: ${code}` };
}

export class SystemProber implements Prober {
  constructor(private readonly runner: Runner = run) {}

  async http(netns: string | undefined, c: HttpCheck, timeoutMs: number): Promise<ProbeOutcome> {
    const url = `${c.scheme}://${joinHostPort(c.host, c.port)}${c.path.startsWith('/') ? '' : '/'}${c.path}`;
    if (!netns) return directHttp(url, c, timeoutMs);
    const argv = ['curl', '-sS', '-k', '-o', '/dev/null', '-w', '%{http_code}', '-m', String(timeoutMs / 1000)];
    for (const [k, v] of c.headers) argv.push('-H', `${k}: ${v}`);
    argv.push(url);
    try {
      const { stdout } = await this.runner(inNetns(netns, argv), { timeoutMs: timeoutMs + 2000 });
      return statusOutcome(Number(stdout.trim()));
    } catch (e) {
      return { ok: false, message: isExecError(e) ? e.stderr.trim() || e.message : String(e) };
    }
  }

  async tcp(netns: string | undefined, host: string, port: number, timeoutMs: number): Promise<ProbeOutcome> {
    if (!netns) return directTcp(host, port, timeoutMs);
    // $0/$1 keep host and port out of the script text.
    const argv = inNetns(netns, ['bash', '-c', 'exec 3<>"/dev/tcp/$0/$1"', host, String(port)]);
    try {
      await this.runner(argv, { timeoutMs });
      return ok;
    } catch (e) {
      const msg = isExecError(e, 'EXEC_TIMEOUT')
        ? `dial tcp ${host}:${port}: i/o timeout`
        : `dial tcp ${host}:${port}: connection refused`;
      return { ok: false, message: msg };
    }
  }

  async exec(
    netns: string | undefined,
    argv: readonly string[],
    env: Record<string, string>,
    timeoutMs: number,
  ): Promise<ProbeOutcome> {
    const full = inNetns(netns, argv);
    try {
      await this.runner(full, { timeoutMs, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env } });
      return ok;
    } catch (e) {
      if (isExecError(e, 'EXEC_TIMEOUT')) return { ok: false, message: `command timed out after ${timeoutMs}ms` };
      if (isExecError(e))
        return { ok: false, message: `command failed: exit code ${e.exitCode ?? '?'}: ${e.stdout}${e.stderr}`.trim() };
      return { ok: false, message: String(e) };
    }
  }
}

function directHttp(url: string, c: HttpCheck, timeoutMs: number): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    const req = (c.scheme === 'https' ? httpsRequest : request)(url, {
      method: 'GET',
      headers: Object.fromEntries(c.headers),
      timeout: timeoutMs,
      rejectUnauthorized: false,
    });
    req.on('response', (res) => {
      res.resume();
      resolve(statusOutcome(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error(`Get "${url}": context deadline exceeded`)));
    req.on('error', (e) => resolve({ ok: false, message: e.message }));
    req.end();
  });
}

function directTcp(host: string, port: number, timeoutMs: number): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    const s = connect({ host, port, timeout: timeoutMs });
    s.once('connect', () => {
      s.destroy();
      resolve(ok);
    });
    s.once('timeout', () => {
      s.destroy();
      resolve({ ok: false, message: `dial tcp ${host}:${port}: i/o timeout` });
    });
    s.once('error', (e) => resolve({ ok: false, message: `dial tcp ${host}:${port}: ${e.message}` }));
  });
}

/** Answers from a function; records calls. */
export class FakeProber implements Prober {
  readonly calls: { kind: 'http' | 'tcp' | 'exec'; netns: string | undefined; target: string }[] = [];
  answer: (kind: 'http' | 'tcp' | 'exec', target: string) => ProbeOutcome | Promise<ProbeOutcome> = () => ok;

  async http(netns: string | undefined, c: HttpCheck): Promise<ProbeOutcome> {
    const target = `${c.scheme}://${c.host}:${c.port}${c.path}`;
    this.calls.push({ kind: 'http', netns, target });
    return this.answer('http', target);
  }

  async tcp(netns: string | undefined, host: string, port: number): Promise<ProbeOutcome> {
    const target = `${host}:${port}`;
    this.calls.push({ kind: 'tcp', netns, target });
    return this.answer('tcp', target);
  }

  async exec(netns: string | undefined, argv: readonly string[]): Promise<ProbeOutcome> {
    const target = argv.join(' ');
    this.calls.push({ kind: 'exec', netns, target });
    return this.answer('exec', target);
  }
}
