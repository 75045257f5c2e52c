// Chapter 5, section 3: "The state, as it really is", its "When the keeper is
// killed".
//
// Chapter 5, for real, as root: fault injection. The CLI of `run --rm
// busybox true` is killed with SIGKILL at 30 moments spread evenly over a
// whole run, then one more dockling command runs (ps -a), and nothing of any
// of the 30 may be left: no mount under the state root, no dockling-<id>
// cgroup in any hierarchy, no layer of a removed container, no stranded
// temporary directory, no container process or monitor, no container
// directory.
//
// "Evenly" is counted in the run's own steps, not in milliseconds: a first,
// whole run writes its trace (one line per host-changing step, set-up and
// teardown alike); kill k waits until its CLI has written line k/30 of that
// many, then kills it. So the kills land in every phase, the teardown's
// dozen steps included (where a CLI killed after its monitor had left was
// never reaped), whatever the machine's load; and nothing here is timed.
//
// test/run.ts runs this file with layers 1..5 (every test must pass) and
// with layers 1..4 (every test must fail: there is no `run -d`, no ps).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { BIN, rootOrSkip, until } from '../../helpers/dockling.js';
import { useTempDir } from '../../helpers/temp.js';
import { cgroupMounts, containerCgroups } from '../../helpers/cgroups.js';
import { containerDirs, mountsInside } from '../../helpers/leaks.js';
import { chapter5, processesMentioning } from './helpers.js';

const skip = rootOrSkip();
const c = chapter5('ch5-killed');
const traces = useTempDir('ch5-killed-trace-');
const KILLS = 30;

const lineCount = (file: string) => {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').length - 1;
  } catch {
    return 0;
  }
};

/**
 * `dockling run --rm busybox true`, tracing to `file`, killed with SIGKILL
 * once the trace has `lines` lines (at once for 0), or left to finish if
 * the run is over first. Resolves when the CLI is gone.
 */
function runKilledAt(file: string, lines: number): Promise<void> {
  fs.writeFileSync(file, '');
  const child = spawn(process.execPath, ['--', BIN, '--root', c.root(), '--trace-file', file, 'run', '--rm', 'busybox', 'true'], { stdio: 'ignore' });
  const gone = new Promise<void>((resolve) => child.on('close', () => resolve()));
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  if (lines === 0) kill();
  else {
    // inotify: woken at each write of the CLI, no busy polling.
    const watcher = fs.watch(file, () => {
      if (lineCount(file) >= lines) kill();
    });
    gone.then(() => watcher.close());
  }
  return gone;
}

/** Container IDs a trace names (its directory, its cgroups, its layerdb entry). */
const idsIn = (file: string) => new Set([...fs.readFileSync(file, 'utf8').matchAll(/containers\/([0-9a-f]{64})|dockling-([0-9a-f]{64})|mounts\/([0-9a-f]{64})/g)].map((m) => m[1] ?? m[2] ?? m[3]));

test(`kill -9 of the CLI of run --rm at ${KILLS} moments spread over its steps: the next command leaves nothing of any of them`, { skip }, async () => {
  const seen = new Set<string>();
  try {
    // A whole run first (the image is in place after it): how many steps one takes.
    const whole = path.join(traces(), 'whole.jsonl');
    await runKilledAt(whole, Number.MAX_SAFE_INTEGER);
    const steps = lineCount(whole);
    assert.ok(steps > 20, `a whole run --rm traced only ${steps} steps`);
    assert.deepEqual(containerDirs(c.root()), [], 'the whole run left its container');

    for (let k = 0; k < KILLS; k++) {
      const file = path.join(traces(), `kill-${k}.jsonl`);
      await runKilledAt(file, Math.round((k * steps) / KILLS));
      idsIn(file).forEach((id) => seen.add(id));
    }
    // Monitors that outlived their CLI finish their container (it runs `true`)
    // and release it themselves; wait for them, as a user would.
    await until(() => processesMentioning(c.root()).length === 0, 60_000, 'the monitors of the killed runs to finish');

    // The next command reaps what the killed ones left.
    c.ok(['ps', '-a']);

    const problems: string[] = [];
    const ls = (d: string) => (fs.existsSync(d) ? fs.readdirSync(d) : []);
    const dirs = containerDirs(c.root());
    if (dirs.length) problems.push(`container directories: ${dirs.join(', ')}`);
    const stray = fs.readdirSync(path.join(c.root(), 'containers')).filter((n) => n !== '.lock' && !dirs.includes(n));
    if (stray.length) problems.push(`stranded entries in containers/: ${stray.join(', ')}`);
    const temps = ls(path.join(c.root(), 'tmp'));
    if (temps.length) problems.push(`temporary files in the state root's tmp/: ${temps.join(', ')}`);
    const mounts = mountsInside(c.root());
    if (mounts.length) problems.push(`mounts: ${mounts.join(', ')}`);
    const cgroups = containerCgroups(cgroupMounts(), seen);
    if (cgroups.length) problems.push(`cgroups: ${cgroups.join(', ')}`);
    const img = path.join(c.root(), 'image/overlay2');
    const entries = ls(path.join(img, 'layerdb/mounts'));
    if (entries.length) problems.push(`layerdb/mounts entries: ${entries.join(', ')}`);
    const cacheIds = new Set(ls(path.join(img, 'layerdb/sha256')).map((d) => fs.readFileSync(path.join(img, 'layerdb/sha256', d, 'cache-id'), 'utf8').trim()));
    const layers = ls(path.join(c.root(), 'overlay2')).filter((d) => d !== 'l' && !cacheIds.has(d));
    if (layers.length) problems.push(`layers no image owns: ${layers.join(', ')}`);
    const procs = processesMentioning(c.root());
    if (procs.length) problems.push(`processes: ${procs.join(', ')}`);
    assert.ok(seen.size > 0, 'no kill landed after the container was made');
    assert.deepEqual(problems, [], `after ${KILLS} kills and one ps -a, left behind`);
  } finally {
    await c.cleanup(seen);
  }
});
