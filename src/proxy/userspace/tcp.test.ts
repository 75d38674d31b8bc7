// The TCP relay on real loopback sockets, driven through a hand-built ListenerContext: bytes sent
// before the upstream connected survive a refused first endpoint, half-close is carried both
// ways, an abortive close is passed on, and connect deadlines expire through the shared queue.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { Registry } from '../metrics.ts';
import { type EndpointInfo, endpointKey, type ServicePortInfo } from '../types.ts';
import { Balancer, EndpointHealth } from './balancer.ts';
import type { ListenerContext, UserspaceStats } from './context.ts';
import { DeadlineQueue } from './deadlines.ts';
import type { ListenerSpec } from './render.ts';
import { expireConnect, type Relay, TcpListener } from './tcp.ts';
import { NativeTcpListener } from './tcp-native.ts';
import { tcpRelayAddon, tcpRelayPath } from './tcp-relay-addon.ts';

function endpoint(port: number): EndpointInfo {
  return {
    key: endpointKey('127.0.0.1', port),
    ip: '127.0.0.1',
    port,
    ready: true,
    serving: true,
    terminating: false,
    nodeName: 'n',
    zone: undefined,
    zoneHints: [],
    nodeHints: [],
    isLocal: true,
  };
}

function stats(reg: Registry): UserspaceStats {
  return {
    connections: reg.counter('c', ''),
    rejected: reg.counter('r', ''),
    connectFailures: reg.counter('cf', ''),
    retries: reg.counter('rt', ''),
    ejections: reg.counter('e', ''),
    ejected: reg.gauge('ed', ''),
    active: reg.gauge('a', ''),
    udpDropped: reg.counter('ud', ''),
    udpFlows: reg.gauge('uf', ''),
    listenerErrors: reg.counter('le', ''),
  };
}

async function listening(s: Server): Promise<number> {
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return (s.address() as { port: number }).port;
}

/** A port with nothing listening: a connect there is refused at once. */
async function closedPort(): Promise<number> {
  const s = createServer();
  const p = await listening(s);
  await new Promise((r) => s.close(r));
  return p;
}

async function relay(
  engine: 'js' | 'native',
  endpoints: EndpointInfo[],
  opts: { connectTimeoutMs?: number; retries?: number; host?: string } = {},
) {
  const reg = new Registry();
  const st = stats(reg);
  const health = new EndpointHealth({ failuresToEject: 3, ejectMs: 10_000, now: Date.now });
  const balancer = new Balancer('round-robin', undefined, Math.random, Date.now);
  const svc = { namespace: 'ns', name: 'svc', connectRetries: opts.retries ?? 2 } as unknown as ServicePortInfo;
  const timeoutMs = opts.connectTimeoutMs ?? 2000;
  const ctx: ListenerContext = {
    route: () => ({
      svc,
      balancer,
      verdict:
        endpoints.length > 0
          ? { kind: 'endpoints', endpoints, masquerade: true }
          : { kind: 'REJECT', reason: 'no-endpoints' },
    }),
    health,
    stats: st,
    connectTimeoutMs: timeoutMs,
    connectDeadlines: new DeadlineQueue<Relay>({ timeoutMs }, expireConnect),
    endpointEjected: () => {},
    landed: () => {},
  };
  const spec: ListenerSpec = {
    id: 'TCP 127.0.0.1:0',
    proto: 'TCP',
    host: opts.host ?? '127.0.0.1',
    port: 0,
    servicePort: 'ns/svc:p' as ListenerSpec['servicePort'],
    dest: 'clusterIP',
    vip: '10.96.0.1',
  };
  if (engine === 'native') {
    const addon = tcpRelayAddon();
    assert.ok(addon, `${tcpRelayPath} is missing or does not load: run scripts/build-native.sh`);
    const l = new NativeTcpListener(spec, ctx, addon);
    await l.listen();
    return { l, port: l.port(), st, ctx };
  }
  const l = new TcpListener(spec, ctx);
  await l.listen();
  const port = (l as unknown as { server: Server }).server.address() as { port: number };
  return { l, port: port.port, st, ctx };
}

