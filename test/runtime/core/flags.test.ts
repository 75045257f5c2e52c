// parseFlags must read a command line the way Docker's CLI (spf13/pflag)
// does, so that a command copied from Docker's documentation means the same
// thing to dockling. Examples first, then properties over random flag maps.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FlagError, flagHelp, formatFlags, parseFlags, type FlagSpec, type FlagValue } from '../../../runtime/core/flags.js';

// The shape of `run`'s flags in chapter 1 (kept here so this test does not
// depend on which layer defines them), plus an int flag.
const SPECS: FlagSpec[] = [
  { name: 'env', short: 'e', kind: 'stringArray', usage: 'Set environment variables' },
  { name: 'env-file', kind: 'stringArray', usage: 'Read in a file of environment variables' },
  { name: 'workdir', short: 'w', kind: 'string', usage: 'Working directory' },
  { name: 'hostname', short: 'h', kind: 'string', usage: 'Host name' },
  { name: 'name', kind: 'string', usage: 'Name' },
  { name: 'rm', kind: 'bool', usage: 'Remove' },
  { name: 'interactive', short: 'i', kind: 'bool', usage: 'Keep STDIN open' },
  { name: 'tty', short: 't', kind: 'bool', usage: 'Allocate a pseudo-TTY' },
  { name: 'chapter', kind: 'int', usage: 'Chapter' },
];

const run = (argv: string[]) => parseFlags(argv, SPECS, false);
const flagsOf = (argv: string[]) => Object.fromEntries(run(argv).flags);

/** The FlagError message parseFlags throws for argv, or fail if it does not. */
function errorOf(argv: string[], interspersed = false): string {
  try {
    parseFlags(argv, SPECS, interspersed);
  } catch (e) {
    assert.ok(e instanceof FlagError, `expected a FlagError, got ${e}`);
    return e.message;
  }
  assert.fail(`parseFlags(${JSON.stringify(argv)}) did not fail`);
}

describe('parseFlags: the spellings of a value', () => {
  for (const argv of [['-e', 'K=V'], ['-eK=V'], ['-e=K=V'], ['--env=K=V'], ['--env', 'K=V']]) {
    test(`${argv.join(' ')} sets env to ["K=V"]`, () => {
      assert.deepEqual(run([...argv, 'busybox']), { flags: new Map([['env', ['K=V']]]), args: ['busybox'] });
    });
  }

  test('a value keeps every "=" after the first one, and may be empty', () => {
    assert.deepEqual(flagsOf(['-e', 'A=b=c', '--env=B==', '-e=', 'x']), { env: ['A=b=c', 'B==', ''] });
  });

  test('repeated array flags accumulate in order, long and short mixed', () => {
    assert.deepEqual(flagsOf(['-e', 'A=1', '--env', 'B=2', '-eC=3', '--env=D=4', 'img']), { env: ['A=1', 'B=2', 'C=3', 'D=4'] });
  });

  test('a string flag given twice keeps the last value', () => {
    assert.deepEqual(flagsOf(['-w', '/a', '--workdir=/b', 'img']), { workdir: '/b' });
  });

  test('a flag that needs a value takes the next argument even when it starts with "-"', () => {
    // pflag does this too: `--name --rm` names the container "--rm".
    assert.deepEqual(flagsOf(['--name', '--rm', '-w', '-x', 'img']), { name: '--rm', workdir: '-x' });
  });

  test('an int flag is parsed as a decimal number, with a sign', () => {
    assert.deepEqual(flagsOf(['--chapter', '3', 'x']), { chapter: 3 });
    assert.deepEqual(flagsOf(['--chapter=-2', 'x']), { chapter: -2 });
    assert.deepEqual(flagsOf(['--chapter', '+7', 'x']), { chapter: 7 });
  });
});

