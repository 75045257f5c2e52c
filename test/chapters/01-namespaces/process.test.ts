// Chapter 1, section 2: "The pipeline and the layer" (validate: Docker's rules
// for -e, --env-file, -w, --name, -i -t); section 7: "Exec: the command becomes
// PID 1" (what the command gets).
//
// Chapter 1: the flags of a container's process — -e, --env-file, -w,
// --name, -i, -t — with Docker's meaning and Docker's errors.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { dockling, docklingAsync, rootOrSkip, until } from '../../helpers/dockling.js';
import { expectCode, runners, useStateRoot, type DocklingOptions } from '../../helpers/chapter.js';
import { finish } from '../../helpers/processes.js';

const skip = rootOrSkip();
const root = useStateRoot('process');
const { run, ok } = runners(root);
/** The container's environment, as a list of K=V lines. */
const envOf = (flags: string[], opts: DocklingOptions = {}) => ok([...flags, 'busybox', 'env'], opts).trim().split('\n');

/** A file under the state root (removed with it). */
function file(name: string, text: string): string {
  const p = path.join(root(), name);
  fs.writeFileSync(p, text);
  return p;
}

describe('chapter 1: environment (-e, --env-file)', { skip }, () => {
  test("the defaults: PATH, HOSTNAME, HOME=/root; nothing of the caller's environment", () => {
    const env = envOf(['--hostname', 'box'], { env: { DOCKLING_TEST_CALLER_ONLY: 'leak' } });
    assert.ok(env.includes('PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'), env.join('\n'));
    assert.ok(env.includes('HOSTNAME=box'));
    assert.ok(env.includes('HOME=/root'));
    assert.ok(!env.some((e) => e.startsWith('DOCKLING_TEST_CALLER_ONLY=')), "the caller's environment leaked in");
    assert.ok(!env.some((e) => e.startsWith('TERM=')), 'TERM is set only with -t');
  });

  test('-e K=V sets variables exactly as given: empty values, "=", spaces; every spelling of the flag', () => {
    const env = envOf(['-e', 'A=1', '-eB=x=y', '--env=C=with  two spaces', '--env', 'EMPTY=', '-e=D=4']);
    for (const e of ['A=1', 'B=x=y', 'C=with  two spaces', 'EMPTY=', 'D=4']) assert.ok(env.includes(e), `${e} missing in\n${env.join('\n')}`);
  });

  test("-e K takes K from the caller's environment, and leaves it out when the caller has none", () => {
    const env = envOf(['-e', 'DOCKLING_TEST_PASSED', '-e', 'DOCKLING_TEST_NEVER_SET'], { env: { DOCKLING_TEST_PASSED: 'from the host' } });
    assert.ok(env.includes('DOCKLING_TEST_PASSED=from the host'), env.join('\n'));
    assert.ok(!env.some((e) => e.startsWith('DOCKLING_TEST_NEVER_SET')), env.join('\n'));
  });

  test('-e overrides a default (PATH, HOSTNAME, HOME) in its place', () => {
    const env = envOf(['-e', 'HOME=/elsewhere', '-e', 'HOSTNAME=mine', '--hostname', 'box']);
    assert.ok(env.includes('HOME=/elsewhere') && !env.includes('HOME=/root'), env.join('\n'));
    assert.ok(env.includes('HOSTNAME=mine') && !env.includes('HOSTNAME=box'), env.join('\n'));
    // A PATH of the user's is the one used to find the command.
    const r = run(['-e', 'PATH=/nowhere', 'busybox', 'ls']);
    expectCode(r, 127);
  });

  test('--env-file: comments, blank lines, indented lines, CRLF, K without value, "#" inside a value', () => {
    const f = file(
      'a.env',
      '\uFEFF# a comment\n\nFROM_FILE=1\n   INDENTED=yes\r\nWITH_HASH=a # b\nDOCKLING_TEST_FROM_CALLER\nDOCKLING_TEST_NOT_SET\nQUOTED="kept"\n\t# another\n',
    );
    const env = envOf(['--env-file', f], { env: { DOCKLING_TEST_FROM_CALLER: 'caller' } });
    for (const e of ['FROM_FILE=1', 'INDENTED=yes', 'WITH_HASH=a # b', 'DOCKLING_TEST_FROM_CALLER=caller', 'QUOTED="kept"']) {
      assert.ok(env.includes(e), `${e} missing in\n${env.join('\n')}`);
    }
    assert.ok(!env.some((e) => e.startsWith('DOCKLING_TEST_NOT_SET')));
    assert.ok(!env.some((e) => e.includes('#') && !e.startsWith('WITH_HASH=')), 'a comment became a variable');
  });

  test('-e overrides --env-file, and a later --env-file overrides an earlier one', () => {
    const f1 = file('one.env', 'A=file1\nB=file1\nC=file1\n');
    const f2 = file('two.env', 'B=file2\nC=file2\n');
    const env = envOf(['--env-file', f1, '-e', 'C=flag', '--env-file', f2]);
    assert.ok(env.includes('A=file1'), env.join('\n'));
    assert.ok(env.includes('B=file2'), env.join('\n'));
    assert.ok(env.includes('C=flag'), env.join('\n'));
    assert.equal(env.filter((e) => /^[ABC]=/.test(e)).length, 3, 'each variable once');
  });

  // (Node 20 itself scans its whole command line for --env-file, even after
  // the script, and exits 9 with "node: FILE: not found" when the file is
  // missing, unless a "--" comes first: the CLI must be started so that this
  // reaches dockling.)
  test('a missing --env-file, or a bad line in one, fails with 125 and names it; nothing is left', () => {
    const missing = path.join(root(), 'no-such.env');
    const r1 = expectCode(run(['--env-file', missing, 'busybox', 'true']), 125);
    assert.match(r1.stderr, new RegExp(`open ${missing.replace(/[.]/g, '\\.')}: no such file or directory`));
    const bad = file('bad.env', 'OK=1\n=nameless\n');
    const r2 = expectCode(run(['--env-file', bad, 'busybox', 'true']), 125);
    assert.match(r2.stderr, /line 2 of .*bad\.env/);
    const r3 = expectCode(run(['-e', 'a b=1', 'busybox', 'true']), 125);
    assert.match(r3.stderr, /'a b'/);
  });
});

