// One label requirement, as k8s.io/apimachinery/pkg/labels.Requirement: a key, an operator and
// a value set. Construction validates exactly like labels.NewRequirement so that the messages a
// user sees for `-l` and for LabelSelector conversion are the ones kubectl users know.
import { type ErrorList, type FieldError, invalid, notSupported } from '../field.ts';
import { isQualifiedName, isValidLabelValue } from '../validation/names.ts';

/** selection.Operator values (the string forms are part of apimachinery's error messages). */
export type Operator = '!' | '=' | '==' | 'in' | '!=' | 'notin' | 'exists' | 'gt' | 'lt';

const binaryOperators: readonly Operator[] = ['in', 'notin', '=', '==', '!=', 'gt', 'lt'];
const unaryOperators: readonly Operator[] = ['exists', '!'];
export const validRequirementOperators: readonly string[] = [...binaryOperators, ...unaryOperators];
/** Printed in the parser's "expected:" message, in apimachinery's order. */
export const binaryOperatorList = binaryOperators.join(', ');

/** A label map; `undefined` (no labels at all) behaves as an empty map. */
export type Labels = Readonly<Record<string, string>> | undefined;

export function hasLabel(labels: Labels, key: string): boolean {
  // Own properties only: a label named "constructor" must not be found on Object.prototype.
  return labels !== undefined && Object.hasOwn(labels, key);
}

const int64Min = -(2n ** 63n);
const int64Max = 2n ** 63n - 1n;

/** strconv.ParseInt(s, 10, 64): optional sign, decimal digits, within int64. */
export function parseInt64(s: string): bigint | undefined {
  if (!/^[+-]?[0-9]+$/.test(s)) return undefined;
  const n = BigInt(s);
  return n < int64Min || n > int64Max ? undefined : n;
}

export interface Requirement {
  readonly key: string;
  readonly operator: Operator;
  /** In the order given; String() sorts them on output without reordering these. */
  readonly values: readonly string[];
}

/**
 * labels.NewRequirement's checks. `path` is the field path prefix; apimachinery passes none from
 * the string parser, so the paths read `values[0][key]` there.
 */
export function validateRequirement(key: string, op: string, values: readonly string[], path?: string): ErrorList {
  const errs: FieldError[] = [];
  const at = (child: string): string => (path ? `${path}.${child}` : child);
  const keyErrs = isQualifiedName(key);
  if (keyErrs.length > 0) errs.push(invalid(at('key'), key, keyErrs.join('; ')));
  const valuePath = at('values');
  switch (op) {
    case 'in':
    case 'notin':
      if (values.length === 0)
        errs.push(invalid(valuePath, values, "for 'in', 'notin' operators, values set can't be empty"));
      break;
    case '=':
    case '==':
    case '!=':
      if (values.length !== 1)
        errs.push(invalid(valuePath, values, 'exact-match compatibility requires one single value'));
      break;
    case 'exists':
    case '!':
      if (values.length !== 0)
        errs.push(invalid(valuePath, values, 'values set must be empty for exists and does not exist'));
      break;
    case 'gt':
    case 'lt':
      if (values.length !== 1)
        errs.push(invalid(valuePath, values, "for 'Gt', 'Lt' operators, exactly one value is required"));
      values.forEach((v, i) => {
        if (parseInt64(v) === undefined)
          errs.push(invalid(`${valuePath}[${i}]`, v, "for 'Gt', 'Lt' operators, the value must be an integer"));
      });
      break;
    default:
      errs.push(notSupported(at('operator'), op, validRequirementOperators));
  }
  values.forEach((v, i) => {
    const valueErrs = isValidLabelValue(v);
    if (valueErrs.length > 0) errs.push(invalid(`${valuePath}[${i}][${key}]`, v, valueErrs.join('; ')));
  });
  return errs;
}

export function requirementMatches(r: Requirement, labels: Labels): boolean {
  const has = hasLabel(labels, r.key);
  const value = has && labels ? labels[r.key] : undefined;
  switch (r.operator) {
    case 'in':
    case '=':
    case '==':
      return value !== undefined && r.values.includes(value);
    case 'notin':
    case '!=':
      return value === undefined || !r.values.includes(value);
    case 'exists':
      return has;
    case '!':
      return !has;
    case 'gt':
    case 'lt': {
      if (value === undefined || r.values.length !== 1) return false;
      const lv = parseInt64(value);
      const rv = parseInt64(r.values[0] ?? '');
      if (lv === undefined || rv === undefined) return false;
      return r.operator === 'gt' ? lv > rv : lv < rv;
    }
  }
}

const opText: Record<Operator, string> = {
  '=': '=',
  '==': '==',
  '!=': '!=',
  in: ' in ',
  notin: ' notin ',
  gt: '>',
  lt: '<',
  exists: '',
  '!': '',
};

/** Requirement.String(): `!k`, `k`, `k=v`, `k in (a,b)`; multiple values sorted on output. */
export function requirementString(r: Requirement): string {
  if (r.operator === 'exists') return r.key;
  if (r.operator === '!') return `!${r.key}`;
  const vals = r.values.length === 1 ? (r.values[0] ?? '') : [...r.values].sort(compareStrings).join(',');
  const body = r.operator === 'in' || r.operator === 'notin' ? `(${vals})` : vals;
  return `${r.key}${opText[r.operator]}${body}`;
}

/** Go's string ordering is by bytes; for the code points used in labels this equals UTF-16 order. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