function collect(s: Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      out += d;
    });
    s.on('end', () => resolve(out));
    s.on('error', reject);
  });
}

for (const engine of ['js', 'native'] as const)
  describe(`TCP relay (${engine})`, () => {
    const servers: Server[] = [];
    after(() => {
      for (const s of servers) s.close();
    });

    /** Answers "got:<everything it read>" once the client half-closes, then ends. */
    async function halfCloseEcho(): Promise<number> {
      const s = createServer({ allowHalfOpen: true }, (c) => {
        let buf = '';
        c.setEncoding('utf8');
        c.on('data', (d: string) => {
          buf += d;
        });
        c.on('end', () => c.end(`got:${buf}`));
      });
      servers.push(s);
      return listening(s);
    }

    it('bytes sent before the upstream connects survive a refused endpoint; half-close both ways', async () => {
      const good = await halfCloseEcho();
      const refused = await closedPort();
      const { l, port, st } = await relay(engine, [endpoint(refused), endpoint(good)]);
      try {
        const c = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
        // Written and half-closed at once: the relay holds both while it connects, is refused by
        // the first endpoint, and delivers them to the second.
        c.write('hello ');
        c.write('world');
        c.end();
        assert.equal(await collect(c), 'got:hello world');
        assert.equal(st.retries.get(), 1);
        assert.equal(st.connectFailures.get({ endpoint: `127.0.0.1:${refused}` }), 1);
        assert.equal(st.connections.get(), 1);
      } finally {
        await l.drain(0);
      }
    });

    it('large transfers keep their bytes and order under backpressure', async () => {
      const good = await halfCloseEcho();
      const { l, port } = await relay(engine, [endpoint(good)]);
      try {
        const c = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
        const payload = Array.from({ length: 200_000 }, (_, i) => String.fromCharCode(97 + (i % 26))).join('');
        c.end(payload);
        const got = await collect(c);
        assert.equal(got.length, payload.length + 4);
        assert.equal(got, `got:${payload}`);
      } finally {
        await l.drain(0);
      }
    });

    it('every endpoint refusing: the client is reset, failures are counted', async () => {
      const refused = await closedPort();
      const { l, port, st } = await relay(engine, [endpoint(refused)], { retries: 1 });
      try {
        const c = connect({ host: '127.0.0.1', port });
        const err = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
          c.on('error', resolve);
          c.on('close', () => resolve(undefined));
          c.resume();
        });
        assert.equal(err?.code, 'ECONNRESET');
        assert.equal(st.rejected.get({ reason: 'no-healthy-endpoints' }), 1);
        // The only endpoint has been tried: the retry finds nothing left to pick.
        assert.equal(st.connectFailures.get({ endpoint: `127.0.0.1:${refused}` }), 1);
        assert.equal(l.connectionCount(), 0);
      } finally {
        await l.drain(0);
      }
    });

    it('a connect that hangs expires through the deadline queue and is retried elsewhere', async () => {
      // A listener that never accepts (Node's servers always do), with its accept queue filled:
      // the kernel drops further SYNs, so a connect there neither succeeds nor fails.
      const py = spawn(
        'python3',
        [
          '-c',
          'import socket,sys,time\ns=socket.socket()\ns.bind(("127.0.0.1",0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\ntime.sleep(30)',
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      const stuckPort = Number(await new Promise<string>((r) => py.stdout.once('data', (d) => r(String(d)))));
      const good = await halfCloseEcho();
      const { l, port, st } = await relay(engine, [endpoint(stuckPort), endpoint(good)], { connectTimeoutMs: 150 });
      const fillers: Socket[] = [];
      try {
        for (let i = 0; i < 3; i++) fillers.push(connect({ host: '127.0.0.1', port: stuckPort }).on('error', () => {}));
        await new Promise((r) => setTimeout(r, 50));
        const t0 = Date.now();
        const c = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
        c.end('late');
        assert.equal(await collect(c), 'got:late');
        assert.ok(Date.now() - t0 >= 140, `answered after ${Date.now() - t0}ms, before the connect timeout`);
        assert.equal(st.connectFailures.get({ endpoint: `127.0.0.1:${stuckPort}` }), 1);
        assert.equal(st.retries.get(), 1);
      } finally {
        for (const f of fillers) f.destroy();
        py.kill();
        await l.drain(0);
      }
    });

    it('an abortive close of the upstream resets the client', async () => {
      const s = createServer((c) => c.once('data', () => c.resetAndDestroy()));
      servers.push(s);
      const { l, port, st } = await relay(engine, [endpoint(await listening(s))]);
      try {
        const c = connect({ host: '127.0.0.1', port });
        c.write('x');
        const err = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
          c.on('error', resolve);
          c.on('close', () => resolve(undefined));
          c.resume();
        });
        assert.equal(err?.code, 'ECONNRESET');
        // The connection was established, then released.
        assert.equal(st.connections.get(), 1);
        await new Promise((r) => setTimeout(r, 20));
        assert.equal(st.active.get(), 0);
      } finally {
        await l.drain(0);
      }
    });
  });

