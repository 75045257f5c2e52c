// The container's environment: -e values, --env-file files, and how they are
// merged, with Docker's rules (docker/cli opts/env.go and opts/parse.go).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { EnvError, envValue, mergeEnv, parseEnvEntry, parseEnvFile } from '../../../runtime/process/env.js';

const caller = { FROM_CALLER: 'caller value', EMPTY: '' } as NodeJS.ProcessEnv;

function envErrorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof EnvError, `expected an EnvError, got ${e}`);
    return e.message;
  }
  assert.fail('did not throw');
}

describe('parseEnvEntry (-e)', () => {
  test('K=V is kept as given: empty values, "=" in values, spaces in values', () => {
    for (const e of ['K=V', 'K=', 'K=a=b', 'K= spaced value ', 'lower_case=1', 'K=\t']) assert.equal(parseEnvEntry(e, caller), e);
  });

  test("K alone takes K's value from the caller's environment", () => {
    assert.equal(parseEnvEntry('FROM_CALLER', caller), 'FROM_CALLER=caller value');
    assert.equal(parseEnvEntry('EMPTY', caller), 'EMPTY=', 'set but empty is still set');
  });

  test('K alone, unset in the caller, is left out', () => {
    assert.equal(parseEnvEntry('NOT_SET_ANYWHERE', caller), null);
  });

  test('no name: "=x" and "" are refused', () => {
    assert.match(envErrorOf(() => parseEnvEntry('=x', caller)), /no variable name in '=x'/);
    assert.match(envErrorOf(() => parseEnvEntry('', caller)), /no variable name/);
  });

  test('a name with whitespace is refused and named', () => {
    assert.match(envErrorOf(() => parseEnvEntry('a b', caller)), /variable 'a b' contains whitespaces/);
    assert.match(envErrorOf(() => parseEnvEntry('a\tb=1', caller)), /contains whitespaces/);
  });
});

describe('parseEnvFile (--env-file)', () => {
  test('comments, blank lines and whitespace-only lines are skipped', () => {
    const text = '# a comment\n\nA=1\n   \n\t# indented comment\nB=2\n\n';
    assert.deepEqual(parseEnvFile(text, 'f', caller), ['A=1', 'B=2']);
  });

  test('leading whitespace is dropped, trailing whitespace and "#" inside a value are kept', () => {
    assert.deepEqual(parseEnvFile('  A=1 \n\tB=x # not a comment\n', 'f', caller), ['A=1 ', 'B=x # not a comment']);
  });

  test('K without a value comes from the caller, or is left out', () => {
    assert.deepEqual(parseEnvFile('FROM_CALLER\nNOT_SET_ANYWHERE\nEMPTY\n', 'f', caller), ['FROM_CALLER=caller value', 'EMPTY=']);
  });

  test('CRLF line ends and a UTF-8 byte order mark are tolerated', () => {
    assert.deepEqual(parseEnvFile('\uFEFFA=1\r\nB=2\r\n\r\n# c\r\nC=\r\n', 'f', caller), ['A=1', 'B=2', 'C=']);
  });

  test('nothing is unquoted or expanded', () => {
    assert.deepEqual(parseEnvFile('A="q"\nB=\'s\'\nC=$HOME\nD=${X:-y}\n', 'f', caller), ['A="q"', "B='s'", 'C=$HOME', 'D=${X:-y}']);
  });

  test('a line without a name names its line number and the file', () => {
    assert.equal(envErrorOf(() => parseEnvFile('A=1\n\n=x\n', 'my.env', caller)), "no variable name on line 3 of my.env in '=x'");
  });

  test('a name with whitespace names its line number and the file', () => {
    assert.equal(envErrorOf(() => parseEnvFile('# c\na b\n', 'my.env', caller)), "variable 'a b' contains whitespaces on line 2 of my.env");
    assert.match(envErrorOf(() => parseEnvFile('a b=1', 'my.env', caller)), /variable 'a b' contains whitespaces on line 1 of my\.env/);
  });

  test('an empty file has no entries', () => {
    assert.deepEqual(parseEnvFile('', 'f', caller), []);
    assert.deepEqual(parseEnvFile('\uFEFF', 'f', caller), []);
  });
});