describe('chapter 1: working directory (-w)', { skip }, () => {
  test('-w DIR runs the command in DIR, and makes DIR when it is missing', () => {
    assert.equal(ok(['-w', '/tmp', 'busybox', 'pwd']), '/tmp\n');
    const dir = `/made/by/dockling-${randomBytes(3).toString('hex')}`;
    assert.equal(ok(['--workdir', dir, 'busybox', 'sh', '-c', 'pwd; test -d "$PWD" && echo exists']), `${dir}\nexists\n`);
  });

  test('a relative -w is refused with 125 and a message naming it', () => {
    const r = expectCode(run(['-w', 'relative/dir', 'busybox', 'pwd']), 125);
    assert.match(r.stderr, /the working directory 'relative\/dir' is invalid, it needs to be an absolute path/);
    assert.equal(r.stdout, '');
  });
});

describe('chapter 1: names (--name)', { skip }, () => {
  test("two containers started at once with the same --name: one runs, the other fails with Docker's conflict message", async () => {
    const name = `twin-${randomBytes(3).toString('hex')}`;
    const script = 'trap "exit 0" TERM; echo ready; while :; do sleep 0.05; done';
    const ps = [0, 1].map(() => docklingAsync(root(), ['run', '--rm', '--name', name, 'busybox', 'sh', '-c', script]));
    try {
      const exited = (p: (typeof ps)[number]) => p.child.exitCode !== null;
      await until(() => (ps.some((p) => p.output().includes('ready')) && ps.some(exited)) || ps.every(exited), 15_000, 'one to run and one to fail');
    } catch {
      /* reported by the assertions below */
    }
    const running = ps.filter((p) => p.output().includes('ready'));
    const failed = ps.filter((p) => p.child.exitCode !== null && !p.output().includes('ready'));
    try {
      assert.equal(running.length, 1, `one container runs (stderr: ${ps.map((p) => p.errors()).join(' | ')})`);
      assert.equal(failed.length, 1, 'the other fails');
      const r = await failed[0].done;
      assert.equal(r.code, 125);
      assert.match(
        r.stderr,
        new RegExp(`Conflict\\. The container name "/${name}" is already in use by container "[0-9a-f]{64}"\\. You have to remove \\(or rename\\) that container to be able to reuse that name\\.`),
      );
      // An error of the container's creation ends as the docker CLI's does.
      assert.match(r.stderr, /\nSee 'dockling run --help'\.\n$/, 'the help line after a creation error');
      // While it runs, a third one is refused too.
      const third = expectCode(run(['--name', name, 'busybox', 'true']), 125);
      assert.match(third.stderr, /Conflict\. The container name/);
    } finally {
      for (const p of ps) if (p.child.exitCode === null) p.child.kill('SIGTERM');
      for (const p of ps) await finish(p, 5000);
    }
    // Once it has exited, the name is free again.
    expectCode(run(['--name', name, 'busybox', 'true']), 0);
  });

  test('an invalid --name is refused with 125, naming it', () => {
    for (const bad of ['a', '-x', 'has space', 'sl/ash']) {
      const r = expectCode(run([`--name=${bad}`, 'busybox', 'true']), 125);
      assert.ok(r.stderr.includes(`Invalid container name (${bad})`), r.stderr);
    }
  });
});

