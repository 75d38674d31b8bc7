import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Path } from '../field.ts';
import { isBadRequest } from '../status.ts';
import type { LabelSelector } from '../types.ts';
import { isQualifiedName, isValidLabelValue } from '../validation/names.ts';
import type { Labels, Operator, Requirement } from './selector.ts';
import {
  everything,
  isSelectorError,
  labelSelectorAsSelector,
  nothing,
  parseSelector,
  selectorFromSet,
  validateLabelSelector,
} from './selector.ts';

function parseError(text: string): string {
  try {
    parseSelector(text);
  } catch (e) {
    assert.ok(isSelectorError(e), `not a SelectorError: ${String(e)}`);
    assert.ok(isBadRequest(e));
    assert.equal(e.status.code, 400);
    assert.equal(e.selectorCode, 'InvalidLabelSelector');
    return e.message;
  }
  assert.fail(`expected ${JSON.stringify(text)} to fail`);
}

describe('parseSelector: grammar and canonical String()', () => {
  const cases: [string, string][] = [
    ['', ''],
    ['x=a', 'x=a'],
    ['x==a', 'x==a'],
    ['x!=a', 'x!=a'],
    ['x in (b,a)', 'x in (a,b)'],
    ['x notin (a)', 'x notin (a)'],
    ['x', 'x'],
    ['!x', '!x'],
    ['x>1', 'x>1'],
    ['x<0', 'x<0'],
    ['z=1,a=2', 'a=2,z=1'],
    ['  x  =  a ,\ty in ( b , a ) \n', 'x=a,y in (a,b)'],
    ['x in (foo,,baz),y,z notin ()', 'x in (,baz,foo),y,z notin ()'],
    ['x in (a,)', 'x in (,a)'],
    ['x in (,a)', 'x in (,a)'],
    ['x in (a,a)', 'x in (a)'],
    ['x in (,,a)', 'x in (,a)'],
    ['x=', 'x='],
    ['x=,y=b', 'x=,y=b'],
    ['in in (in)', 'in in (in)'],
    ['notin notin (notin)', 'notin notin (notin)'],
    ['in=notin', 'in=notin'],
    ['!in', '!in'],
    ['example.com/app=web,app.kubernetes.io/name', 'app.kubernetes.io/name,example.com/app=web'],
    ['b=1,a,b!=2', 'a,b=1,b!=2'],
  ];
  for (const [input, canonical] of cases) {
    it(`${JSON.stringify(input)} → ${JSON.stringify(canonical)}`, () => {
      const s = parseSelector(input);
      assert.equal(s.toString(), canonical);
      assert.equal(parseSelector(s.toString()).toString(), canonical);
    });
  }

  it('"" is empty and matches everything', () => {
    const s = parseSelector('');
    assert.ok(s.empty());
    assert.ok(s.matches(undefined));
    assert.ok(s.matches({ a: 'b' }));
  });
});

