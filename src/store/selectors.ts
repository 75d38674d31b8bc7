// Adapter between the store and the API's selector parsers: one compiled filter per list or
// watch, applied to cached labels first so most objects are never parsed.
import { fieldsOf } from '../api/fields/getters.ts';
import { parseFieldSelector } from '../api/fields/selector.ts';
import { type Labels, parseSelector } from '../api/labels/selector.ts';
import type { KubeObject } from '../api/types.ts';

export type { Labels };

/** What a filter looks at: labels are at hand; the whole object is produced only when a field selector needs it. */
export interface Candidate {
  readonly labels: Labels;
  object(): KubeObject;
}

export interface ObjectFilter {
  matches(c: Candidate): boolean;
}

/**
 * Compile label and field selector text; undefined when nothing is selected against. Parse
 * errors are the parsers' SelectorError (400 BadRequest with apimachinery's message).
 */
export function compileFilter(
  resource: string,
  labelSelector: string | undefined,
  fieldSelector: string | undefined,
): ObjectFilter | undefined {
  const labels = labelSelector ? parseSelector(labelSelector) : undefined;
  const fields = fieldSelector ? parseFieldSelector(fieldSelector, resource) : undefined;
  const byLabels = labels && !labels.empty() ? labels : undefined;
  const byFields = fields && !fields.empty() ? fields : undefined;
  if (!byLabels && !byFields) return undefined;
  return {
    matches(c: Candidate): boolean {
      if (byLabels && !byLabels.matches(c.labels)) return false;
      // Field getters are per resource, so objects match even if a caller left kind empty.
      return !byFields || byFields.matchesFields(fieldsOf(resource, c.object()));
    },
  };
}
