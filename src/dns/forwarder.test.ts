// The forwarder against a fake upstream on 127.0.0.1: de-duplication, random ids and ports,
// exact reply matching, the bounded cache, TTL aging, timeouts, failover and the TCP retry.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import dnsPacket from 'dns-packet';
import { questionOf, T } from './codec.ts';
import { ForwardError, Forwarder, parseResolvConf } from './forwarder.ts';
import { type FakeUpstream, startFakeUpstream } from './testdata/fake-upstream.ts';

const records = Array.from({ length: 300 }, (_, i) => ({
  name: `h${i}.example.org`,
  type: 'A' as const,
  ttl: 60,
  data: `192.0.2.${i % 250}`,
}));

function answers(wire: Buffer): string[] {
  return (dnsPacket.decode(wire).answers ?? []).map(
    (a) => `${a.name} ${'ttl' in a ? a.ttl : ''} ${a.type} ${'data' in a ? String(a.data) : ''}`,
  );
}

describe('forwarder', () => {
  const ups: FakeUpstream[] = [];
  const fwds: Forwarder[] = [];
  const start = async (opts: Parameters<typeof startFakeUpstream>[0]) => {
    const u = await startFakeUpstream(opts);
    ups.push(u);
    return u;
  };
  const forwarder = (opts: ConstructorParameters<typeof Forwarder>[0]) => {
    const f = new Forwarder(opts);
    fwds.push(f);
    return f;
  };
  after(async () => {
    for (const f of fwds) f.close();
    for (const u of ups) await u.close();
  });

  it('de-duplicates identical questions in flight', async () => {
    const u = await start({ records, delayMs: 80 });
    const f = forwarder({ upstreams: [{ host: '127.0.0.1', port: u.port }] });
    const replies = await Promise.all(Array.from({ length: 25 }, () => f.query(questionOf('h1.example.org', T.A))));
    assert.equal(u.seen.length, 1);
    for (const r of replies) assert.deepEqual(answers(r.wire), ['h1.example.org 60 A 192.0.2.1']);
    // Different types are different questions.
    await Promise.all([f.query(questionOf('h2.example.org', T.A)), f.query(questionOf('h2.example.org', T.AAAA))]);
    assert.equal(u.seen.length, 3);
  });

  it('bounds upstream queries in flight per client and globally before sending them', async () => {
    const u = await start({ records, delayMs: 150 });
    const f = forwarder({
      upstreams: [{ host: '127.0.0.1', port: u.port }],
      cacheSize: 0,
      maxInflight: 60,
      maxInflightPerClient: 40,
    });
    const ask = (i: number, client: string) =>
      f.query(questionOf(`h${i}.example.org`, T.A), client).then(
        () => 'ok',
        (e: unknown) => (e instanceof ForwardError ? e.code : 'other'),
      );
    // One client asks for 100 distinct names at once: 40 go upstream, 60 are refused unsent.
    const greedy = Array.from({ length: 100 }, (_, i) => ask(i, '192.0.2.7'));
    // Joining a question already in flight costs nothing, whoever asks.
    const joined = ask(0, '192.0.2.7');
    // Others still get through, up to the global bound (60 - 40 = 20 of these 30).
    const others = Array.from({ length: 30 }, (_, i) => ask(200 + i, `192.0.2.${100 + i}`));
    const [g, j, o] = [await Promise.all(greedy), await joined, await Promise.all(others)];
    assert.equal(g.filter((x) => x === 'ok').length, 40);
    assert.equal(g.filter((x) => x === 'busy').length, 60);
    assert.equal(j, 'ok');
    assert.equal(o.filter((x) => x === 'ok').length, 20);
    assert.equal(u.seen.length, 60, 'refused queries must never reach the upstream');
    // Answered queries give their slots back.
    assert.equal(await ask(150, '192.0.2.7'), 'ok');
  });

  it('uses unpredictable query ids and a fresh source port per query', async () => {
    const u = await start({ records });
    const f = forwarder({ upstreams: [{ host: '127.0.0.1', port: u.port }], cacheSize: 0 });
    await Promise.all(records.slice(0, 200).map((r) => f.query(questionOf(r.name, T.A))));
    const ids = u.seen.map((s) => s.id);
    assert.equal(ids.length, 200);
    assert.ok(new Set(ids).size >= 195, `ids collide too often: ${new Set(ids).size}/200`);
    const steps = new Set(ids.slice(1).map((id, i) => (id - (ids[i] ?? 0) + 0x10000) & 0xffff));
    assert.ok(steps.size > 150, 'ids look sequential');
    assert.ok(new Set(u.seen.map((s) => s.port)).size >= 150, 'source ports are reused');
  });

  it('ignores replies with the wrong id, name or type', async () => {
    const u = await start({ records, spoofFirst: true });
    const f = forwarder({ upstreams: [{ host: '127.0.0.1', port: u.port }] });
    const r = await f.query(questionOf('H7.Example.Org', T.A));
    assert.deepEqual(answers(r.wire), ['h7.example.org 60 A 192.0.2.7']);
  });

  it('keeps the cache bounded, ages TTLs and expires entries', async () => {
    const u = await start({ records });
    let now = 1_000_000;
    const f = forwarder({
      upstreams: [{ host: '127.0.0.1', port: u.port }],
      cacheSize: 10,
      maxTtl: 30,
      now: () => now,
    });
    for (let i = 0; i < 30; i++) await f.query(questionOf(`h${i}.example.org`, T.A));
    assert.equal(f.cacheEntries, 10);
    assert.equal(u.seen.length, 30);
    const hit = await f.query(questionOf('h29.example.org', T.A));
    assert.ok(hit.cached);
    assert.equal(u.seen.length, 30);
    await f.query(questionOf('h0.example.org', T.A)); // evicted long ago
    assert.equal(u.seen.length, 31);
    now += 12_000;
    const aged = await f.query(questionOf('h29.example.org', T.A));
    // Upstream TTL 60 capped to maxTtl 30 for the entry's life; the records show their age.
    assert.deepEqual(answers(aged.wire), ['h29.example.org 48 A 192.0.2.29']);
    now += 20_000;
    const fresh = await f.query(questionOf('h29.example.org', T.A));
    assert.ok(!fresh.cached);
    assert.equal(u.seen.length, 32);
    // Denials are cached too, within maxNegativeTtl.
    await f.query(questionOf('nope.example.org', T.A));
    const neg = await f.query(questionOf('nope.example.org', T.A));
    assert.ok(neg.cached);
    assert.equal(neg.rcode, 3);
  });

  it('times out on a silent upstream and fails over to the next', async () => {
    const silent = await start({ records, silent: true });
    const good = await start({ records });
    const lone = forwarder({ upstreams: [{ host: '127.0.0.1', port: silent.port }], timeoutMs: 100 });
    await assert.rejects(
      lone.query(questionOf('h3.example.org', T.A)),
      (e: unknown) => e instanceof ForwardError && e.code === 'timeout',
    );
    assert.equal(lone.inflightCount, 0);
    const f = forwarder({
      upstreams: [
        { host: '127.0.0.1', port: silent.port },
        { host: '127.0.0.1', port: good.port },
      ],
      // Long enough for a loaded CI machine to get the good upstream's reply in one attempt.
      timeoutMs: 400,
    });
    const r = await f.query(questionOf('h3.example.org', T.A));
    assert.deepEqual(answers(r.wire), ['h3.example.org 60 A 192.0.2.3']);
  });

  it('retries over TCP when the UDP reply is truncated', async () => {
    const u = await start({ records, truncateUdp: true });
    const f = forwarder({ upstreams: [{ host: '127.0.0.1', port: u.port }] });
    const r = await f.query(questionOf('h4.example.org', T.A));
    assert.deepEqual(answers(r.wire), ['h4.example.org 60 A 192.0.2.4']);
    assert.deepEqual(
      u.seen.map((s) => s.proto),
      ['udp', 'tcp'],
    );
  });

  it('reads nameservers from resolv.conf text', () => {
    assert.deepEqual(
      parseResolvConf(
        'search x\nnameserver 10.0.0.10\n# nameserver 1.1.1.1\nnameserver fe80::1%eth0\nnameserver bogus\n',
      ),
      [
        { host: '10.0.0.10', port: 53 },
        { host: 'fe80::1', port: 53 },
      ],
    );
  });
});