describe('parseFlags: booleans and combined shorthands', () => {
  test('-it sets both -i and -t', () => {
    assert.deepEqual(flagsOf(['-it', 'busybox']), { interactive: true, tty: true });
  });

  test('-ite K=V and -iteK=V: booleans, then a shorthand that takes a value', () => {
    assert.deepEqual(flagsOf(['-ite', 'K=V', 'busybox']), { interactive: true, tty: true, env: ['K=V'] });
    assert.deepEqual(flagsOf(['-iteK=V', 'busybox']), { interactive: true, tty: true, env: ['K=V'] });
  });

  test('--rm, --rm=true, --rm=false, -i=false', () => {
    assert.deepEqual(flagsOf(['--rm', 'x']), { rm: true });
    assert.deepEqual(flagsOf(['--rm=true', 'x']), { rm: true });
    assert.deepEqual(flagsOf(['--rm=false', 'x']), { rm: false });
    assert.deepEqual(flagsOf(['-i=false', 'x']), { interactive: false });
  });

  test("a bool takes strconv.ParseBool's spellings and nothing else", () => {
    for (const t of ['1', 't', 'T', 'TRUE', 'true', 'True']) assert.equal(run([`--rm=${t}`]).flags.get('rm'), true, t);
    for (const f of ['0', 'f', 'F', 'FALSE', 'false', 'False']) assert.equal(run([`--rm=${f}`]).flags.get('rm'), false, f);
    assert.equal(
      errorOf(['--rm=yes']),
      'invalid argument "yes" for "--rm" flag: strconv.ParseBool: parsing "yes": invalid syntax',
    );
  });

  test('a bool flag never takes the next argument as its value', () => {
    assert.deepEqual(run(['--rm', 'false']), { flags: new Map([['rm', true]]), args: ['false'] });
  });

  test('a lone "-" is an argument, not a flag', () => {
    assert.deepEqual(run(['-', '-e', 'x']).args, ['-', '-e', 'x']);
  });
});

describe('parseFlags: where the flags end', () => {
  test('"--" ends the flags; what follows is returned untouched', () => {
    assert.deepEqual(parseFlags(['--rm', '--', '-e', 'x', '--', 'y'], SPECS, true), {
      flags: new Map([['rm', true]]),
      args: ['-e', 'x', '--', 'y'],
    });
    assert.deepEqual(run(['--rm', '--', '--env', 'x']).args, ['--env', 'x']);
  });

  test('for run (interspersed=false), flags stop at the first argument', () => {
    const p = run(['--rm', 'busybox', 'ls', '-e', 'x', '--rm', '--bogus', '--']);
    assert.deepEqual(p.flags, new Map([['rm', true]]));
    assert.deepEqual(p.args, ['busybox', 'ls', '-e', 'x', '--rm', '--bogus', '--']);
  });

  test('with interspersed=true, flags are read after arguments too', () => {
    const p = parseFlags(['a', '--rm', 'b', '-e', 'K=V', 'c'], SPECS, true);
    assert.deepEqual(p.flags, new Map<string, FlagValue>([['rm', true], ['env', ['K=V']]]));
    assert.deepEqual(p.args, ['a', 'b', 'c']);
  });
});

describe('parseFlags: bad command lines', () => {
  test('an unknown long flag is named without its value', () => {
    assert.equal(errorOf(['--bogus', 'x']), 'unknown flag: --bogus');
    assert.equal(errorOf(['--bogus=1', 'x']), 'unknown flag: --bogus');
  });

  test('an unknown shorthand is named with the argument it was in', () => {
    assert.equal(errorOf(['-x']), "unknown shorthand flag: 'x' in -x");
    assert.equal(errorOf(['-itx']), "unknown shorthand flag: 'x' in -itx");
  });

  test('a flag missing its value at the end of the line', () => {
    assert.equal(errorOf(['--env']), 'flag needs an argument: --env');
    assert.equal(errorOf(['-e']), "flag needs an argument: 'e' in -e");
    assert.equal(errorOf(['-ie']), "flag needs an argument: 'e' in -e");
  });

  test('an int flag refuses what is not a decimal integer', () => {
    assert.equal(
      errorOf(['--chapter', 'x']),
      'invalid argument "x" for "--chapter" flag: strconv.ParseInt: parsing "x": invalid syntax',
    );
    for (const bad of ['', '1.5', '0x10', '1e3', ' 1']) assert.match(errorOf([`--chapter=${bad}`]), /strconv\.ParseInt/, bad);
  });

  test('an int flag refuses what does not fit in int64, as Go\'s ParseInt does', () => {
    assert.equal(
      errorOf(['--chapter', '9223372036854775808']),
      'invalid argument "9223372036854775808" for "--chapter" flag: strconv.ParseInt: parsing "9223372036854775808": value out of range',
    );
    assert.match(errorOf(['--chapter=-9223372036854775809']), /value out of range/);
    assert.doesNotThrow(() => run(['--chapter', '9223372036854775807', 'busybox']));
  });

  test('an unknown flag after the first argument is not an error for run', () => {
    assert.doesNotThrow(() => run(['busybox', '--bogus', '-x']));
  });
});

