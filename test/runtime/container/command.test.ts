// What a container runs, and which container a name means — Docker's rules,
// checked against models written here from moby's code, not from dockling's:
//
// - combineCommand: the image's ENTRYPOINT and CMD, --entrypoint and the
//   arguments after IMAGE. The model is moby's: the CLI turns
//   `--entrypoint X` into Entrypoint [X] and `--entrypoint ""` into [""];
//   the daemon's merge() (daemon/commit.go) takes the image's CMD only when
//   the run's Entrypoint AND Cmd are both empty, and the image's ENTRYPOINT
//   only when the run's is nil; mergeAndVerifyConfig() then resets [""] to
//   nil, and an empty command is "no command specified".
// - parseRestartPolicy: docker/cli's ParseRestartPolicy and the daemon's
//   ValidateRestartPolicy (api/types/container/hostconfig.go), with their
//   messages.
// - resolveContainer: the daemon's GetContainer: a full ID, then an exact
//   name, then a unique ID prefix (truncindex: "Multiple IDs found with
//   provided prefix"), else "No such container".
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { combineCommand, parseRestartPolicy } from '../../../runtime/container/command.js';
import { resolveContainer, type ContainerConfig } from '../../../runtime/core/containers.js';
import { useTempDir } from '../../helpers/temp.js';

// --- combineCommand ----------------------------------------------------------

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

// --- parseRestartPolicy ------------------------------------------------------

describe('parseRestartPolicy', () => {
  test('valid policies', () => {
    const cases: [string, string, number][] = [
      ['no', 'no', 0],
      ['always', 'always', 0],
      ['unless-stopped', 'unless-stopped', 0],
      ['on-failure', 'on-failure', 0],
      ['on-failure:0', 'on-failure', 0],
      ['on-failure:2', 'on-failure', 2],
      ['on-failure:10', 'on-failure', 10],
      ['', 'no', 0], // --restart "" is the default
    ];
    for (const [s, name, n] of cases) assert.deepEqual(parseRestartPolicy(s), { Name: name, MaximumRetryCount: n }, s);
  });

  test('also valid in Docker: an empty count ("on-failure:") and a zero count on any policy ("always:0")', () => {
    // The CLI reads no count from "", and the daemon refuses only a count other than 0.
    for (const [s, name] of [['on-failure:', 'on-failure'], ['always:0', 'always'], ['no:0', 'no'], ['unless-stopped:0', 'unless-stopped']]) {
      assert.deepEqual(parseRestartPolicy(s), { Name: name, MaximumRetryCount: 0 }, s);
    }
  });

  // docker/cli opts.ParseRestartPolicy, then the daemon's ValidateRestartPolicy (Docker 25+).
  const UNKNOWN = (p: string) => `invalid restart policy: unknown policy '${p}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'`;
  const invalid: [string, string][] = [
    ['on-failure:x', 'invalid restart policy format: maximum retry count must be an integer'],
    ['on-failure:1.5', 'invalid restart policy format: maximum retry count must be an integer'],
    ['on-failure:1:2', 'invalid restart policy format: maximum retry count must be an integer'],
    ['on-failure:-1', 'invalid restart policy: maximum retry count cannot be negative'],
    ['always:3', "invalid restart policy: maximum retry count can only be used with 'on-failure'"],
    ['unless-stopped:1', "invalid restart policy: maximum retry count can only be used with 'on-failure'"],
    ['no:2', "invalid restart policy: maximum retry count can only be used with 'on-failure'"],
    [':3', 'invalid restart policy format: no policy provided before colon'],
    ['sometimes', UNKNOWN('sometimes')],
    ['Always', UNKNOWN('Always')],
  ];
  for (const [s, msg] of invalid) {
    test(`--restart ${JSON.stringify(s)} is refused: ${msg}`, () => {
      assert.throws(() => parseRestartPolicy(s), (e: Error) => {
        assert.equal(e.message, msg);
        return true;
      });
    });
  }

  test('random strings: either a valid policy or an Error, never anything else', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('on-failure:', 'always:', 'no:')), (s) => {
        let r;
        try {
          r = parseRestartPolicy(s);
        } catch (e) {
          assert.ok(e instanceof Error && e.message.length > 0, JSON.stringify(s));
          return;
        }
        assert.ok(['no', 'always', 'unless-stopped', 'on-failure'].includes(r.Name), JSON.stringify(s));
        assert.ok(Number.isSafeInteger(r.MaximumRetryCount) && r.MaximumRetryCount >= 0);
        if (r.Name !== 'on-failure') assert.equal(r.MaximumRetryCount, 0);
      }),
      { numRuns: 2000 },
    );
  });
});

// --- resolveContainer --------------------------------------------------------

const tmp = useTempDir('command-test-');
let stores = 0;

