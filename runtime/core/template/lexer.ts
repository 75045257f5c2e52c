// The lexer of Go's text/template, the language of Docker's `--format` and
// `-f`: the template is text with actions between `{{` and `}}`. Inside an
// action come fields (.Config.Env), variables ($x), words (if, range, json),
// literals ("s", `raw`, 'c', 42, true, nil), `|`, `(`, `)`, `:=` and `=`.
//
// Go's lexer is the reference for every rule kept here: `{{- ` and ` -}}`
// (a dash with a space) trim the white space next to the action, `{{/* */}}`
// is a comment that must sit right against the delimiters, and the first
// error ends the token stream with an error token that the parser reports
// in Go's words ("unclosed action", "bad number syntax: \"1x\"").

export type ItemType =
  | 'text' | 'leftDelim' | 'rightDelim' | 'space' | 'field' | 'variable' | 'identifier' | 'keyword'
  | 'dot' | 'bool' | 'nil' | 'number' | 'charConstant' | 'string' | 'rawString'
  | 'pipe' | 'assign' | 'declare' | 'leftParen' | 'rightParen' | 'char' | 'comment' | 'error' | 'eof';

export interface Item {
  type: ItemType;
  /** Offset in the template text, for "at <.Field>" positions (line:column). */
  pos: number;
  val: string;
  line: number;
}

/** Go's keywords: they start control structures, so they are no function names. */
export const KEYWORDS = new Set(['block', 'break', 'continue', 'define', 'else', 'end', 'if', 'range', 'template', 'with']);

const isSpace = (c: string) => c === ' ' || c === '\t' || c === '\r' || c === '\n';
const isAlphaNumeric = (c: string) => c === '_' || /^[\p{L}\p{Nd}]$/u.test(c);

/** An item as Go's parser names it in "unexpected X in Y". */
export function describeItem(item: Item): string {
  if (item.type === 'eof') return 'EOF';
  if (item.type === 'error') return item.val;
  if (item.type === 'keyword') return `<${item.val}>`;
  const chars = [...item.val];
  if (chars.length > 10) return `${goQuote(chars.slice(0, 10).join(''))}...`;
  return goQuote(item.val);
}

/** Go's strconv.Quote: the escapes Go writes, \u for what cannot be printed. */
export function goQuote(s: string): string {
  let out = '"';
  for (const c of s) {
    const code = c.codePointAt(0)!;
    if (c === '"' || c === '\\') out += '\\' + c;
    else if (c === '\n') out += '\\n';
    else if (c === '\t') out += '\\t';
    else if (c === '\r') out += '\\r';
    else if (c === '\x07') out += '\\a';
    else if (c === '\b') out += '\\b';
    else if (c === '\f') out += '\\f';
    else if (c === '\v') out += '\\v';
    else if (code < 0x20 || code === 0x7f) out += '\\x' + code.toString(16).padStart(2, '0');
    else if (/^[\p{C}\p{Zl}\p{Zp}]$/u.test(c)) out += code > 0xffff ? '\\U' + code.toString(16).padStart(8, '0') : '\\u' + code.toString(16).padStart(4, '0');
    else out += c;
  }
  return out + '"';
}

