// A pod for a Deployment's current template: template labels + pod-template-hash, owned by the
// Deployment (controller reference, so deleting the Deployment deletes its pods), bound to a
// node at creation. Named like a ReplicaSet's pods: <deployment>-<hash>-<5 safe chars>.
import type { Deployment, Pod } from '../../api/types.ts';
import { randomSuffix } from './hash.ts';
import { podTemplateHashLabel } from './pods.ts';

// names.SimpleNameGenerator: generateName is cut so that base + 5 random chars fit 63.
const maxGeneratedNameLength = 63 - 5;

export function podName(replicaSetName: string, random: () => number = Math.random): string {
  let base = `${replicaSetName}-`;
  if (base.length > maxGeneratedNameLength) base = base.slice(0, maxGeneratedNameLength);
  return base + randomSuffix(5, random);
}

export function podFor(d: Deployment, hash: string, name: string, nodeName: string | undefined): Pod {
  const t = structuredClone(d.spec?.template ?? {});
  const labels = { ...(t.metadata?.labels ?? {}), [podTemplateHashLabel]: hash };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: d.metadata?.namespace ?? 'default',
      labels,
      ...(t.metadata?.annotations ? { annotations: t.metadata.annotations } : {}),
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          name: d.metadata?.name ?? '',
          uid: d.metadata?.uid ?? '',
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: { ...(t.spec ?? { containers: [] }), ...(nodeName ? { nodeName } : {}) },
  };
}

/** The Deployment (namespace/name, uid) a pod's controller reference names, if any. */
export function deploymentOwner(p: Pod): { key: string; uid: string } | undefined {
  const ref = p.metadata?.ownerReferences?.find((r) => r.controller && r.kind === 'Deployment');
  if (!ref?.apiVersion.startsWith('apps/')) return undefined;
  return { key: `${p.metadata?.namespace ?? ''}/${ref.name}`, uid: ref.uid };
}
