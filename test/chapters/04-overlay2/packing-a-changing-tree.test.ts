// Chapter 4, section 7: "export, import, save, load", its "Packing a tree the
// container is still changing"; section 6: "diff and commit" (commit --pause).
//
// Chapter 4, for real, as root: export and commit of a container that is
// running and changing its files (issue 9, items 2 and 3).
//   - commit pauses the container as Docker does (--pause, default true):
//     its cgroup is frozen for the walk and thawed after; --pause=false
//     leaves it alone; a freeze left behind by a commit that was killed is
//     undone by the next commit.
//   - files that vanish or change type during the walk are skipped, as
//     Docker's archiver skips them: every export and commit succeeds and
//     gives a well-formed tar.
//
// test/run.ts runs this file with layers 1..4 (every test must pass) and
// with layers 1..3 (every test must fail: export and commit do not exist).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { dockling, docklingAsync, rootOrSkip, until } from '../../helpers/dockling.ts';
import { useStateRoot } from '../../helpers/chapter.ts';
import { useTempDir } from '../../helpers/temp.ts';
import { finish } from '../../helpers/processes.ts';
import { assertNoContainerLayers, containerID, ok, readTar, rmQuietly, traced } from './store-helpers.ts';

const skip = rootOrSkip();
const root = useStateRoot('ch4-live');
const tmp = useTempDir('dockling-live-');

/** Start `script` in a container named `name`; resolves once it is running. */
async function start(name: string, script: string) {
  const cli = docklingAsync(root(), ['run', '--name', name, 'busybox', 'sh', '-c', script]);
  try {
    await until(() => dockling(root(), ['inspect', '-f', '{{.State.Running}}', name]).stdout.trim() === 'true', 30_000, `${name} to run`);
  } catch (e) {
    await finish(cli, 0); // it never ends by itself: kill it, or it outlives the test
    throw e;
  }
  return cli;
}

async function stop(cli: ReturnType<typeof docklingAsync>, name: string) {
  dockling(root(), ['rm', '-f', name]);
  await finish(cli, 10_000);
  rmQuietly(root(), name);
}

/** The container's freezer: the file, and what it reads when frozen / thawed. */
function freezerOf(name: string): { file: string; frozen: string; thawed: string } {
  const cfg = JSON.parse(fs.readFileSync(path.join(root(), 'containers', containerID(root(), name), 'config.v2.json'), 'utf8'));
  const p = cfg.CgroupPaths as Record<string, string>;
  if (p.freezer) return { file: path.join(p.freezer, 'freezer.state'), frozen: 'FROZEN', thawed: 'THAWED' };
  return { file: path.join(p.unified, 'cgroup.freeze'), frozen: '1', thawed: '0' };
}

const COUNTER = 'i=0; while :; do i=$((i+1)); echo $i > /counter; done';
/** The container's root as its PID 1 sees it (the test reads it from outside). */
const rootOf = (name: string) => `/proc/${ok(root(), ['inspect', '-f', '{{.State.Pid}}', name]).trim()}/root`;
/** The counter the container writes ("" while a write is half done, read as 0). */
const counter = (name: string) => Number(fs.readFileSync(path.join(rootOf(name), 'counter'), 'utf8').trim() || 0);

test('commit freezes a running container for the walk and thaws it after; --pause=false does not', { skip }, async () => {
  const cli = await start('counting', COUNTER);
  await until(() => fs.existsSync(path.join(rootOf('counting'), 'counter')), 30_000, 'the counter');
  const images: string[] = [];
  try {
    const fz = freezerOf('counting');
    const r = traced(root(), ['commit', 'counting', 'paused:1'], path.join(tmp(), 'trace'));
    assert.equal(r.code, 0, r.stderr);
    images.push('paused:1');
    // In the trace, the order is the proof: frozen, then packed, then thawed.
    const steps = r.trace.map((t) => (t.op === 'write' && t.path === fz.file ? `write ${t.value}` : t.op === 'pack' ? 'pack' : null)).filter(Boolean);
    assert.deepEqual(steps, [`write ${fz.frozen}`, 'pack', `write ${fz.thawed}`]);
    assert.notEqual(fs.readFileSync(fz.file, 'utf8').trim(), fz.frozen, 'the container is thawed after the commit');
    assert.ok(!fs.existsSync(path.join(root(), 'containers', containerID(root(), 'counting'), 'frozen-by')), 'the freeze record is gone');
    // Running again: the counter moves on.
    const before = counter('counting');
    // (Polled for long: on a loaded machine a thawed task waits its turn.)
    await until(() => counter('counting') > before, 30_000, () => `the counter to move on from ${before}: it reads ${counter('counting')}, the freezer ${fs.readFileSync(fz.file, 'utf8').trim()}`);

    const r2 = traced(root(), ['commit', '--pause=false', 'counting', 'paused:2'], path.join(tmp(), 'trace2'));
    assert.equal(r2.code, 0, r2.stderr);
    images.push('paused:2');
    assert.deepEqual(r2.trace.filter((t) => t.op === 'write' && t.path === fz.file), [], '--pause=false does not touch the freezer');
  } finally {
    await stop(cli, 'counting');
    if (images.length) dockling(root(), ['rmi', ...images]);
  }
  assertNoContainerLayers(root());
});