describe('DeadlineQueue', () => {
  it('expires items in order after the timeout, skips cancelled ones, re-arms for later adds', async () => {
    const expired: string[] = [];
    // Margins of 70 ms either side of each deadline: a loaded CI machine delays timers.
    const q = new DeadlineQueue<string>({ timeoutMs: 200 }, (s) => expired.push(s));
    const a = q.add('a');
    q.add('b');
    q.cancel(a);
    await new Promise((r) => setTimeout(r, 100));
    q.add('c');
    await new Promise((r) => setTimeout(r, 130));
    assert.deepEqual(expired, ['b']);
    await new Promise((r) => setTimeout(r, 140));
    assert.deepEqual(expired, ['b', 'c']);
    assert.equal(q.size(), 0);
    q.close();
  });

  it('an add from an expiry callback is scheduled a full timeout later', async () => {
    const expired: number[] = [];
    const t0 = Date.now();
    const q: DeadlineQueue<number> = new DeadlineQueue<number>({ timeoutMs: 20 }, (n) => {
      expired.push(Date.now() - t0);
      if (n < 2) q.add(n + 1);
    });
    q.add(0);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(expired.length, 3);
    for (let i = 0; i < 3; i++) assert.ok((expired[i] ?? 0) >= 20 * (i + 1) - 2, `expiry ${i} at ${expired[i]}ms`);
    q.close();
  });

  it('compacts under a steady stream of cancelled slots', () => {
    let now = 0;
    const q = new DeadlineQueue<number>({ timeoutMs: 10, now: () => now }, () => {});
    for (let i = 0; i < 5000; i++) q.cancel(q.add(i));
    assert.equal(q.size(), 5000);
    now = 100;
    (q as unknown as { fire(): void }).fire();
    assert.equal(q.size(), 0);
    const id = q.add(1);
    q.cancel(id);
    q.close();
  });
});

