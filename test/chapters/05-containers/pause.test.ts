// Chapter 5: pause and unpause (the cgroup freezer).
//
// Chapter 5, for real, as root: `pause` freezes every process of a
// container where it stands (a counter stops counting, the cgroup says
// FROZEN / frozen 1), `ps` says "Up … (Paused)", inspect says "paused";
// `unpause` lets it go on from the same number. Docker's refusals: pause of
// a paused or stopped container, unpause of one not paused, exec, attach,
// start and rm of a paused one. stop, kill and rm -f end a paused container
// as Docker does: the signal, then the thaw.
//
// test/run.ts runs this file with layers 1..5 (every test must pass) and
// with layers 1..4 (every test must fail: there is no `pause`, and no -d).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { rootOrSkip } from '../../helpers/dockling.js';
import { expectCode } from '../../helpers/chapter.js';
import { chapter5, lines, sleep } from './helpers.js';

const skip = rootOrSkip();
const c = chapter5('ch5-pause');

/** The freezer's own word for the container's cgroup, read from the files the kernel keeps (v1 freezer.state, v2 cgroup.freeze). */
function freezerState(id: string): string {
  const cfg = JSON.parse(fs.readFileSync(path.join(c.root(), 'containers', id, 'config.v2.json'), 'utf8'));
  const paths = cfg.CgroupPaths as Record<string, string>;
  if (paths.freezer) return fs.readFileSync(path.join(paths.freezer, 'freezer.state'), 'utf8').trim();
  return fs.readFileSync(path.join(paths.unified, 'cgroup.freeze'), 'utf8').trim() === '1' ? 'FROZEN' : 'THAWED';
}

/** The counter's numbers the container has printed so far. */
const counted = (ref: string) => lines(c.logsOf(ref).stdout).map(Number);

const COUNTER = ['sh', '-c', 'i=0; while true; do i=$((i+1)); echo $i; sleep 0.05; done'];

