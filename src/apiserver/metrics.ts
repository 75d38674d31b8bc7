// The API server's request metrics under kube-apiserver's names and labels
// (k8s.io/apiserver/pkg/endpoints/metrics), so its dashboards and SLO alerts work unchanged:
// every request counted by verb, group/version/resource/subresource, scope and code, and timed.
import type { Histogram, Registry } from '../api/metrics.ts';
import type { RequestInfo } from './request-info.ts';

// kube-apiserver's buckets for apiserver_request_duration_seconds.
const durationBuckets = [
  0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60,
] as const;

const verbs: Record<string, string> = {
  get: 'GET',
  list: 'LIST',
  watch: 'WATCH',
  create: 'POST',
  update: 'PUT',
  patch: 'PATCH',
  delete: 'DELETE',
  deletecollection: 'DELETECOLLECTION',
};

export type RequestLabels = {
  readonly verb: string;
  readonly dry_run: string;
  readonly group: string;
  readonly version: string;
  readonly resource: string;
  readonly subresource: string;
  readonly scope: string;
  readonly component: string;
};

/** The labels kube-apiserver gives a request (scope: resource | namespace | cluster, "" for non-resource URLs). */
export function requestLabels(method: string, info: RequestInfo, dryRun: boolean, apply: boolean): RequestLabels {
  if (info.kind !== 'resource') {
    return {
      verb: method.toUpperCase(),
      dry_run: '',
      group: '',
      version: '',
      resource: '',
      subresource: '',
      scope: '',
      component: 'apiserver',
    };
  }
  const scope = info.name !== '' ? 'resource' : info.namespace !== '' ? 'namespace' : 'cluster';
  return {
    verb: apply ? 'APPLY' : (verbs[info.verb] ?? info.verb.toUpperCase()),
    dry_run: dryRun ? 'All' : '',
    group: info.group,
    version: info.version,
    resource: info.info.resource,
    subresource: info.subresource,
    scope,
    component: 'apiserver',
  };
}

export function apiserverMetrics(reg: Registry) {
  const requests = reg.counter(
    'apiserver_request_total',
    'Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, and HTTP response code.',
  );
  const duration: Histogram = reg.histogram(
    'apiserver_request_duration_seconds',
    'Response latency distribution in seconds for each verb, dry run value, group, version, resource, subresource, scope and component.',
    durationBuckets,
  );
  const inflight = reg.gauge(
    'apiserver_current_inflight_requests',
    'Maximal number of currently used inflight request limit of this apiserver per request kind in last second.',
  );
  let mutating = 0;
  let readOnly = 0;
  const setInflight = () => {
    inflight.set(readOnly, { request_kind: 'readOnly' });
    inflight.set(mutating, { request_kind: 'mutating' });
  };
  setInflight();
  return {
    /** Call when a request starts; the returned function when it has been answered. */
    started(method: string): () => void {
      const isRead = method === 'GET' || method === 'HEAD';
      if (isRead) readOnly++;
      else mutating++;
      setInflight();
      return () => {
        if (isRead) readOnly--;
        else mutating--;
        setInflight();
      };
    },
    observe(labels: RequestLabels, code: number, seconds: number): void {
      requests.inc({ ...labels, code: String(code) });
      duration.observe(seconds, labels);
    },
  };
}

export type ApiserverMetrics = ReturnType<typeof apiserverMetrics>;