describe('chapter 1: stdin (-i)', { skip }, () => {
  test('with -i, what is piped to dockling reaches the command, byte for byte', () => {
    assert.equal(ok(['-i', 'busybox', 'cat'], { input: 'hello\nworld\n' }), 'hello\nworld\n');
    const big = randomBytes(256 * 1024);
    const md5 = createHash('md5').update(big).digest('hex');
    const out = expectCode(dockling(root(), ['run', '--rm', '-i', 'busybox', 'md5sum'], { input: big }), 0).stdout;
    assert.equal(out.split(/\s/)[0], md5);
  });

  test('without -i, the command gets no stdin (it reads end of file at once)', () => {
    assert.equal(ok(['busybox', 'cat'], { input: 'not for the container\n' }), '');
    assert.equal(ok(['busybox', 'sh', '-c', 'read x; echo "read returned $? [$x]"'], { input: 'not for the container\n' }), 'read returned 1 []\n');
  });
});

describe('chapter 1: terminal (-t)', { skip }, () => {
  // The CLI's own stdin/stdout are not terminals here (see terminals.test.ts
  // for runs under a real terminal): the container still gets a pty of its own.
  test('-t gives the command a pseudo-terminal of the container\'s devpts, and TERM=xterm', () => {
    const out = ok(['-t', 'busybox', 'sh', '-c', 'tty; echo "TERM=$TERM"; test -t 0 && test -t 1 && test -t 2 && echo all-ttys']);
    // The pty turns \n into \r\n, as a terminal does.
    assert.equal(out.replace(/\r\n/g, '\n'), '/dev/pts/0\nTERM=xterm\nall-ttys\n');
    const plain = ok(['busybox', 'sh', '-c', 'tty; test -t 1 || echo not-a-tty']);
    assert.equal(plain, 'not a tty\nnot-a-tty\n');
  });

  test('with -t, stdout and stderr both come through the terminal (on dockling\'s stdout)', () => {
    const r = expectCode(run(['-t', 'busybox', 'sh', '-c', 'echo to-out; echo to-err >&2']), 0);
    assert.equal(r.stdout.replace(/\r\n/g, '\n'), 'to-out\nto-err\n');
    assert.equal(r.stderr, '');
  });

  test('with -t, /dev/console is the terminal, and the exit status comes back', () => {
    const r = expectCode(run(['-t', 'busybox', 'sh', '-c', 'stat -c "%F %t" /dev/console; ls /dev/pts | tr "\\n" " "; exit 4']), 4);
    // 0x88 = 136, the major of Unix98 pty slaves.
    assert.equal(r.stdout.replace(/\r\n/g, '\n'), 'character special file 88\n0 ptmx ');
  });

  // Docker refuses `-it` when its stdin is not a terminal ("the input device
  // is not a TTY"); relaying it instead is fine too, as long as the end of
  // the input reaches the command. What must not happen is a hang.
  test('-it with a piped (non-terminal) stdin either refuses or ends: it does not hang', async () => {
    const p = docklingAsync(root(), ['run', '--rm', '-it', 'busybox', 'cat'], { stdin: 'pipe' });
    p.child.stdin!.end('piped line\n');
    const r = await finish(p, 8000);
    assert.equal(r.timedOut, false, `dockling run -it with piped stdin hung (output so far: ${JSON.stringify(r.stdout)}); its container was killed`);
    if (r.code === 0) assert.match(r.stdout, /piped line/);
    else assert.match(r.stderr, /not a TTY|terminal/i);
  });
});
