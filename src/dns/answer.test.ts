// Table tests: the records of every form in the Kubernetes DNS schema (§6), written as zone-file
// text the way CoreDNS's tests and dig print them, plus the negative answers.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type AnswerConfig, type Resolution, resolve } from './answer.ts';
import { rcodeNames, rrText, T } from './codec.ts';
import { nameKey } from './names.ts';
import { DnsIndex } from './records.ts';
import { pod, slice, svc } from './testdata/objects.ts';

function cluster(): DnsIndex {
  const ix = new DnsIndex({ zone: 'cluster.local' });
  ix.onService(
    undefined,
    svc('default', 'kubernetes', {
      clusterIP: '10.96.0.1',
      clusterIPs: ['10.96.0.1'],
      ports: [{ name: 'https', port: 443, protocol: 'TCP' }],
    }),
  );
  ix.onService(undefined, svc('prod', 'mi-redis', { type: 'ExternalName', externalName: 'redis.externo.com' }));
  ix.onService(
    undefined,
    svc('default', 'alias', { type: 'ExternalName', externalName: 'Kubernetes.default.svc.cluster.local.' }),
  );
  ix.onService(
    undefined,
    svc('default', 'dual', {
      clusterIPs: ['10.96.0.20', 'fd00:10:96::20'],
      ports: [{ name: 'dns', port: 53, protocol: 'UDP' }, { port: 54 }],
    }),
  );
  ix.onService(undefined, svc('default', 'headless', { clusterIP: 'None', ports: [{ name: 'http', port: 80 }] }));
  ix.onEndpointSlice(
    undefined,
    slice('default', 'headless', 'headless-abc', [
      { ip: '10.3.0.100', hostname: 'my-pet' },
      { ip: '10.3.0.2' },
      { ip: '10.3.0.3', ready: false },
    ]),
  );
  ix.onService(undefined, svc('default', 'headless6', { clusterIP: 'None', ports: [{ port: 80 }] }));
  ix.onEndpointSlice(undefined, slice('default', 'headless6', 'headless6-x', [{ ip: 'fd00::5' }]));
  ix.onService(undefined, svc('default', 'empty-headless', { clusterIP: 'None', ports: [{ name: 'http', port: 80 }] }));
  ix.onService(undefined, svc('default', 'pna', { clusterIP: 'None', publishNotReadyAddresses: true }));
  ix.onEndpointSlice(undefined, slice('default', 'pna', 'pna-x', [{ ip: '10.3.1.1', ready: false }]));
  ix.onService(
    undefined,
    svc(
      'default',
      'legacy',
      { clusterIP: 'None' },
      { annotations: { 'service.alpha.kubernetes.io/tolerate-unready-endpoints': 'true' } },
    ),
  );
  ix.onEndpointSlice(undefined, slice('default', 'legacy', 'legacy-x', [{ ip: '10.3.2.1', ready: false }]));
  ix.onPod(undefined, pod('default', 'p1', ['10.244.0.5', 'fd00:244::5']));
  ix.serial = 1;
  return ix;
}

const cfg: AnswerConfig = { podMode: 'insecure', negativeTtl: 5 };
const SOA = 'cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 1 7200 1800 86400 5';

function render(r: Resolution): string {
  if (r.kind === 'forward') return 'FORWARD';
  if (r.kind === 'chase') return ['CHASE ' + r.target, ...r.prefix.map(rrText)].join('\n');
  const lines = [`;; ${rcodeNames[r.rcode]}${r.aa ? ' aa' : ''}`, ...r.answers.map(rrText)];
  if (r.authority.length) lines.push(';; AUTHORITY', ...r.authority.map(rrText));
  if (r.additional.length) lines.push(';; ADDITIONAL', ...r.additional.map(rrText));
  return lines.join('\n');
}

const norm = (s: string) =>
  s
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s+/).join(' '))
    .filter((l) => l !== '')
    .join('\n');

function ask(ix: DnsIndex, q: string, c: AnswerConfig = cfg): string {
  const [name, type] = q.split(' ') as [string, keyof typeof T];
  return norm(render(resolve(ix, c, nameKey(name), T[type])));
}

