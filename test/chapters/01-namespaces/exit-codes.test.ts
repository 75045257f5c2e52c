// Chapter 1, section 7: "Exec: the command becomes PID 1", its "Finding the
// command, and Docker's exit codes"; and section 8: "Signals".
//
// Chapter 1: the container's exit status becomes dockling's; a command
// killed by signal N gives 128+N; signals sent to dockling reach the
// container; Docker's codes for failures — 125 (dockling itself), 126
// (cannot execute), 127 (not found) — each with a message naming the problem.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { dockling, docklingAsync, rootOrSkip, until, UNHARDENED_WARNING, type Result } from '../../helpers/dockling.js';
import { expectCode, runners, useStateRoot } from '../../helpers/chapter.js';
import { containerProcesses, finish, nsOf } from '../../helpers/processes.js';

const skip = rootOrSkip();
/** The chapter under test (test/run.ts sets it; 1 when run by hand). */
const CHAPTER = Number(process.env.DOCKLING_CHAPTER ?? 1);
const root = useStateRoot('exit');
const { run } = runners(root);

/** stderr has exactly one line from dockling, and it matches. */
function oneLine(r: Result, re: RegExp): void {
  const lines = r.stderr.trimEnd().split('\n');
  assert.match(lines[0], re);
  assert.match(lines[0], /^dockling: /);
}

describe("chapter 1: the command's exit status", { skip }, () => {
  test('0, and nothing printed by dockling but the one warning that root inside is root outside', () => {
    const r = expectCode(run(['busybox', 'true']), 0);
    assert.equal(r.stdout + r.stderr, '');
    // Until chapter 11's layer exists (and whenever --chapter leaves it
    // out), every run says that it is no sandbox, once, on stderr.
    assert.equal(r.rawStderr, UNHARDENED_WARNING);
  });

  test('3 from `sh -c "exit 3"`, and any status 0..255 passes through', () => {
    expectCode(run(['busybox', 'sh', '-c', 'exit 3']), 3);
    expectCode(run(['busybox', 'false']), 1);
    expectCode(run(['busybox', 'sh', '-c', 'exit 255']), 255);
  });

  test('126: a file that is not executable, or a directory, with a message naming it', () => {
    const r = expectCode(run(['busybox', '/etc/passwd']), 126);
    oneLine(r, /exec: "\/etc\/passwd": permission denied/);
    const d = expectCode(run(['busybox', '/etc']), 126);
    oneLine(d, /exec: "\/etc": is a directory/);
  });

  test('127: a command that is not found, with a message naming it', () => {
    const r = expectCode(run(['busybox', 'nope']), 127);
    oneLine(r, /exec: "nope": executable file not found in \$PATH/);
    const abs = expectCode(run(['busybox', '/no/such/program']), 127);
    oneLine(abs, /"\/no\/such\/program".*no such file or directory/);
  });

  test("the command is looked up in the container's PATH, not the host's", () => {
    // node is on the host's PATH, not in the busybox rootfs.
    const r = expectCode(run(['busybox', 'node', '-e', '0']), 127);
    oneLine(r, /exec: "node": executable file not found in \$PATH/);
  });

  test('137: the container killed with SIGKILL from the host', async () => {
    const p = docklingAsync(root(), ['run', '--rm', 'busybox', 'sleep', '1000']);
    try {
      // The container's process, as the host sees it: a `sleep` under this
      // CLI whose PID namespace is not the host's.
      let sleeper: number | undefined;
      await until(() => {
        sleeper = containerProcesses(p.child.pid!).find((pid) => {
          try {
            return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8') === 'sleep\x001000\x00';
          } catch {
            return false;
          }
        });
        return sleeper !== undefined || p.child.exitCode !== null;
      }, 15_000, 'the container\'s sleep');
      assert.ok(sleeper, `no container process (dockling said: ${p.errors()})`);
      assert.notEqual(nsOf(sleeper), nsOf('self'));
      process.kill(sleeper, 'SIGKILL');
      const r = await finish(p);
      assert.equal(r.code, 137, r.stderr);
      assert.equal(r.signal, null, 'dockling exits with 137, it is not killed itself');
    } finally {
      if (p.child.exitCode === null) await finish(p, 0);
    }
  });
});

