// Validation of a metav1.LabelSelector inside an object (Deployment spec.selector, MetalLB
// selectors): apimachinery's metav1validation.ValidateLabelSelector, with label values checked
// (AllowInvalidLabelValueInSelector false, as for every create).
import { type ErrorList, forbidden, invalid, type Path, required } from '../field.ts';
import type { LabelSelector } from '../types.ts';
import { isQualifiedName, isValidLabelValue, validateLabels } from '../validation/names.ts';

/** A nil selector is valid here; callers that require one check for it themselves. */
export function validateLabelSelector(ls: LabelSelector | undefined | null, path: Path): ErrorList {
  const errs: ErrorList = [];
  if (!ls) return errs;
  errs.push(...validateLabels(ls.matchLabels, path.child('matchLabels')));
  (ls.matchExpressions ?? []).forEach((expr, i) => {
    const p = path.child('matchExpressions').index(i);
    const values = expr.values ?? [];
    switch (expr.operator) {
      case 'In':
      case 'NotIn':
        if (values.length === 0)
          errs.push(required(p.child('values'), "must be specified when `operator` is 'In' or 'NotIn'"));
        break;
      case 'Exists':
      case 'DoesNotExist':
        if (values.length > 0)
          errs.push(forbidden(p.child('values'), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
        break;
      default:
        errs.push(invalid(p.child('operator'), expr.operator, 'not a valid selector operator'));
    }
    for (const msg of isQualifiedName(expr.key)) errs.push(invalid(p.child('key'), expr.key, msg));
    values.forEach((v, j) => {
      for (const msg of isValidLabelValue(v)) errs.push(invalid(p.child('values').index(j), v, msg));
    });
  });
  return errs;
}
