import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hostsFileHasPodIP, managedHostsFile } from './hosts.ts';

describe('managedHostsFile (kubelet)', () => {
  it('names the pod on its IP, after the localhost lines', () => {
    const text = managedHostsFile({ metadata: { name: 'web-1', namespace: 'shop' } }, ['10.244.0.7'], 'cluster.local');
    assert.equal(
      text,
      '# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' +
        'fe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n' +
        '10.244.0.7\tweb-1\n',
    );
    assert.ok(hostsFileHasPodIP(text, '10.244.0.7'));
    assert.ok(!hostsFileHasPodIP(text, '10.244.0.70'));
  });

  it('puts the FQDN first with hostname and subdomain, one line per pod IP, then host aliases', () => {
    const text = managedHostsFile(
      {
        metadata: { name: 'db-0', namespace: 'prod' },
        spec: {
          containers: [],
          hostname: 'db',
          subdomain: 'cluster',
          hostAliases: [{ ip: '10.1.2.3', hostnames: ['foo.local', 'bar.local'] }],
        },
      },
      ['10.244.1.5', 'fd00::5'],
      'cluster.local',
    );
    assert.match(text, /\n10\.244\.1\.5\tdb\.cluster\.prod\.svc\.cluster\.local\tdb\nfd00::5\tdb\.cluster\.prod/);
    assert.match(text, /\n\n# Entries added by HostAliases\.\n10\.1\.2\.3\tfoo\.local\tbar\.local\n$/);
    assert.ok(!hostsFileHasPodIP(text, '10.1.2.3'), 'an alias is not the pod');
  });

  it('cuts a long pod name to 63 characters without a trailing dash', () => {
    const name = `${'a'.repeat(62)}-bcd`;
    assert.match(managedHostsFile({ metadata: { name } }, ['10.0.0.1'], 'cluster.local'), /\n10\.0\.0\.1\ta{62}\n$/);
  });
});
