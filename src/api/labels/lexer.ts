// The label selector lexer, token for token as apimachinery's labels.Lexer: identifiers run
// until whitespace or one of `=!(),><`; operators are the longest run of those symbols that
// is still a known token. Keeping the same tokenization keeps the same error messages.

export type Token =
  | 'EndOfString'
  | 'ClosedPar'
  | 'Comma'
  | 'DoesNotExist'
  | 'DoubleEquals'
  | 'Equals'
  | 'GreaterThan'
  | 'Identifier'
  | 'In'
  | 'LessThan'
  | 'NotEquals'
  | 'NotIn'
  | 'OpenPar';

export interface ScannedItem {
  readonly tok: Token;
  readonly literal: string;
}

const string2token: ReadonlyMap<string, Token> = new Map<string, Token>([
  [')', 'ClosedPar'],
  [',', 'Comma'],
  ['!', 'DoesNotExist'],
  ['==', 'DoubleEquals'],
  ['=', 'Equals'],
  ['>', 'GreaterThan'],
  ['in', 'In'],
  ['<', 'LessThan'],
  ['!=', 'NotEquals'],
  ['notin', 'NotIn'],
  ['(', 'OpenPar'],
]);

const isWhitespace = (ch: string): boolean => ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n';
const isSpecialSymbol = (ch: string): boolean => '=!(),><'.includes(ch) && ch.length === 1;

/** Tokenize the whole input; the last item is always EndOfString. */
export function scan(s: string): ScannedItem[] {
  // The Go lexer reads bytes and treats NUL as end of input; we do the same with code units.
  const end = s.indexOf('\0');
  const text = end >= 0 ? s.slice(0, end) : s;
  const items: ScannedItem[] = [];
  let pos = 0;
  for (;;) {
    while (pos < text.length && isWhitespace(text.charAt(pos))) pos++;
    if (pos >= text.length) {
      items.push({ tok: 'EndOfString', literal: '' });
      return items;
    }
    if (isSpecialSymbol(text.charAt(pos))) {
      // Longest prefix of special symbols that is a token ("!=" over "!", "==" over "=").
      let best: ScannedItem | undefined;
      let buffer = '';
      let i = pos;
      while (i < text.length && isSpecialSymbol(text.charAt(i))) {
        buffer += text.charAt(i);
        const tok = string2token.get(buffer);
        if (tok) best = { tok, literal: buffer };
        else if (best) break;
        i++;
      }
      // Every single special symbol is a token, so `best` is always set here.
      const item = best ?? { tok: 'Identifier', literal: buffer };
      items.push(item);
      pos += item.literal.length;
      continue;
    }
    const start = pos;
    while (pos < text.length && !isSpecialSymbol(text.charAt(pos)) && !isWhitespace(text.charAt(pos))) pos++;
    const literal = text.slice(start, pos);
    const kw = string2token.get(literal);
    items.push({ tok: kw === 'In' || kw === 'NotIn' ? kw : 'Identifier', literal });
  }
}
