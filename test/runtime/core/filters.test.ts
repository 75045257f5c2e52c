// --filter as Docker reads it (the CLI's FilterOpt) and matches it (the
// daemon's filters.Args), and `images`' reference globs (Go's path.Match):
// Docker's documented examples first, then properties over random input.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RunError } from '../../../runtime/core/pipeline.js';
import { BadPatternError, boolFilter, matches, matchesLabels, parseFilters, pathMatch, validateFilters } from '../../../runtime/core/filters.js';
import { formatList, headerOf } from '../../../runtime/core/list-format.js';
import { GoStruct } from '../../../runtime/core/template/index.js';
import { runError } from '../../helpers/run-error.ts';


describe('parseFilters: the docker CLI reading -f', () => {
  test('key=value pairs; the key trimmed and lower-cased, the value trimmed; one key holds a set of values', () => {
    const f = parseFilters([' Status = exited', 'status=created', 'label=a=b', 'status=exited', ''], 'ps');
    assert.deepEqual([...f.keys()], ['status', 'label']);
    assert.deepEqual([...f.get('status')!], ['exited', 'created']);
    assert.deepEqual([...f.get('label')!], ['a=b']); // only the first "=" splits
  });

  test('no "=" is a bad flag value: exit 125 with the CLI\'s words', () => {
    const e = runError(() => parseFilters(['bogus'], 'ps'));
    assert.equal(e.code, 125);
    assert.equal(e.message, 'invalid argument "bogus" for "-f, --filter" flag: bad format of filter (expected name=value)\nSee \'dockling ps --help\'.');
  });

  test('an unknown key is the daemon\'s "invalid filter", exit 1', () => {
    const e = runError(() => validateFilters(parseFilters(['bogus=1'], 'ps'), ['status']));
    assert.equal(e.code, 1);
    assert.equal(e.message, "Error response from daemon: invalid filter 'bogus'");
  });

  test('property: any key=value without a newline reads back as its trimmed, lower-cased key and trimmed value', () => {
    fc.assert(
      fc.property(fc.string().filter((k) => !k.includes('=')), fc.string(), (k, v) => {
        const f = parseFilters([`${k}=${v}`], 'ps');
        assert.deepEqual([...f.get(k.trim().toLowerCase())!], [v.trim()]);
      }),
    );
  });
});

describe('matching as the daemon does', () => {
  test('name, id and status are regular expressions found anywhere; values of one key OR together', () => {
    const f = parseFilters(['name=^web', 'name=db$'], 'ps');
    assert.ok(matches(f, 'name', 'web1'));
    assert.ok(matches(f, 'name', 'my-db'));
    assert.ok(!matches(f, 'name', 'myweb'));
    assert.ok(matches(f, 'status', 'anything'), 'a key not given lets everything through');
    assert.ok(!matches(parseFilters(['name=('], 'ps'), 'name', 'x'), 'a pattern that does not compile matches nothing but itself');
    assert.ok(matches(parseFilters(['name=('], 'ps'), 'name', '('));
    // Go's spellings: leading flags, \A and \z, named groups.
    assert.ok(matches(parseFilters(['name=(?i)^WEB'], 'ps'), 'name', 'web1'));
    assert.ok(matches(parseFilters(['name=\\Aweb\\z'], 'ps'), 'name', 'web'));
    assert.ok(!matches(parseFilters(['name=\\Aweb\\z'], 'ps'), 'name', 'web\n'));
    assert.ok(matches(parseFilters(['name=(?P<x>we)b'], 'ps'), 'name', 'web'));
  });

  test('label: every value must hold ("k" present, "k=v" equal); nothing labelled matches no label filter', () => {
    const f = parseFilters(['label=tier', 'label=env=prod'], 'ps');
    assert.ok(matchesLabels(f, 'label', { tier: 'web', env: 'prod' }));
    assert.ok(!matchesLabels(f, 'label', { tier: 'web', env: 'dev' }));
    assert.ok(!matchesLabels(f, 'label', { env: 'prod' }));
    assert.ok(!matchesLabels(f, 'label', {}));
    assert.ok(matchesLabels(parseFilters([], 'ps'), 'label', {}));
  });

  test('dangling: true/1 or false/0; anything else is Go\'s invalid filter with the values as a slice', () => {
    assert.equal(boolFilter(parseFilters(['dangling=true'], 'images'), 'dangling'), true);
    assert.equal(boolFilter(parseFilters(['dangling=0'], 'images'), 'dangling'), false);
    assert.equal(boolFilter(parseFilters([], 'images'), 'dangling'), undefined);
    assert.equal(runError(() => boolFilter(parseFilters(['dangling=yes'], 'images'), 'dangling')).message, "Error response from daemon: invalid filter 'dangling=[yes]'");
    assert.equal(runError(() => boolFilter(parseFilters(['dangling=true', 'dangling=false'], 'images'), 'dangling')).code, 1);
  });
});