describe('chapter 1: signals sent to dockling reach the container', { skip }, () => {
  const cases: [NodeJS.Signals, number][] = [['SIGTERM', 7], ['SIGINT', 8], ['SIGHUP', 9], ['SIGUSR1', 10]];
  for (const [sig, code] of cases) {
    test(`${sig} to dockling runs the container's ${sig.slice(3)} trap`, async () => {
      const script = `trap "exit ${code}" ${sig.slice(3)}; echo ready; while :; do sleep 0.05; done`;
      const p = docklingAsync(root(), ['run', '--rm', 'busybox', 'sh', '-c', script]);
      try {
        await until(() => p.output().includes('ready') || p.child.exitCode !== null, 15_000, 'the container to be ready');
        assert.match(p.output(), /ready/, p.errors());
        p.child.kill(sig);
        const r = await finish(p);
        assert.equal(r.timedOut, false, `${sig} did not reach the container`);
        assert.equal(r.code, code, r.stderr);
      } finally {
        if (p.child.exitCode === null) await finish(p, 0);
      }
    });
  }

  test("a signal the container's PID 1 does not handle is ignored, as in Docker (the container keeps running)", async () => {
    const p = docklingAsync(root(), ['run', '--rm', 'busybox', 'sh', '-c', 'echo ready; while :; do sleep 0.05; done']);
    try {
      await until(() => p.output().includes('ready') || p.child.exitCode !== null, 15_000, 'the container to be ready');
      assert.match(p.output(), /ready/, p.errors());
      p.child.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(p.child.exitCode, null, 'dockling exited on SIGTERM although the container ignores it');
    } finally {
      const r = await finish(p, 0);
      assert.equal(r.code, 137);
    }
  });
});

describe('chapter 1: failures of dockling itself (125) and of the command line', { skip }, () => {
  test('125 for a --rootfs directory that does not exist, naming it and the fix', () => {
    const missing = path.join(root(), 'no-such-rootfs');
    const r = expectCode(run(['--rootfs', missing, 'sh']), 125);
    oneLine(r, new RegExp(`rootfs ${missing}: no such directory`));
    assert.match(r.stderr, /dockling rootfs busybox/);
    const file = path.join(root(), 'a-file');
    fs.writeFileSync(file, '');
    expectCode(run(['--rootfs', file, 'sh']), 125);
  });

  test("125 for an unknown flag, naming it, with See 'dockling run --help'", () => {
    for (const [flag, named] of [['--bogus', 'unknown flag: --bogus'], ['--bogus=1', 'unknown flag: --bogus'], ['-x', "unknown shorthand flag: 'x' in -x"], ['-itx', "unknown shorthand flag: 'x' in -itx"]]) {
      const r = expectCode(run([flag, 'busybox', 'true']), 125);
      assert.ok(r.stderr.includes(named), `${flag}: ${r.stderr}`);
      assert.ok(r.stderr.includes("See 'dockling run --help'"), r.stderr);
      assert.equal(r.stdout, '');
    }
  });

  test('125 for a flag without its value, and for a bad boolean', () => {
    const r = expectCode(dockling(root(), ['run', '--rm', 'busybox', 'true', '--name']), 0); // after IMAGE: the command's
    assert.equal(r.stderr, '');
    const missing = expectCode(dockling(root(), ['run', '--name']), 125);
    assert.match(missing.stderr, /flag needs an argument: --name/);
    const bad = expectCode(run(['--rm=maybe', 'busybox', 'true']), 125);
    assert.match(bad.stderr, /invalid argument "maybe" for "--rm" flag/);
  });

  test('1 for run without an image, with the usage (the docker CLI: a missing argument is 1, a bad flag 125)', () => {
    const r = expectCode(dockling(root(), ['run']), 1);
    assert.match(r.stderr, /"dockling run" requires at least 1 argument/);
    assert.match(r.stderr, /Usage:\s+dockling run \[OPTIONS\] IMAGE \[COMMAND\] \[ARG\.\.\.\]/);
  });

  test('125 for an image chapter 1 does not know, naming it', () => {
    const r = expectCode(run(['alpine', 'true']), 125);
    oneLine(r, /Unable to find image 'alpine' locally/);
  });

  test('125 for an invalid --hostname', () => {
    const r = expectCode(run(['--hostname', 'x'.repeat(65), 'busybox', 'true']), 125);
    assert.match(r.stderr, /invalid hostname/);
  });

  test('flags after the image belong to the command', () => {
    const r = expectCode(run(['busybox', 'echo', '-e', '--rm', '-it', '--bogus']), 0);
    assert.equal(r.stdout, '--rm -it --bogus\n');
  });

  test('run --help lists the flags chapter 1 adds', () => {
    const r = expectCode(dockling(root(), ['run', '--help']), 0);
    for (const f of ['-e, --env', '--env-file', '-w, --workdir', '-h, --hostname', '--name', '--rm', '-i, --interactive', '-t, --tty', '--rootfs']) {
      assert.ok(r.stdout.includes(f), `run --help lacks ${f}`);
    }
  });

  test('an unknown command "is not a dockling command"; run and rootfs are commands', () => {
    const r = expectCode(dockling(root(), ['frobnicate']), 1);
    assert.match(r.stderr, /'frobnicate' is not a dockling command/);
    assert.match(r.stderr, /See 'dockling --help'/);
    const help = expectCode(dockling(root(), ['--help']), 0);
    assert.match(help.stdout, /^\s+run\s+.*\(chapter 1\)$/m);
    assert.match(help.stdout, /^\s+rootfs\s+.*\(chapter 1\)$/m);
  });
});