test('a freeze left by a killed commit is undone by the next commit', { skip }, async () => {
  const cli = await start('left', COUNTER);
  await until(() => fs.existsSync(path.join(rootOf('left'), 'counter')), 30_000, 'the counter');
  const images: string[] = [];
  try {
    const fz = freezerOf('left');
    const record = path.join(root(), 'containers', containerID(root(), 'left'), 'frozen-by');
    // What a commit killed half-way leaves: the cgroup frozen and the record
    // naming a process that is gone. Its PID may have been taken by another
    // process since (here: this test's own PID, with another start time):
    // PID and start time together say it is not the one that froze it.
    fs.writeFileSync(record, `${process.pid}.1`);
    fs.writeFileSync(fz.file, fz.frozen);
    await until(() => fs.readFileSync(fz.file, 'utf8').trim() === fz.frozen || fz.frozen === '1', 10_000, 'the freeze');
    const r = dockling(root(), ['commit', 'left', 'left:1']);
    assert.equal(r.code, 0, r.stderr);
    images.push('left:1');
    assert.notEqual(fs.readFileSync(fz.file, 'utf8').trim(), fz.frozen, 'the commit thawed the abandoned freeze');
    assert.ok(!fs.existsSync(record), 'and removed its record');
    const before = counter('left');
    await until(() => counter('left') > before, 30_000, () => `the counter to move on from ${before}: it reads ${counter('left')}, the freezer ${fs.readFileSync(fz.file, 'utf8').trim()}`);
  } finally {
    await stop(cli, 'left');
    if (images.length) dockling(root(), ['rmi', ...images]);
  }
  assertNoContainerLayers(root());
});

test('export and commit of a container creating and deleting files in a loop all succeed with well-formed tars', { skip }, async () => {
  const churn = 'mkdir /t; i=0; while :; do i=$((i+1)); mkdir /t/d$((i%5)); echo $i > /t/d$((i%5))/f; ln -s /t/d /t/s$((i%3)); echo $i > /t/g$((i%7)); rm -rf /t/d$(((i+2)%5)) /t/s$(((i+1)%3)) /t/g$(((i+3)%7)); done';
  const cli = await start('churn', churn);
  const images: string[] = [];
  try {
    await until(() => fs.existsSync(path.join(rootOf('churn'), 't')), 30_000, 'the churn to start');
    for (let i = 0; i < 20; i++) {
      const file = path.join(tmp(), `c${i}.tar`);
      const r = dockling(root(), ['export', '-o', file, 'churn']);
      assert.equal(r.code, 0, `export ${i}: ${r.stderr}`);
      const names = readTar(fs.readFileSync(file)).map((e) => e.name);
      assert.ok(names.includes('t/') && names.includes('bin/busybox'), `export ${i} holds the container's tree`);
      const gnu = spawnSync('tar', ['-tf', file], { encoding: 'utf8' });
      assert.equal(gnu.status, 0, `GNU tar reads export ${i}: ${gnu.stderr}`);
      fs.rmSync(file);
    }
    for (let i = 0; i < 10; i++) {
      const r = dockling(root(), ['commit', '--pause=false', 'churn', `churn:${i}`]);
      assert.equal(r.code, 0, `commit ${i}: ${r.stderr}`);
      images.push(`churn:${i}`);
    }
  } finally {
    await stop(cli, 'churn');
    if (images.length) dockling(root(), ['rmi', ...images]);
  }
  assertNoContainerLayers(root());
});