describe("pathMatch: Go's path.Match (the reference filter)", () => {
  // Go's own documented table (path/match_test.go's cases, the ones about path).
  const cases: [string, string, boolean | 'bad'][] = [
    ['abc', 'abc', true], ['*', 'abc', true], ['*c', 'abc', true], ['a*', 'a', true], ['a*', 'abc', true], ['a*', 'ab/c', false],
    ['a*/b', 'abc/b', true], ['a*/b', 'a/c/b', false], ['a*b*c*d*e*/f', 'axbxcxdxe/f', true], ['a*b*c*d*e*/f', 'axbxcxdxexxx/f', true],
    ['a*b*c*d*e*/f', 'axbxcxdxe/xxx/f', false], ['a*b*c*d*e*/f', 'axbxcxdxexxx/fff', false], ['a*b?c*x', 'abxbbxdbxebxczzx', true],
    ['a*b?c*x', 'abxbbxdbxebxczzy', false], ['ab[c]', 'abc', true], ['ab[b-d]', 'abc', true], ['ab[e-g]', 'abc', false],
    ['ab[^c]', 'abc', false], ['ab[^b-d]', 'abc', false], ['ab[^e-g]', 'abc', true], ['a\\*b', 'a*b', true], ['a\\*b', 'ab', false],
    ['a?b', 'a☺b', true], ['a[^a]b', 'a☺b', true], ['a???b', 'a☺b', false], ['a[^a][^a][^a]b', 'a☺b', false], ['[a-ζ]*', 'α', true],
    ['*[a-ζ]', 'A', false], ['a?b', 'a/b', false], ['a*b', 'a/b', false], ['[\\]a]', ']', true], ['[\\-]', '-', true],
    ['[x\\-]', 'x', true], ['[x\\-]', '-', true], ['[x\\-]', 'z', false], ['[\\-x]', 'x', true], ['[\\-x]', '-', true],
    ['[\\-x]', 'a', false], ['[]a]', ']', 'bad'], ['[-]', '-', 'bad'], ['[x-]', 'x', 'bad'], ['[x-]', '-', 'bad'], ['[x-]', 'z', 'bad'],
    ['[-x]', 'x', 'bad'], ['[-x]', '-', 'bad'], ['[-x]', 'a', 'bad'], ['\\', 'a', 'bad'], ['[a-b-c]', 'a', 'bad'], ['[', 'a', 'bad'],
    ['[^', 'a', 'bad'], ['[^bc', 'a', 'bad'], ['a[', 'a', 'bad'], ['a[', 'ab', 'bad'], ['a[', 'x', 'bad'], ['a/b[', 'x', 'bad'],
    ['*x', 'xxx', true],
  ];
  for (const [pattern, name, want] of cases) {
    test(`${pattern} ${name}: ${want}`, () => {
      if (want === 'bad') assert.throws(() => pathMatch(pattern, name), BadPatternError);
      else assert.equal(pathMatch(pattern, name), want);
    });
  }

  test('property: a pattern without special characters matches exactly itself', () => {
    const plain = fc.string().filter((s) => !/[*?[\\]/.test(s));
    fc.assert(fc.property(plain, plain, (p, n) => assert.equal(pathMatch(p, n), p === n)));
  });

  test('property: "*" matches any name without "/", and "?"s match exactly that many characters', () => {
    const name = fc.string().filter((s) => !s.includes('/'));
    fc.assert(
      fc.property(name, (n) => {
        assert.ok(pathMatch('*', n));
        assert.ok(pathMatch('?'.repeat([...n].length), n));
        assert.ok(!pathMatch('?'.repeat([...n].length + 1), n));
      }),
    );
  });
});

describe('formatList: docker/cli\'s list formatter', () => {
  const rows = [
    new GoStruct('*formatter.ContainerContext', { ID: () => 'abc', Names: () => 'web', Label: (k: string) => (k === 'tier' ? 'front' : '') }),
    new GoStruct('*formatter.ContainerContext', { ID: () => 'defghijklmnop', Names: () => 'db', Label: (_name: string) => '' }),
  ];
  const header = headerOf('*formatter.ContainerContext', { ID: 'CONTAINER ID', Names: 'NAMES' });

  test('table: a header row from the column names, columns lined up by the tabwriter', () => {
    assert.equal(formatList('table {{.ID}}\\t{{.Names}}', rows, header), 'CONTAINER ID    NAMES\nabc             web\ndefghijklmnop   db\n');
    assert.equal(formatList('table {{.Names}}\t{{.Label "com.example.tier-name"}}', rows, header), 'NAMES     tier name\nweb       \ndb        \n');
    assert.equal(formatList('table {{upper .Names}}', rows, header), 'NAMES\nWEB\nDB\n', 'header functions keep the name as it is');
  });

  test('json: one object per line, the methods without arguments, keys sorted', () => {
    assert.equal(formatList('json', rows, header), '{"ID":"abc","Names":"web"}\n{"ID":"defghijklmnop","Names":"db"}\n');
  });

  test('a plain template: one line per row, no header; methods take arguments', () => {
    assert.equal(formatList('{{.Names}}={{.Label "tier"}}', rows, header), 'web=front\ndb=\n');
  });

  test('Go\'s errors: no such field on the struct, wrong number of arguments; exit 1, in Docker\'s words', () => {
    const bogus = runError(() => formatList('{{.Bogus}}', rows, header));
    assert.equal(bogus.code, 1);
    assert.equal(bogus.message, 'template parsing error: template: :1:2: executing "" at <.Bogus>: can\'t evaluate field Bogus in type *formatter.ContainerContext');
    assert.match(runError(() => formatList('{{.Label}}', rows, header)).message, /wrong number of args for Label: want 1 got 0$/);
    assert.match(runError(() => formatList('{{.ID "x"}}', rows, header)).message, /wrong number of args for ID: want 0 got 1$/);
    assert.equal(runError(() => formatList('{{', rows, header)).message, 'template parsing error: template: :1: unclosed action');
  });
});
