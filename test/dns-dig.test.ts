// Cluster DNS end to end: an in-process control plane, the DNS server fed by real informers, and
// the real `dig` (bind9-dnsutils) over UDP and TCP, IPv4 and IPv6 loopback. Objects are created
// through the Client like any controller would; answers must follow at once.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import type { KubeObject } from '../src/api/types.ts';
import { createInProcessCluster, type InProcessCluster } from '../src/client/cluster.ts';
import { type ClusterDns, startClusterDns } from '../src/dns/cluster-dns.ts';
import { type FakeUpstream, startFakeUpstream } from '../src/dns/testdata/fake-upstream.ts';

const run = promisify(execFile);

interface Dig {
  status: string;
  flags: string[];
  question: string;
  answer: string[];
  authority: string[];
  additional: string[];
  raw: string;
}

// dig runs as a child process: the server lives in this process, so never execFileSync.
async function dig(port: number, args: string[], host = '127.0.0.1'): Promise<Dig> {
  const { stdout } = await run('dig', [`@${host}`, '-p', String(port), '+time=2', '+tries=1', '+nocookie', ...args]);
  const section = (name: string) => {
    const m = new RegExp(`;; ${name} SECTION:\\n([\\s\\S]*?)(?:\\n\\n|$)`).exec(stdout);
    return (m?.[1] ?? '')
      .split('\n')
      .filter((l) => l && !l.startsWith(';'))
      .map((l) => l.split(/\s+/).join(' '));
  };
  const q = /;; QUESTION SECTION:\n;(\S+)/.exec(stdout);
  return {
    status: /status: (\w+)/.exec(stdout)?.[1] ?? '',
    flags: (/flags: ([a-z ]+);/.exec(stdout)?.[1] ?? '').trim().split(' '),
    question: q?.[1] ?? '',
    answer: section('ANSWER'),
    authority: section('AUTHORITY'),
    additional: section('ADDITIONAL').filter((l) => !l.includes('OPT')),
    raw: stdout,
  };
}

