// The word expander: Docker's documented cases, its error messages, and a
// property test against a model. The model does not scan text: it builds a
// word from parts (a literal, an escaped character, '…', "…", $v, ${v:-w}…)
// whose values it knows, renders the parts as Dockerfile text, and expects
// expandWord to give back the concatenation of the values (or the first
// part's error).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { expandHeredoc, expandWord, expandWords, ExpandError, type Escape } from '../../../runtime/build/words.js';

const env = new Map([
  ['A', 'alpha'],
  ['B', 'b c'],
  ['E', ''],
  ['_x9', 'xx'],
]);
const word = (w: string, e: Escape = '\\') => expandWord(w, env, e);
const fails = (w: string, reason: string, e: Escape = '\\') =>
  assert.throws(() => word(w, e), (err: unknown) => err instanceof ExpandError && err.reason === reason && err.message.endsWith(': ' + reason), w);

describe("Docker's documented cases (Dockerfile reference, environment replacement)", () => {
  test('${variable:-word} and ${variable:+word}', () => {
    assert.equal(word('${U:-word}'), 'word');
    assert.equal(word('${E:-word}'), 'word'); // ':' treats empty as unset
    assert.equal(word('${E-word}'), '');
    assert.equal(word('${A:-word}'), 'alpha');
    assert.equal(word('${A:+word}'), 'word');
    assert.equal(word('${E:+word}'), '');
    assert.equal(word('${E+word}'), 'word');
    assert.equal(word('${U+word}'), '');
  });
  test('escaping: \\$foo and \\${foo} are literal', () => {
    assert.equal(word('\\$A'), '$A');
    assert.equal(word('\\${A}'), '${A}');
    assert.equal(word('`$A', '`'), '$A');
    assert.equal(word('C:\\dir', '`'), 'C:\\dir'); // with escape=` a backslash is an ordinary character
  });
  test('the ENV example: abc=hello, then ${abc:-world} and ${abc}', () => {
    const e = new Map([['abc', 'hello']]);
    assert.equal(expandWord('${abc:-world}', e, '\\'), 'hello');
    assert.equal(expandWord('${def:-world}', e, '\\'), 'world');
  });
});

describe('quotes and escapes', () => {
  test('single quotes are literal, double quotes expand', () => {
    assert.equal(word("'$A \\n'"), '$A \\n');
    assert.equal(word('"$A \\n"'), 'alpha \\n'); // \ before n stays
    assert.equal(word('"a\\"b\\$A\\\\"'), 'a"b$A\\');
    assert.equal(word(`"it's"`), "it's");
    assert.equal(word('he\'ll\'o'), 'hello');
    assert.equal(word('a\\ b'), 'a b');
    assert.equal(word('trailing\\'), 'trailing'); // an escape at the end escapes nothing
  });
  test('names: $ before a non-name stays, digits and specials are unset', () => {
    assert.equal(word('cost: $'), 'cost: $');
    assert.equal(word('$.x'), '$.x');
    assert.equal(word('$1x$@y${#}z'), 'xyz');
    assert.equal(word('$_x9/${A}b'), 'xx/alphab');
  });
  test('nested defaults and ? messages', () => {
    assert.equal(word('${U:-${E:-${A}}}'), 'alpha');
    assert.equal(word('${U:-"a }b"}'), 'a }b');
    fails('${U:?}', 'U: is not allowed to be unset');
    fails('${E:?}', 'E: is not allowed to be empty');
    fails('${U?set it with --build-arg U=…}', 'U: set it with --build-arg U=…');
    assert.equal(word('${E?m}'), '');
    assert.throws(() => word('${U:?msg}'), { message: 'failed to process "${U:?msg}": U: msg' });
  });
  test('malformed words get Docker’s messages', () => {
    fails('${}', 'syntax error: bad substitution');
    fails('${:-x}', 'syntax error: bad substitution');
    fails('a${', "syntax error: missing '}'");
    fails('${A', "syntax error: missing '}'");
    fails('${A:-x', "syntax error: missing '}'");
    fails('${A:-${U:?m}', "syntax error: missing '}'");
    fails('${A:=x}', 'unsupported modifier (:=) in substitution');
    fails('${A.x}', 'unsupported modifier (.) in substitution');
    fails('${A:#x}', 'unsupported modifier (:#) in substitution');
    fails('"abc', 'unexpected end of statement while looking for matching double-quote');
    fails("'abc", 'unexpected end of statement while looking for matching single-quote');
    fails('a\\\\"b', 'unexpected end of statement while looking for matching double-quote');
  });
  test('patterns: # ## % %% / //', () => {
    const e = new Map([['p', 'usr/local/bin.tar.gz']]);
    const x = (w: string) => expandWord(w, e, '\\');
    assert.equal(x('${p#*/}'), 'local/bin.tar.gz');
    assert.equal(x('${p##*/}'), 'bin.tar.gz');
    assert.equal(x('${p%.*}'), 'usr/local/bin.tar');
    assert.equal(x('${p%%.*}'), 'usr/local/bin');
    assert.equal(x('${p/l/L}'), 'usr/Local/bin.tar.gz');
    assert.equal(x('${p//l/L}'), 'usr/LocaL/bin.tar.gz');
    assert.equal(x('${p#\\*}'), 'usr/local/bin.tar.gz');
    assert.equal(x('${U#x}'), '');
    assert.throws(() => x('${p#\\x}'), /invalid pattern \(\\x\) in substitution: invalid escape '\\x'/);
    assert.throws(() => x('${p/a'), /missing '\/' in \$\{\}/);
  });
});

