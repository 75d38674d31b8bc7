// The connection guard on a real loopback HTTP server: at the limit the oldest idle connection
// goes and the newcomer is served; connections answering a request or upgraded (exec streams)
// are never closed to make room; with nothing idle the newcomer is refused.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { ConnectionGuard, defaultConnectionLimits } from './connections.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function serve(guard: ConnectionGuard): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    // /hold keeps the request open (a watch); anything else answers at once.
    if (req.url === '/hold') res.writeHead(200).write('x');
    else res.end('ok');
  });
  guard.attach(server);
  server.on('upgrade', (_req, socket) =>
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: Upgrade\r\n\r\n'),
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, port: (server.address() as { port: number }).port };
}

function open(port: number, request?: string): Promise<{ sock: Socket; closed: () => boolean; data: () => string }> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1');
    let closed = false;
    let data = '';
    sock.on('close', () => {
      closed = true;
    });
    sock.on('data', (d) => {
      data += d;
    });
    sock.on('error', () => {});
    sock.once('connect', () => {
      if (request) sock.write(request);
      resolve({ sock, closed: () => closed, data: () => data });
    });
  });
}

describe('ConnectionGuard', () => {
  const socks: Socket[] = [];
  const servers: Server[] = [];
  after(() => {
    for (const s of socks) s.destroy();
    for (const s of servers) s.close();
  });

  it('closes the oldest idle connection at the limit, never a busy or upgraded one', async () => {
    const guard = new ConnectionGuard({ maxConnections: 4, maxPerIP: 4 });
    const { server, port } = await serve(guard);
    servers.push(server);
    const watch = await open(port, 'GET /hold HTTP/1.1\r\nHost: x\r\n\r\n');
    const exec = await open(port, 'GET /exec HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: x\r\n\r\n');
    await sleep(100);
    const idle1 = await open(port);
    const idle2 = await open(port);
    socks.push(watch.sock, exec.sock, idle1.sock, idle2.sock);
    await sleep(100);
    assert.equal(guard.open, 4);
    const fresh = await open(port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    socks.push(fresh.sock);
    await sleep(200);
    assert.ok(idle1.closed(), 'the oldest idle connection stayed');
    assert.ok(!idle2.closed() && !watch.closed() && !exec.closed());
    assert.match(fresh.data(), /^HTTP\/1.1 200/);
    assert.equal(guard.evicted, 1);
    // Nothing idle left but the newcomer's own keep-alive: it goes for the next one.
    const next = await open(port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    socks.push(next.sock);
    await sleep(200);
    assert.ok(idle2.closed());
    assert.match(next.data(), /^HTTP\/1.1 200/);
  });

  it('refuses a newcomer when every connection is busy', async () => {
    const guard = new ConnectionGuard({ maxConnections: 2, maxPerIP: 2 });
    const { server, port } = await serve(guard);
    servers.push(server);
    for (let i = 0; i < 2; i++) socks.push((await open(port, 'GET /hold HTTP/1.1\r\nHost: x\r\n\r\n')).sock);
    await sleep(100);
    const late = await open(port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    socks.push(late.sock);
    await sleep(200);
    assert.ok(late.closed());
    assert.equal(guard.refused, 1);
  });

  it('derives its defaults from the descriptor limit', () => {
    assert.deepEqual(defaultConnectionLimits(200), { maxConnections: 128, maxPerIP: 64 });
    assert.deepEqual(defaultConnectionLimits(1_048_576), { maxConnections: 4096, maxPerIP: 2048 });
    assert.deepEqual(defaultConnectionLimits(undefined), { maxConnections: 4096, maxPerIP: 2048 });
  });
});
