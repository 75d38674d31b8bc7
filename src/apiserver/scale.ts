// The scale subresource (autoscaling/v1 Scale) of Deployments: what `kubectl scale` reads and
// patches. Writes land in the parent's spec.replicas through the normal update path, so
// validation, generation and watch events are the Deployment's own.

import { labelSelectorAsSelector } from '../api/labels/selector.ts';
import { newBadRequest, newConflict } from '../api/status.ts';
import type { KubeObject, LabelSelector } from '../api/types.ts';

export interface Scale {
  apiVersion: 'autoscaling/v1';
  kind: 'Scale';
  metadata: Record<string, unknown>;
  spec: { replicas: number };
  status: { replicas: number; selector?: string };
}

export function scaleOf(obj: KubeObject): Scale {
  const spec = (obj.spec ?? {}) as { replicas?: number; selector?: unknown };
  const status = (obj.status ?? {}) as { replicas?: number };
  const m = obj.metadata;
  const selector = selectorToString(spec.selector);
  return {
    apiVersion: 'autoscaling/v1',
    kind: 'Scale',
    metadata: {
      name: m.name,
      namespace: m.namespace,
      uid: m.uid,
      resourceVersion: m.resourceVersion,
      creationTimestamp: m.creationTimestamp,
    },
    spec: { replicas: spec.replicas ?? 1 },
    status: { replicas: status.replicas ?? 0, ...(selector ? { selector } : {}) },
  };
}

/** Applies a (patched or PUT) Scale to the parent; a stale resourceVersion is a Conflict. */
export function applyScale(parent: KubeObject, scale: unknown, resource: string): KubeObject {
  const s = scale as Partial<Scale> | undefined;
  const replicas = s?.spec?.replicas;
  if (typeof replicas !== 'number' || !Number.isInteger(replicas)) {
    throw newBadRequest('Scale.spec.replicas must be an integer');
  }
  const rv = s?.metadata?.resourceVersion;
  if (typeof rv === 'string' && rv !== '' && rv !== parent.metadata.resourceVersion) {
    throw newConflict({ group: 'apps', resource }, parent.metadata.name ?? '');
  }
  return { ...parent, spec: { ...(parent.spec as object), replicas } };
}

/** metav1.FormatLabelSelector: Scale.status.selector as label-selector text. */
function selectorToString(sel: unknown): string {
  if (typeof sel !== 'object' || sel === null) return '';
  try {
    return labelSelectorAsSelector(sel as LabelSelector).toString();
  } catch {
    return '';
  }
}