describe('parseSelector: errors carry apimachinery messages', () => {
  const cases: [string, string][] = [
    ['x=a b', "found 'b', expected: ',' or 'end of string'"],
    ['x y', "unable to parse requirement: found 'y', expected: in, notin, =, ==, !=, gt, lt"],
    ['x in a', "unable to parse requirement: found 'a' expected: '('"],
    ['x in (a b)', "unable to parse requirement: found 'b', expected: ',' or ')'"],
    ['x in (=)', "unable to parse requirement: found '=', expected: ',', ')' or identifier"],
    ['x in (,=)', "unable to parse requirement: found '=', expected: ',', or identifier"],
    // apimachinery rejects an all-empty list of three or more: `(,,)` ends on ')' after ',,'.
    ['x in (,,)', "unable to parse requirement: found ')', expected: ',', or identifier"],
    ['x in', "unable to parse requirement: found '' expected: '('"],
    ['x,', "found '', expected: identifier after ','"],
    ['x,,y', "found ',', expected: identifier after ','"],
    [',x', "found ',', expected: !, identifier, or 'end of string'"],
    ['(', "found '(', expected: !, identifier, or 'end of string'"],
    ['!', "unable to parse requirement: found '', expected: identifier"],
    ['!=a', "found '!=', expected: !, identifier, or 'end of string'"],
    ['!!a', "unable to parse requirement: found '!', expected: identifier"],
    ['!x=a', "found '=', expected: ',' or 'end of string'"],
    ['x=a=b', "found '=', expected: ',' or 'end of string'"],
    ['x=(a)', "unable to parse requirement: found '(', expected: identifier"],
    [
      'x>a',
      `unable to parse requirement: values[0]: Invalid value: "a": for 'Gt', 'Lt' operators, the value must be an integer`,
    ],
    [
      'x<',
      `unable to parse requirement: values[0]: Invalid value: "": for 'Gt', 'Lt' operators, the value must be an integer`,
    ],
  ];
  for (const [input, message] of cases) {
    it(JSON.stringify(input), () => assert.equal(parseError(input), message));
  }

  it('an invalid key is reported against the nil path, as Go prints it', () => {
    const detail = isQualifiedName('-x').join('; ');
    assert.ok(detail.length > 0);
    assert.equal(parseError('-x=a'), `unable to parse requirement: <nil>: Invalid value: "-x": ${detail}`);
  });

  it('an invalid value is reported at values[i][key]', () => {
    const detail = isValidLabelValue('a$').join('; ');
    assert.ok(detail.length > 0);
    assert.equal(parseError('x=a$'), `unable to parse requirement: values[0][x]: Invalid value: "a$": ${detail}`);
  });

  it('a negative Gt operand is an integer but not a label value', () => {
    const detail = isValidLabelValue('-1').join('; ');
    assert.equal(parseError('x>-1'), `unable to parse requirement: values[0][x]: Invalid value: "-1": ${detail}`);
  });

  it('Gt/Lt operands must fit in int64', () => {
    assert.match(parseError('x>9223372036854775808'), /the value must be an integer/);
    assert.equal(parseSelector('x>9223372036854775807').toString(), 'x>9223372036854775807');
  });
});

describe('Selector.matches', () => {
  const cases: [string, Labels, boolean][] = [
    ['x=a', { x: 'a' }, true],
    ['x=a', { x: 'b' }, false],
    ['x=a', {}, false],
    ['x==a', { x: 'a' }, true],
    ['x!=a', {}, true],
    ['x!=a', { x: 'a' }, false],
    ['x!=a', { x: 'b' }, true],
    ['x in (a,b)', { x: 'b' }, true],
    ['x in (a,b)', { x: 'c' }, false],
    ['x in (a,b)', undefined, false],
    ['x notin (a,b)', { x: 'c' }, true],
    ['x notin (a,b)', {}, true],
    ['x notin (a,b)', { x: 'a' }, false],
    ['x', { x: '' }, true],
    ['x', { y: 'x' }, false],
    ['!x', {}, true],
    ['!x', { x: '' }, false],
    ['x=', { x: '' }, true],
    ['x=', {}, false],
    ['x>5', { x: '6' }, true],
    ['x>5', { x: '5' }, false],
    ['x>5', { x: 'six' }, false],
    ['x>5', {}, false],
    ['x<5', { x: '-7' }, true],
    ['x<5', { x: '+4' }, true],
    ['x<5', { x: '4.5' }, false],
    ['x>1', { x: '99999999999999999999' }, false],
    ['a=1,b', { a: '1', b: '' }, true],
    ['a=1,b', { a: '1' }, false],
    ['constructor', {}, false],
    ['!toString', {}, true],
  ];
  for (const [sel, labels, want] of cases) {
    it(`${sel} on ${JSON.stringify(labels)} → ${want}`, () => assert.equal(parseSelector(sel).matches(labels), want));
  }
});

describe('selectorFromSet', () => {
  it('is equality on every key, sorted', () => {
    const s = selectorFromSet({ b: '2', a: '1' });
    assert.equal(s.toString(), 'a=1,b=2');
    assert.ok(s.matches({ a: '1', b: '2', c: '3' }));
    assert.ok(!s.matches({ a: '1' }));
  });
  it('nil and {} select everything', () => {
    assert.ok(selectorFromSet(undefined).empty());
    assert.ok(selectorFromSet({}).matches({ any: 'thing' }));
  });
  it('requiresExactMatch', () => {
    assert.equal(selectorFromSet({ app: 'web' }).requiresExactMatch('app'), 'web');
    assert.equal(parseSelector('app in (web)').requiresExactMatch('app'), 'web');
    assert.equal(parseSelector('app in (a,b)').requiresExactMatch('app'), undefined);
    assert.equal(parseSelector('app!=web').requiresExactMatch('app'), undefined);
    assert.equal(parseSelector('x=1').requiresExactMatch('app'), undefined);
  });
});

