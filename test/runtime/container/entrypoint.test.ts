// What a container runs: Docker's rules for the image's ENTRYPOINT and CMD,
// --entrypoint and the arguments after IMAGE (runtime/container/entrypoint.ts),
// checked against a model written here from moby's code, not from dockling's.
// The model: the CLI turns `--entrypoint X` into Entrypoint [X] and
// `--entrypoint ""` into [""]; the daemon's merge() (daemon/commit.go) takes
// the image's CMD only when the run's Entrypoint AND Cmd are both empty, and
// the image's ENTRYPOINT only when the run's is nil; mergeAndVerifyConfig()
// then resets [""] to nil, and an empty command is "no command specified".
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { combineCommand } from '../../helpers/combine-command.js';

// The runtime's rules, composed as `run` composes them: combineCommand
// (test/helpers/combine-command.ts, shared with chapter 5's table test).

type Form = 'none' | 'exec' | 'shell';
type Flag = 'unset' | '""' | 'X';
type Args = 'none' | 'some';

const EP: Record<Form, string[] | null> = { none: null, exec: ['ep', 'p1'], shell: ['/bin/sh', '-c', 'ep p1'] };
const CMD: Record<Form, string[] | null> = { none: null, exec: ['cmd', 'c1'], shell: ['/bin/sh', '-c', 'cmd c1'] };
const FLAG: Record<Flag, string | undefined> = { unset: undefined, '""': '', X: 'X' };
const ARGS: Record<Args, string[]> = { none: [], some: ['a1', 'a2'] };

// Docker's table ("Understand how CMD and ENTRYPOINT interact", extended by
// the two --entrypoint columns), as the argv the container's process gets:
// ENTRYPOINT followed by CMD. [] is the error "no command specified".
// A shell-form ENTRYPOINT still gets CMD/args appended, as $0 $1… of its
// `sh -c` script, which is why they are ignored in effect.
const SH_EP = ['/bin/sh', '-c', 'ep p1'];
const SH_CMD = ['/bin/sh', '-c', 'cmd c1'];
const TABLE: [Form, Form, Flag, Args, string[]][] = [
  // image ENTRYPOINT, image CMD, --entrypoint, args → argv
  ['none', 'none', 'unset', 'none', []],
  ['none', 'none', 'unset', 'some', ['a1', 'a2']],
  ['none', 'exec', 'unset', 'none', ['cmd', 'c1']],
  ['none', 'exec', 'unset', 'some', ['a1', 'a2']],
  ['none', 'shell', 'unset', 'none', SH_CMD],
  ['none', 'shell', 'unset', 'some', ['a1', 'a2']],
  ['exec', 'none', 'unset', 'none', ['ep', 'p1']],
  ['exec', 'none', 'unset', 'some', ['ep', 'p1', 'a1', 'a2']],
  ['exec', 'exec', 'unset', 'none', ['ep', 'p1', 'cmd', 'c1']],
  ['exec', 'exec', 'unset', 'some', ['ep', 'p1', 'a1', 'a2']],
  ['exec', 'shell', 'unset', 'none', ['ep', 'p1', ...SH_CMD]],
  ['exec', 'shell', 'unset', 'some', ['ep', 'p1', 'a1', 'a2']],
  ['shell', 'none', 'unset', 'none', SH_EP],
  ['shell', 'none', 'unset', 'some', [...SH_EP, 'a1', 'a2']],
  ['shell', 'exec', 'unset', 'none', [...SH_EP, 'cmd', 'c1']],
  ['shell', 'exec', 'unset', 'some', [...SH_EP, 'a1', 'a2']],
  ['shell', 'shell', 'unset', 'none', [...SH_EP, ...SH_CMD]],
  ['shell', 'shell', 'unset', 'some', [...SH_EP, 'a1', 'a2']],
  // --entrypoint "": no ENTRYPOINT, and the image's CMD is NOT used either
  // (the run's Entrypoint [""] is not empty when merge() looks at it).
  ['none', 'none', '""', 'none', []],
  ['none', 'none', '""', 'some', ['a1', 'a2']],
  ['none', 'exec', '""', 'none', []],
  ['none', 'exec', '""', 'some', ['a1', 'a2']],
  ['none', 'shell', '""', 'none', []],
  ['none', 'shell', '""', 'some', ['a1', 'a2']],
  ['exec', 'none', '""', 'none', []],
  ['exec', 'none', '""', 'some', ['a1', 'a2']],
  ['exec', 'exec', '""', 'none', []],
  ['exec', 'exec', '""', 'some', ['a1', 'a2']],
  ['exec', 'shell', '""', 'none', []],
  ['exec', 'shell', '""', 'some', ['a1', 'a2']],
  ['shell', 'none', '""', 'none', []],
  ['shell', 'none', '""', 'some', ['a1', 'a2']],
  ['shell', 'exec', '""', 'none', []],
  ['shell', 'exec', '""', 'some', ['a1', 'a2']],
  ['shell', 'shell', '""', 'none', []],
  ['shell', 'shell', '""', 'some', ['a1', 'a2']],
  // --entrypoint X: X, then only the arguments given; the image's CMD is dropped.
  ['none', 'none', 'X', 'none', ['X']],
  ['none', 'none', 'X', 'some', ['X', 'a1', 'a2']],
  ['none', 'exec', 'X', 'none', ['X']],
  ['none', 'exec', 'X', 'some', ['X', 'a1', 'a2']],
  ['none', 'shell', 'X', 'none', ['X']],
  ['none', 'shell', 'X', 'some', ['X', 'a1', 'a2']],
  ['exec', 'none', 'X', 'none', ['X']],
  ['exec', 'none', 'X', 'some', ['X', 'a1', 'a2']],
  ['exec', 'exec', 'X', 'none', ['X']],
  ['exec', 'exec', 'X', 'some', ['X', 'a1', 'a2']],
  ['exec', 'shell', 'X', 'none', ['X']],
  ['exec', 'shell', 'X', 'some', ['X', 'a1', 'a2']],
  ['shell', 'none', 'X', 'none', ['X']],
  ['shell', 'none', 'X', 'some', ['X', 'a1', 'a2']],
  ['shell', 'exec', 'X', 'none', ['X']],
  ['shell', 'exec', 'X', 'some', ['X', 'a1', 'a2']],
  ['shell', 'shell', 'X', 'none', ['X']],
  ['shell', 'shell', 'X', 'some', ['X', 'a1', 'a2']],
];