describe('expandWords (EXPOSE) and expandHeredoc (COPY <<EOF)', () => {
  test('a value splits on whitespace; quoted and escaped text does not', () => {
    const e = new Map([['PORTS', ' 80  443/udp '], ['P', '8080']]);
    assert.deepEqual(expandWords('$PORTS 22', e, '\\'), ['80', '443/udp', '22']);
    assert.deepEqual(expandWords('"$PORTS" a\\ b', e, '\\'), [' 80  443/udp ', 'a b']);
    assert.deepEqual(expandWords('x"" "" $U y', e, '\\'), ['x', 'y']); // an empty word is no word
    assert.deepEqual(expandWords('${P}/tcp', e, '\\'), ['8080/tcp']);
  });
  test('a heredoc keeps quotes, expands $vars, consumes backslashes', () => {
    assert.equal(expandHeredoc('echo "$A" \'$B\'\n', env), 'echo "alpha" \'b c\'\n');
    assert.equal(expandHeredoc('cost \\$5 \\\\ done\n', env), 'cost $5 \\ done\n');
    assert.equal(expandHeredoc('`$A\n', env, '`'), '`alpha\n'); // always `\`, as Docker
  });
});

// ---- the model ----
type Part =
  | { t: 'lit'; s: string }
  | { t: 'esc'; c: string; kept: string } // kept: the escape itself when it stays ("\a" in double quotes)
  | { t: 'sq'; s: string }
  | { t: 'dq'; parts: Part[] }
  | { t: 'var'; name: string; braces: boolean }
  | { t: 'op'; name: string; op: string; word: Part[] };

const NAMES = ['A', 'B', 'E', 'U', '_x9'];
const OPS = [':-', '-', ':+', '+', ':?', '?'];

/** text for the parts; `$v` gets braces when a name character follows */
function render(parts: Part[], esc: Escape): string {
  let out = '';
  parts.forEach((p, i) => {
    const next = i + 1 < parts.length ? render([parts[i + 1]], esc) : '';
    if (p.t === 'lit') out += p.s;
    else if (p.t === 'esc') out += esc + p.c;
    else if (p.t === 'sq') out += `'${p.s}'`;
    else if (p.t === 'dq') out += `"${render(p.parts, esc)}"`;
    else if (p.t === 'var') out += p.braces || /^[\p{L}\p{Nd}_]/u.test(next) ? `\${${p.name}}` : `$${p.name}`;
    else out += `\${${p.name}${p.op}${render(p.word, esc)}}`;
  });
  return out;
}

class ModelError extends Error {}

/** what Docker's rules make of the parts */
function value(parts: Part[]): string {
  return parts.map((p) => {
    switch (p.t) {
      case 'lit':
        return p.s;
      case 'esc':
        return p.kept + p.c;
      case 'sq':
        return p.s;
      case 'dq':
        return value(p.parts);
      case 'var':
        return env.get(p.name) ?? '';
      case 'op': {
        const w = value(p.word);
        const v = env.get(p.name);
        const present = v !== undefined && !(p.op.startsWith(':') && v === '');
        if (p.op.endsWith('-')) return present ? v! : w;
        if (p.op.endsWith('+')) return present ? w : '';
        if (present) return v!;
        throw new ModelError(`${p.name}: ${w || (v === undefined ? 'is not allowed to be unset' : 'is not allowed to be empty')}`);
      }
    }
  }).join('');
}

