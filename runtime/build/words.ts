// Docker's expansion of $variables in Dockerfile words. The builder runs
// this on the arguments of ENV, ARG, LABEL, EXPOSE, WORKDIR, USER, VOLUME,
// STOPSIGNAL, COPY/ADD (sources, destination, --chown, --chmod), FROM (with
// the ARGs declared before it) and ONBUILD's trigger when it fires; never on
// RUN, CMD or ENTRYPOINT, whose text is for the shell in the container.
//
// The rules are a small subset of the POSIX shell's (buildkit's
// frontend/dockerfile/shell/lex.go is the reference Docker's classic builder
// also uses): quotes are removed, the escape character (`\`, or the
// backtick after `# escape=\``) makes the next character literal, and
//   $v ${v}            the value, or "" when unset
//   ${v:-w} ${v-w}     w when v is unset (':' also when empty)
//   ${v:+w} ${v+w}     w when v is set (':' and not empty)
//   ${v:?m} ${v?m}     an error "v: m" when v is unset (':' also when empty)
//   ${v#p} ${v##p}     v without its shortest/longest prefix matching p
//   ${v%p} ${v%%p}     v without its shortest/longest suffix matching p
//   ${v/p/r} ${v//p/r} v with the first/every match of p replaced by r
// Unlike a shell, nothing here runs: no $(…), no `…`, no globbing, and a
// value is never split into words again, except for EXPOSE (expandWords).

import { ExpandFail as Fail, shellPatternRegex, replaceFirst, replaceAll, trimPrefix, trimSuffix } from './words-pattern.js';

/** A word Docker refuses: its message, as Docker's builder prints it. */
export class ExpandError extends Error {
  constructor(readonly word: string, readonly reason: string) {
    // buildkit wraps every expansion error the same way
    super(`failed to process ${goQuote(word)}: ${reason}`);
  }
}

/** The variables a step sees: ENV, then ARGs (build-arg values or defaults). */
export type Env = ReadonlyMap<string, string>;
export type Escape = '\\' | '`';

// #region words-sink
/**
 * Where expandWords collects words. Text that came from a $variable is split
 * on whitespace; text that was quoted or escaped is never split. So with
 * PORTS="80 443", `EXPOSE $PORTS` is two ports and `EXPOSE "$PORTS"` one.
 */
class Words {
  words: string[] = [];
  private buf = '';
  /** unquoted text and $values: whitespace ends a word */
  addSplit(text: string): void {
    for (const c of text) {
      if (!WHITESPACE.test(c)) this.buf += c;
      else if (this.buf !== '') {
        this.words.push(this.buf);
        this.buf = '';
      }
    }
  }
  /** quoted or escaped text: kept whole, whitespace included */
  addRaw(text: string): void {
    this.buf += text;
  }
  /** A word that ended up empty ("" alone) is no word, as in Docker. */
  finish(): string[] {
    if (this.buf !== '') this.words.push(this.buf);
    this.buf = '';
    return this.words;
  }
}
// Go's unicode.IsSpace is the Unicode White_Space property.
const WHITESPACE = /^\p{White_Space}$/u;
// #endregion words-sink

const LETTER = /^[\p{L}\p{Nd}_]$/u;
const DIGIT = /^\p{Nd}$/u;
// POSIX's special parameters ($@, $#, $?…): recognised, always unset here.
const SPECIAL = new Set(['@', '*', '#', '?', '-', '$', '!', '0']);

class Scanner {
  private readonly chars: string[];
  private pos = 0;
  constructor(
    text: string,
    private readonly env: Env,
    private readonly escape: Escape,
    /** false for a heredoc's content: quotes are ordinary characters there */
    private readonly quotes: boolean,
  ) {
    this.chars = [...text];
  }
  private peek(): string | undefined {
    return this.chars[this.pos];
  }
  private next(): string | undefined {
    return this.chars[this.pos++];
  }
  private atEnd(): boolean {
    return this.pos >= this.chars.length;
  }

