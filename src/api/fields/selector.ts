// Field selectors (k8s.io/apimachinery/pkg/fields): `a=b`, `a==b`, `a!=b`, comma-separated,
// with `\`, `,` and `=` in values escaped by a backslash. Only equality is supported, and
// only on the labels each resource declares (getters.ts); anything else is a 400
// `field label not supported: <label>`, as from the apiserver's field label conversion.
import { SelectorError } from '../labels/errors.ts';
import { parseApiVersion, resourceForKind } from '../resources.ts';
import { fieldsOf, resolveFieldLabel } from './getters.ts';

export interface FieldRequirement {
  readonly field: string;
  /** `==` parses to `=`, as in apimachinery (both become a hasTerm). */
  readonly operator: '=' | '!=';
  readonly value: string;
}

export type Fields = Readonly<Record<string, string>>;

export interface FieldSelector {
  /** Match an API object; the resource (and its selectable fields) comes from apiVersion/kind. */
  matches(obj: object): boolean;
  /** Match an already-extracted field set (fields.Set); missing fields read as "". */
  matchesFields(fields: Fields): boolean;
  empty(): boolean;
  /** Terms joined by ",", values escaped; the order is the parse order (terms sorted as text). */
  toString(): string;
  requirements(): readonly FieldRequirement[];
  requiresExactMatch(field: string): string | undefined;
}

/** fields.EscapeValue: `\` → `\\`, `,` → `\,`, `=` → `\=`. */
export function escapeValue(s: string): string {
  return s.replace(/[\\,=]/g, (c) => `\\${c}`);
}

/** fields.UnescapeValue; throws on a bad escape or a bare `,`/`=` in a value. */
export function unescapeValue(s: string): string {
  if (!/[\\,=]/.test(s)) return s;
  let out = '';
  let inSlash = false;
  for (const c of s) {
    if (inSlash) {
      if (c !== '\\' && c !== ',' && c !== '=') throw invalidEscape(`\\${c}`);
      out += c;
      inSlash = false;
    } else if (c === '\\') {
      inSlash = true;
    } else if (c === ',' || c === '=') {
      // Go prints the rune with %v, i.e. as its number ("61" for "=").
      throw new SelectorError(
        'InvalidFieldSelector',
        `invalid field selector: unescaped character in value: ${c.codePointAt(0)}`,
      );
    } else {
      out += c;
    }
  }
  if (inSlash) throw invalidEscape('\\');
  return out;
}

const invalidEscape = (seq: string): SelectorError =>
  new SelectorError('InvalidFieldSelector', `invalid field selector: invalid escape sequence: ${seq}`);

export function unsupportedFieldError(label: string): SelectorError {
  return new SelectorError('FieldLabelNotSupported', `field label not supported: ${label}`);
}

/** Split on commas that are not escaped; the escapes stay in the terms. */
function splitTerms(text: string): string[] {
  if (text.length === 0) return [];
  const terms: string[] = [];
  let start = 0;
  let inSlash = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charAt(i);
    if (inSlash) inSlash = false;
    else if (c === '\\') inSlash = true;
    else if (c === ',') {
      terms.push(text.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(text.slice(start));
  return terms;
}

const termOperators = ['!=', '==', '='] as const;

/** The first operator occurrence splits the term; keys have no escaping. */
function splitTerm(term: string): { lhs: string; op: (typeof termOperators)[number]; rhs: string } | undefined {
  for (let i = 0; i < term.length; i++) {
    for (const op of termOperators) {
      if (term.startsWith(op, i)) return { lhs: term.slice(0, i), op, rhs: term.slice(i + op.length) };
    }
  }
  return undefined;
}

class TermsSelector implements FieldSelector {
  constructor(private readonly reqs: readonly FieldRequirement[]) {}
  matches(obj: object): boolean {
    return this.matchesFields(fieldsOf(resourceOf(obj), obj));
  }
  matchesFields(fields: Fields): boolean {
    return this.reqs.every((r) => {
      const v = Object.hasOwn(fields, r.field) ? (fields[r.field] ?? '') : '';
      return r.operator === '=' ? v === r.value : v !== r.value;
    });
  }
  empty(): boolean {
    return this.reqs.length === 0;
  }
  toString(): string {
    return this.reqs.map((r) => `${r.field}${r.operator}${escapeValue(r.value)}`).join(',');
  }
  requirements(): readonly FieldRequirement[] {
    return this.reqs;
  }
  requiresExactMatch(field: string): string | undefined {
    return this.reqs.find((r) => r.field === field && r.operator === '=')?.value;
  }
}

function resourceOf(obj: object): string {
  const o = obj as { apiVersion?: unknown; kind?: unknown };
  if (typeof o.apiVersion !== 'string' || typeof o.kind !== 'string') return '';
  return resourceForKind(parseApiVersion(o.apiVersion).group, o.kind)?.resource ?? '';
}

/**
 * Parse a `fieldSelector` query value. With `resource`, every label is checked against the
 * resource's selectable fields (and legacy aliases rewritten), as the apiserver does before
 * listing; without it, labels are taken as written. Throws SelectorError (HTTP 400).
 */
export function parseFieldSelector(text: string, resource?: string): FieldSelector {
  // apimachinery sorts the raw terms as strings before parsing them.
  const parts = splitTerms(text).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const reqs: FieldRequirement[] = [];
  for (const part of parts) {
    if (part === '') continue;
    const t = splitTerm(part);
    if (!t) throw new SelectorError('InvalidFieldSelector', `invalid selector: '${text}'; can't understand '${part}'`);
    reqs.push({ field: t.lhs, operator: t.op === '!=' ? '!=' : '=', value: unescapeValue(t.rhs) });
  }
  if (resource === undefined) return new TermsSelector(reqs);
  return new TermsSelector(
    reqs.map((r) => {
      const field = resolveFieldLabel(resource, r.field);
      if (field === undefined) throw unsupportedFieldError(r.field);
      return field === r.field ? r : { ...r, field };
    }),
  );
}

/** fields.SelectorFromSet: equality on every entry. */
export function fieldSelectorFromSet(set: Fields): FieldSelector {
  return new TermsSelector(
    Object.keys(set)
      .sort()
      .map((field) => ({ field, operator: '=' as const, value: set[field] ?? '' })),
  );
}

export const everythingFields = (): FieldSelector => new TermsSelector([]);
