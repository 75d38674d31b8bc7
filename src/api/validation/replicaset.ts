// apps/v1 ReplicaSet validation (ValidateReplicaSet, ValidateReplicaSetUpdate,
// ValidateReplicaSetStatusUpdate), and the selector + template rules Deployments share with it
// (ValidatePodTemplateSpecForReplicaSet): a workload's template must carry labels its selector
// matches, or it could never own the pods it creates.
import { type ErrorList, forbidden, invalid, notSupported, Path, required } from '../field.ts';
import { labelSelectorAsSelector, type Selector } from '../labels/selector.ts';
import { validateLabelSelector } from '../labels/validate.ts';
import type { LabelSelector, ReplicaSet } from '../types.ts';
import { validateImmutable, validateNonnegative } from './common.ts';
import { nameIsDNSSubdomain, validateObjectMeta, validateObjectMetaUpdate } from './names.ts';
import { validatePodTemplateSpec } from './pod.ts';

type Template = NonNullable<ReplicaSet['spec']>['template'];

export function validateReplicaSet(rs: ReplicaSet): ErrorList {
  return [
    ...validateObjectMeta(rs.metadata, { namespaced: true, nameFn: nameIsDNSSubdomain }, Path.root('metadata')),
    ...validateReplicaSetSpec(rs.spec, Path.root('spec')),
  ];
}

export function validateReplicaSetUpdate(rs: ReplicaSet, old: ReplicaSet): ErrorList {
  return [
    ...validateObjectMetaUpdate(rs.metadata, old.metadata, Path.root('metadata')),
    ...validateReplicaSetSpec(rs.spec, Path.root('spec')),
    // apps/v1 made the selector immutable: a changed one would orphan the running pods.
    ...validateImmutable(rs.spec?.selector, old.spec?.selector, Path.of('spec', 'selector')),
  ];
}

export function validateReplicaSetStatusUpdate(rs: ReplicaSet, old: ReplicaSet): ErrorList {
  const errs = validateObjectMetaUpdate(rs.metadata, old.metadata, Path.root('metadata'));
  const s = rs.status ?? { replicas: 0 };
  const p = Path.root('status');
  const n = (v: number | undefined) => v ?? 0;
  for (const f of [
    'replicas',
    'fullyLabeledReplicas',
    'readyReplicas',
    'availableReplicas',
    'observedGeneration',
  ] as const)
    errs.push(...validateNonnegative(n(s[f]), p.child(f)));
  const msg = 'cannot be greater than status.replicas';
  for (const f of ['fullyLabeledReplicas', 'readyReplicas', 'availableReplicas'] as const)
    if (n(s[f]) > n(s.replicas)) errs.push(invalid(p.child(f), n(s[f]), msg));
  if (n(s.availableReplicas) > n(s.readyReplicas))
    errs.push(invalid(p.child('availableReplicas'), n(s.availableReplicas), 'cannot be greater than readyReplicas'));
  return errs;
}

function validateReplicaSetSpec(spec: ReplicaSet['spec'], path: Path): ErrorList {
  return [
    ...validateNonnegative(spec?.replicas ?? 0, path.child('replicas')),
    ...validateNonnegative(spec?.minReadySeconds ?? 0, path.child('minReadySeconds')),
    ...validateSelectorAndTemplate(spec?.selector, spec?.template, path),
  ];
}

/**
 * spec.selector and spec.template of a Deployment or ReplicaSet. Upstream says "for deployment"
 * in the ReplicaSet's message too (the text is shared there as well).
 */
export function validateSelectorAndTemplate(
  sel: LabelSelector | undefined,
  template: Template | undefined,
  path: Path,
): ErrorList {
  const errs: ErrorList = [];
  if (!sel) {
    errs.push(required(path.child('selector'), ''));
  } else {
    errs.push(...validateLabelSelector(sel, path.child('selector')));
    if (Object.keys(sel.matchLabels ?? {}).length + (sel.matchExpressions ?? []).length === 0)
      errs.push(invalid(path.child('selector'), sel, 'empty selector is invalid for deployment'));
  }
  let selector: Selector | undefined;
  try {
    selector = labelSelectorAsSelector(sel);
  } catch {
    errs.push(invalid(path.child('selector'), sel ?? null, 'invalid label selector'));
  }
  if (selector) errs.push(...validatePodTemplateSpecForReplicaSet(template, selector, path.child('template')));
  return errs;
}

/** A nil selector is Nothing(), which is not empty and matches nothing. */
function validatePodTemplateSpecForReplicaSet(t: Template | undefined, selector: Selector, path: Path): ErrorList {
  if (!t) return [required(path, '')];
  const errs: ErrorList = [];
  const labels = t.metadata?.labels;
  if (!selector.empty() && !selector.matches(labels))
    errs.push(invalid(path.child('metadata', 'labels'), labels ?? null, '`selector` does not match template `labels`'));
  errs.push(...validatePodTemplateSpec(t, path));
  const rp = t.spec?.restartPolicy;
  if (rp !== 'Always') errs.push(notSupported(path.child('spec', 'restartPolicy'), rp ?? '', ['Always']));
  if (t.spec?.activeDeadlineSeconds !== undefined)
    errs.push(
      forbidden(path.child('spec', 'activeDeadlineSeconds'), 'activeDeadlineSeconds in ReplicaSet is not Supported'),
    );
  return errs;
}