  // #region words-scan
  /**
   * Read up to `stop` (or the end when stop is null), expanding as we go.
   * `raw` keeps escape characters in the text: the patterns of ${v#p} and
   * ${v/p/r} need them, to tell `\*` (a star) from `*` (any string).
   */
  readUntil(stop: string | null, raw: boolean, words?: Words): string {
    let out = '';
    while (!this.atEnd()) {
      const c = this.peek()!;
      if (stop !== null && c === stop) {
        this.next();
        return out;
      }
      let piece: string;
      if (c === '$') {
        piece = this.dollar();
        words?.addSplit(piece); // a value is split into words; see Words
      } else if (c === "'" && this.quotes) {
        piece = this.singleQuoted();
        words?.addRaw(piece);
      } else if (c === '"' && this.quotes) {
        piece = this.doubleQuoted(raw);
        words?.addRaw(piece);
      } else if (c === '<') {
        piece = this.heredocMarker();
        words?.addRaw(piece);
      } else if (c === this.escape) {
        // Outside quotes the escape character makes the next one literal
        // (a space that does not split, a $ that does not expand). At the
        // very end it escapes nothing and is dropped.
        this.next();
        const e = this.next();
        piece = (raw ? c : '') + (e ?? '');
        words?.addRaw(piece);
      } else {
        piece = this.next()!;
        words?.addSplit(piece);
      }
      out += piece;
    }
    if (stop !== null) throw new Fail(`unexpected end of statement while looking for matching ${stop}`);
    return out;
  }

  /** '…': every character literal, the escape character too; no way to put a ' inside. */
  private singleQuoted(): string {
    this.next();
    let out = '';
    for (;;) {
      const c = this.next();
      if (c === undefined) throw new Fail('unexpected end of statement while looking for matching single-quote');
      if (c === "'") return out;
      out += c;
    }
  }

  /**
   * "…": $ still expands; the escape character escapes only `"`, `$` and
   * itself, and stays as written before anything else ("a\tb" keeps its \).
   */
  private doubleQuoted(raw: boolean): string {
    this.next();
    let out = '';
    for (;;) {
      const c = this.peek();
      if (c === undefined) throw new Fail('unexpected end of statement while looking for matching double-quote');
      if (c === '"') {
        this.next();
        return out;
      }
      if (c === '$') {
        out += this.dollar();
        continue;
      }
      let ch = this.next()!;
      if (ch === this.escape) {
        if (raw) out += ch;
        const after = this.peek();
        if (after === undefined) continue; // then the missing " is reported
        if (after === '"' || after === '$' || after === this.escape) ch = this.next()!;
      }
      out += ch;
    }
  }

  /** `<<` and the blanks after it stay together, so `<< EOF` is one word (heredoc markers). */
  private heredocMarker(): string {
    this.next();
    if (this.peek() !== '<') return '<';
    this.next();
    let out = '<<';
    while (this.peek() === ' ' || this.peek() === '\t' || this.peek() === '\r') out += this.next();
    return out;
  }
  // #endregion words-scan

  // #region words-dollar
  private dollar(): string {
    this.next(); // the $
    if (this.peek() !== '{') {
      const name = this.name();
      // `$` before something that is not a name stays a `$` ("$." and "cost: $")
      return name === '' ? '$' : (this.env.get(name) ?? '');
    }
    this.next(); // the {
    const first = this.peek();
    if (first === undefined) throw new Fail("syntax error: missing '}'");
    if (first === '{' || first === '}' || first === ':') throw new Fail('syntax error: bad substitution');
    const name = this.name();
    const op = this.next();
    if (op === '}') return this.env.get(name) ?? '';
    // Docker prints "unsupported modifier (\uFFFD)" for `${v` at the end (Go's
    // end-of-text rune); we name what is missing instead.
    if (op === undefined) throw new Fail("syntax error: missing '}'");
    if (op === '/') return this.substitute(name);

    // ${v:…}: the ':' forms treat an empty value as unset.
    let kind = op;
    let modifier = op;
    if (op === ':') {
      kind = this.next() ?? '';
      modifier += kind === '' ? '\uFFFD' : kind;
    } else if (!'+-?#%'.includes(op)) {
      throw new Fail(`unsupported modifier (${modifier}) in substitution`);
    }
    const pattern = kind === '#' || kind === '%';
    if (pattern && op === ':') throw new Fail(`unsupported modifier (${modifier}) in substitution`);
    // The word after the operator is read (and expanded) before the operator
    // is judged, as Docker does: `${v:x` is a missing '}', `${v:x}` a bad modifier.
    const word = this.closing(() => this.readUntil('}', pattern), "syntax error: missing '}'");
    if (kind === '' || !'+-?#%'.includes(kind)) throw new Fail(`unsupported modifier (${modifier}) in substitution`);

    const value = this.env.get(name);
    const set = value !== undefined;
    const present = set && !(op === ':' && value === '');
    switch (kind) {
      case '-':
        return present ? value! : word;
      case '+':
        return present ? word : '';
      case '?':
        if (present) return value!;
        throw new Fail(`${name}: ${word !== '' ? word : set ? 'is not allowed to be empty' : 'is not allowed to be unset'}`);
      default: {
        // ${v##p} and ${v%%p}: the doubled operator asks for the longest match.
        const greedy = word.startsWith(kind);
        const p = greedy ? word.slice(1) : word;
        return kind === '#' ? trimPrefix(p, value ?? '', greedy) : trimSuffix(p, value ?? '', greedy);
      }
    }
  }

