// apps/v1 Deployment validation (ValidateDeployment / ValidateDeploymentUpdate and the
// strategy's selector immutability). Selector and template follow the ReplicaSet's rules
// (replicaset.ts), as the ReplicaSets the Deployment creates must pass them.
import { type ErrorList, forbidden, invalid, notSupported, Path, required } from '../field.ts';
import type { Deployment } from '../types.ts';
import { validateImmutable, validateNonnegative } from './common.ts';
import { nameIsDNSSubdomain, regexError, validateObjectMeta, validateObjectMetaUpdate } from './names.ts';
import { validateSelectorAndTemplate } from './replicaset.ts';

type Spec = Deployment['spec'];
type IntOrString = number | string;

export function validateDeployment(d: Deployment): ErrorList {
  return [
    ...validateObjectMeta(d.metadata, { namespaced: true, nameFn: nameIsDNSSubdomain }, Path.root('metadata')),
    ...validateDeploymentSpec(d.spec, Path.root('spec')),
  ];
}

export function validateDeploymentUpdate(d: Deployment, old: Deployment): ErrorList {
  return [
    ...validateObjectMetaUpdate(d.metadata, old.metadata, Path.root('metadata')),
    ...validateDeploymentSpec(d.spec, Path.root('spec')),
    // apps/v1 made the selector immutable: changing it would orphan the running ReplicaSets.
    ...validateImmutable(d.spec?.selector, old.spec?.selector, Path.of('spec', 'selector')),
  ];
}

export function validateDeploymentSpec(spec: Spec, path: Path): ErrorList {
  const errs: ErrorList = [];
  const replicas = spec?.replicas ?? 0;
  errs.push(...validateNonnegative(replicas, path.child('replicas')));
  errs.push(...validateSelectorAndTemplate(spec?.selector, spec?.template, path));
  errs.push(...validateStrategy(spec?.strategy, path.child('strategy')));
  const minReady = spec?.minReadySeconds ?? 0;
  errs.push(...validateNonnegative(minReady, path.child('minReadySeconds')));
  if (spec?.revisionHistoryLimit !== undefined)
    errs.push(...validateNonnegative(spec.revisionHistoryLimit, path.child('revisionHistoryLimit')));
  const pds = spec?.progressDeadlineSeconds;
  if (pds !== undefined) {
    errs.push(...validateNonnegative(pds, path.child('progressDeadlineSeconds')));
    if (pds <= minReady)
      errs.push(invalid(path.child('progressDeadlineSeconds'), pds, 'must be greater than minReadySeconds'));
  }
  return errs;
}

function validateStrategy(strategy: NonNullable<Spec>['strategy'], path: Path): ErrorList {
  const type = strategy?.type ?? '';
  if (type === 'Recreate') {
    return strategy?.rollingUpdate
      ? [forbidden(path.child('rollingUpdate'), "may not be specified when strategy `type` is 'Recreate'")]
      : [];
  }
  if (type === 'RollingUpdate') {
    const ru = strategy?.rollingUpdate;
    if (!ru) return [required(path.child('rollingUpdate'), 'this should be defaulted and never be nil')];
    const p = path.child('rollingUpdate');
    const maxUnavailable = ru.maxUnavailable ?? 0;
    const maxSurge = ru.maxSurge ?? 0;
    const errs = [
      ...validatePositiveIntOrPercent(maxUnavailable, p.child('maxUnavailable')),
      ...validatePositiveIntOrPercent(maxSurge, p.child('maxSurge')),
    ];
    if (intOrPercentValue(maxUnavailable) === 0 && intOrPercentValue(maxSurge) === 0)
      errs.push(invalid(p.child('maxUnavailable'), maxUnavailable, 'may not be 0 when `maxSurge` is 0'));
    const pct = percentValue(maxUnavailable);
    if (pct !== undefined && pct > 100)
      errs.push(invalid(p.child('maxUnavailable'), maxUnavailable, 'must not be greater than 100%'));
    return errs;
  }
  return [notSupported(path, strategy ?? {}, ['Recreate', 'RollingUpdate'])];
}

const percentFmt = '[0-9]+%';
const percentRegexp = /^[0-9]+%$/;

function validatePositiveIntOrPercent(v: IntOrString, p: Path): ErrorList {
  if (typeof v === 'string') {
    return percentRegexp.test(v)
      ? []
      : [
          invalid(
            p,
            v,
            regexError(
              "a valid percent string must be a numeric string followed by an ending '%'",
              percentFmt,
              '1%',
              '93%',
            ),
          ),
        ];
  }
  return validateNonnegative(v, p);
}

function percentValue(v: IntOrString): number | undefined {
  return typeof v === 'string' && percentRegexp.test(v) ? Number.parseInt(v.slice(0, -1), 10) : undefined;
}

/** getIntOrPercentValue: a non-percent string counts as its Atoi value, 0 when it is not a number. */
function intOrPercentValue(v: IntOrString): number {
  if (typeof v === 'number') return v;
  const pct = percentValue(v);
  if (pct !== undefined) return pct;
  return /^[+-]?\d+$/.test(v) ? Number.parseInt(v, 10) : 0;
}
