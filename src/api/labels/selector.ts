// Label selectors (k8s.io/apimachinery/pkg/labels + metav1.LabelSelectorAsSelector).
//
// Three shapes matter and are easy to confuse:
// - a *nil* metav1.LabelSelector selects nothing (`nothing()`), e.g. a Deployment without a
//   selector never adopts pods;
// - an *empty* one (`{}`) selects everything (`everything()`);
// - a Service's spec.selector is a plain map turned into equality requirements with
//   `selectorFromSet`; whether a nil/empty Service selector means "no endpoints controller" is
//   the controller's decision (reference §4.2), not this module's: selectorFromSet({}) matches all.
import { aggregateMessage } from '../field.ts';
import type { LabelSelector } from '../types.ts';
import { SelectorError } from './errors.ts';
import { parseRequirements } from './parser.ts';
import {
  compareStrings,
  type Labels,
  type Operator,
  type Requirement,
  requirementMatches,
  requirementString,
  validateRequirement,
} from './requirement.ts';

export { isSelectorError, SelectorError } from './errors.ts';
export type { Labels, Operator, Requirement } from './requirement.ts';
export { validateLabelSelector } from './validate.ts';

export interface Selector {
  /** True if every requirement holds for these labels (undefined labels = no labels). */
  matches(labels: Labels): boolean;
  /** True if the selector does not restrict anything (Everything). Nothing() is not empty. */
  empty(): boolean;
  /** Canonical text: requirements sorted by key, multi-values sorted; parseable again. */
  toString(): string;
  /** The requirements, sorted by key; `undefined` for Nothing(), which cannot be expressed as any. */
  requirements(): readonly Requirement[] | undefined;
  /** The value `key` must equal, when the selector pins it (`k=v`, `k==v`, `k in (v)`). */
  requiresExactMatch(key: string): string | undefined;
  /** A new selector with these requirements added (Nothing() stays Nothing()). */
  add(...reqs: Requirement[]): Selector;
}

class RequirementsSelector implements Selector {
  constructor(private readonly reqs: readonly Requirement[]) {}
  matches(labels: Labels): boolean {
    return this.reqs.every((r) => requirementMatches(r, labels));
  }
  empty(): boolean {
    return this.reqs.length === 0;
  }
  toString(): string {
    return this.reqs.map(requirementString).join(',');
  }
  requirements(): readonly Requirement[] {
    return this.reqs;
  }
  requiresExactMatch(key: string): string | undefined {
    const r = this.reqs.find((x) => x.key === key);
    if (r?.values.length !== 1) return undefined;
    return r.operator === '=' || r.operator === '==' || r.operator === 'in' ? r.values[0] : undefined;
  }
  add(...reqs: Requirement[]): Selector {
    return new RequirementsSelector(sortByKey([...this.reqs, ...reqs]));
  }
}

const nothingSelector: Selector = {
  matches: () => false,
  empty: () => false,
  toString: () => '',
  requirements: () => undefined,
  requiresExactMatch: () => undefined,
  add() {
    return nothingSelector;
  },
};

const everythingSelector: Selector = new RequirementsSelector([]);

export const everything = (): Selector => everythingSelector;
export const nothing = (): Selector => nothingSelector;

function sortByKey(reqs: Requirement[]): Requirement[] {
  return reqs.sort((a, b) => compareStrings(a.key, b.key));
}

/**
 * Parse the `labelSelector` query syntax (`a=b,c in (d,e),!f,g>1`). "" selects everything.
 * Throws SelectorError (HTTP 400) with apimachinery's message.
 */
export function parseSelector(text: string): Selector {
  return new RequirementsSelector(parseRequirements(text));
}

/** labels.SelectorFromSet: equality on every key, unvalidated; nil or {} selects everything. */
export function selectorFromSet(set: Readonly<Record<string, string>> | undefined | null): Selector {
  if (!set) return everythingSelector;
  const reqs = Object.keys(set).map((key): Requirement => ({ key, operator: '=', values: [set[key] ?? ''] }));
  return new RequirementsSelector(sortByKey(reqs));
}

const metaOperators: Readonly<Record<string, Operator>> = {
  In: 'in',
  NotIn: 'notin',
  Exists: 'exists',
  DoesNotExist: '!',
};

/**
 * metav1.LabelSelectorAsSelector: undefined/null → nothing(); no matchLabels and no
 * matchExpressions → everything(); otherwise the AND of both. Throws SelectorError on an invalid
 * selector (validation normally rejects those before they are stored).
 */
export function labelSelectorAsSelector(ls: LabelSelector | undefined | null): Selector {
  if (!ls) return nothingSelector;
  const matchLabels = ls.matchLabels ?? {};
  const exprs = ls.matchExpressions ?? [];
  const keys = Object.keys(matchLabels);
  if (keys.length + exprs.length === 0) return everythingSelector;
  const reqs: Requirement[] = [];
  // Go iterates the map in random order and sorts afterwards; sort the keys first so the
  // result does not depend on insertion order either.
  for (const key of keys.sort(compareStrings)) reqs.push(checked(key, '=', [matchLabels[key] ?? '']));
  for (const expr of exprs) {
    const op = Object.hasOwn(metaOperators, expr.operator) ? metaOperators[expr.operator] : undefined;
    if (op === undefined)
      throw new SelectorError(
        'InvalidLabelSelector',
        `${JSON.stringify(expr.operator)} is not a valid label selector operator`,
      );
    reqs.push(checked(expr.key, op, [...(expr.values ?? [])]));
  }
  return new RequirementsSelector(sortByKey(reqs));
}

function checked(key: string, operator: Operator, values: string[]): Requirement {
  const errs = validateRequirement(key, operator, values);
  if (errs.length > 0) throw new SelectorError('InvalidLabelSelector', aggregateMessage(errs));
  return { key, operator, values };
}