describe('TCP relay: bulk transfers', () => {
  const servers: Server[] = [];
  after(() => {
    for (const s of servers) s.close();
  });

  it('the addon is built on Linux (scripts/build-native.sh, run by setup.sh)', {
    skip: process.platform !== 'linux',
  }, () => {
    assert.ok(tcpRelayAddon(), `${tcpRelayPath} is missing or does not load: run scripts/build-native.sh`);
  });

  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

  /** Reads everything until the client half-closes, then sends `reply(received)` and ends. */
  async function bulkServer(reply: (got: Buffer) => Buffer, onConn?: (c: Socket) => void): Promise<number> {
    const s = createServer({ allowHalfOpen: true }, (c) => {
      onConn?.(c);
      const parts: Buffer[] = [];
      c.on('data', (d: Buffer) => parts.push(d));
      c.on('end', () => c.end(reply(Buffer.concat(parts))));
      c.on('error', () => {});
    });
    servers.push(s);
    return listening(s);
  }

  function readAll(c: Socket): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const parts: Buffer[] = [];
      c.on('data', (d: Buffer) => parts.push(d));
      c.on('end', () => resolve(Buffer.concat(parts)));
      c.on('error', reject);
    });
  }

  for (const engine of ['js', 'native'] as const)
    it(`${engine}: megabytes both ways arrive intact and in order, half-close carried`, async () => {
      const up = randomBytes(6 << 20);
      const down = randomBytes(3 << 20);
      const port0 = await bulkServer((got) => Buffer.concat([Buffer.from(sha(got)), down]));
      const { l, port, st } = await relay(engine, [endpoint(port0)]);
      try {
        const c = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
        const reading = readAll(c);
        c.end(up);
        const got = await reading;
        assert.equal(got.subarray(0, 64).toString(), sha(up), 'the server saw every byte in order');
        assert.equal(sha(got.subarray(64)), sha(down), 'the client got every byte of the reply');
        assert.equal(st.connections.get(), 1);
        await eventuallyZero(l);
      } finally {
        await l.drain(0);
      }
    });

  for (const engine of ['js', 'native'] as const)
    it(`${engine}: an endpoint that resets mid-transfer resets the client`, async () => {
      const port0 = await bulkServer(
        () => Buffer.alloc(0),
        (c) => {
          let n = 0;
          c.on('data', (d: Buffer) => {
            n += d.length;
            if (n > 1 << 20) c.resetAndDestroy();
          });
        },
      );
      const { l, port } = await relay(engine, [endpoint(port0)]);
      try {
        const c = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
        const ended = new Promise<string>((resolve) => {
          c.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
          c.on('close', () => resolve('closed'));
          c.resume();
        });
        // Keeps sending until the connection is cut.
        const chunk = randomBytes(256 * 1024);
        const pump = setInterval(() => {
          if (!c.destroyed && c.writableLength < 1 << 20) c.write(chunk);
        }, 1);
        const how = await ended;
        clearInterval(pump);
        assert.ok(['ECONNRESET', 'EPIPE'].includes(how), `client saw ${how}`);
        await eventuallyZero(l);
      } finally {
        await l.drain(0);
      }
    });

  for (const engine of ['js', 'native'] as const)
    it(`${engine}: draining the listener cuts a long transfer that does not finish`, async () => {
      // A server that never ends: the connection stays up until the drain deadline.
      const s = createServer((c) => {
        c.on('data', () => {});
        c.on('error', () => {});
        c.write(randomBytes(512 * 1024));
      });
      servers.push(s);
      const port0 = await listening(s);
      const { l, port, st } = await relay(engine, [endpoint(port0)]);
      const c = connect({ host: '127.0.0.1', port });
      const closed = new Promise<void>((resolve) => c.on('close', () => resolve()));
      c.on('error', () => {});
      c.resume();
      for (let i = 0; i < 20 && st.active.get() === 0; i++) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(st.active.get(), 1);
      await l.drain(50);
      await closed;
      await eventuallyZero(l);
    });
});

