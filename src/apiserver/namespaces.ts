// Namespaces a cluster has before anyone applies a manifest: kube-apiserver's own system
// namespaces, and those the installs of the components svcnet replaces create. MetalLB's manifest
// creates metallb-system (with the Pod Security labels below); its users keep IPAddressPool and
// L2Advertisement manifests that name it without creating it.
import type { KubeObject } from '../api/types.ts';
import { labelKeys } from '../api/well-known.ts';

const privileged = {
  'pod-security.kubernetes.io/audit': 'privileged',
  'pod-security.kubernetes.io/enforce': 'privileged',
  'pod-security.kubernetes.io/warn': 'privileged',
} as const;

function namespace(name: string, labels: Record<string, string> = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels: { ...labels, [labelKeys.metadataName]: name } },
    spec: { finalizers: ['kubernetes'] },
    status: { phase: 'Active' },
  } as KubeObject;
}

export const bootstrapNamespaces: readonly KubeObject[] = [
  ...['default', 'kube-system', 'kube-public', 'kube-node-lease'].map((n) => namespace(n)),
  namespace('metallb-system', privileged),
];
