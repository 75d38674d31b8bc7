// SetDefaults_Namespace (the immutable kubernetes.io/metadata.name label, rewritten on every
// write so it always equals the name) and the namespace strategy's create-time status.
import type { Namespace } from '../types.ts';
import { labelKeys } from '../well-known.ts';

export function defaultNamespace(ns: Namespace): void {
  const name = ns.metadata?.name ?? '';
  if (name) {
    ns.metadata ??= {};
    ns.metadata.labels = { ...(ns.metadata.labels ?? {}), [labelKeys.metadataName]: name };
  }
  ns.spec ??= {};
  ns.spec.finalizers ??= ['kubernetes'];
  ns.status ??= {};
  ns.status.phase ||= 'Active';
}
