// Chapter 2 as a later chapter: what `--chapter 1` says of it.
//
// Here -m is applied, silently, and `top` is a command. One chapter below,
// the same command line still runs (its -m read, warned about and ignored,
// so that both chapters can run it and be compared) and `top` says which
// chapter brings it, refused with the docker CLI's unknown-command status.
//
// test/run.ts runs this file with layers 1..2 (every test must pass) and
// with layers 1..1 (every test must fail: -m warns there, and no `top`).
import assert from 'node:assert/strict';
import { dockling } from '../../helpers/dockling.ts';
import { expectCode } from '../../helpers/chapter.ts';
import { chapter2 } from './helpers.ts';

const { root, labTest } = chapter2('ch2-later');

labTest("-m and top belong to chapter 2: with it, no warning and top answers; at --chapter 1 each says 'comes with chapter 2 (cgroups)'", async () => {
  const here = expectCode(dockling(root(), ['run', '--rm', '-m', '64m', 'busybox', 'true']), 0);
  assert.doesNotMatch(here.stderr, /comes with chapter/, 'this chapter warns about its own -m');
  assert.match(expectCode(dockling(root(), ['top', 'nosuch']), 1).stderr, /No such container: nosuch/);

  const below = expectCode(dockling(root(), ['--chapter', '1', 'run', '--rm', '-m', '64m', 'busybox', 'true']), 0);
  assert.match(below.stderr, /^dockling: warning: -m\/--memory comes with chapter 2 \(cgroups\); this run has chapter 1, so it is ignored$/m);
  const top = expectCode(dockling(root(), ['--chapter', '1', 'top', 'nosuch']), 1);
  assert.equal(top.stderr, "dockling: 'top' comes with chapter 2 (cgroups); this run has chapter 1.\nSee 'dockling --help'\n");
});
