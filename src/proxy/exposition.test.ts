// /metrics in both formats: the agent's healthz listener negotiates OpenMetrics on Accept.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toOpenMetrics } from './exposition.ts';
import { ProxyHealth, ProxyHealthServer } from './healthcheck.ts';
import { proxyMetrics, Registry } from './metrics.ts';

describe('metrics exposition', () => {
  it('OpenMetrics: counter families lose _total, samples keep it, odd counters are unknown, # EOF ends it', () => {
    const om = toOpenMetrics(
      '# HELP a_total A.\n# TYPE a_total counter\na_total{x="1"} 3\n# HELP b B.\n# TYPE b counter\nb 1\n# TYPE g gauge\ng 2\n',
    );
    assert.equal(
      om,
      '# HELP a A.\n# TYPE a counter\na_total{x="1"} 3\n# HELP b B.\n# TYPE b unknown\nb 1\n# TYPE g gauge\ng 2\n# EOF\n',
    );
  });

  it('the agent serves Prometheus text by default and OpenMetrics when asked', async () => {
    const reg = new Registry();
    proxyMetrics(reg).syncFailures.inc();
    const server = new ProxyHealthServer({
      host: '127.0.0.1',
      port: 0,
      health: new ProxyHealth(1000),
      metrics: () => reg.render(),
    });
    const addr = await server.start();
    try {
      const url = `http://127.0.0.1:${addr.port}/metrics`;
      const plain = await fetch(url);
      assert.match(plain.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
      assert.match(await plain.text(), /^# TYPE svcnet_proxy_sync_failures_total counter$/m);
      const om = await fetch(url, { headers: { Accept: 'application/openmetrics-text; version=1.0.0' } });
      assert.match(om.headers.get('content-type') ?? '', /^application\/openmetrics-text; version=1\.0\.0/);
      const body = await om.text();
      assert.match(body, /^# TYPE svcnet_proxy_sync_failures counter$/m);
      assert.match(body, /^svcnet_proxy_sync_failures_total 1$/m);
      assert.ok(body.endsWith('# EOF\n'));
    } finally {
      await server.close();
    }
  });
});