// [question, expected zone text]
const table: [string, string][] = [
  ['kubernetes.default.svc.cluster.local. A', ';; NOERROR aa\nkubernetes.default.svc.cluster.local. 5 IN A 10.96.0.1'],
  ['KUBERNETES.Default.SVC.cluster.local A', ';; NOERROR aa\nkubernetes.default.svc.cluster.local. 5 IN A 10.96.0.1'],
  // NODATA: the name exists with other types.
  ['kubernetes.default.svc.cluster.local AAAA', `;; NOERROR aa\n;; AUTHORITY\n${SOA}`],
  ['kubernetes.default.svc.cluster.local TXT', `;; NOERROR aa\n;; AUTHORITY\n${SOA}`],
  // NXDOMAIN: missing service, missing namespace.
  ['nope.default.svc.cluster.local A', `;; NXDOMAIN aa\n;; AUTHORITY\n${SOA}`],
  ['kubernetes.nons.svc.cluster.local A', `;; NXDOMAIN aa\n;; AUTHORITY\n${SOA}`],
  ['nons.svc.cluster.local A', `;; NXDOMAIN aa\n;; AUTHORITY\n${SOA}`],
  ['x.kubernetes.default.svc.cluster.local A', `;; NXDOMAIN aa\n;; AUTHORITY\n${SOA}`],
  ['nothing.cluster.local A', `;; NXDOMAIN aa\n;; AUTHORITY\n${SOA}`],
  // Empty non-terminals exist (RFC 8020): NODATA.
  ['default.svc.cluster.local A', `;; NOERROR aa\n;; AUTHORITY\n${SOA}`],
  ['svc.cluster.local A', `;; NOERROR aa\n;; AUTHORITY\n${SOA}`],
  ['_tcp.kubernetes.default.svc.cluster.local SRV', `;; NOERROR aa\n;; AUTHORITY\n${SOA}`],
  // SRV for a ClusterIP service: one target, the service name; glue in additional.
  [
    '_https._tcp.kubernetes.default.svc.cluster.local SRV',
    `;; NOERROR aa
     _https._tcp.kubernetes.default.svc.cluster.local. 5 IN SRV 0 100 443 kubernetes.default.svc.cluster.local.
     ;; ADDITIONAL
     kubernetes.default.svc.cluster.local. 5 IN A 10.96.0.1`,
  ],
  ['_https._tcp.kubernetes.default.svc.cluster.local A', `;; NOERROR aa\n;; AUTHORITY\n${SOA}`],
  ['_http._tcp.kubernetes.default.svc.cluster.local SRV', `;; NXDOMAIN aa\n;; AUTHORITY\n${SOA}`],
  // PTR for a ClusterIP.
  [
    '1.0.96.10.in-addr.arpa PTR',
    ';; NOERROR aa\n1.0.96.10.in-addr.arpa. 5 IN PTR kubernetes.default.svc.cluster.local.',
  ],
  // Dual-stack: A and AAAA, PTR under ip6.arpa with all 32 nibbles, SRV for the named port only.
  ['dual.default.svc.cluster.local A', ';; NOERROR aa\ndual.default.svc.cluster.local. 5 IN A 10.96.0.20'],
  ['dual.default.svc.cluster.local AAAA', ';; NOERROR aa\ndual.default.svc.cluster.local. 5 IN AAAA fd00:10:96::20'],
  [
    '0.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.9.0.0.0.1.0.0.0.0.d.f.ip6.arpa PTR',
    ';; NOERROR aa\n0.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.9.0.0.0.1.0.0.0.0.d.f.ip6.arpa. 5 IN PTR dual.default.svc.cluster.local.',
  ],
  [
    '_dns._udp.dual.default.svc.cluster.local SRV',
    `;; NOERROR aa
     _dns._udp.dual.default.svc.cluster.local. 5 IN SRV 0 100 53 dual.default.svc.cluster.local.
     ;; ADDITIONAL
     dual.default.svc.cluster.local. 5 IN A 10.96.0.20
     dual.default.svc.cluster.local. 5 IN AAAA fd00:10:96::20`,
  ],
  ['_dns._tcp.dual.default.svc.cluster.local SRV', `;; NXDOMAIN aa\n;; AUTHORITY\n${SOA}`],
  // Headless: ready endpoints only; hostnames or dashed IPs; N×M SRV; PTR to the hostname.
  [
    'headless.default.svc.cluster.local A',
    `;; NOERROR aa
     headless.default.svc.cluster.local. 5 IN A 10.3.0.100
     headless.default.svc.cluster.local. 5 IN A 10.3.0.2`,
  ],
  [
    'my-pet.headless.default.svc.cluster.local A',
    ';; NOERROR aa\nmy-pet.headless.default.svc.cluster.local. 5 IN A 10.3.0.100',
  ],
  [
    '10-3-0-2.headless.default.svc.cluster.local A',
    ';; NOERROR aa\n10-3-0-2.headless.default.svc.cluster.local. 5 IN A 10.3.0.2',
  ],
  ['10-3-0-3.headless.default.svc.cluster.local A', `;; NXDOMAIN aa\n;; AUTHORITY\n${SOA}`],
  [
    '_http._tcp.headless.default.svc.cluster.local SRV',
    `;; NOERROR aa
     _http._tcp.headless.default.svc.cluster.local. 5 IN SRV 0 50 80 10-3-0-2.headless.default.svc.cluster.local.
     _http._tcp.headless.default.svc.cluster.local. 5 IN SRV 0 50 80 my-pet.headless.default.svc.cluster.local.
     ;; ADDITIONAL
     10-3-0-2.headless.default.svc.cluster.local. 5 IN A 10.3.0.2
     my-pet.headless.default.svc.cluster.local. 5 IN A 10.3.0.100`,
  ],
  [
    '100.0.3.10.in-addr.arpa PTR',
    ';; NOERROR aa\n100.0.3.10.in-addr.arpa. 5 IN PTR my-pet.headless.default.svc.cluster.local.',
  ],
  ['3.0.3.10.in-addr.arpa PTR', 'FORWARD'],
  ['headless6.default.svc.cluster.local AAAA', ';; NOERROR aa\nheadless6.default.svc.cluster.local. 5 IN AAAA fd00::5'],
  [
    'fd00--5.headless6.default.svc.cluster.local AAAA',
    ';; NOERROR aa\nfd00--5.headless6.default.svc.cluster.local. 5 IN AAAA fd00::5',
  ],
  ['empty-headless.default.svc.cluster.local A', `;; NXDOMAIN aa\n;; AUTHORITY\n${SOA}`],
  ['pna.default.svc.cluster.local A', ';; NOERROR aa\npna.default.svc.cluster.local. 5 IN A 10.3.1.1'],
  ['legacy.default.svc.cluster.local A', ';; NOERROR aa\nlegacy.default.svc.cluster.local. 5 IN A 10.3.2.1'],
  // ExternalName: CNAME; chased in-zone, handed to the forwarder out of zone.
  [
    'mi-redis.prod.svc.cluster.local A',
    'CHASE redis.externo.com\nmi-redis.prod.svc.cluster.local. 5 IN CNAME redis.externo.com.',
  ],
  [
    'mi-redis.prod.svc.cluster.local CNAME',
    ';; NOERROR aa\nmi-redis.prod.svc.cluster.local. 5 IN CNAME redis.externo.com.',
  ],
  [
    'alias.default.svc.cluster.local A',
    `;; NOERROR aa
     alias.default.svc.cluster.local. 5 IN CNAME Kubernetes.default.svc.cluster.local.
     kubernetes.default.svc.cluster.local. 5 IN A 10.96.0.1`,
  ],
  [
    'alias.default.svc.cluster.local AAAA',
    `;; NOERROR aa
     alias.default.svc.cluster.local. 5 IN CNAME Kubernetes.default.svc.cluster.local.
     ;; AUTHORITY
     ${SOA}`,
  ],
  // Schema version, apex.
  ['dns-version.cluster.local TXT', ';; NOERROR aa\ndns-version.cluster.local. 5 IN TXT "1.1.0"'],
  ['dns-version.cluster.local A', `;; NOERROR aa\n;; AUTHORITY\n${SOA}`],
  ['cluster.local SOA', `;; NOERROR aa\n${SOA}`],
  ['cluster.local NS', ';; NOERROR aa\ncluster.local. 5 IN NS ns.dns.cluster.local.'],
  ['cluster.local A', `;; NOERROR aa\n;; AUTHORITY\n${SOA}`],
  // Pod records (insecure: any IP-shaped label).
  ['10-244-0-5.default.pod.cluster.local A', ';; NOERROR aa\n10-244-0-5.default.pod.cluster.local. 5 IN A 10.244.0.5'],
  ['10-244-9-9.other.pod.cluster.local A', ';; NOERROR aa\n10-244-9-9.other.pod.cluster.local. 5 IN A 10.244.9.9'],
  ['10-244-0-5.default.pod.cluster.local AAAA', `;; NOERROR aa\n;; AUTHORITY\n${SOA}`],
  [
    'fd00-244--5.default.pod.cluster.local AAAA',
    ';; NOERROR aa\nfd00-244--5.default.pod.cluster.local. 5 IN AAAA fd00:244::5',
  ],
  ['not-an-ip.default.pod.cluster.local A', `;; NXDOMAIN aa\n;; AUTHORITY\n${SOA}`],
  ['default.pod.cluster.local A', `;; NOERROR aa\n;; AUTHORITY\n${SOA}`],
  // Outside the zone.
  ['www.example.com A', 'FORWARD'],
  ['9.9.9.9.in-addr.arpa PTR', 'FORWARD'],
];

