import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { describe, it } from 'node:test';
import { startEcho, udpReply } from './server.ts';

async function udpAsk(port: number, msg: string): Promise<string> {
  const s = createSocket('udp4');
  try {
    return await new Promise((resolve, reject) => {
      s.once('message', (m) => resolve(m.toString()));
      setTimeout(() => reject(new Error('no UDP answer')), 2000);
      s.send(msg, port, '127.0.0.1');
    });
  } finally {
    s.close();
  }
}

describe('svcnet/echo (agnhost netexec endpoints)', () => {
  it('answers HTTP /hostname, /clientip, /echo, /healthz, 404, and UDP hostname/echo/clientip', async () => {
    const exits: number[] = [];
    const e = await startEcho({
      httpPort: 0,
      udpPort: 0,
      bindAddress: '127.0.0.1',
      hostname: 'pod-a',
      onExit: (c) => exits.push(c),
    });
    try {
      const base = `http://127.0.0.1:${e.httpPort}`;
      assert.equal(await (await fetch(`${base}/hostname`)).text(), 'pod-a');
      assert.match(await (await fetch(`${base}/clientip`)).text(), /^127\.0\.0\.1:\d+$/);
      assert.equal(await (await fetch(`${base}/echo?msg=hello%20world`)).text(), 'hello world');
      assert.equal((await fetch(`${base}/healthz`)).status, 200);
      assert.equal((await fetch(`${base}/nope`)).status, 404);
      assert.equal(await (await fetch(`${base}/header?key=X-Probe`, { headers: { 'x-probe': 'v1' } })).text(), 'v1');
      await (await fetch(`${base}/exit?code=3`)).text();
      await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(exits, [3]);
      assert.equal(await udpAsk(e.udpPort, 'hostname'), 'pod-a');
      assert.equal(await udpAsk(e.udpPort, 'echo hi there'), 'hi there');
      assert.match(await udpAsk(e.udpPort, 'clientip\n'), /^127\.0\.0\.1:\d+$/);
    } finally {
      await e.close();
    }
  });

  it('UDP ignores unknown commands', () => {
    assert.equal(udpReply('bogus', 'p', '1.2.3.4:5'), undefined);
  });
});
