// Chapter 9's failures, as Docker gives them: a RUN that fails stops the
// build with its exit code and "The command … returned a non-zero code";
// its container is kept (Docker's default, for a look at what went wrong)
// or removed with --force-rm, and no image, layer or mount of the failed
// step remains. A Dockerfile that cannot be parsed is refused before
// anything runs, naming the file, the line and the instruction. `build
// --check` reports without building.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rootOrSkip } from '../../helpers/dockling.ts';
import { expectCode } from '../../helpers/chapter.ts';
import { mountsInside } from '../../helpers/leaks.ts';
import { chapter9 } from './helpers.ts';

const skip = rootOrSkip();
const t = chapter9('ch9-errors');

test('a failing RUN: Docker’s message and its exit code; the container is kept for a look, --force-rm removes it; nothing else remains', { skip }, () => {
  const dir = t.context({ Dockerfile: 'FROM busybox\nRUN echo about-to-fail && exit 3\nRUN echo never\n' });
  const r = expectCode(t.build(dir, ['-t', 'ch9/fails']), 3);
  assert.match(r.stderr, /The command '\/bin\/sh -c echo about-to-fail && exit 3' returned a non-zero code: 3/);
  assert.match(r.stdout, /about-to-fail/);
  assert.doesNotMatch(r.stdout, /Step 3\/3|Successfully/);
  const kept = /Running in ([0-9a-f]{12})/.exec(r.stdout)![1];
  const ps = t.cliOk(['ps', '-a', '--format', '{{.ID}} {{.Status}}']);
  assert.match(ps, new RegExp(`^${kept} Exited \\(3\\)`, 'm'), 'the failed step’s container is kept, exited');
  assert.deepEqual(mountsInside(t.root()), [], 'its root is not mounted');
  t.cliOk(['rm', kept]);
  assert.equal(expectCode(t.cli(['image', 'inspect', 'ch9/fails']), 1).code, 1, 'no image is tagged');

  const forced = expectCode(t.build(dir, ['--force-rm']), 3);
  assert.match(forced.stdout, /Removing intermediate container/);
  assert.equal(t.cliOk(['ps', '-aq']), '', 'no container left');
});

test('a Dockerfile that cannot be parsed: refused before anything runs, with the line, the file and the instruction', { skip }, () => {
  const cases: [string, number, RegExp][] = [
    ['FROM busybox\nRUN echo ok\nRUNN echo typo\n', 3, /unknown instruction: RUNN/],
    ['FROM busybox\nCOPY onlyone\n', 2, /COPY requires at least two arguments/],
    ['RUN echo before from\nFROM busybox\n', 1, /no build stage in current context/],
    ['FROM busybox\nENV\n', 2, /ENV requires at least one argument/],
  ];
  for (const [text, line, message] of cases) {
    const dir = t.context({ Dockerfile: text });
    const r = expectCode(t.build(dir, []), 1);
    assert.match(r.stderr, message, text);
    assert.match(r.stderr, new RegExp(`line ${line}`), `the line number: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`Dockerfile:${line}`), `the file and line: ${r.stderr}`);
    assert.match(r.stderr, /^ +\d+ \| >>> /m, `the instruction, marked: ${r.stderr}`);
    assert.doesNotMatch(r.stdout, /Step|Running in/, 'nothing ran');
  }
});

test('build --check reports lint warnings and errors without building anything', { skip }, () => {
  const dir = t.context({ Dockerfile: 'FROM busybox\nMAINTAINER someone\nCMD echo shell form\n' });
  const r = expectCode(t.build(dir, ['--check']), 0);
  assert.match(r.stdout, /Check complete, 2 warnings have been found!/);
  assert.match(r.stdout, /WARNING: MaintainerDeprecated/);
  assert.match(r.stdout, /WARNING: JSONArgsRecommended/);
  assert.match(r.stdout, /Dockerfile:2\n/);
  assert.doesNotMatch(r.stdout, /Step/);
  const clean = t.context({ Dockerfile: 'FROM busybox\nCMD ["true"]\n' });
  assert.equal(expectCode(t.build(clean, ['--check']), 0).stdout, 'Check complete, no warnings found.\n');
  const dup = t.context({ Dockerfile: 'FROM busybox AS a\nFROM busybox AS a\n' });
  expectCode(t.build(dup, ['--check']), 1);
});

test('bad input to build itself: a missing context, a bad -t, an ADD of a URL offline', { skip }, () => {
  const missing = expectCode(t.cli(['build', '/nonexistent-ch9-context']), 1);
  assert.match(missing.stderr, /unable to prepare context: path "\/nonexistent-ch9-context" not found/);
  const dir = t.context({ Dockerfile: 'FROM busybox\nADD https://example.invalid/file.tgz /x\n' });
  const badTag = expectCode(t.build(dir, ['-t', 'Bad:Tag']), 125);
  assert.match(badTag.stderr, /invalid argument "Bad:Tag" for "-t, --tag" flag/);
  const url = expectCode(t.build(dir, []), 1);
  assert.match(url.stderr, /ADD failed: https:\/\/example\.invalid\/file\.tgz is a URL, and dockling builds offline/);
  assert.doesNotMatch(url.stderr, /\n\s+at /, 'no stack trace');
});
