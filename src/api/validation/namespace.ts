// Namespace validation: names are DNS-1123 *labels* (they become DNS labels in
// <svc>.<ns>.svc.cluster.local) and finalizers are qualified names.
import type { ErrorList } from '../field.ts';
import { invalid, Path } from '../field.ts';
import type { Namespace } from '../types.ts';
import { validateQualifiedName } from './common.ts';
import { nameIsDNSLabel, validateObjectMeta, validateObjectMetaUpdate } from './names.ts';

const standardFinalizers = ['kubernetes', 'orphan', 'foregroundDeletion'];

export function validateNamespace(ns: Namespace): ErrorList {
  const errs = validateObjectMeta(ns.metadata, { namespaced: false, nameFn: nameIsDNSLabel }, Path.root('metadata'));
  const p = Path.of('spec', 'finalizers');
  for (const f of ns.spec?.finalizers ?? []) {
    errs.push(...validateQualifiedName(f, p));
    if (!f.includes('/') && !standardFinalizers.includes(f))
      errs.push(invalid(p, f, 'name is neither a standard finalizer name nor is it fully qualified'));
  }
  return errs;
}

export function validateNamespaceUpdate(ns: Namespace, old: Namespace): ErrorList {
  return validateObjectMetaUpdate(ns.metadata, old.metadata, Path.root('metadata'));
}