test('pause freezes every process (the counter stops, the cgroup is FROZEN), ps and inspect say paused; unpause goes on from the same number', { skip }, async () => {
  try {
    const a = c.runD(['--name', 'count-a', 'busybox', ...COUNTER]);
    const b = c.runD(['--name', 'count-b', 'busybox', ...COUNTER]);
    await c.untilLogs('count-a', /^5$/m);
    await c.untilLogs('count-b', /^5$/m);
    // Several at once, as docker: each name printed as given.
    assert.equal(c.ok(['pause', 'count-a', 'count-b']), 'count-a\ncount-b\n');
    for (const id of [a, b]) assert.equal(freezerState(id), 'FROZEN');
    const frozenAt = counted('count-a');
    await sleep(600); // twelve numbers' worth of time
    assert.deepEqual(counted('count-a'), frozenAt, 'the counter went on counting while paused');
    assert.match(c.status('count-a')!, /^Up .* \(Paused\)$/);
    assert.equal(c.inspect('count-a', '{{.State.Status}} {{.State.Paused}} {{.State.Running}}'), 'paused true true');
    // system df counts a container active when it is "running", as Docker: a paused one is not.
    assert.match(c.ok(['system', 'df']), /^Containers\s+2\s+0\s/m);
    // `container unpause`: the group form; the count resumes where it stopped.
    assert.equal(c.ok(['container', 'unpause', 'count-a']), 'count-a\n');
    assert.equal(freezerState(a), 'THAWED');
    const last = frozenAt[frozenAt.length - 1];
    await c.untilLogs('count-a', new RegExp(`^${last + 5}$`, 'm'));
    const after = counted('count-a');
    assert.deepEqual(after.slice(0, after.indexOf(last + 1)), frozenAt, 'the numbers before the pause changed');
    assert.equal(after[frozenAt.length], last + 1, 'after unpause the counter did not go on from where it stopped');
    assert.match(c.status('count-a')!, /^Up [^(]*$/);
    assert.equal(c.inspect('count-a', '{{.State.Status}} {{.State.Paused}}'), 'running false');
    assert.match(c.ok(['system', 'df']), /^Containers\s+2\s+1\s/m);
    // The other stays paused until it is unpaused itself.
    assert.match(c.status('count-b')!, /\(Paused\)$/);
    assert.equal(c.ok(['unpause', 'count-b']), 'count-b\n');
  } finally {
    await c.cleanup();
  }
});

test("Docker's refusals: pause twice, unpause of a running or stopped one, pause of a stopped one; exec, attach, start, rm of a paused one; 'pause' comes with chapter 5", { skip }, async () => {
  try {
    const id = c.runD(['--name', 'still', 'busybox', 'sleep', '300']);
    const unpaused = expectCode(c.dk(['unpause', 'still']), 1);
    assert.equal(unpaused.stderr, `dockling: Error response from daemon: Container ${id} is not paused\n`);
    c.ok(['container', 'pause', 'still']);
    const twice = expectCode(c.dk(['pause', 'still', 'nosuch']), 1);
    assert.equal(twice.stdout, '');
    assert.match(twice.stderr, new RegExp(`^dockling: Error response from daemon: Container ${id} is already paused\n`));
    assert.match(twice.stderr, /No such container: nosuch/);
    assert.match(expectCode(c.dk(['exec', 'still', 'true']), 1).stderr, /Container still is paused, unpause the container before exec/);
    assert.match(expectCode(c.dk(['attach', 'still']), 1).stderr, /You cannot attach to a paused container, unpause it first/);
    assert.match(expectCode(c.dk(['start', 'still']), 1).stderr, /cannot start a paused container, try unpause instead/);
    assert.match(expectCode(c.dk(['rm', 'still']), 1).stderr, /cannot remove container "\/still": container is paused and must be unpaused first/);
    assert.equal(freezerState(id), 'FROZEN', 'a refused command thawed it');
    // Stopped: not running, so not paused either (the freezer went with the cgroup).
    c.ok(['kill', 'still']);
    assert.match(c.status('still')!, /^Exited \(137\)/);
    assert.equal(expectCode(c.dk(['pause', 'still']), 1).stderr, `dockling: Error response from daemon: Container ${id} is not running\n`);
    assert.equal(expectCode(c.dk(['unpause', 'still']), 1).stderr, `dockling: Error response from daemon: Container ${id} is not paused\n`);
    // One chapter below, the command is not there, and says where it comes from.
    const below = expectCode(c.dk(['--chapter', '4', 'pause', 'still']), 1);
    assert.equal(below.stderr, "dockling: 'pause' comes with chapter 5 (containers); this run has chapters 1..4.\nSee 'dockling --help'\n");
  } finally {
    await c.cleanup();
  }
});

test('stop, kill and rm -f end a paused container as Docker does: the signal is sent, then the cgroup thawed so it is acted on', { skip }, async () => {
  try {
    // A TERM handler that exits 7: it runs only if stop thaws the container.
    c.runD(['--name', 'trapper', 'busybox', 'sh', '-c', "trap 'exit 7' TERM; echo ready; while true; do sleep 0.05; done"]);
    await c.untilLogs('trapper', /ready/);
    c.ok(['pause', 'trapper']);
    const t0 = Date.now();
    assert.equal(c.ok(['stop', 'trapper']), 'trapper\n');
    assert.ok(Date.now() - t0 < 8000, `stop waited ${Date.now() - t0} ms: the TERM handler did not run (still frozen?)`);
    assert.match(c.status('trapper')!, /^Exited \(7\)/);
    // stop's SIGTERM was handled: the container can start again, not paused.
    c.ok(['start', 'trapper']);
    await c.untilLogs('trapper', /ready\n(.|\n)*ready/);
    assert.match(c.status('trapper')!, /^Up [^(]*$/);

    c.runD(['--name', 'killed', 'busybox', 'sleep', '300']);
    c.ok(['pause', 'killed']);
    // A signal other than SIGKILL or the stop signal waits, pending, for unpause: it stays paused.
    c.ok(['kill', '-s', 'USR1', 'killed']);
    assert.match(c.status('killed')!, /\(Paused\)$/);
    c.ok(['kill', 'killed']);
    assert.match(c.status('killed')!, /^Exited \(137\)/);

    const gone = c.runD(['--name', 'forced', 'busybox', 'sleep', '300']);
    c.ok(['pause', 'forced']);
    assert.equal(c.ok(['rm', '-f', 'forced']), 'forced\n');
    assert.equal(c.status('forced'), undefined);
    assert.ok(!fs.existsSync(path.join(c.root(), 'containers', gone)));
  } finally {
    await c.cleanup();
  }
});

test('commit of a paused container packs it and leaves it paused, as docker commit does', { skip }, async () => {
  try {
    const id = c.runD(['--name', 'snap', 'busybox', 'sh', '-c', 'echo here > /made; sleep 300']);
    await sleep(300);
    c.ok(['pause', 'snap']);
    expectCode(c.dk(['commit', 'snap', 'snapped:1']), 0);
    assert.equal(freezerState(id), 'FROZEN', 'commit thawed a paused container');
    assert.match(c.status('snap')!, /\(Paused\)$/);
    assert.equal(c.ok(['run', '--rm', 'snapped:1', 'cat', '/made']), 'here\n');
  } finally {
    await c.cleanup();
    c.dk(['rmi', 'snapped:1']);
  }
});