/** A fake state root holding containers/<id>/config.v2.json for each (id, name). */
function fakeStore(entries: { id: string; name: string }[]): string {
  const root = path.join(tmp(), `s${stores++}`);
  for (const { id, name } of entries) {
    const dir = path.join(root, 'containers', id);
    fs.mkdirSync(dir, { recursive: true });
    const c = {
      ID: id, Name: '/' + name, Created: '2024-01-01T00:00:00Z', Path: 'true', Args: [],
      State: { Status: 'exited', Running: false, Pid: 0, ExitCode: 0, StartedAt: '', FinishedAt: '' },
      Config: { Hostname: id.slice(0, 12), Env: [], Cmd: ['true'], Image: 'busybox', WorkingDir: '/', Tty: false, OpenStdin: false },
      Rootfs: '/nonexistent', Chapter: 5, MonitorPid: 0,
    } satisfies ContainerConfig;
    fs.writeFileSync(path.join(dir, 'config.v2.json'), JSON.stringify(c));
  }
  return root;
}

/** The daemon's GetContainer, written out. */
function model(entries: { id: string; name: string }[], ref: string): { id: string } | { error: string } {
  const byId = entries.find((e) => e.id === ref);
  if (byId) return { id: byId.id };
  const byName = entries.find((e) => e.name === ref.replace(/^\//, ''));
  if (byName) return { id: byName.id };
  const byPrefix = ref === '' ? [] : entries.filter((e) => e.id.startsWith(ref));
  if (byPrefix.length === 1) return { id: byPrefix[0].id };
  if (byPrefix.length > 1) return { error: `Multiple IDs found with provided prefix: ${ref}` };
  return { error: `No such container: ${ref}` };
}

function actual(root: string, ref: string): { id: string } | { error: string } {
  try {
    return { id: resolveContainer(root, ref).ID };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

const hexId = (head: string) => (head + '0123456789abcdef'.repeat(4)).slice(0, 64);

describe('resolveContainer', () => {
  const entries = [
    { id: hexId('abc1'), name: 'web' },
    { id: hexId('abc2'), name: 'db' },
    { id: hexId('def0'), name: 'abc2' }, // a name that is another container's ID prefix
  ];

  test('a full ID, a name (with or without "/"), a unique prefix', () => {
    const root = fakeStore(entries);
    assert.equal(resolveContainer(root, entries[0].id).ID, entries[0].id);
    assert.equal(resolveContainer(root, 'web').ID, entries[0].id);
    assert.equal(resolveContainer(root, '/db').ID, entries[1].id);
    assert.equal(resolveContainer(root, 'abc1').ID, entries[0].id);
    assert.equal(resolveContainer(root, 'de').ID, entries[2].id);
  });

  test('an exact name wins over an ID prefix it also is', () => {
    const root = fakeStore(entries);
    assert.equal(resolveContainer(root, 'abc2').ID, entries[2].id);
  });

  test("an ambiguous prefix is refused with Docker's message; an unknown reference too", () => {
    const root = fakeStore(entries);
    assert.throws(() => resolveContainer(root, 'abc'), { message: 'Multiple IDs found with provided prefix: abc' });
    assert.throws(() => resolveContainer(root, 'nosuch'), { message: 'No such container: nosuch' });
    assert.throws(() => resolveContainer(root, 'ABC1'), { message: 'No such container: ABC1' }, 'IDs are lower-case hex');
    assert.throws(() => resolveContainer(fakeStore([]), 'web'), { message: 'No such container: web' }, 'an empty store');
  });

  test("a full ID wins over a name that spells it (the daemon looks IDs up first)", () => {
    const a = { id: hexId('aaaa'), name: 'first' };
    const b = { id: hexId('bbbb'), name: a.id }; // a 64-hex name is a valid name
    for (const order of [[a, b], [b, a]]) {
      const root = fakeStore(order);
      assert.equal(resolveContainer(root, a.id).ID, a.id);
    }
  });

  test('random stores and references against the model', () => {
    const hex = fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 1, maxLength: 4 });
    const name = fc.oneof(fc.constantFrom('web', 'db', 'a1', 'ab', 'abc', 'cafe', '0a'), hex.filter((h) => h.length >= 2));
    const store = fc
      .uniqueArray(fc.record({ head: hex, name }), { selector: (e) => e.name, maxLength: 6 })
      .map((xs) => {
        const seen = new Set<string>();
        return xs
          .map((x, i) => ({ id: hexId(x.head + i.toString(16)), name: x.name }))
          .filter((x) => !seen.has(x.id) && (seen.add(x.id), true));
      });
    fc.assert(
      fc.property(store, fc.nat(), fc.oneof(hex, name, fc.constantFrom('nosuch', '/web')), fc.nat({ max: 3 }), (es, pick, other, kind) => {
        const root = fakeStore(es);
        const e = es.length ? es[pick % es.length] : undefined;
        const ref = e && kind === 0 ? e.id : e && kind === 1 ? e.name : e && kind === 2 ? e.id.slice(0, 1 + (pick % 12)) : other;
        assert.deepEqual(actual(root, ref), model(es, ref), `ref ${JSON.stringify(ref)} in ${JSON.stringify(es)}`);
      }),
      { numRuns: 300 },
    );
  });
});
