// Metric names people chart: docs/metrics.md must list exactly what the registries expose, rows
// marked kube-proxy / CoreDNS must match the upstream name, type and labels recorded here, and the
// Grafana dashboard may use only listed metrics. Any drift fails.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { metricsCatalog } from './metrics-catalog.ts';

const repo = join(import.meta.dirname, '..', '..');

/** Upstream name → type and (where svcnet's registry declares labels) label names. */
const upstream: Record<string, { type: string; labels?: string[] }> = {
  // kube-proxy pkg/proxy/metrics/metrics.go
  kubeproxy_sync_proxy_rules_duration_seconds: { type: 'histogram' },
  kubeproxy_sync_full_proxy_rules_duration_seconds: { type: 'histogram' },
  kubeproxy_sync_partial_proxy_rules_duration_seconds: { type: 'histogram' },
  kubeproxy_network_programming_duration_seconds: { type: 'histogram' },
  kubeproxy_sync_proxy_rules_endpoint_changes_pending: { type: 'gauge' },
  kubeproxy_sync_proxy_rules_endpoint_changes_total: { type: 'counter' },
  kubeproxy_sync_proxy_rules_service_changes_pending: { type: 'gauge' },
  kubeproxy_sync_proxy_rules_service_changes_total: { type: 'counter' },
  kubeproxy_sync_proxy_rules_iptables_restore_failures_total: { type: 'counter' },
  kubeproxy_sync_proxy_rules_iptables_partial_restore_failures_total: { type: 'counter' },
  kubeproxy_sync_proxy_rules_nftables_sync_failures_total: { type: 'counter' },
  kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds: { type: 'gauge' },
  kubeproxy_sync_proxy_rules_last_timestamp_seconds: { type: 'gauge' },
  kubeproxy_conntrack_reconciler_deleted_entries_total: { type: 'counter' },
  // CoreDNS 1.10 plugin/metrics/vars, plugin/cache, plugin/forward
  coredns_dns_requests_total: { type: 'counter', labels: ['server', 'zone', 'proto', 'family', 'type'] },
  coredns_dns_responses_total: { type: 'counter', labels: ['server', 'zone', 'rcode', 'plugin'] },
  coredns_dns_request_duration_seconds: { type: 'histogram', labels: ['server', 'zone', 'type'] },
  coredns_dns_request_size_bytes: { type: 'histogram', labels: ['server', 'zone', 'proto'] },
  coredns_dns_response_size_bytes: { type: 'histogram', labels: ['server', 'zone', 'proto'] },
  coredns_cache_hits_total: { type: 'counter', labels: ['server', 'type'] },
  coredns_cache_misses_total: { type: 'counter', labels: ['server'] },
  coredns_forward_requests_total: { type: 'counter', labels: ['to'] },
  coredns_forward_responses_total: { type: 'counter', labels: ['to', 'rcode'] },
  // kube-apiserver, k8s.io/apiserver/pkg/endpoints/metrics (label names sorted, as exposed here)
  apiserver_request_total: {
    type: 'counter',
    labels: ['code', 'component', 'dry_run', 'group', 'resource', 'scope', 'subresource', 'verb', 'version'],
  },
  apiserver_request_duration_seconds: {
    type: 'histogram',
    labels: ['component', 'dry_run', 'group', 'resource', 'scope', 'subresource', 'verb', 'version'],
  },
  apiserver_current_inflight_requests: { type: 'gauge', labels: ['request_kind'] },
  // client-go workqueue metrics as kube-controller-manager registers them (component-base)
  workqueue_adds_total: { type: 'counter', labels: ['name'] },
  workqueue_depth: { type: 'gauge', labels: ['name'] },
  workqueue_queue_duration_seconds: { type: 'histogram', labels: ['name'] },
  workqueue_work_duration_seconds: { type: 'histogram', labels: ['name'] },
  workqueue_retries_total: { type: 'counter', labels: ['name'] },
  workqueue_unfinished_work_seconds: { type: 'gauge', labels: ['name'] },
  workqueue_longest_running_processor_seconds: { type: 'gauge', labels: ['name'] },
  // MetalLB speaker (internal/speaker, internal/layer2): counters without _total, as MetalLB names them
  metallb_speaker_announced: { type: 'gauge', labels: ['ip', 'node', 'protocol', 'service'] },
  metallb_layer2_requests_received: { type: 'counter', labels: ['ip'] },
  metallb_layer2_responses_sent: { type: 'counter', labels: ['ip'] },
  metallb_layer2_gratuitous_sent: { type: 'counter', labels: ['ip'] },
};

const upstreamNames = ['kube-proxy', 'CoreDNS', 'kube-apiserver', 'client-go', 'MetalLB'];

interface Row {
  name: string;
  type: string;
  labels: string[];
  component: string;
  upstream: string;
}

function docRows(): Row[] {
  const text = readFileSync(join(repo, 'docs', 'metrics.md'), 'utf8');
  const rows: Row[] = [];
  for (const line of text.split('\n')) {
    const m = /^\| `([a-z0-9_]+)` \| (\w+) \| ([^|]*) \| (\w+) \| ([^|]+) \|$/.exec(line);
    if (!m) continue;
    const labels = (m[3] ?? '').trim();
    rows.push({
      name: m[1] ?? '',
      type: m[2] ?? '',
      labels: labels === '' ? [] : labels.split(', '),
      component: m[4] ?? '',
      upstream: (m[5] ?? '').trim(),
    });
  }
  return rows;
}

describe('metrics catalogue', () => {
  it('docs/metrics.md lists exactly the metrics the components expose', async () => {
    const have = (await metricsCatalog()).map(
      (e) => `${e.name} ${e.type} ${(e.labels ?? []).join(',')} ${e.component}`,
    );
    const doc = docRows().map((r) => `${r.name} ${r.type} ${r.labels.join(',')} ${r.component}`);
    assert.deepEqual(doc, have);
  });

  it('kube-proxy, CoreDNS, kube-apiserver, client-go and MetalLB names, types and labels are upstream’s', () => {
    for (const r of docRows()) {
      const up = upstream[r.name];
      if (upstreamNames.includes(r.upstream)) {
        assert.ok(up, `${r.name} is marked ${r.upstream} but is not an upstream metric recorded here`);
        assert.equal(r.type, up.type, r.name);
        if (up.labels) assert.deepEqual(r.labels, up.labels, r.name);
      } else {
        assert.equal(up, undefined, `${r.name} is upstream's: mark it`);
        assert.ok(
          /^svcnet_|^(kubeproxy|coredns)_.* \(name only\)$/.test(`${r.name} ${r.upstream}`) ||
            r.upstream === 'svcnet only',
          `${r.name}: ${r.upstream}`,
        );
      }
    }
  });

  it('the Grafana dashboard uses only listed metrics', () => {
    const names = new Set(docRows().map((r) => r.name));
    const dash = JSON.parse(readFileSync(join(repo, 'docs', 'grafana', 'svcnet.json'), 'utf8')) as {
      panels: { title: string; targets: { expr: string }[] }[];
    };
    assert.ok(dash.panels.length >= 8);
    for (const p of dash.panels) {
      for (const t of p.targets) {
        const used = [
          ...t.expr.matchAll(/\b((?:kubeproxy|coredns|svcnet|apiserver|workqueue|metallb)_[a-z0-9_]+)/g),
        ].map((m) => (m[1] ?? '').replace(/_(bucket|sum|count)$/, ''));
        assert.ok(used.length > 0, `${p.title}: ${t.expr}`);
        for (const u of used) assert.ok(names.has(u), `${p.title}: ${u} is not a svcnet metric`);
      }
    }
  });
});