/** moby's merge, written out: Entrypoint and Cmd as the container's config records them ([] for nil). */
function dockerModel(p: { imageEntrypoint: string[] | null; imageCmd: string[] | null; entrypointFlag: string | undefined; args: string[] }) {
  // docker/cli: opts.go
  let entrypoint: string[] | null = p.entrypointFlag === undefined ? null : [p.entrypointFlag];
  let cmd: string[] | null = p.args.length ? p.args : null;
  // daemon: merge()
  if ((entrypoint ?? []).length === 0) {
    if ((cmd ?? []).length === 0) cmd = p.imageCmd;
    if (entrypoint === null) entrypoint = p.imageEntrypoint;
  }
  // daemon: mergeAndVerifyConfig()
  if (entrypoint?.length === 1 && entrypoint[0] === '') entrypoint = null;
  return { entrypoint: entrypoint ?? [], cmd: cmd ?? [] };
}

const rowName = ([ep, cmd, flag, args]: (typeof TABLE)[number]) => `ENTRYPOINT ${ep}, CMD ${cmd}, --entrypoint ${flag}, args ${args}`;
const inputOf = ([ep, cmd, flag, args]: (typeof TABLE)[number]) => ({ imageEntrypoint: EP[ep], imageCmd: CMD[cmd], entrypointFlag: FLAG[flag], args: ARGS[args] });
const argvOf = (r: { entrypoint: string[]; cmd: string[] }) => [...r.entrypoint, ...r.cmd];