function parts(esc: Escape, depth: number, inBraces: boolean, inDouble: boolean): fc.Arbitrary<Part[]> {
  const other = esc === '\\' ? '`' : '\\';
  // characters that mean nothing where they stand
  const plain = inDouble ? ['a', 'Z', '9', ' ', '/', '.', "'", '{', other] : ['a', 'Z', '9', ' ', '/', '.', '-', ':', other];
  const chars = plain.filter((c) => !(inBraces && c === '}'));
  const lit = fc.string({ unit: fc.constantFrom(...chars), minLength: 1, maxLength: 4 }).map((s): Part => ({ t: 'lit', s }));
  const name = fc.constantFrom(...NAMES);
  const options: fc.Arbitrary<Part>[] = [lit, name.chain((n) => fc.boolean().map((braces): Part => ({ t: 'var', name: n, braces })))];
  // in "…" only ", $ and the escape itself can be escaped; before anything
  // else the escape character stays; outside quotes it escapes anything
  const escapable = inDouble ? ['"', '$', esc, 'a', ' ', "'"] : ['$', '"', "'", esc, '{', '}', ' ', 'x'];
  const stays = (c: string) => inDouble && !['"', '$', esc].includes(c);
  options.push(fc.constantFrom(...escapable).map((c): Part => ({ t: 'esc', c, kept: stays(c) ? esc : '' })));
  if (!inDouble) {
    options.push(fc.string({ unit: fc.constantFrom('a', ' ', '$', '"', '\\', '`', '}'), maxLength: 4 }).map((s): Part => ({ t: 'sq', s })));
    if (depth > 0) options.push(parts(esc, depth - 1, false, true).map((p): Part => ({ t: 'dq', parts: p })));
  }
  if (depth > 0) {
    options.push(fc.record({ name, op: fc.constantFrom(...OPS), word: parts(esc, depth - 1, true, false) }).map((r): Part => ({ t: 'op', ...r })));
  }
  return fc.array(fc.oneof(...options), { maxLength: 5 });
}

const escapes = fc.constantFrom<Escape>('\\', '`');
const generated = escapes.chain((esc) => parts(esc, 2, false, false).map((p) => ({ esc, p })));

describe('expandWord against the model', () => {
  test('the value of every generated word, or its first error', () => {
    fc.assert(
      fc.property(generated, ({ esc, p }) => {
        const text = render(p, esc);
        let expected: string | ModelError;
        try {
          expected = value(p);
        } catch (e) {
          expected = e as ModelError;
        }
        if (expected instanceof ModelError) {
          const reason = expected.message;
          assert.throws(() => expandWord(text, env, esc), (e: unknown) => e instanceof ExpandError && e.reason === reason, text);
        } else {
          assert.equal(expandWord(text, env, esc), expected, text);
        }
      }),
      { numRuns: 2000 },
    );
  });
  test('an unterminated ${, quote or brace at the end is an error whatever came before', () => {
    const tails: [string, string][] = [
      ['${A', "syntax error: missing '}'"],
      ['${A:-x', "syntax error: missing '}'"],
      ['${', "syntax error: missing '}'"],
      ['"ab', 'unexpected end of statement while looking for matching double-quote'],
      ["'ab", 'unexpected end of statement while looking for matching single-quote'],
    ];
    fc.assert(
      fc.property(generated, fc.constantFrom(...tails), ({ esc, p }, [tail, reason]) => {
        let earlier: string | null = null;
        try {
          value(p);
        } catch (e) {
          earlier = (e as Error).message; // an earlier part's error comes first
        }
        const text = render(p, esc) + tail;
        assert.throws(() => expandWord(text, env, esc), (e: unknown) => e instanceof ExpandError && e.reason === (earlier ?? reason), text);
      }),
      { numRuns: 500 },
    );
  });
  test('expandWords: words joined by spaces come back one by one (values without blanks)', () => {
    const noBlank = new Map([...env].filter(([, v]) => !/\s/.test(v)));
    // Unquoted literal blanks would split a word, and so would blanks in a
    // ${v:-…} value (a value is split even when it was quoted inside the braces).
    const splitSafe = (p: Part): boolean => {
      if (p.t === 'lit') return !/\s/.test(p.s);
      if (p.t !== 'op') return true;
      try {
        return !/\s/.test(value([p]));
      } catch {
        return false;
      }
    };
    const wordArb = escapes.chain((esc) =>
      fc.array(parts(esc, 1, false, false).filter((p) => p.every(splitSafe)), { maxLength: 4 }).map((ws) => ({ esc, ws })),
    );
    fc.assert(
      fc.property(wordArb, ({ esc, ws }) => {
        const texts = ws.map((w) => render(w, esc));
        let expected: string[];
        try {
          expected = texts.map((t) => expandWord(t, noBlank, esc)).filter((w) => w !== '');
        } catch {
          return; // errors are the other tests' business
        }
        assert.deepEqual(expandWords(texts.join(' '), noBlank, esc), expected, texts.join(' '));
      }),
      { numRuns: 1000 },
    );
  });
});
