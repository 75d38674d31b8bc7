// Child of udp-native-eagain.test.ts, run inside a network namespace whose loopback is shaped by
// tbf: replies wait in the qdisc still charged to the server socket's small send buffer, so
// sendmmsg meets EAGAIN. Sends `count` queries in one burst to a native DnsServer whose replies are
// 1000 bytes, waits until nothing moves, and prints one JSON line of what happened.
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { DnsMetrics } from './metrics.ts';
import { type DnsHandlerLike, DnsServer } from './server.ts';

const count = Number(process.argv[2] ?? 200);

const big: DnsHandlerLike = {
  handle(msg) {
    const out = Buffer.alloc(1000);
    msg.copy(out, 0, 0, 2);
    out[2] = 0x80;
    return out;
  },
};

function rcvbufErrors(): number {
  // Per namespace: this child's client and server are the only UDP sockets here.
  const lines = readFileSync('/proc/net/snmp', 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('Udp:'));
  const names = lines[0]?.split(/\s+/) ?? [];
  const values = lines[1]?.split(/\s+/) ?? [];
  return Number(values[names.indexOf('RcvbufErrors')] ?? Number.NaN);
}

const metrics = new DnsMetrics();
const server = new DnsServer({
  listen: [{ host: '127.0.0.1', port: 0 }],
  handler: big,
  metrics,
  udpIo: 'native',
  socketBufferBytes: 16 << 10,
});
const port = (await server.start())[0]?.port ?? 0;
const sock = createSocket({ type: 'udp4', recvBufferSize: 4 << 20 });
await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
const ids = new Set<number>();
let bad = 0;
sock.on('message', (m) => {
  if (m.length !== 1000) bad++;
  ids.add(m.readUInt16BE(0));
});
const q = Buffer.alloc(30);
for (let i = 0; i < count; i++) {
  q.writeUInt16BE(i, 0);
  sock.send(Buffer.from(q), port, '127.0.0.1');
}
// Done when the number of replies has not moved for 1.5 s (or after 30 s).
let last = -1;
let still = 0;
const start = Date.now();
while (still < 15 && Date.now() - start < 30_000) {
  await new Promise((r) => setTimeout(r, 100));
  still = ids.size === last ? still + 1 : 0;
  last = ids.size;
}
console.log(
  JSON.stringify({
    sent: count,
    received: ids.size,
    bad,
    native: server.udpNativeStats(),
    queueFullMetric: metrics.dropped.get(['udp-send-queue-full']),
    socketErrorMetric: metrics.dropped.get(['udp-socket-error']),
    rcvbufErrors: rcvbufErrors(),
  }),
);
sock.close();
await server.stop();