describe('svcnet dns with dig', () => {
  let cluster: InProcessCluster;
  let dns: ClusterDns;
  let upstream: FakeUpstream;
  let port: number;
  let port6: number;

  before(async () => {
    cluster = await createInProcessCluster();
    upstream = await startFakeUpstream({
      records: [
        { name: 'redis.externo.com', type: 'A', ttl: 300, data: '192.0.2.10' },
        { name: 'www.example.org', type: 'A', ttl: 60, data: '192.0.2.80' },
      ],
    });
    dns = await startClusterDns({
      client: cluster.client,
      listen: [
        { host: '127.0.0.1', port: 0 },
        { host: '::1', port: 0 },
      ],
      upstreams: [{ host: '127.0.0.1', port: upstream.port }],
      metricsListen: { host: '127.0.0.1', port: 0 },
    });
    port = dns.addresses[0]?.port ?? 0;
    port6 = dns.addresses[1]?.port ?? 0;
    // The seed example, applied as written.
    for (const doc of parseAllDocuments(readFileSync('examples/external-name.yaml', 'utf8'))) {
      const obj = doc.toJS() as KubeObject;
      await cluster.client.create(obj.kind === 'Namespace' ? 'namespaces' : 'services', obj);
    }
  });

  after(async () => {
    await dns?.close();
    await upstream?.close();
    await cluster?.close();
  });

  it('answers A for the kubernetes Service over UDP and TCP, v4 and v6', async () => {
    const k = await cluster.client.get<KubeObject & { spec: { clusterIP: string } }>(
      'services',
      'default',
      'kubernetes',
    );
    const ip = k.spec.clusterIP;
    for (const extra of [[], ['+tcp']]) {
      const r = await dig(port, [...extra, 'kubernetes.default.svc.cluster.local', 'A']);
      assert.equal(r.status, 'NOERROR');
      assert.ok(r.flags.includes('aa'), r.raw);
      assert.deepEqual(r.answer, [`kubernetes.default.svc.cluster.local. 5 IN A ${ip}`]);
    }
    const r6 = await dig(port6, ['kubernetes.default.svc.cluster.local', 'A'], '::1');
    assert.deepEqual(r6.answer, [`kubernetes.default.svc.cluster.local. 5 IN A ${ip}`]);
    const ptr = await dig(port, ['-x', ip]);
    assert.deepEqual(ptr.answer, [
      `${ip.split('.').reverse().join('.')}.in-addr.arpa. 5 IN PTR kubernetes.default.svc.cluster.local.`,
    ]);
  });

  it('the seed ExternalName answers CNAME redis.externo.com. plus the chased A', async () => {
    for (const extra of [[], ['+tcp']]) {
      const r = await dig(port, [...extra, 'mi-redis.prod.svc.cluster.local', 'A']);
      assert.equal(r.status, 'NOERROR');
      assert.equal(r.answer.length, 2, r.raw);
      assert.equal(r.answer[0], 'mi-redis.prod.svc.cluster.local. 5 IN CNAME redis.externo.com.');
      // TTL as the upstream gave it (aged by the cache on the second, TCP, round).
      assert.match(r.answer[1] ?? '', /^redis\.externo\.com\. (300|29\d|30) IN A 192\.0\.2\.10$/);
    }
    const c = await dig(port, ['mi-redis.prod.svc.cluster.local', 'CNAME']);
    assert.deepEqual(c.answer, ['mi-redis.prod.svc.cluster.local. 5 IN CNAME redis.externo.com.']);
  });

  it('forwards names outside the zone and echoes the question case', async () => {
    const r = await dig(port, ['WwW.ExAmPlE.oRg', 'A']);
    assert.equal(r.status, 'NOERROR');
    assert.equal(r.question, 'WwW.ExAmPlE.oRg.');
    assert.equal(r.answer.length, 1);
    assert.match(r.answer[0] ?? '', /IN A 192\.0\.2\.80$/);
    const k = await dig(port, ['KuBeRnEtEs.DEFAULT.svc.Cluster.Local', 'A']);
    assert.equal(k.question, 'KuBeRnEtEs.DEFAULT.svc.Cluster.Local.');
    assert.equal(k.answer.length, 1);
    const nx = await dig(port, ['nothing.example.org', 'A']);
    assert.equal(nx.status, 'NXDOMAIN');
  });

  it('NXDOMAIN vs NODATA, both with the SOA', async () => {
    const soa =
      /^cluster\.local\. 5 IN SOA ns\.dns\.cluster\.local\. hostmaster\.cluster\.local\. \d+ 7200 1800 86400 5$/;
    const nx = await dig(port, ['nope.default.svc.cluster.local', 'A']);
    assert.equal(nx.status, 'NXDOMAIN');
    assert.equal(nx.answer.length, 0);
    assert.match(nx.authority[0] ?? '', soa);
    const nodata = await dig(port, ['kubernetes.default.svc.cluster.local', 'AAAA']);
    assert.equal(nodata.status, 'NOERROR');
    assert.equal(nodata.answer.length, 0);
    assert.match(nodata.authority[0] ?? '', soa);
    const txt = await dig(port, ['dns-version.cluster.local', 'TXT']);
    assert.deepEqual(txt.answer, ['dns-version.cluster.local. 5 IN TXT "1.1.0"']);
  });

  it('a Service deleted and re-created answers at once (no negative-cache stall)', async () => {
    const name = 'again.default.svc.cluster.local';
    const svc = (): KubeObject => ({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'again', namespace: 'default' },
      spec: { ports: [{ port: 80 }] },
    });
    const waitFor = async (want: (d: Dig) => boolean): Promise<{ d: Dig; ms: number }> => {
      const t0 = performance.now();
      for (;;) {
        const d = await dig(port, [name, 'A']);
        if (want(d)) return { d, ms: performance.now() - t0 };
        if (performance.now() - t0 > 2000) assert.fail(`no change after 2 s: ${d.raw}`);
      }
    };
    const ipOf = (o: KubeObject) => (o.spec as { clusterIP: string }).clusterIP;
    const created = await cluster.client.create('services', svc());
    const first = await waitFor((d) => d.status === 'NOERROR');
    assert.deepEqual(first.d.answer, [`${name}. 5 IN A ${ipOf(created)}`]);
    await cluster.client.delete('services', 'default', 'again');
    const gone = await waitFor((d) => d.status === 'NXDOMAIN');
    const again = await cluster.client.create('services', svc());
    // The very next query after create() returned must already see it: the in-process watch
    // delivers before the next dig reaches the socket.
    const d = await dig(port, [name, 'A']);
    assert.equal(d.status, 'NOERROR', d.raw);
    assert.deepEqual(d.answer, [`${name}. 5 IN A ${ipOf(again)}`]);
    assert.ok(gone.ms < 1000);
  });

  it('headless: endpoint records from EndpointSlices; truncation over UDP, full over TCP', async () => {
    await cluster.client.create('services', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'big', namespace: 'default' },
      spec: { clusterIP: 'None', ports: [{ name: 'http', port: 80 }] },
    });
    const endpoints = Array.from({ length: 60 }, (_, i) => ({
      addresses: [`10.7.0.${i + 1}`],
      conditions: { ready: true },
    }));
    endpoints.push({ addresses: ['10.7.1.1'], conditions: { ready: false } });
    await cluster.client.create('endpointslices', {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'big-1', namespace: 'default', labels: { 'kubernetes.io/service-name': 'big' } },
      addressType: 'IPv4',
      endpoints,
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    });
    // 60 A records: 60 × 16 bytes compressed > 512 → TC without EDNS; fits in 1232 with EDNS.
    const noedns = await dig(port, ['+noedns', '+ignore', 'big.default.svc.cluster.local', 'A']);
    assert.ok(noedns.flags.includes('tc'), noedns.raw);
    assert.equal(noedns.answer.length, 0);
    const edns = await dig(port, ['+bufsize=1232', '+ignore', 'big.default.svc.cluster.local', 'A']);
    assert.ok(!edns.flags.includes('tc'), edns.raw);
    assert.equal(edns.answer.length, 60);
    // A small EDNS buffer is raised to 512, never below.
    const small = await dig(port, ['+bufsize=100', '+ignore', 'big.default.svc.cluster.local', 'A']);
    assert.ok(small.flags.includes('tc'));
    // dig without +ignore retries over TCP by itself.
    const retried = await dig(port, ['+noedns', 'big.default.svc.cluster.local', 'A']);
    assert.equal(retried.answer.length, 60);
    const tcp = await dig(port, ['+tcp', '_http._tcp.big.default.svc.cluster.local', 'SRV']);
    assert.equal(tcp.answer.length, 60);
    assert.match(tcp.answer[0] ?? '', /IN SRV 0 1 80 10-7-0-\d+\.big\.default\.svc\.cluster\.local\.$/);
    const one = await dig(port, ['10-7-0-7.big.default.svc.cluster.local', 'A']);
    assert.deepEqual(one.answer, ['10-7-0-7.big.default.svc.cluster.local. 5 IN A 10.7.0.7']);
    const unready = await dig(port, ['10-7-1-1.big.default.svc.cluster.local', 'A']);
    assert.equal(unready.status, 'NXDOMAIN');
  });

  it('exposes CoreDNS-named metrics over HTTP', async () => {
    const res = await fetch(`http://127.0.0.1:${dns.metricsPort}/metrics`);
    const text = await res.text();
    assert.match(
      text,
      /^coredns_dns_requests_total\{server="dns:\/\/",zone="cluster\.local\.",proto="udp",family="4",type="A"\} \d+$/m,
    );
    assert.match(
      text,
      /^coredns_dns_responses_total\{server="dns:\/\/",zone="cluster\.local\.",rcode="NXDOMAIN",plugin="kubernetes"\} \d+$/m,
    );
    assert.match(text, /^coredns_dns_request_duration_seconds_bucket\{.*le="\+Inf"\} \d+$/m);
    assert.match(text, /^coredns_cache_misses_total\{server="dns:\/\/"\} \d+$/m);
    assert.match(text, /^# TYPE coredns_dns_request_duration_seconds histogram$/m);
  });
});
