// kube-proxy's vocabulary for the agent: a KubeProxyConfiguration is read for the fields svcnet
// has, anything else is refused by name, and the agent command refuses bad input in one line.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { nodeEntryArgv } from '../kernel/entry.ts';
import { parseKubeProxyConfig } from './kube-proxy-config.ts';

const head = 'apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\n';

describe('KubeProxyConfiguration', () => {
  it('reads the fields svcnet has', () => {
    const c = parseKubeProxyConfig(
      `${head}mode: iptables\nclusterCIDR: 10.244.0.0/16,fd44::/56\nhostnameOverride: node-a\nnodePortAddresses: [10.0.0.0/24]\ndetectLocalMode: ClusterCIDR\niptables:\n  masqueradeAll: true\n  syncPeriod: 30s\n  minSyncPeriod: 1s\n`,
    );
    assert.deepEqual(c, {
      mode: 'iptables',
      clusterCIDRs: ['10.244.0.0/16', 'fd44::/56'],
      nodeName: 'node-a',
      nodePortAddresses: ['10.0.0.0/24'],
      masqueradeAll: true,
      syncPeriod: '30s',
      minSyncPeriod: '1s',
    });
    // The nftables section for --mode nftables; JSON is YAML too.
    const n = parseKubeProxyConfig(
      JSON.stringify({
        apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
        kind: 'KubeProxyConfiguration',
        mode: 'nftables',
        nftables: { masqueradeAll: true },
      }),
    );
    assert.equal(n.masqueradeAll, true);
  });

  it('reports every field it does not implement, by path', () => {
    assert.throws(
      () =>
        parseKubeProxyConfig(
          `${head}mode: iptables\nconntrack:\n  maxPerCore: 1\niptables:\n  masqueradeBit: 14\n  localhostNodePorts: false\nbindAddress: 0.0.0.0\n`,
        ),
      /fields svcnet does not implement: conntrack, iptables.masqueradeBit, iptables.localhostNodePorts, bindAddress$/,
    );
  });

  for (const [what, text, msg] of [
    ['another kind', 'apiVersion: v1\nkind: ConfigMap\n', /want kind KubeProxyConfiguration/],
    ['a bad CIDR', `${head}clusterCIDR: 10.244.0.0/33\n`, /clusterCIDR: "10.244.0.0\/33" is not a CIDR/],
    ['detectLocalMode NodeCIDR', `${head}detectLocalMode: NodeCIDR\n`, /ClusterCIDR only/],
    [
      'masqueradeAll not a boolean',
      `${head}iptables:\n  masqueradeAll: "yes"\n`,
      /masqueradeAll must be true or false/,
    ],
    ['not YAML', '{ nope', /not YAML or JSON/],
  ] as const) {
    it(`refuses ${what}`, () => assert.throws(() => parseKubeProxyConfig(text), msg));
  }

  it('svcnet agent: a bad --config or --cluster-cidr is one line and a non-zero exit', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kpc-'));
    const file = join(dir, 'kp.yaml');
    writeFileSync(file, `${head}conntrack:\n  min: 1\n`);
    const [node = process.execPath, ...argv] = nodeEntryArgv('cli');
    for (const [args, msg] of [
      [['--config', file], /fields svcnet does not implement: conntrack/],
      [['--cluster-cidr', 'nope'], /--cluster-cidr: "nope" is not a CIDR/],
      [['--proxy-mode', 'ipvs', '--mode', 'iptables'], /contradicts/],
    ] as const) {
      const r = spawnSync(node, [...argv, 'agent', '--node-ip', '10.0.0.1', '--kubeconfig', '/nonexistent', ...args], {
        encoding: 'utf8',
        timeout: 30_000,
      });
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, msg);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
  });
});
