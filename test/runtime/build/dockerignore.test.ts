// .dockerignore: the examples of Docker's documentation, the reading rules,
// and property tests against a model whose matcher works on path
// components (a `**` component stands for any number of directories)
// rather than on regular expressions.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { cleanPath, dirMayHaveExceptions, isIgnored, keepBuildFiles, parseDockerignore, PatternError } from '../../../runtime/build/dockerignore.js';

const ignored = (file: string, paths: string[]) => {
  const p = parseDockerignore(file);
  return paths.filter((x) => isIgnored(p, x));
};

describe("Docker's documented examples", () => {
  test('*/temp*, */*/temp*, temp?', () => {
    const file = '# comment\n*/temp*\n*/*/temp*\ntemp?\n';
    const paths = ['somedir/temporary.txt', 'somedir/temp', 'somedir/temp/x', 'somedir/subdir/temporary.txt', 'tempa', 'tempb', 'temp', 'temporary.txt', 'a/b/c/temp'];
    assert.deepEqual(ignored(file, paths), ['somedir/temporary.txt', 'somedir/temp', 'somedir/temp/x', 'somedir/subdir/temporary.txt', 'tempa', 'tempb']);
  });
  test('**/*.go matches in every directory, the root included', () => {
    assert.deepEqual(ignored('**/*.go', ['main.go', 'a/b/c.go', 'a/go', 'x.gox']), ['main.go', 'a/b/c.go']);
  });
  test('! exceptions: the last matching line wins', () => {
    const paths = ['a.md', 'README.md', 'README-secret.md', 'docs/x.md'];
    assert.deepEqual(ignored('*.md\n!README*.md', paths), ['a.md']);
    assert.deepEqual(ignored('*.md\n!README*.md\nREADME-secret.md', paths), ['a.md', 'README-secret.md']);
    assert.deepEqual(ignored('*.md\nREADME-secret.md\n!README*.md', paths), ['a.md']);
  });
  test('a leading or trailing slash changes nothing; the path is cleaned', () => {
    for (const line of ['/foo/bar', 'foo/bar/', './foo//bar', 'foo/baz/../bar', '  foo/bar  ', '/../foo/bar']) {
      assert.deepEqual(parseDockerignore(line).map((p) => p.text), ['foo/bar'], line);
      assert.deepEqual(ignored(line, ['foo/bar', 'foo/bar/x', 'foo/barx', 'x/foo/bar']), ['foo/bar', 'foo/bar/x'], line);
    }
  });
});

describe('reading the file', () => {
  test('comments only at the start of a line; BOM, CRLF and blank lines', () => {
    const p = parseDockerignore('\uFEFF# c\r\n\r\n  # not a comment\n\t\n! keep \nbuild/\n');
    assert.deepEqual(p.map((x) => [x.exclusion, x.text]), [[false, '# not a comment'], [true, 'keep'], [false, 'build']]);
  });
  test('a lone ! and malformed patterns are refused with Docker’s messages', () => {
    assert.throws(() => parseDockerignore('a\n!\n'), { message: 'illegal exclusion pattern: "!"' });
    assert.throws(() => parseDockerignore('[a-'), (e: unknown) => e instanceof PatternError && e.message === 'syntax error in pattern');
    assert.throws(() => parseDockerignore('x\\'), PatternError);
  });
  test('cleanPath is Go’s filepath.Clean', () => {
    const cases: [string, string][] = [['', '.'], ['a/../..', '..'], ['/../a', '/a'], ['a//b/./c/', 'a/b/c'], ['/', '/'], ['../../a/../b', '../../b']];
    for (const [i, o] of cases) assert.equal(cleanPath(i), o, i);
  });
  test('Dockerfile and .dockerignore are always sent', () => {
    const p = keepBuildFiles(parseDockerignore('*\n'), 'docker/Dockerfile.dev');
    assert.equal(isIgnored(p, '.dockerignore'), false);
    assert.equal(isIgnored(p, 'docker/Dockerfile.dev'), false);
    assert.equal(isIgnored(p, 'docker/other'), true);
    assert.equal(keepBuildFiles(parseDockerignore('x'), 'Dockerfile').length, 1);
  });
  test('a walker descends into an excluded directory only for a ! line under it', () => {
    const p = parseDockerignore('dir\n!dir/keep\n!**/deep');
    assert.equal(dirMayHaveExceptions(p, 'dir'), true);
    assert.equal(dirMayHaveExceptions(p, 'other'), false); // Docker does not see that **/deep could be below
    assert.equal(isIgnored(p, 'dir/keep'), false);
    assert.equal(isIgnored(p, 'dir/drop'), true);
    assert.equal(dirMayHaveExceptions(parseDockerignore('dir'), 'dir'), false);
  });
});

