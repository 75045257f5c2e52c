// Go's filepath.Match (COPY/ADD sources): examples from Go's own rules, and
// a property test against a model that turns the pattern into a regular
// expression instead of matching chunk by chunk.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { checkPattern, matchPattern, PatternError } from '../../../runtime/build/glob.js';

describe('filepath.Match', () => {
  test('stars stay inside one path component', () => {
    assert.equal(matchPattern('src/*.ts', 'src/a.ts'), true);
    assert.equal(matchPattern('src/*.ts', 'src/lib/a.ts'), false); // COPY src/*.ts does not reach into src/lib
    assert.equal(matchPattern('*', 'a/b'), false);
    assert.equal(matchPattern('a*/b', 'abc/b'), true);
    assert.equal(matchPattern('a*/b', 'a/c/b'), false);
    assert.equal(matchPattern('a*b*c*d*e*/f', 'axbxcxdxe/f'), true);
    assert.equal(matchPattern('a*b*c*d*e*/f', 'axbxcxdxexxx/f'), true);
    assert.equal(matchPattern('a*b?c*x', 'abxbbxdbxebxczzx'), true);
    assert.equal(matchPattern('a*b?c*x', 'abxbbxdbxebxczzy'), false);
    assert.equal(matchPattern('*x', 'xxx'), true);
    assert.equal(matchPattern('', ''), true);
    assert.equal(matchPattern('**', 'a/b'), false); // no ** in filepath.Match
  });
  test('? is one character but not /; classes; escapes', () => {
    assert.equal(matchPattern('a?b', 'a☺b'), true);
    assert.equal(matchPattern('a?b', 'a/b'), false);
    assert.equal(matchPattern('ab[c]', 'abc'), true);
    assert.equal(matchPattern('ab[b-d]', 'abc'), true);
    assert.equal(matchPattern('ab[^c]', 'abc'), false);
    assert.equal(matchPattern('ab[^b-d]', 'abe'), true);
    assert.equal(matchPattern('[a-ζ]*', 'α'), true);
    assert.equal(matchPattern('a\\*b', 'a*b'), true);
    assert.equal(matchPattern('a\\*b', 'ab'), false);
    assert.equal(matchPattern('[\\-]', '-'), true);
    assert.equal(matchPattern('[x\\-]', 'z'), false);
    assert.equal(matchPattern('[\\]a]', ']'), true);
  });
  test("Go's leftmost-chunk search: a class that matches '/' is not retried further on", () => {
    // The regular expression [^/]*[^a][^/]* would match "*/"; Go's Match does not.
    assert.equal(matchPattern('*[^a]*', '*/'), false);
    assert.equal(matchPattern('*[c/]*', 'c/'), false);
  });
  test('malformed patterns are refused whatever the name', () => {
    for (const bad of ['[', '[^', 'a[', '[]a]', '[-]', '[x-]', '[a-b-c]', '\\', 'a\\', '*[', 'x*[^]', '[a']) {
      assert.throws(() => matchPattern(bad, 'a'), (e: unknown) => e instanceof PatternError && e.message === 'syntax error in pattern', bad);
      assert.throws(() => checkPattern(bad), PatternError, bad);
    }
  });
});

// ---- the model: a pattern over a small grammar, as a regular expression ----
type Tok = { kind: 'lit'; c: string } | { kind: 'esc'; c: string } | { kind: 'star' } | { kind: 'any' } | { kind: 'class'; neg: boolean; set: string };

const render = (toks: Tok[]) =>
  toks.map((t) => (t.kind === 'lit' ? t.c : t.kind === 'esc' ? '\\' + t.c : t.kind === 'star' ? '*' : t.kind === 'any' ? '?' : `[${t.neg ? '^' : ''}${t.set}]`)).join('');

function modelMatch(toks: Tok[], name: string): boolean {
  const quote = (c: string) => c.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
  const re = toks
    .map((t) => (t.kind === 'lit' || t.kind === 'esc' ? quote(t.c) : t.kind === 'star' ? '[^/]*' : t.kind === 'any' ? '[^/]' : `[${t.neg ? '^' : ''}${quote(t.set)}]`))
    .join('');
  return new RegExp(`^${re}$`, 'su').test(name);
}

const ALPHABET = ['a', 'b', 'c', '/', '.', '*'];
const tok: fc.Arbitrary<Tok> = fc.oneof(
  fc.constantFrom('a', 'b', 'c', '/', '.').map((c): Tok => ({ kind: 'lit', c })),
  fc.constantFrom('*', '?', '[', 'a').map((c): Tok => ({ kind: 'esc', c })),
  fc.constant<Tok>({ kind: 'star' }),
  fc.constant<Tok>({ kind: 'any' }),
  // No class matches '/': Go places each chunk at its leftmost match and does
  // not backtrack, which is exact only when nothing but '/' matches '/'.
  fc.record({ neg: fc.boolean(), set: fc.constantFrom('a', 'ab', 'c.', '.*') }).map((r): Tok => ({ kind: 'class', neg: r.neg, set: r.neg ? r.set + '/' : r.set })),
);
const pattern = fc.array(tok, { maxLength: 6 });
const name = fc.string({ unit: fc.constantFrom(...ALPHABET), maxLength: 7 });

describe('matchPattern against the model', () => {
  test('the same answer for every generated pattern and name', () => {
    fc.assert(
      fc.property(pattern, name, (toks, n) => {
        assert.equal(matchPattern(render(toks), n), modelMatch(toks, n), `${render(toks)} ~ ${n}`);
      }),
      { numRuns: 5000 },
    );
  });
  test('a malformed piece anywhere makes the whole pattern an error', () => {
    const middle = fc.constantFrom('[]', '[-', '[^]', '[a-]');
    const end = fc.constantFrom('[a', '\\', '[', '[^');
    fc.assert(
      fc.property(pattern, fc.oneof(middle.chain((m) => pattern.map((after) => m + render(after))), end), name, (before, bad, n) => {
        assert.throws(() => matchPattern(render(before) + bad, n), PatternError);
      }),
      { numRuns: 2000 },
    );
  });
});
