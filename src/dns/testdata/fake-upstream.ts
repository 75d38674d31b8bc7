// A tiny upstream DNS server for tests, on 127.0.0.1 (UDP and TCP, ephemeral port): answers from
// a table of zone-style records, records every query it saw, and can misbehave on purpose
// (delay, reply from the wrong id/name first, truncate).
import { createSocket, type RemoteInfo } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import dnsPacket from 'dns-packet';

export interface FakeRecord {
  name: string;
  type: 'A' | 'AAAA' | 'CNAME' | 'TXT';
  ttl: number;
  data: string;
}

export interface FakeUpstreamOptions {
  records: FakeRecord[];
  delayMs?: number;
  /** Before the real reply, send replies that must be ignored (wrong id, wrong name, wrong type). */
  spoofFirst?: boolean;
  /** Answer over UDP with TC set and no records (forces the TCP retry). */
  truncateUdp?: boolean;
  /** Never answer. */
  silent?: boolean;
}

export interface SeenQuery {
  id: number;
  name: string;
  type: string;
  proto: 'udp' | 'tcp';
  port: number;
}

export interface FakeUpstream {
  port: number;
  seen: SeenQuery[];
  opts: FakeUpstreamOptions;
  close(): Promise<void>;
}

function reply(q: dnsPacket.DecodedPacket, opts: FakeUpstreamOptions, truncated: boolean): Buffer {
  const question = q.questions?.[0];
  const name = question?.name.toLowerCase() ?? '';
  const answers: dnsPacket.Answer[] = [];
  if (!truncated) {
    let target = name;
    for (let hop = 0; hop < 4; hop++) {
      const cname = opts.records.find((r) => r.name === target && r.type === 'CNAME');
      if (cname && question?.type !== 'CNAME') {
        answers.push({ name: target, type: 'CNAME', ttl: cname.ttl, data: cname.data });
        target = cname.data;
        continue;
      }
      for (const r of opts.records.filter((r) => r.name === target && r.type === question?.type)) {
        answers.push({ name: r.name, type: r.type, ttl: r.ttl, data: r.data } as dnsPacket.Answer);
      }
      break;
    }
  }
  const exists = opts.records.some((r) => r.name === name);
  return dnsPacket.encode({
    id: q.id ?? 0,
    type: 'response',
    // dns-packet takes the rcode from the low flag bits on encode (its `rcode` field is decode-only).
    flags:
      dnsPacket.RECURSION_DESIRED |
      dnsPacket.RECURSION_AVAILABLE |
      (truncated ? dnsPacket.TRUNCATED_RESPONSE : 0) |
      (exists || truncated ? 0 : 3),
    questions: q.questions ?? [],
    answers,
    authorities:
      answers.length === 0 && !truncated
        ? [{ name: 'example.', type: 'SOA', ttl: 60, data: { mname: 'ns.example.', rname: 'h.example.', serial: 1, refresh: 1, retry: 1, expire: 1, minimum: 30 } }]
        : [],
  } as dnsPacket.Packet);
}

export async function startFakeUpstream(opts: FakeUpstreamOptions): Promise<FakeUpstream> {
  const seen: SeenQuery[] = [];
  let udp = createSocket('udp4');
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', () => r()));
  let port = udp.address().port;
  const answerUdp = (msg: Buffer, rinfo: RemoteInfo) => {
    let q: dnsPacket.DecodedPacket;
    try {
      q = dnsPacket.decode(msg);
    } catch {
      return;
    }
    const question = q.questions?.[0];
    seen.push({ id: q.id ?? 0, name: question?.name ?? '', type: question?.type ?? '', proto: 'udp', port: rinfo.port });
    if (opts.silent) return;
    const send = () => {
      if (opts.spoofFirst) {
        const wrongId = Buffer.from(reply(q, opts, false));
        wrongId.writeUInt16BE(((q.id ?? 0) + 1) & 0xffff, 0);
        udp.send(wrongId, rinfo.port, rinfo.address);
        const wrongName = dnsPacket.encode({
          id: q.id ?? 0,
          type: 'response',
          questions: [{ name: 'evil.example', type: 'A' }],
          answers: [{ name: question?.name ?? '', type: 'A', ttl: 999, data: '6.6.6.6' }],
        });
        udp.send(wrongName, rinfo.port, rinfo.address);
        const wrongType = dnsPacket.encode({
          id: q.id ?? 0,
          type: 'response',
          questions: [{ name: question?.name ?? '', type: 'MX' }],
          answers: [{ name: question?.name ?? '', type: 'A', ttl: 999, data: '6.6.6.6' }],
        });
        udp.send(wrongType, rinfo.port, rinfo.address);
      }
      udp.send(reply(q, opts, opts.truncateUdp === true), rinfo.port, rinfo.address);
    };
    if (opts.delayMs) setTimeout(send, opts.delayMs);
    else send();
  };
  udp.on('message', answerUdp);
  const tcp: Server = createServer((s) => {
    let buf = Buffer.alloc(0);
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + msg.length);
        const q = dnsPacket.decode(msg);
        const question = q.questions?.[0];
        seen.push({ id: q.id ?? 0, name: question?.name ?? '', type: question?.type ?? '', proto: 'tcp', port: s.remotePort ?? 0 });
        const out = reply(q, opts, false);
        const framed = Buffer.alloc(out.length + 2);
        framed.writeUInt16BE(out.length, 0);
        out.copy(framed, 2);
        s.write(framed);
      }
    });
    s.on('error', () => {});
  });
  // DNS wants UDP and TCP on one port number: take a free UDP port and try TCP on it; another
  // process may hold that TCP port (EADDRINUSE), then start over with a new pair.
  for (let attempt = 0; ; attempt++) {
    const bound = await new Promise<boolean>((r) => {
      tcp.once('error', () => r(false));
      tcp.listen(port, '127.0.0.1', () => r(true));
    });
    if (bound) break;
    if (attempt >= 20) throw new Error('fake upstream: no port free for both UDP and TCP');
    udp.close();
    udp = createSocket('udp4');
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', () => r()));
    port = udp.address().port;
    udp.on('message', answerUdp);
  }
  return {
    port,
    seen,
    opts,
    close: () =>
      new Promise<void>((r) => {
        udp.close();
        tcp.close(() => r());
      }),
  };
}