  /** ${v/p/r} (first match) and ${v//p/r} (every match); p is a shell pattern, r literal. */
  private substitute(name: string): string {
    const every = this.peek() === '/';
    if (every) this.next();
    const pattern = this.closing(() => this.readUntil('/', true), "syntax error: missing '/' in ${}");
    const replacement = this.closing(() => this.readUntil('}', true), "syntax error: missing '}'");
    const value = this.env.get(name) ?? '';
    const re = shellPatternRegex(pattern, true, false);
    return every ? replaceAll(re, value, replacement) : replaceFirst(re, value, replacement);
  }

  /** Read a nested word; running off the end of the text is reported as the missing closer. */
  private closing(read: () => string, missing: string): string {
    try {
      return read();
    } catch (e) {
      if (e instanceof Fail && this.atEnd()) throw new Fail(missing);
      throw e;
    }
  }

  /** A name: letters, digits and _, not starting with a digit; or all digits ($1, unset); or one special character. */
  private name(): string {
    const c = this.peek();
    if (c === undefined) return '';
    if (DIGIT.test(c)) {
      let digits = '';
      while (this.peek() !== undefined && DIGIT.test(this.peek()!)) digits += this.next();
      return digits;
    }
    if (SPECIAL.has(c)) return this.next()!;
    let name = '';
    while (this.peek() !== undefined && LETTER.test(this.peek()!)) name += this.next();
    return name;
  }
  // #endregion words-dollar
}

function run<T>(text: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof Fail) throw new ExpandError(text, e.message);
    throw e;
  }
}

// #region words-api
/** One word (ENV's value, COPY's source, WORKDIR's path…): expanded, quotes and escapes removed, spaces kept. */
export function expandWord(word: string, env: Env, escape: Escape): string {
  return run(word, () => new Scanner(word, env, escape, true).readUntil(null, false));
}

/**
 * The text split into words after expansion. Docker's classic builder does
 * this for EXPOSE only (`EXPOSE $PORTS` with PORTS="80 443" is two ports);
 * every other instruction's words were split by its parser before expansion.
 */
export function expandWords(text: string, env: Env, escape: Escape): string[] {
  return run(text, () => {
    const words = new Words();
    new Scanner(text, env, escape, true).readUntil(null, false, words);
    return words.finish();
  });
}

/**
 * The content of an unquoted heredoc (COPY <<EOF): $variables expanded,
 * quotes kept as written. Docker always uses `\` as the escape here, whatever
 * the escape directive says, and a `\` is consumed like any escape (`\$HOME`
 * is `$HOME`, `\\` is `\`, and `\n` is `n`): quote the marker (<<'EOF') to
 * keep the text exactly. RUN's heredocs are not expanded here: the shell does.
 */
export function expandHeredoc(content: string, env: Env, escape: Escape = '\\'): string {
  void escape; // accepted for symmetry; see above
  return run(content, () => new Scanner(content, env, '\\', false).readUntil(null, false));
}
// #endregion words-api

/** Go's %q, which Docker's messages use to show the word. */
export function goQuote(s: string): string {
  const named: Record<string, string> = { '\x07': '\\a', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\v': '\\v', '"': '\\"', '\\': '\\\\' };
  let out = '"';
  for (const c of s) {
    const code = c.codePointAt(0)!;
    if (named[c]) out += named[c];
    else if (code < 0x20 || code === 0x7f) out += '\\x' + code.toString(16).padStart(2, '0');
    else out += c;
  }
  return out + '"';
}
