// A chapter's demo steps as a test file, for the chapters whose containers
// live on between steps (5 and later): every step run unattended and in
// order in ONE state root, each step's own check holding; and after the
// last step nothing of any container may remain (no state directory, mount,
// cgroup, layer, monitor or PID 1, and what the chapter adds to that list).
// Whatever a failed step left is removed in `after`, and checked too.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { commandLine, runStep, type DemoStep, type StepResult } from '../../chapters/demo.js';
import { dockling } from './dockling.js';
import { cgroupMounts, containerCgroups } from './cgroups.js';
import { containerDirs, mountsInside } from './leaks.js';
import { useTempDir } from './temp.js';
import { alive, processesMentioning } from '../chapters/05-containers/helpers.js';

export interface DemoSuite {
  chapter: number;
  steps: DemoStep[];
  /** the containers the steps name, removed in `after` whatever happened */
  names: string[];
  /** more dockling commands for `after` (chapter 6: `network rm labnet`) */
  finally?: string[][];
  /** what else must be gone after the last step (chapter 6: veths, leases, DNS servers) */
  leftovers?: (root: string) => string[];
}

/** every container a step made (from the trace's mkdir of its state directory) */
function containerIds(r: StepResult): string[] {
  return r.trace.flatMap((e) => {
    const m = e.op === 'mkdir' ? /\/containers\/([0-9a-f]{64})$/.exec(e.path) : null;
    return m ? [m[1]] : [];
  });
}

export function demoSuite(suite: DemoSuite): void {
  const chapter = Number(process.env.DOCKLING_CHAPTER ?? suite.chapter);
  const skip = process.getuid?.() === 0 ? false : process.env.CI ? false : 'needs root';
  const ids = new Set<string>();
  const pids = new Set<number>();

  /** PID 1 and monitor of each container, from its config.v2.json (to be sure none outlives the file). */
  const notePids = () => {
    for (const id of containerDirs(root())) {
      try {
        const c = JSON.parse(fs.readFileSync(path.join(root(), 'containers', id, 'config.v2.json'), 'utf8'));
        for (const p of [c.State?.Pid, c.MonitorPid]) if (p > 0 && p !== process.pid) pids.add(p);
      } catch {
        /* being written */
      }
    }
  };

  const leftovers = (): string[] => {
    const problems: string[] = [];
    const dirs = containerDirs(root());
    if (dirs.length) problems.push(`state directories: ${dirs.join(', ')}`);
    const mounts = mountsInside(root());
    if (mounts.length) problems.push(`mounts: ${mounts.join(', ')}`);
    const cgs = containerCgroups(cgroupMounts(), ids);
    if (cgs.length) problems.push(`cgroups: ${cgs.join(', ')}`);
    const procs = [...new Set([...processesMentioning(root()), ...[...pids].filter(alive)])];
    if (procs.length) problems.push(`processes: ${procs.join(', ')}`);
    const mountsDb = path.join(root(), 'image/overlay2/layerdb/mounts');
    if (fs.existsSync(mountsDb) && fs.readdirSync(mountsDb).length) problems.push(`layerdb/mounts: ${fs.readdirSync(mountsDb).join(', ')}`);
    return [...problems, ...(suite.leftovers?.(root()) ?? [])];
  };

  const settle = async () => {
    const end = Date.now() + 5000;
    while (leftovers().length && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  };

  let tornDown = false;
  /** a setup or teardown step, run outside the tests: it must work, whatever the chapter */
  const runRole = async (step: DemoStep) => {
    const r = await runStep(step, { stateRoot: root(), chapter });
    const problem = step.check(r);
    assert.equal(problem, null, `${step.title}: ${problem}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr.slice(-4000)}`);
  };

  // Registered before the directory's own removal, so that it runs first.
  after(async () => {
    if (skip) return;
    if (!tornDown) for (const step of suite.steps.filter((s) => s.role === 'teardown')) await runRole(step).catch(() => {});
    notePids();
    for (const name of suite.names) dockling(root(), ['rm', '-f', name]);
    for (const id of containerDirs(root())) dockling(root(), ['rm', '-f', id]);
    for (const argv of suite.finally ?? []) dockling(root(), argv);
    await settle();
    const left = leftovers();
    // Nothing may outlive the file: kill what rm -f did not end (ours, by PID).
    for (const p of [...processesMentioning(root()), ...[...pids].filter(alive)]) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    assert.deepEqual(left, [], 'the demo left things behind');
  });
  const root = useTempDir(`dockling-demo${suite.chapter}-`);

  before(async () => {
    if (!skip) for (const step of suite.steps.filter((s) => s.role === 'setup')) await runRole(step);
  });

  describe(`chapter ${suite.chapter}'s demo steps`, () => {
    const tested = suite.steps.filter((s) => !s.role);
    for (const [i, step] of suite.steps.entries()) {
      if (step.role) continue;
      test(`step ${i + 1}: ${step.title} — ${commandLine(step)}`, { skip }, async () => {
        const r = await runStep(step, { stateRoot: root(), chapter });
        for (const id of containerIds(r)) ids.add(id);
        notePids();
        const problem = step.check(r);
        assert.equal(problem, null, `${problem}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr.slice(-4000)}`);
        if (step === tested.at(-1)) {
          // The last step has returned; the scene is cleared (teardown
          // steps), and the monitors finish their release at once.
          for (const t of suite.steps.filter((s) => s.role === 'teardown')) await runRole(t);
          tornDown = true;
          await settle();
          assert.deepEqual(leftovers(), [], 'after the last step, things of the containers remain');
        }
      });
    }
  });
}