// ---- the model ----
// Path components; a pattern component is '**' or a list of chars and '*'/'?'.
function segMatch(pat: string, seg: string): boolean {
  if (pat === '') return seg === '';
  if (pat[0] === '*') return segMatch(pat.slice(1), seg) || (seg !== '' && segMatch(pat, seg.slice(1)));
  if (seg === '') return false;
  return (pat[0] === '?' || pat[0] === seg[0]) && segMatch(pat.slice(1), seg.slice(1));
}
function pathMatch(pat: string[], path: string[]): boolean {
  if (pat.length === 0) return path.length === 0;
  if (pat[0] === '**') {
    // a trailing ** needs something below (`a/**` is not `a`); elsewhere it may be no directory at all
    if (pat.length === 1) return path.length > 0;
    return pathMatch(pat.slice(1), path) || (path.length > 0 && pathMatch(pat, path.slice(1)));
  }
  return path.length > 0 && segMatch(pat[0], path[0]) && pathMatch(pat.slice(1), path.slice(1));
}

type Line = { neg: boolean; segs: string[] };
/** Docker's walk: each directory from the top; a line that matched a directory matches all below it. */
function modelIgnored(lines: Line[], path: string[]): boolean {
  let above = new Set<number>();
  let excluded = false;
  for (let depth = 1; depth <= path.length; depth++) {
    const here = new Set<number>();
    excluded = false;
    lines.forEach((l, i) => {
      const hit = above.has(i) || (l.neg === excluded && pathMatch(l.segs, path.slice(0, depth)));
      if (hit) {
        here.add(i);
        excluded = !l.neg;
      }
    });
    above = here;
  }
  return excluded;
}

const seg = fc.oneof(fc.string({ unit: fc.constantFrom('a', 'b', '*', '?'), minLength: 1, maxLength: 3 }).filter((s) => !s.includes('**')), fc.constant('**'));
const line = fc.record({ neg: fc.boolean(), segs: fc.array(seg, { minLength: 1, maxLength: 3 }) });
const path = fc.array(fc.constantFrom('a', 'b', 'ab', 'ba', 'aa'), { minLength: 1, maxLength: 4 });
const text = (lines: Line[]) => lines.map((l) => (l.neg ? '!' : '') + l.segs.join('/')).join('\n');

describe('isIgnored against the model', () => {
  test('the same answer for generated files and paths', () => {
    fc.assert(
      fc.property(fc.array(line, { minLength: 1, maxLength: 4 }), path, (lines, p) => {
        assert.equal(isIgnored(parseDockerignore(text(lines)), p.join('/')), modelIgnored(lines, p), `${text(lines)} ~ ${p.join('/')}`);
      }),
      { numRuns: 5000 },
    );
  });
  test('without ! lines a path is ignored exactly when a line matches it or one of its directories', () => {
    fc.assert(
      fc.property(fc.array(line.map((l) => ({ ...l, neg: false })), { minLength: 1, maxLength: 4 }), path, (lines, p) => {
        const expected = lines.some((l) => p.some((_, k) => pathMatch(l.segs, p.slice(0, k + 1))));
        assert.equal(isIgnored(parseDockerignore(text(lines)), p.join('/')), expected);
      }),
      { numRuns: 2000 },
    );
  });
});