describe('labelSelectorAsSelector', () => {
  it('nil selects nothing (and is not "empty")', () => {
    const s = labelSelectorAsSelector(undefined);
    assert.ok(!s.matches({}));
    assert.ok(!s.matches({ a: 'b' }));
    assert.ok(!s.empty());
    assert.equal(s.requirements(), undefined);
    assert.equal(s.add({ key: 'a', operator: 'exists', values: [] }), nothing());
  });
  it('{} selects everything', () => {
    const s = labelSelectorAsSelector({});
    assert.ok(s.empty());
    assert.ok(s.matches({ a: 'b' }));
    assert.equal(labelSelectorAsSelector({ matchLabels: {}, matchExpressions: [] }), everything());
  });
  it('ANDs matchLabels and matchExpressions', () => {
    const s = labelSelectorAsSelector({
      matchLabels: { tier: 'web', app: 'shop' },
      matchExpressions: [
        { key: 'env', operator: 'In', values: ['prod', 'canary'] },
        { key: 'legacy', operator: 'DoesNotExist' },
        { key: 'zone', operator: 'NotIn', values: ['a'] },
        { key: 'owner', operator: 'Exists' },
      ],
    });
    assert.equal(s.toString(), 'app=shop,env in (canary,prod),!legacy,owner,tier=web,zone notin (a)');
    assert.ok(s.matches({ app: 'shop', tier: 'web', env: 'prod', owner: 'x' }));
    assert.ok(!s.matches({ app: 'shop', tier: 'web', env: 'prod', owner: 'x', legacy: '1' }));
    assert.ok(!s.matches({ app: 'shop', tier: 'web', env: 'dev', owner: 'x' }));
    assert.ok(!s.matches({ app: 'shop', tier: 'web', env: 'prod', owner: 'x', zone: 'a' }));
  });
  it('rejects an unknown operator', () => {
    assert.throws(
      () => labelSelectorAsSelector({ matchExpressions: [{ key: 'a', operator: 'Gt', values: ['1'] }] }),
      (e: unknown) => isSelectorError(e) && e.message === '"Gt" is not a valid label selector operator',
    );
  });
  it('rejects In without values and Exists with values (NewRequirement messages)', () => {
    assert.throws(() => labelSelectorAsSelector({ matchExpressions: [{ key: 'a', operator: 'In', values: [] }] }), {
      message: "values: Invalid value: []: for 'in', 'notin' operators, values set can't be empty",
    });
    assert.throws(
      () => labelSelectorAsSelector({ matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] }),
      { message: `values: Invalid value: ["x"]: values set must be empty for exists and does not exist` },
    );
  });
});

describe('validateLabelSelector', () => {
  const p = Path.of('spec', 'selector');
  const causes = (ls: LabelSelector | undefined) =>
    validateLabelSelector(ls, p).map((e) => [e.type, e.field, e.detail] as const);

  it('accepts nil, {} and well-formed selectors', () => {
    assert.deepEqual(causes(undefined), []);
    assert.deepEqual(causes({}), []);
    assert.deepEqual(
      causes({ matchLabels: { app: 'x' }, matchExpressions: [{ key: 'a', operator: 'In', values: ['b'] }] }),
      [],
    );
  });
  it('In/NotIn need values; Exists/DoesNotExist forbid them; unknown operators are invalid', () => {
    assert.deepEqual(
      causes({
        matchExpressions: [
          { key: 'a', operator: 'In' },
          { key: 'a', operator: 'NotIn', values: [] },
          { key: 'a', operator: 'Exists', values: ['x'] },
          { key: 'a', operator: 'DoesNotExist', values: ['x'] },
          { key: 'a', operator: 'in', values: ['x'] },
        ],
      }),
      [
        [
          'FieldValueRequired',
          'spec.selector.matchExpressions[0].values',
          "must be specified when `operator` is 'In' or 'NotIn'",
        ],
        [
          'FieldValueRequired',
          'spec.selector.matchExpressions[1].values',
          "must be specified when `operator` is 'In' or 'NotIn'",
        ],
        [
          'FieldValueForbidden',
          'spec.selector.matchExpressions[2].values',
          "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
        ],
        [
          'FieldValueForbidden',
          'spec.selector.matchExpressions[3].values',
          "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
        ],
        ['FieldValueInvalid', 'spec.selector.matchExpressions[4].operator', 'not a valid selector operator'],
      ],
    );
  });
  it('checks keys and values', () => {
    const errs = validateLabelSelector(
      { matchLabels: { 'bad key': 'ok' }, matchExpressions: [{ key: '', operator: 'In', values: ['a b'] }] },
      p,
    );
    const fields = errs.map((e) => e.field);
    assert.ok(fields.includes('spec.selector.matchLabels'));
    assert.ok(fields.includes('spec.selector.matchExpressions[0].key'));
    assert.ok(fields.includes('spec.selector.matchExpressions[0].values[0]'));
  });
});