describe('dns answers (zone-file tables)', () => {
  const ix = cluster();
  for (const [q, want] of table) {
    it(q, () => assert.equal(ask(ix, q), norm(want)));
  }

  it('pod modes: verified needs a pod with that IP in that namespace; disabled has none', () => {
    const verified: AnswerConfig = { ...cfg, podMode: 'verified' };
    assert.equal(
      ask(ix, '10-244-0-5.default.pod.cluster.local A', verified),
      norm(';; NOERROR aa\n10-244-0-5.default.pod.cluster.local. 5 IN A 10.244.0.5'),
    );
    assert.equal(
      ask(ix, 'fd00-244--5.default.pod.cluster.local AAAA', verified),
      norm(';; NOERROR aa\nfd00-244--5.default.pod.cluster.local. 5 IN AAAA fd00:244::5'),
    );
    assert.equal(
      ask(ix, '10-244-0-5.other.pod.cluster.local A', verified),
      norm(`;; NXDOMAIN aa\n;; AUTHORITY\n${SOA}`),
    );
    assert.equal(
      ask(ix, '10-244-9-9.default.pod.cluster.local A', verified),
      norm(`;; NXDOMAIN aa\n;; AUTHORITY\n${SOA}`),
    );
    assert.equal(ask(ix, 'other.pod.cluster.local A', verified), norm(`;; NXDOMAIN aa\n;; AUTHORITY\n${SOA}`));
    const disabled: AnswerConfig = { ...cfg, podMode: 'disabled' };
    assert.equal(
      ask(ix, '10-244-0-5.default.pod.cluster.local A', disabled),
      norm(`;; NXDOMAIN aa\n;; AUTHORITY\n${SOA}`),
    );
  });

  it('answers follow events at once: delete, re-create, endpoints going unready', () => {
    const ix2 = cluster();
    const k = svc('default', 'kubernetes', { clusterIP: '10.96.0.1', clusterIPs: ['10.96.0.1'] });
    ix2.onService(k, undefined);
    ix2.serial = 1;
    assert.equal(ask(ix2, 'kubernetes.default.svc.cluster.local A'), norm(`;; NXDOMAIN aa\n;; AUTHORITY\n${SOA}`));
    assert.equal(ask(ix2, '1.0.96.10.in-addr.arpa PTR'), 'FORWARD');
    ix2.onService(undefined, svc('default', 'kubernetes', { clusterIP: '10.96.0.7' }));
    assert.equal(
      ask(ix2, 'kubernetes.default.svc.cluster.local A'),
      norm(';; NOERROR aa\nkubernetes.default.svc.cluster.local. 5 IN A 10.96.0.7'),
    );
    // All endpoints go unready: the headless name vanishes (NXDOMAIN), and so do its children.
    const s = slice('default', 'headless', 'headless-abc', [{ ip: '10.3.0.100', hostname: 'my-pet', ready: false }]);
    ix2.onEndpointSlice(undefined, s);
    ix2.serial = 1;
    assert.equal(ask(ix2, 'headless.default.svc.cluster.local A'), norm(`;; NXDOMAIN aa\n;; AUTHORITY\n${SOA}`));
    assert.equal(ask(ix2, '_tcp.headless.default.svc.cluster.local A'), norm(`;; NXDOMAIN aa\n;; AUTHORITY\n${SOA}`));
    // A slice relabelled to another service moves its records.
    ix2.onService(undefined, svc('default', 'other', { clusterIP: 'None' }));
    const moved = slice('default', 'other', 'headless-abc', [{ ip: '10.3.0.9' }]);
    ix2.onEndpointSlice(s, moved);
    assert.match(ask(ix2, 'other.default.svc.cluster.local A'), /IN A 10\.3\.0\.9/);
    ix2.onEndpointSlice(moved, undefined);
    ix2.serial = 1;
    assert.equal(ask(ix2, 'other.default.svc.cluster.local A'), norm(`;; NXDOMAIN aa\n;; AUTHORITY\n${SOA}`));
  });

  it('deleting everything leaves no names behind', () => {
    const ix3 = new DnsIndex({ zone: 'cluster.local' });
    const a = svc('ns1', 'a', { clusterIP: '10.0.0.1', ports: [{ name: 'p', port: 1 }] });
    const h = svc('ns1', 'h', { clusterIP: 'None', ports: [{ name: 'p', port: 1 }] });
    const sl = slice('ns1', 'h', 'h-1', [{ ip: '10.1.0.1', hostname: 'x' }, { ip: 'fd00::1' }]);
    ix3.onService(undefined, a);
    ix3.onService(undefined, h);
    ix3.onEndpointSlice(undefined, sl);
    assert.ok(ix3.size.names > 5);
    const gen = ix3.generation;
    ix3.onEndpointSlice(sl, sl); // a no-op update does not bump the generation (keeps memo warm)
    assert.equal(ix3.generation, gen);
    ix3.onEndpointSlice(sl, undefined);
    ix3.onService(a, undefined);
    ix3.onService(h, undefined);
    assert.deepEqual(ix3.dump(), []);
    assert.equal(ix3.size.names, 0);
  });
});
