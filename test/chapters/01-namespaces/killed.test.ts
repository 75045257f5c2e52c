// Chapter 1, section 3: "Why Node cannot do it alone", its point 1,
// `PR_SET_PDEATHSIG` (and the reaping of what a killed CLI left).
//
// Chapter 1, for real, as root: fault injection. Until chapter 5 the CLI
// is the container's only keeper: nsexec and the container die with it
// (PR_SET_PDEATHSIG), and what it made (the container's directory, under
// a temporary name while being made or removed) is reaped by the next run:
// a container not marked exited whose CLI and PID 1 are gone is abandoned
// (core/containers.ts), whenever the kill came, teardown included.
//
// The CLI of `run --rm busybox true` is killed with SIGKILL at 30 moments
// spread evenly over the steps of a whole run (counted in its trace lines,
// as chapter 5's killed.test.ts does: no timing), then one more run, and
// nothing of the 30 may be left: no container directory or stranded
// temporary one, no mount under the state root, no process naming it (the
// state root's leak check adds: no namespace left alive).
//
// test/run.ts runs this file with layers 1..N (every test must pass) and
// with no layers (every test must fail: there is no run).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { BIN, dockling, rootOrSkip, until } from '../../helpers/dockling.js';
import { expectCode, useStateRoot } from '../../helpers/chapter.js';
import { useTempDir } from '../../helpers/temp.js';
import { containerDirs, mountsInside } from '../../helpers/leaks.js';

const skip = rootOrSkip();
const root = useStateRoot('ch1-killed');
const traces = useTempDir('ch1-killed-trace-');
const KILLS = 30;

const lineCount = (file: string) => fs.readFileSync(file, 'utf8').split('\n').length - 1;

/** PIDs whose command line names the state root (a CLI, nsexec, an init). */
function processesNaming(needle: string): number[] {
  return fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e) && Number(e) !== process.pid).flatMap((e) => {
    try {
      return fs.readFileSync(`/proc/${e}/cmdline`, 'utf8').includes(needle) ? [Number(e)] : [];
    } catch {
      return [];
    }
  });
}

/** The run, tracing to `file`, killed once the trace has `lines` lines (at once for 0). */
function runKilledAt(file: string, lines: number): Promise<void> {
  fs.writeFileSync(file, '');
  const child = spawn(process.execPath, ['--', BIN, '--root', root(), '--trace-file', file, 'run', '--rm', 'busybox', 'true'], { stdio: 'ignore' });
  const gone = new Promise<void>((resolve) => child.on('close', () => resolve()));
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  if (lines === 0) kill();
  else {
    const watcher = fs.watch(file, () => lineCount(file) >= lines && kill()); // inotify: no busy polling
    gone.then(() => watcher.close());
  }
  return gone;
}

test(`kill -9 of the CLI of run --rm at ${KILLS} moments spread over its steps: the next run leaves nothing of any of them`, { skip }, async () => {
  const whole = path.join(traces(), 'whole.jsonl');
  await runKilledAt(whole, Number.MAX_SAFE_INTEGER);
  const steps = lineCount(whole);
  assert.ok(steps > 10, `a whole run --rm traced only ${steps} steps`);
  for (let k = 0; k < KILLS; k++) await runKilledAt(path.join(traces(), `kill-${k}.jsonl`), Math.round((k * steps) / KILLS));
  // The container dies with its CLI (nsexec's PDEATHSIG): give the kernel a moment.
  await until(() => processesNaming(root()).length === 0, 30_000, 'the killed runs\' processes to be gone');

  expectCode(dockling(root(), ['run', '--rm', 'busybox', 'true']), 0);
  assert.deepEqual(containerDirs(root()), [], 'container directories remain');
  assert.deepEqual(fs.readdirSync(path.join(root(), 'containers')).filter((n) => n !== '.lock'), [], 'stranded .creating-/.removing- directories remain');
  assert.deepEqual(mountsInside(root()), [], 'mounts remain');
  assert.deepEqual(processesNaming(root()), [], 'processes remain');
});