describe('mergeEnv and envValue', () => {
  test('a later entry replaces an earlier one in its first position', () => {
    assert.deepEqual(mergeEnv(['PATH=/bin', 'A=1', 'B=2'], ['A=3'], ['C=4', 'PATH=/x']), ['PATH=/x', 'A=3', 'B=2', 'C=4']);
  });

  test('within one list too, the last one wins', () => {
    assert.deepEqual(mergeEnv(['A=1', 'B=2', 'A=3']), ['A=3', 'B=2']);
  });

  test('envValue finds the value by exact name', () => {
    const env = ['PATHX=no', 'PATH=/bin:/usr/bin', 'E=', 'Q=a=b'];
    assert.equal(envValue(env, 'PATH'), '/bin:/usr/bin');
    assert.equal(envValue(env, 'E'), '');
    assert.equal(envValue(env, 'Q'), 'a=b');
    assert.equal(envValue(env, 'PAT'), undefined);
  });
});

// --- properties -------------------------------------------------------------

const name = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,12}$/);
/** A value as an env file can hold it: any text without a newline, not ending in CR. */
const value = fc.string({ unit: 'binary', maxLength: 20 }).filter((v) => !v.includes('\n') && !v.endsWith('\r'));

describe('env properties', () => {
  test('a file written from K=V pairs (with comments, blank lines, CRLF, BOM) parses back to them', () => {
    const line = fc.oneof(
      { weight: 4, arbitrary: fc.tuple(name, value).map(([k, v]) => ({ entry: `${k}=${v}`, text: `${k}=${v}` })) },
      { weight: 1, arbitrary: fc.string({ maxLength: 10 }).filter((c) => !c.includes('\n')).map((c) => ({ entry: null, text: `#${c}` })) },
      { weight: 1, arbitrary: fc.constantFrom('', ' ', '\t', '  \t ').map((s) => ({ entry: null, text: s })) },
    );
    fc.assert(
      fc.property(fc.array(line, { maxLength: 15 }), fc.constantFrom('\n', '\r\n'), fc.boolean(), fc.boolean(), (lines, eol, bom, finalEol) => {
        const text = (bom ? '\uFEFF' : '') + lines.map((l) => l.text).join(eol) + (finalEol && lines.length ? eol : '');
        const want = lines.map((l) => l.entry).filter((e): e is string => e !== null);
        assert.deepEqual(parseEnvFile(text, 'gen.env', {}), want);
      }),
      { numRuns: 500 },
    );
  });

  test('-e K=V gives back K=V for any name and value', () => {
    fc.assert(
      fc.property(name, fc.string({ unit: 'binary' }), (k, v) => {
        assert.equal(parseEnvEntry(`${k}=${v}`, {}), `${k}=${v}`);
      }),
    );
  });

  test('mergeEnv: each name once, in order of first appearance, with its last value', () => {
    const entry = fc.tuple(fc.constantFrom('A', 'B', 'C', 'PATH', 'HOME'), fc.option(fc.string({ maxLength: 5 }))).map(([k, v]) => (v === null ? k : `${k}=${v}`));
    fc.assert(
      fc.property(fc.array(fc.array(entry, { maxLength: 6 }), { maxLength: 4 }), (lists) => {
        const merged = mergeEnv(...lists);
        const all = lists.flat();
        const nameOf = (e: string) => (e.includes('=') ? e.slice(0, e.indexOf('=')) : e);
        const firstOrder = [...new Set(all.map(nameOf))];
        assert.deepEqual(merged.map(nameOf), firstOrder);
        for (const m of merged) assert.equal(m, all.filter((e) => nameOf(e) === nameOf(m)).at(-1));
      }),
      { numRuns: 300 },
    );
  });
});