// ---- properties ------------------------------------------------------------------------------

const keys = ['a', 'b', 'in', 'notin', 'example.com/app'];
const values = ['', 'x', 'y', 'in', '1', '10', 'z-9'];
const ints = ['0', '1', '5', '10', '-3'];

const arbReq: fc.Arbitrary<Requirement> = fc.oneof(
  fc.record({
    key: fc.constantFrom(...keys),
    operator: fc.constantFrom<Operator>('=', '==', '!='),
    values: fc.constantFrom(...values).map((v) => [v]),
  }),
  fc.record({
    key: fc.constantFrom(...keys),
    operator: fc.constantFrom<Operator>('in', 'notin'),
    // Unique: like apimachinery's, String() of `in ("","","")` is `in (,,)`, which its own
    // parser rejects; parsed and validated selectors never hold duplicate values.
    values: fc.uniqueArray(fc.constantFrom(...values), { minLength: 1, maxLength: 4 }),
  }),
  fc.record({
    key: fc.constantFrom(...keys),
    operator: fc.constantFrom<Operator>('exists', '!'),
    values: fc.constant([]),
  }),
  fc.record({
    key: fc.constantFrom(...keys),
    operator: fc.constantFrom<Operator>('gt', 'lt'),
    // Gt/Lt operands are label values too, so non-negative only.
    values: fc.constantFrom('0', '1', '5', '10').map((v) => [v]),
  }),
);

const arbLabels: fc.Arbitrary<Record<string, string>> = fc
  .array(fc.tuple(fc.constantFrom(...keys), fc.constantFrom(...values, ...ints)), { maxLength: 5 })
  .map((pairs) => Object.fromEntries(pairs));

/** The obvious reading of each operator, written independently of requirement.ts. */
function naive(reqs: readonly Requirement[], labels: Record<string, string>): boolean {
  return reqs.every((r) => {
    const has = r.key in labels;
    const v = labels[r.key];
    switch (r.operator) {
      case '=':
      case '==':
      case 'in':
        return has && r.values.some((x) => x === v);
      case '!=':
      case 'notin':
        return !has || r.values.every((x) => x !== v);
      case 'exists':
        return has;
      case '!':
        return !has;
      case 'gt':
      case 'lt': {
        if (!has || v === undefined || !/^[+-]?\d+$/.test(v)) return false;
        const a = Number(v);
        const b = Number(r.values[0]);
        return r.operator === 'gt' ? a > b : a < b;
      }
      default:
        return false;
    }
  });
}

describe('properties', () => {
  it('parse(toString(s)) selects the same label sets as s', () => {
    fc.assert(
      fc.property(
        fc.array(arbReq, { maxLength: 5 }),
        fc.array(arbLabels, { minLength: 1, maxLength: 8 }),
        (reqs, sets) => {
          const s = everything().add(...reqs);
          const back = parseSelector(s.toString());
          assert.equal(back.toString(), parseSelector(back.toString()).toString());
          for (const l of sets) assert.equal(back.matches(l), s.matches(l));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('matches() agrees with a naive evaluator', () => {
    fc.assert(
      fc.property(fc.array(arbReq, { maxLength: 5 }), arbLabels, (reqs, labels) => {
        assert.equal(
          everything()
            .add(...reqs)
            .matches(labels),
          naive(reqs, labels),
        );
      }),
      { numRuns: 500 },
    );
  });

  it('the parser never throws anything but a SelectorError', () => {
    const alphabet = fc.constantFrom('a', 'b', '=', '!', '(', ')', ',', ' ', '<', '>', 'in', 'notin', '1', '-', '/');
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 12 }), (parts) => {
        try {
          parseSelector(parts.join(''));
        } catch (e) {
          assert.ok(isSelectorError(e), String(e));
        }
      }),
      { numRuns: 500 },
    );
  });
});
