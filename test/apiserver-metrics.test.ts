// The API server's /metrics (kube-apiserver's names and labels) read with the real kubectl, and
// the controllers' workqueue_* beside them when they run in the same process (as in svcnet up).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startControllers } from '../src/cli/controller.ts';
import { InProcessClient } from '../src/client/in-process.ts';
import { setWorkqueueMetrics } from '../src/controllers/runtime/workqueue-metrics.ts';
import { startTestApiServer, type TestApiServer } from './helpers/apiserver.ts';
import { eventually } from './helpers/eventually.ts';

function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('API server and controller metrics', () => {
  let api: TestApiServer;
  let controllers: ReturnType<typeof startControllers>;
  before(async () => {
    api = await startTestApiServer();
    setWorkqueueMetrics(api.server.metrics);
    controllers = startControllers(new InProcessClient(api.server.registry), {});
    await controllers.synced();
  });
  after(async () => {
    await controllers?.stop();
    setWorkqueueMetrics(undefined);
    await api?.close();
  });

  it('counts and times requests by verb, resource, scope and code as kube-apiserver does', async () => {
    await api.kc(['create', 'service', 'clusterip', 'web', '--tcp=80:8080']);
    await api.kc(['get', 'services']);
    await api.kc(['get', 'services', '-A']);
    await api.kc(['get', 'service', 'web']);
    const bad = await api.kubectl(['get', 'service', 'missing']);
    assert.notEqual(bad.code, 0);
    const text = await api.kc(['get', '--raw', '/metrics']);
    const l = (verb: string, scope: string, extra = '') =>
      `{${extra}component="apiserver",dry_run="",group="",resource="services",scope="${scope}",subresource="",verb="${verb}",version="v1"}`;
    assert.equal(sample(text, `apiserver_request_total${l('POST', 'namespace', 'code="201",')}`), 1);
    assert.equal(sample(text, `apiserver_request_total${l('LIST', 'namespace', 'code="200",')}`), 1);
    assert.equal(sample(text, `apiserver_request_total${l('LIST', 'cluster', 'code="200",')}`), 1);
    assert.equal(sample(text, `apiserver_request_total${l('GET', 'resource', 'code="200",')}`), 1);
    assert.equal(sample(text, `apiserver_request_total${l('GET', 'resource', 'code="404",')}`), 1);
    // The histogram has kube-apiserver's buckets, its labels without code, and le last.
    assert.equal(sample(text, `apiserver_request_duration_seconds_count${l('GET', 'resource')}`), 2);
    const le = l('POST', 'namespace').replace(/}$/, ',le="60"}');
    assert.equal(sample(text, `apiserver_request_duration_seconds_bucket${le}`), 1);
    assert.match(text, /^# TYPE apiserver_current_inflight_requests gauge$/m);
    // Requests that are no resource get empty resource labels.
    await api.kc(['get', '--raw', '/version']);
    const again = await api.kc(['get', '--raw', '/metrics']);
    assert.ok(
      (sample(
        again,
        'apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="",scope="",subresource="",verb="GET",version=""}',
      ) ?? 0) >= 2,
    );
  });

  it('serves OpenMetrics on request, and only to an authorized caller', async () => {
    const r = await api.fetch('/metrics', { headers: { Accept: 'application/openmetrics-text; version=1.0.0' } });
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /^application\/openmetrics-text/);
    const body = await r.text();
    assert.match(body, /^# TYPE apiserver_request counter$/m);
    assert.match(body, /# EOF\n$/);
    const anon = await api.fetch('/metrics', { headers: { Authorization: 'Bearer not-the-token' } });
    assert.equal(anon.status, 401);
  });

  it('exposes the controllers’ workqueues under client-go’s names', async () => {
    await api.kc(['create', 'service', 'clusterip', 'queued', '--tcp=81:8081']);
    const text = await eventually(
      'the EndpointSlice controller worked on the Service',
      async () => {
        const t = await api.kc(['get', '--raw', '/metrics']);
        return (sample(t, 'workqueue_adds_total{name="endpoint_slice"}') ?? 0) >= 1 ? t : undefined;
      },
      10_000,
      100,
    );
    assert.equal(sample(text, 'workqueue_depth{name="endpoint_slice"}'), 0);
    assert.ok((sample(text, 'workqueue_work_duration_seconds_count{name="endpoint_slice"}') ?? 0) >= 1);
    assert.ok((sample(text, 'workqueue_queue_duration_seconds_count{name="endpoint_slice"}') ?? 0) >= 1);
    assert.match(text, /^workqueue_longest_running_processor_seconds\{name="endpoint_slice"\} /m);
  });
});
