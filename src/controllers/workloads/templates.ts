// Pod templates between a Deployment, its ReplicaSets and their Pods: the controller reference,
// template equality ignoring pod-template-hash (which ReplicaSet is the Deployment's "new" one),
// the new ReplicaSet a template change creates, and the Pod a ReplicaSet creates
// (controller.GetPodFromTemplate).
import type { Deployment, KubeObject, LabelSelector, OwnerReference, Pod, ReplicaSet } from '../../api/types.ts';
import { labelKeys } from '../../api/well-known.ts';
import { canonicalJSON, computeTemplateHash } from './hash.ts';

type Template = NonNullable<Deployment['spec']>['template'];

/** Kinds as owners: list items of a real API server carry no apiVersion and kind of their own. */
export const deploymentKind = { apiVersion: 'apps/v1', kind: 'Deployment' } as const;
export const replicaSetKind = { apiVersion: 'apps/v1', kind: 'ReplicaSet' } as const;

/** metav1.NewControllerRef. */
export function controllerRef(owner: KubeObject, gvk: { apiVersion: string; kind: string }): OwnerReference {
  return {
    apiVersion: gvk.apiVersion,
    kind: gvk.kind,
    name: owner.metadata.name ?? '',
    uid: owner.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** metav1.GetControllerOf. */
export function controllerOf(obj: { metadata?: { ownerReferences?: OwnerReference[] } }): OwnerReference | undefined {
  return obj.metadata?.ownerReferences?.find((r) => r.controller === true);
}

/**
 * apiequality.Semantic.DeepEqual treats nil and empty slices and maps alike, and a JSON null as
 * absent; drop all three before comparing, so a template kubectl patched back from a ReplicaSet
 * (with "creationTimestamp": null, "resources": {}) still equals the one it came from.
 */
function semantic(v: unknown): unknown {
  if (Array.isArray(v)) return v.length ? v.map(semantic) : undefined;
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      const s = semantic(x);
      if (s !== undefined) out[k] = s;
    }
    return Object.keys(out).length ? out : undefined;
  }
  return v === null ? undefined : v;
}

function withoutHash(t: Template | undefined): unknown {
  const c = structuredClone(t ?? {});
  if (c.metadata?.labels) delete c.metadata.labels[labelKeys.podTemplateHash];
  return semantic(c);
}

/** EqualIgnoreHash. */
export function equalIgnoreHash(a: Template | undefined, b: Template | undefined): boolean {
  return canonicalJSON(withoutHash(a)) === canonicalJSON(withoutHash(b));
}

/** labelsutil.CloneSelectorAndAddLabel: the selector plus key=value in matchLabels. */
function selectorWith(sel: LabelSelector | undefined, key: string, value: string): LabelSelector {
  const c = structuredClone(sel ?? {});
  c.matchLabels = { ...(c.matchLabels ?? {}), [key]: value };
  return c;
}

/** The pod-template-hash of the Deployment's template (controller.ComputeHash). */
export const templateHash = (d: Deployment): string =>
  computeTemplateHash(d.spec?.template ?? {}, d.status?.collisionCount);

/** The ReplicaSet a Deployment creates for its current template, with 0 replicas. */
export function newReplicaSetFor(d: Deployment & KubeObject, hash: string): ReplicaSet & KubeObject {
  const template = structuredClone(d.spec?.template ?? {});
  template.metadata = {
    ...(template.metadata ?? {}),
    labels: { ...(template.metadata?.labels ?? {}), [labelKeys.podTemplateHash]: hash },
  };
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      // Deterministic, so a sync repeated before the cache shows the create finds the same name.
      name: `${d.metadata.name ?? ''}-${hash}`,
      namespace: d.metadata.namespace ?? '',
      ownerReferences: [controllerRef(d, deploymentKind)],
      labels: { ...(template.metadata.labels ?? {}) },
    },
    spec: {
      replicas: 0,
      minReadySeconds: d.spec?.minReadySeconds ?? 0,
      selector: selectorWith(d.spec?.selector, labelKeys.podTemplateHash, hash),
      template,
    },
  };
}

/**
 * GetPodFromTemplate: labels, annotations and finalizers of the template, generateName
 * "<replicaset>-", a controller reference to the ReplicaSet; bound to `nodeName` when the
 * controller schedules (no scheduler runs beside svcnet's API server).
 */
export function podFromTemplate(rs: ReplicaSet & KubeObject, nodeName: string | undefined): Pod & KubeObject {
  const t = structuredClone(rs.spec?.template ?? {});
  const m = t.metadata ?? {};
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: `${rs.metadata.name ?? ''}-`,
      namespace: rs.metadata.namespace ?? '',
      ...(m.labels ? { labels: m.labels } : {}),
      ...(m.annotations ? { annotations: m.annotations } : {}),
      ...(m.finalizers ? { finalizers: m.finalizers } : {}),
      ownerReferences: [controllerRef(rs, replicaSetKind)],
    },
    spec: { ...(t.spec ?? { containers: [] }), ...(nodeName ? { nodeName } : {}) },
  };
}
