// The CLI's own global flags, before any chapter's layer is involved: these
// hold at every --chapter, 0 included, so they are tested here rather than
// in a chapter's tests (which must fail without their chapter's layer).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { BIN, dockling, tempRoot } from '../../helpers/dockling.js';

test("125 for an empty --root (an unset variable, say): never the system's /var/lib/dockling instead", () => {
  for (const chapter of ['0', '5']) {
    // A bad flag after it too: were --root '' taken, this would fail on the
    // flag, and nothing would have been made under /var/lib/dockling.
    const r = dockling('', ['run', '--no-such-flag', 'busybox', 'true'], { env: { DOCKLING_CHAPTER: chapter } });
    assert.equal(r.code, 125, r.stderr);
    assert.match(r.stderr, /^dockling: invalid --root "": the state root must be a directory[^\n]*\n$/);
    assert.equal(r.stdout, '');
  }
});

test('DOCKLING_ROOT set but empty is refused the same way', () => {
  const r = spawnSync(process.execPath, ['--', BIN, 'ps'], { encoding: 'utf8', env: { ...process.env, DOCKLING_ROOT: '', DOCKLING_CHAPTER: '5' } });
  assert.equal(r.status, 125, r.stderr);
  assert.match(r.stderr, /invalid --root ""/);
});

test('--debug (-D, or $DOCKLING_DEBUG) prints the error underneath a failure, with its stack; without it, the one line alone', () => {
  const root = tempRoot('debug');
  try {
    // `top` of a container that is not there: the CLI's message wraps the
    // store's NoSuchContainerError (cgroups/commands.ts), kept as its cause.
    const line = 'dockling: Error response from daemon: No such container: nosuch\n';
    const env = { DOCKLING_CHAPTER: '2', DOCKLING_DEBUG: '' };
    const plain = dockling(root, ['top', 'nosuch'], { env });
    assert.equal(plain.code, 1, plain.stderr);
    assert.equal(plain.stderr, line);
    const runs = [
      dockling(root, ['--debug', 'top', 'nosuch'], { env }),
      dockling(root, ['-D', 'top', 'nosuch'], { env }),
      dockling(root, ['top', 'nosuch'], { env: { ...env, DOCKLING_DEBUG: '1' } }),
    ];
    for (const r of runs) {
      assert.equal(r.code, 1, r.stderr);
      assert.ok(r.stderr.startsWith(line), r.stderr);
      const rest = r.stderr.slice(line.length).split('\n');
      assert.equal(rest[0], 'dockling: caused by: NoSuchContainerError: No such container: nosuch');
      assert.match(rest[1], /^ {4}at resolveContainer /, r.stderr);
    }
    // The flag is in the global usage, beside --trace.
    assert.match(dockling(root, ['--help']).stdout, /-D, --debug\s+When an error ends the command/);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test("usage errors as the docker CLI gives them: a bad flag is 125 for every command; extra arguments are refused (1)", () => {
  const root = tempRoot('usage');
  try {
    const env = { DOCKLING_CHAPTER: '5' };
    for (const argv of [['images', '--bogus'], ['ps', '--bogus'], ['top', '--bogus', 'x'], ['logs', '-z', 'x'], ['rm', '--bogus', 'x']]) {
      const r = dockling(root, argv, { env });
      assert.equal(r.code, 125, `${argv.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`^dockling: unknown (shorthand )?flag: .*\\nSee 'dockling ${argv[0]} --help'\\.\\n$`));
    }
    const ps = dockling(root, ['ps', 'extra'], { env });
    assert.equal(ps.code, 1);
    assert.match(ps.stderr, /^dockling: "dockling ps" accepts no arguments\.\nSee 'dockling ps --help'\.\n\nUsage:  dockling ps \[OPTIONS\]\n/);
    assert.equal(ps.stdout, '', 'nothing listed');
    const images = dockling(root, ['images', 'a', 'b'], { env });
    assert.equal(images.code, 1);
    assert.match(images.stderr, /"dockling images" requires at most 1 argument\./);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test("commands of later chapters say which chapter brings them, with the docker CLI's unknown-command status (1)", () => {
  const root = tempRoot('later');
  try {
    // A written chapter's commands, asked for below it: which chapter, and what this run has.
    const written: [string[], string][] = [
      [['network', 'ls'], "'network ls' comes with chapter 6 (networking)"],
      [['port', 'x'], "'port' comes with chapter 6 (networking)"],
      [['container', 'port', 'x'], "'container port' comes with chapter 6 (networking)"],
      [['volume', 'ls'], "'volume ls' comes with chapter 7 (volumes)"],
      [['build', '.'], "'build' comes with chapter 9 (builds)"],
      [['image', 'build', '.'], "'image build' comes with chapter 9 (builds)"],
      [['pull', 'alpine'], "'pull' comes with chapter 8 (registries)"],
      [['push', 'x'], "'push' comes with chapter 8 (registries)"],
      [['login'], "'login' comes with chapter 8 (registries)"],
      [['search', 'x'], "'search' comes with chapter 8 (registries)"],
      [['image', 'pull', 'x'], "'image pull' comes with chapter 8 (registries)"],
    ];
    for (const [chapter, has] of [['0', 'no chapter'], ['5', 'chapters 1..5']]) {
      for (const [argv, says] of written) {
        const r = dockling(root, argv, { env: { DOCKLING_CHAPTER: chapter } });
        assert.equal(r.code, 1, `${argv.join(' ')}: ${r.stderr}`);
        assert.equal(r.stderr, `dockling: ${says}; this run has ${has}.\nSee 'dockling --help'\n`);
      }
    }
    // A command no chapter brings is unknown, as before (the names of a JavaScript object's own properties too).
    for (const name of ['frobnicate', 'constructor', '__proto__', 'toString']) {
      const r = dockling(root, [name, 'x'], { env: { DOCKLING_CHAPTER: '5' } });
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stderr, `dockling: '${name}' is not a dockling command.\nSee 'dockling --help'\n`);
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