describe('flagHelp', () => {
  test('one row per flag, with its shorthand, value name and chapter', () => {
    const help = flagHelp([{ ...SPECS[0], chapter: 1 }, SPECS[5], { ...SPECS[2], valueName: 'dir' }]);
    const rows = help.split('\n');
    assert.equal(rows.length, 3);
    assert.match(rows[0], /^ {2}-e, --env list +Set environment variables \(chapter 1\)$/);
    assert.match(rows[1], /^ {6}--rm +Remove$/);
    assert.match(rows[2], /^ {2}-w, --workdir dir +Working directory$/);
  });

  test('fits 80 columns: long text wraps at words, under its first line, and no word is lost', () => {
    fc.assert(
      fc.property(fc.array(fc.stringMatching(/^[a-z]{1,12}$/), { minLength: 1, maxLength: 40 }), fc.stringMatching(/^[a-z][a-z-]{0,24}$/), (words, name) => {
        const text = words.join(' ');
        const rows = flagHelp([{ name, kind: 'string', usage: text }]).split('\n');
        for (const r of rows) assert.ok(r.length <= 80, `${r.length} columns: ${r}`);
        const col = 2 + `    --${name} string`.length + 3; // the text column: after the flag's column and 3 spaces
        for (const r of rows.slice(1)) assert.equal(r.search(/\S/), col, 'a continuation starts under the text');
        assert.equal(rows.map((r, i) => (i === 0 ? r.slice(col) : r.trim())).join(' '), text);
      }),
    );
  });
});

// --- properties -------------------------------------------------------------

/** A random value of the right kind for each flag, for a random subset of flags. */
const flagMap: fc.Arbitrary<Map<string, FlagValue>> = fc
  .record(
    {
      env: fc.array(fc.string({ unit: 'binary' }), { minLength: 1, maxLength: 4 }),
      'env-file': fc.array(fc.string(), { minLength: 1, maxLength: 3 }),
      workdir: fc.string({ unit: 'binary' }),
      hostname: fc.string(),
      name: fc.constantFrom('--', '-', '-e', '--rm', '=', 'x=y', ''),
      rm: fc.boolean(),
      interactive: fc.boolean(),
      tty: fc.boolean(),
      chapter: fc.integer(),
    },
    { requiredKeys: [] },
  )
  .chain((o) =>
    // Any order of the flags on the command line.
    fc.shuffledSubarray(Object.keys(o), { minLength: Object.keys(o).length }).map(
      (keys) => new Map(keys.map((k) => [k, (o as Record<string, FlagValue>)[k]])),
    ),
  );

describe('parseFlags properties', () => {
  test('formatFlags then parseFlags gives back the same flags (both modes)', () => {
    fc.assert(
      fc.property(flagMap, fc.boolean(), (flags, interspersed) => {
        const parsed = parseFlags(formatFlags(flags), SPECS, interspersed);
        assert.deepEqual(parsed.flags, flags);
        assert.deepEqual(parsed.args, []);
      }),
      { numRuns: 500 },
    );
  });

  test('with interspersed=false, everything from the first argument on is returned untouched', () => {
    const first = fc.string().filter((s) => !s.startsWith('-') || s === '-');
    const rest = fc.array(fc.oneof(fc.string(), fc.constantFrom('--', '-e', '--rm', '-it', '--bogus', '-', '--env=x')), { maxLength: 8 });
    fc.assert(
      fc.property(flagMap, first, rest, (flags, image, tail) => {
        const parsed = parseFlags([...formatFlags(flags), image, ...tail], SPECS, false);
        assert.deepEqual(parsed.flags, flags);
        assert.deepEqual(parsed.args, [image, ...tail]);
      }),
      { numRuns: 500 },
    );
  });

  test('-e V, -eV, -e=V, --env=V and --env V all mean the same', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', minLength: 1 }), (v) => {
        const spellings = [['-e', v], [`-e=${v}`], [`--env=${v}`], ['--env', v]];
        // -eV is ambiguous when V starts with "=": pflag reads -e=V then.
        if (!v.startsWith('=')) spellings.push([`-e${v}`]);
        for (const s of spellings) assert.deepEqual(run([...s, 'img']).flags.get('env'), [v], JSON.stringify(s));
      }),
      { numRuns: 300 },
    );
  });

  test('a run of boolean shorthands sets exactly those flags', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('i', 't'), { minLength: 1, maxLength: 6 }), (letters) => {
        const flags = flagsOf([`-${letters.join('')}`, 'img']);
        const want: Record<string, boolean> = {};
        if (letters.includes('i')) want.interactive = true;
        if (letters.includes('t')) want.tty = true;
        assert.deepEqual(flags, want);
      }),
    );
  });
});