describe("combineCommand: Docker's table", () => {
  test('the table covers every combination once, and the model agrees with it', () => {
    assert.equal(TABLE.length, 3 * 3 * 3 * 2);
    assert.equal(new Set(TABLE.map(rowName)).size, TABLE.length);
    for (const row of TABLE) assert.deepEqual(argvOf(dockerModel(inputOf(row))), row[4], rowName(row));
  });

  // One test per block, so that a divergence names its block.
  for (const flag of ['unset', 'X', '""'] as Flag[]) {
    test(`--entrypoint ${flag}: every row of the table`, () => {
      const wrong: string[] = [];
      for (const row of TABLE.filter((r) => r[2] === flag)) {
        const got = argvOf(combineCommand(inputOf(row)));
        if (JSON.stringify(got) !== JSON.stringify(row[4])) wrong.push(`${rowName(row)}: got ${JSON.stringify(got)}, Docker runs ${JSON.stringify(row[4])}`);
      }
      assert.deepEqual(wrong, []);
    });
  }

  test('Config.Entrypoint and Config.Cmd (what inspect shows) are split as Docker splits them', () => {
    for (const row of TABLE) {
      const got = combineCommand(inputOf(row));
      const want = dockerModel(inputOf(row));
      if (row[2] === '""' && row[3] === 'none') continue; // the "no command" rows: covered above
      assert.deepEqual(got.entrypoint, want.entrypoint, `Entrypoint, ${rowName(row)}`);
      assert.deepEqual(got.cmd, want.cmd, `Cmd, ${rowName(row)}`);
    }
  });
});

describe('combineCommand: an image ENTRYPOINT [""]', () => {
  // mergeAndVerifyConfig resets [""] after merge(), whichever side it came
  // from: an image committed with ENTRYPOINT [""] runs its CMD alone.
  test('is no ENTRYPOINT: the CMD (or the arguments) alone run', () => {
    assert.deepEqual(argvOf(dockerModel({ imageEntrypoint: [''], imageCmd: ['cmd'], entrypointFlag: undefined, args: [] })), ['cmd']);
    assert.deepEqual(argvOf(combineCommand({ imageEntrypoint: [''], imageCmd: ['cmd'], entrypointFlag: undefined, args: [] })), ['cmd']);
    assert.deepEqual(argvOf(combineCommand({ imageEntrypoint: [''], imageCmd: ['cmd'], entrypointFlag: undefined, args: ['a'] })), ['a']);
  });
});

describe('combineCommand: random inputs against the model', () => {
  const word = fc.oneof(fc.constantFrom('', ' ', 'sh', '-c', '/bin/sh', 'echo $0', '"q"'), fc.string({ maxLength: 6 }));
  // An image whose ENTRYPOINT is exactly [""] is reset like `--entrypoint ""`
  // (a test of its own below); the random lists leave that one out.
  const list = fc.option(fc.array(word, { maxLength: 4 }).filter((l) => !(l.length === 1 && l[0] === '')), { nil: null });
  const flag = fc.option(fc.oneof(fc.constant(''), word), { nil: undefined });
  const input = fc.record({ imageEntrypoint: list, imageCmd: list, entrypointFlag: flag, args: fc.array(word, { maxLength: 4 }) });

  test('the argv (ENTRYPOINT + CMD) is what Docker runs, whenever a command is given or the flag is not ""', () => {
    fc.assert(
      fc.property(input, (p) => {
        fc.pre(!(p.entrypointFlag === '' && p.args.length === 0)); // the divergence the table reports
        assert.deepEqual(argvOf(combineCommand(p)), argvOf(dockerModel(p)));
      }),
      { numRuns: 2000 },
    );
  });

  test('Entrypoint and Cmd separately, as inspect shows them', () => {
    fc.assert(
      fc.property(input, (p) => {
        fc.pre(!(p.entrypointFlag === '' && p.args.length === 0));
        const got = combineCommand(p);
        const want = dockerModel(p);
        assert.deepEqual({ entrypoint: got.entrypoint, cmd: got.cmd }, want);
      }),
      { numRuns: 2000 },
    );
  });

  test('the inputs are left as they were', () => {
    fc.assert(
      fc.property(input, (p) => {
        const copy = JSON.stringify(p);
        combineCommand(p);
        assert.equal(JSON.stringify(p), copy);
      }),
    );
  });
});
