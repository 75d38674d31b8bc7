// Writing core/v1 Events, so problems the server or controllers find show in
// `kubectl describe` and `kubectl get events`, as on a real cluster.
import { randomBytes } from 'node:crypto';
import type { KubeObject } from '../api/types.ts';
import type { Store } from '../store/store.ts';

export interface EventInput {
  /** The object the event is about; cluster-level events may omit it. */
  involved?: KubeObject;
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  component: string;
}

export async function recordEvent(store: Store, e: EventInput): Promise<KubeObject> {
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const inv = e.involved;
  const namespace = inv?.metadata.namespace || 'default';
  const name = `${inv?.metadata.name ?? 'svcnet'}.${randomBytes(8).toString('hex')}`;
  const event: KubeObject = {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name, namespace },
    involvedObject: inv
      ? {
          apiVersion: inv.apiVersion,
          kind: inv.kind,
          namespace: inv.metadata.namespace,
          name: inv.metadata.name,
          uid: inv.metadata.uid,
          resourceVersion: inv.metadata.resourceVersion,
        }
      : { kind: 'Namespace', name: 'default' },
    reason: e.reason,
    message: e.message,
    source: { component: e.component },
    firstTimestamp: now,
    lastTimestamp: now,
    count: 1,
    type: e.type,
    reportingComponent: e.component,
    reportingInstance: '',
  };
  return store.create({ resource: 'events', namespace, name }, event);
}