describe('chapter 1: the global --chapter flag', { skip }, () => {
  test('--chapter N runs the runtime as of chapter N, and overrides DOCKLING_CHAPTER', () => {
    const r = expectCode(dockling(root(), ['--chapter', String(CHAPTER), 'run', '--rm', 'busybox', 'sh', '-c', 'exit 5'], { env: { DOCKLING_CHAPTER: '0' } }), 5);
    assert.equal(r.stderr, '');
    const v = expectCode(dockling(root(), ['--chapter', String(CHAPTER), '--version']), 0);
    assert.match(v.stdout, new RegExp(`--chapter ${CHAPTER}: the layers of chapters 1\\b`));
  });

  test('--chapter 0 has no run, and says which chapter adds it; run flags of later chapters say theirs', () => {
    assert.ok(CHAPTER >= 1, 'this chapter adds run');
    const r = expectCode(dockling(root(), ['--chapter', '0', 'run', '--rm', 'busybox', 'true']), 1);
    assert.match(r.stderr, /^dockling: 'run' comes with chapter 1 \(namespaces\); this run has no chapter\.\nSee 'dockling --help'\n$/);
    // A run flag of a chapter that is written but not in this run (chapter 6
    // here): warned about and left out, as a switched-off layer's flags are.
    const has = CHAPTER === 1 ? 'chapter 1' : `chapters 1..${CHAPTER}`;
    if (CHAPTER < 6) {
      for (const [flag, name] of [[['-p', '80:80'], '-p/--publish'], [['--network=host'], '--network']] as const) {
        const w = expectCode(dockling(root(), ['--chapter', String(CHAPTER), 'run', '--rm', ...flag, 'busybox', 'true']), 0);
        assert.equal(w.stderr, `dockling: warning: ${name} comes with chapter 6 (networking); this run has ${has}, so it is ignored\n`);
      }
    }
    if (CHAPTER < 7) {
      for (const [flag, name] of [[['-v', '/tmp:/x'], '-v/--volume'], [['--mount', 'type=tmpfs,dst=/x'], '--mount']] as const) {
        const w = expectCode(dockling(root(), ['--chapter', String(CHAPTER), 'run', '--rm', ...flag, 'busybox', 'true']), 0);
        assert.equal(w.stderr, `dockling: warning: ${name} comes with chapter 7 (volumes); this run has ${has}, so it is ignored\n`);
      }
    }
    if (CHAPTER < 8) {
      const w = expectCode(dockling(root(), ['--chapter', String(CHAPTER), 'run', '--rm', '--pull', 'always', 'busybox', 'true']), 0);
      assert.equal(w.stderr, `dockling: warning: --pull comes with chapter 8 (registries); this run has ${has}, so it is ignored\n`);
    }
    const bad = expectCode(dockling(root(), ['--chapter', '12', 'run', 'busybox', 'true']), 125);
    assert.match(bad.stderr, /invalid chapter/);
  });
});