async function eventuallyZero(l: { connectionCount(): number }): Promise<void> {
  for (let i = 0; i < 100 && l.connectionCount() > 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(l.connectionCount(), 0, 'every relayed connection was released');
}

describe('TCP relay: the native engine', { skip: process.platform !== 'linux' }, () => {
  const servers: Server[] = [];
  after(() => {
    for (const s of servers) s.close();
  });

  async function echoOnce(host = '127.0.0.1'): Promise<number> {
    const s = createServer((c) => {
      c.on('data', (d: Buffer) => c.end(`re:${d}`));
      c.on('error', () => {});
    });
    servers.push(s);
    await new Promise<void>((r) => s.listen(0, host, r));
    return (s.address() as { port: number }).port;
  }

  function ask(host: string, port: number, msg: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const c = connect({ host, port });
      let out = '';
      c.setEncoding('utf8');
      c.on('data', (d: string) => {
        out += d;
      });
      c.on('end', () => resolve(out));
      c.on('error', reject);
      c.write(msg);
    });
  }

  const fds = () => readdirSync('/proc/self/fd').length;

  it('IPv6: listens on ::1 and relays to an endpoint on ::1', async () => {
    const p = await echoOnce('::1');
    const ep: EndpointInfo = { ...endpoint(p), key: endpointKey('::1', p), ip: '::1' };
    const { l, port, st } = await relay('native', [ep], { host: '::1' });
    try {
      assert.equal(await ask('::1', port, 'six'), 're:six');
      assert.equal(st.connections.get(), 1);
    } finally {
      await l.drain(0);
    }
  });

  it('hundreds of short connections: every one answered, nothing left behind (records, descriptors)', async () => {
    const p = await echoOnce();
    const { l, port, st } = await relay('native', [endpoint(p)]);
    try {
      await ask('127.0.0.1', port, 'warm');
      const before = fds();
      for (let round = 0; round < 10; round++) {
        const answers = await Promise.all(
          Array.from({ length: 30 }, (_, i) => ask('127.0.0.1', port, `${round}-${i}`)),
        );
        for (const [i, a] of answers.entries()) assert.equal(a, `re:${round}-${i}`);
      }
      await eventuallyZero(l);
      assert.equal(st.connections.get(), 301);
      assert.equal(st.active.get(), 0);
      // Idle pipes are pooled (at most 64 pairs); sockets must all be gone.
      assert.ok(fds() <= before + 130, `descriptors: ${before} before, ${fds()} after`);
    } finally {
      await l.drain(0);
    }
  });

  it('a Service without endpoints: the client is reset at once and the refusal counted', async () => {
    const { l, port, st } = await relay('native', []);
    try {
      const err = await ask('127.0.0.1', port, 'x').then(
        () => undefined,
        (e: NodeJS.ErrnoException) => e.code,
      );
      assert.equal(err, 'ECONNRESET');
      assert.equal(st.rejected.get({ reason: 'no-endpoints' }), 1);
      assert.equal(l.connectionCount(), 0);
    } finally {
      await l.drain(0);
    }
  });

  it('listen errors carry Node-style codes; nothing is left listening', async () => {
    const addon = tcpRelayAddon();
    assert.ok(addon);
    const p = await echoOnce();
    const noop = () => {};
    assert.throws(() => addon.listen('127.0.0.1', p, 16, noop, noop, noop, noop), { code: 'EADDRINUSE' });
    assert.throws(() => addon.listen('not-an-ip', 0, 16, noop, noop, noop, noop), { code: 'EINVAL' });
    assert.throws(() => addon.listen('127.0.0.1', 'x' as unknown as number, 16, noop, noop, noop, noop), TypeError);
  });

  it('a process whose listeners and connections are all closed exits (the engine does not pin the loop)', async () => {
    const script = `
      import { createServer, connect } from 'node:net';
      import { tcpRelayAddon } from ${JSON.stringify(new URL('./tcp-relay-addon.ts', import.meta.url).href)};
      const a = tcpRelayAddon();
      const s = createServer((c) => c.on('data', () => c.end('y')));
      s.listen(0, '127.0.0.1', () => {
        const up = s.address().port;
        const l = a.listen('127.0.0.1', 0, 16, (id) => a.connect(id, '127.0.0.1', up), () => {}, (id) => a.reject(id), () => {
          a.stopListening(l);
          s.close();
          console.log('done');
        });
        const c = connect({ host: '127.0.0.1', port: a.listenerPort(l) });
        c.on('data', () => {});
        c.end('x');
      });`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => {
      out += String(d);
    });
    const code = await new Promise<number | string>((resolve) => {
      const t = setTimeout(() => {
        child.kill('SIGKILL');
        resolve('hung');
      }, 10_000);
      child.on('exit', (c) => {
        clearTimeout(t);
        resolve(c ?? -1);
      });
    });
    assert.equal(out.trim(), 'done');
    assert.equal(code, 0);
  });
});