/** Splits a template into Go's items; the last one is 'eof' or 'error'. */
export function lex(input: string): Item[] {
  const items: Item[] = [];
  let pos = 0; // where the scanner is
  let start = 0; // where the current item began
  let line = 1; // the line of `start`
  let parenDepth = 0;

  const emit = (type: ItemType, val = input.slice(start, pos)) => {
    items.push({ type, pos: start, val, line });
    line += countNewlines(input.slice(start, pos));
    start = pos;
  };
  const ignore = () => {
    line += countNewlines(input.slice(start, pos));
    start = pos;
  };
  const fail = (message: string) => {
    items.push({ type: 'error', pos: start, val: message, line });
    return false;
  };
  // ` -}}`: a space, a dash, then the delimiter.
  const atRightDelim = (): { delim: boolean; trim: boolean } => {
    if (/^[ \t\r\n]-\}\}/.test(input.slice(pos, pos + 4))) return { delim: true, trim: true };
    if (input.startsWith('}}', pos)) return { delim: true, trim: false };
    return { delim: false, trim: false };
  };

  // Text up to the next `{{`; `{{- ` trims the white space before it.
  const lexText = (): boolean => {
    const at = input.indexOf('{{', pos);
    if (at < 0) {
      pos = input.length;
      if (pos > start) emit('text');
      items.push({ type: 'eof', pos, val: '', line });
      return false;
    }
    const trims = /^\{\{-[ \t\r\n]/.test(input.slice(at, at + 4));
    let end = at;
    if (trims) while (end > start && isSpace(input[end - 1])) end--;
    pos = end;
    if (pos > start) emit('text');
    pos = at;
    ignore();
    return lexLeftDelim(trims);
  };

  const lexLeftDelim = (trims: boolean): boolean => {
    pos += 2;
    const afterMarker = trims ? 2 : 0; // the dash and its space
    if (input.startsWith('/*', pos + afterMarker)) {
      pos += afterMarker;
      ignore();
      return lexComment();
    }
    emit('leftDelim');
    pos += afterMarker;
    ignore();
    parenDepth = 0;
    return lexInsideAction();
  };

  const lexComment = (): boolean => {
    const end = input.indexOf('*/', pos + 2);
    if (end < 0) return fail('unclosed comment');
    pos = end + 2;
    const { delim, trim } = atRightDelim();
    if (!delim) return fail('comment ends before closing delimiter');
    emit('comment');
    if (trim) pos += 2;
    pos += 2;
    if (trim) while (pos < input.length && isSpace(input[pos])) pos++;
    ignore();
    return true;
  };

  const lexRightDelim = (trim: boolean): boolean => {
    if (trim) {
      pos += 2; // the space and the dash
      ignore();
    }
    pos += 2;
    emit('rightDelim');
    if (trim) {
      while (pos < input.length && isSpace(input[pos])) pos++;
      ignore();
    }
    return true;
  };

  // One token inside an action; false when the stream ended.
  const lexInsideAction = (): boolean => {
    for (;;) {
      const { delim, trim } = atRightDelim();
      if (delim) {
        if (parenDepth === 0) return lexRightDelim(trim);
        return fail('unclosed left paren');
      }
      if (pos >= input.length) return fail('unclosed action');
      const c = input[pos++];
      if (isSpace(c)) {
        while (pos < input.length && isSpace(input[pos]) && !atRightDelim().trim) pos++;
        emit('space');
      } else if (c === '=') emit('assign');
      else if (c === ':') {
        if (input[pos] !== '=') return fail('expected :=');
        pos++;
        emit('declare');
      } else if (c === '|') emit('pipe');
      else if (c === '"') {
        if (!lexQuote()) return false;
      } else if (c === '`') {
        const end = input.indexOf('`', pos);
        if (end < 0) return fail('unterminated raw quoted string');
        pos = end + 1;
        emit('rawString');
      } else if (c === "'") {
        if (!lexChar()) return false;
      } else if (c === '$') {
        if (!lexFieldOrVariable('variable')) return false;
      } else if (c === '.' && pos < input.length && !/[0-9]/.test(input[pos])) {
        if (!lexFieldOrVariable('field')) return false;
      } else if (c === '.' || c === '+' || c === '-' || /[0-9]/.test(c)) {
        pos--;
        if (!lexNumber()) return false;
      } else if (isAlphaNumeric(c)) {
        pos--;
        if (!lexIdentifier()) return false;
      } else if (c === '(') {
        emit('leftParen');
        parenDepth++;
      } else if (c === ')') {
        parenDepth--;
        if (parenDepth < 0) return fail('unexpected right paren');
        emit('rightParen');
      } else if (c.charCodeAt(0) >= 0x20 && c.charCodeAt(0) < 0x7f) emit('char');
      else {
        return fail(`unrecognized character in action: ${hashU(input.codePointAt(pos - 1)!)}`);
      }
    }
  };

  // After a word, a field or a variable, Go wants a terminator: a space,
  // the end of the action, or one of . , | : ) (
  const atTerminator = (): boolean => {
    if (pos >= input.length) return true;
    const c = input[pos];
    if (isSpace(c) || '.,|:)('.includes(c)) return true;
    return input.startsWith('}}', pos);
  };
  const badCharacter = () => {
    return fail(`bad character ${hashU(input.codePointAt(pos)!)}`);
  };

  const lexFieldOrVariable = (type: 'field' | 'variable'): boolean => {
    if (atTerminator()) {
      emit(type === 'variable' ? 'variable' : 'dot');
      return true;
    }
    while (pos < input.length && isAlphaNumeric(input[pos])) pos++;
    if (!atTerminator()) return badCharacter();
    emit(type);
    return true;
  };

  const lexIdentifier = (): boolean => {
    while (pos < input.length && isAlphaNumeric(input[pos])) pos++;
    if (!atTerminator()) return badCharacter();
    const word = input.slice(start, pos);
    if (KEYWORDS.has(word)) emit('keyword');
    else if (word === 'true' || word === 'false') emit('bool');
    else if (word === 'nil') emit('nil');
    else emit('identifier');
    return true;
  };

  // A quoted string or a character constant: up to the closing quote, a
  // backslash escaping the next character, and neither may span a line.
  const lexQuoted = (close: string, kind: 'string' | 'charConstant', what: string): boolean => {
    for (;;) {
      const c = input[pos++];
      if (c === '\\') {
        if (pos < input.length && input[pos] !== '\n') {
          pos++;
          continue;
        }
      }
      if (c === undefined || c === '\n' || c === '\\') return fail(`unterminated ${what}`);
      if (c === close) break;
    }
    emit(kind);
    return true;
  };
  const lexQuote = () => lexQuoted('"', 'string', 'quoted string');
  const lexChar = () => lexQuoted("'", 'charConstant', 'character constant');

  // Go's numbers: a sign, 0x/0o/0b prefixes, underscores, a fraction, an exponent.
  const lexNumber = (): boolean => {
    const m = /^[+-]?(0[xX][0-9a-fA-F_]*(\.[0-9a-fA-F_]*)?([pP][+-]?[0-9_]+)?|0[oO][0-7_]*|0[bB][01_]*|[0-9_]*(\.[0-9_]*)?([eE][+-]?[0-9_]+)?)i?/.exec(input.slice(pos))!;
    pos += m[0].length;
    if (pos < input.length && isAlphaNumeric(input[pos])) {
      pos++;
      return fail(`bad number syntax: ${goQuote(input.slice(start, pos))}`);
    }
    emit('number');
    return true;
  };

  // lexText returns true after each action or comment: go on with the text after it.
  while (lexText());
  return items;
}

const countNewlines = (s: string) => s.split('\n').length - 1;

/** Go's %#U: U+2192 '→', without the quoted character when it cannot be printed. */
function hashU(cp: number): string {
  const u = 'U+' + cp.toString(16).toUpperCase().padStart(4, '0');
  const c = String.fromCodePoint(cp);
  return /^[\p{L}\p{M}\p{N}\p{P}\p{S}\p{Zs}]$/u.test(c) ? `${u} ${goCharQuote(c)}` : u;
}

/** Go's %q of a rune: 'x'. */
export function goCharQuote(c: string): string {
  const q = goQuote(c).slice(1, -1);
  return `'${c === "'" ? "\\'" : q === '\\"' ? '"' : q}'`;
}
