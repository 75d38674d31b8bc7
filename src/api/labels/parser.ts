// Recursive-descent parser for the label selector grammar, following apimachinery's
// labels.Parser (including its error texts):
//
//   <selector-syntax>         ::= <requirement> | <requirement> "," <selector-syntax>
//   <requirement>             ::= [!] KEY [ <set-based-restriction> | <exact-match-restriction> ]
//   <set-based-restriction>   ::= "" | ("in" | "notin") "(" <values> ")"
//   <exact-match-restriction> ::= ["=" | "==" | "!=" | ">" | "<"] VALUE
//
// "in"/"notin" are keywords only where an operator is expected; as keys or values they are
// plain identifiers (`in in (in)` is valid).
import { aggregateMessage, invalid } from '../field.ts';
import { isQualifiedName } from '../validation/names.ts';
import { SelectorError } from './errors.ts';
import { type ScannedItem, scan, type Token } from './lexer.ts';
import {
  binaryOperatorList,
  compareStrings,
  type Operator,
  type Requirement,
  validateRequirement,
} from './requirement.ts';

type Context = 'KeyAndOperator' | 'Values';

class ParseFailure extends Error {}

class Parser {
  private position = 0;
  constructor(private readonly items: readonly ScannedItem[]) {}

  private at(i: number, ctx: Context): ScannedItem {
    const item = this.items[i] ?? { tok: 'EndOfString', literal: '' };
    if (ctx === 'Values' && (item.tok === 'In' || item.tok === 'NotIn'))
      return { tok: 'Identifier', literal: item.literal };
    return item;
  }
  private lookahead(ctx: Context): ScannedItem {
    return this.at(this.position, ctx);
  }
  private consume(ctx: Context): ScannedItem {
    return this.at(this.position++, ctx);
  }

  parse(): Requirement[] {
    const reqs: Requirement[] = [];
    for (;;) {
      const { tok, literal } = this.lookahead('Values');
      if (tok === 'EndOfString') return reqs;
      if (tok !== 'Identifier' && tok !== 'DoesNotExist')
        throw new ParseFailure(`found '${literal}', expected: !, identifier, or 'end of string'`);
      reqs.push(this.parseWrapped());
      const next = this.consume('Values');
      if (next.tok === 'EndOfString') return reqs;
      if (next.tok !== 'Comma') throw new ParseFailure(`found '${next.literal}', expected: ',' or 'end of string'`);
      const after = this.lookahead('Values');
      if (after.tok !== 'Identifier' && after.tok !== 'DoesNotExist')
        throw new ParseFailure(`found '${after.literal}', expected: identifier after ','`);
    }
  }

  /** Failures inside one requirement get apimachinery's prefix; the ones between do not. */
  private parseWrapped(): Requirement {
    try {
      return this.parseRequirement();
    } catch (e) {
      if (e instanceof ParseFailure) throw new ParseFailure(`unable to parse requirement: ${e.message}`);
      throw e;
    }
  }

  private parseRequirement(): Requirement {
    const { key, operator } = this.parseKeyAndInferOperator();
    if (operator) return build(key, operator, []);
    const op = this.parseOperator();
    const values = op === 'in' || op === 'notin' ? this.parseValues() : this.parseExactValue();
    // apimachinery collects values in a set and passes its sorted List().
    return build(key, op, [...values].sort(compareStrings));
  }

  private parseKeyAndInferOperator(): { key: string; operator: Operator | undefined } {
    let operator: Operator | undefined;
    let item = this.consume('Values');
    if (item.tok === 'DoesNotExist') {
      operator = '!';
      item = this.consume('Values');
    }
    if (item.tok !== 'Identifier') throw new ParseFailure(`found '${item.literal}', expected: identifier`);
    const keyErrs = isQualifiedName(item.literal);
    // The parser has no field path, so Go prints the nil *field.Path as "<nil>".
    if (keyErrs.length > 0)
      throw new ParseFailure(aggregateMessage([invalid('<nil>', item.literal, keyErrs.join('; '))]));
    const next = this.lookahead('Values').tok;
    if ((next === 'EndOfString' || next === 'Comma') && operator === undefined) operator = 'exists';
    return { key: item.literal, operator };
  }

  private parseOperator(): Operator {
    const { tok, literal } = this.consume('KeyAndOperator');
    const op = tokenOperator[tok];
    if (op === undefined) throw new ParseFailure(`found '${literal}', expected: ${binaryOperatorList}`);
    return op;
  }

  private parseValues(): Set<string> {
    const open = this.consume('Values');
    if (open.tok !== 'OpenPar') throw new ParseFailure(`found '${open.literal}' expected: '('`);
    const { tok, literal } = this.lookahead('Values');
    if (tok === 'ClosedPar') {
      this.consume('Values');
      return new Set(['']); // "()" is the set holding the empty value
    }
    if (tok !== 'Identifier' && tok !== 'Comma')
      throw new ParseFailure(`found '${literal}', expected: ',', ')' or identifier`);
    const s = this.parseIdentifiersList();
    this.consume('Values'); // the ')' that parseIdentifiersList stopped before
    return s;
  }

  /** A possibly empty, comma-separated list of possibly empty identifiers: `(a,,b,)`. */
  private parseIdentifiersList(): Set<string> {
    const s = new Set<string>();
    for (;;) {
      const { tok, literal } = this.consume('Values');
      if (tok === 'Identifier') {
        s.add(literal);
        const next = this.lookahead('Values');
        if (next.tok === 'Comma') continue;
        if (next.tok === 'ClosedPar') return s;
        throw new ParseFailure(`found '${next.literal}', expected: ',' or ')'`);
      }
      if (tok !== 'Comma') throw new ParseFailure(`found '${literal}', expected: ',', or identifier`);
      if (s.size === 0) s.add(''); // "(,"
      const next = this.lookahead('Values').tok;
      if (next === 'ClosedPar') {
        s.add(''); // ",)"
        return s;
      }
      if (next === 'Comma') {
        this.consume('Values');
        s.add(''); // ",,"
      }
    }
  }

  private parseExactValue(): Set<string> {
    const next = this.lookahead('Values').tok;
    if (next === 'EndOfString' || next === 'Comma') return new Set(['']); // "a=" means a is ""
    const { tok, literal } = this.consume('Values');
    if (tok !== 'Identifier') throw new ParseFailure(`found '${literal}', expected: identifier`);
    return new Set([literal]);
  }
}

const tokenOperator: Partial<Record<Token, Operator>> = {
  In: 'in',
  Equals: '=',
  DoubleEquals: '==',
  GreaterThan: 'gt',
  LessThan: 'lt',
  NotIn: 'notin',
  NotEquals: '!=',
};

function build(key: string, operator: Operator, values: string[]): Requirement {
  const errs = validateRequirement(key, operator, values);
  if (errs.length > 0) throw new ParseFailure(aggregateMessage(errs));
  return { key, operator, values };
}

/**
 * Parse a selector string into requirements sorted by key (stable, so equal keys keep their
 * written order). Throws SelectorError (400) with apimachinery's message.
 */
export function parseRequirements(text: string): Requirement[] {
  try {
    const reqs = new Parser(scan(text)).parse();
    return reqs.sort((a, b) => compareStrings(a.key, b.key));
  } catch (e) {
    if (!(e instanceof ParseFailure)) throw e;
    throw new SelectorError('InvalidLabelSelector', e.message);
  }
}
