// A chapter's demo steps as a test file: the chapter run as a teacher would
// hand it out, `dockling walkthrough --script --chapter N`, in ONE state root
// of the file's own (--state-root) and with the layers the suite chose
// (DOCKLING_CHAPTER); then one test per step, reading that step's verdict
// (✓ or ✗ and why) from the transcript, and the exit status. Each step runs
// once, the way the book's transcript runs it.
//
// After the last step nothing of any container may remain (no state
// directory, mount, cgroup, layer, monitor or PID 1, and what the chapter
// adds to that list). Whatever a failed step left is removed in `after`,
// and checked too.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { commandLine, runStep, type DemoStep } from '../../chapters/demo.js';
import { BIN, dockling } from './dockling.js';
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
  /**
   * Steps tested together with the step after them (chapter 11: a door
   * shown open with --chapter 10 passes without the chapter's layer too;
   * with the step that shows it closed, the pair cannot).
   */
  withNext?: (step: DemoStep) => boolean;
}

/** One step's part of a transcript: from its "## Step i/n" heading to the next. */
export interface ScriptStep {
  text: string;
  /** the check's line: "✓ the output shows it" or "✗ why not" (null: the step never ran) */
  verdict: string | null;
}

/** The transcript cut into its steps, by number (1-based). */
export function parseTranscript(transcript: string): Map<number, ScriptStep> {
  const steps = new Map<number, ScriptStep>();
  const parts = transcript.split(/^(?=## Step \d+\/\d+: )/m).slice(1);
  for (const text of parts) {
    const n = Number(/^## Step (\d+)/.exec(text)![1]);
    // the last ✓/✗ line: the step's output comes before it, its explanation after
    const verdict = text.split('\n').filter((l) => /^[✓✗] /.test(l)).at(-1) ?? null;
    steps.set(n, { text, verdict });
  }
  return steps;
}

export function demoSuite(suite: DemoSuite): void {
  const chapter = Number(process.env.DOCKLING_CHAPTER ?? suite.chapter);
  const skip = process.getuid?.() === 0 ? false : process.env.CI ? false : 'needs root';
  const ids = new Set<string>();
  const pids = new Set<number>();

  /**
   * Each container of the state root (its id: its cgroups are looked for
   * after), and its PID 1 and monitor, from its config.v2.json (to be sure
   * none outlives the file). Read while the walkthrough runs.
   */
  const notePids = () => {
    for (const id of containerDirs(root())) {
      ids.add(id);
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

  /** the walkthrough's run: its transcript by step, its exit status, the end of its stderr */
  let script: { steps: Map<number, ScriptStep>; status: number | null; stderr: string } | undefined;

  /** The chapter through `walkthrough --script`, its containers noted as they come (for the leak checks). */
  const runScript = async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, DOCKLING_CHAPTER: String(chapter) };
    delete env.NODE_EXTRA_CA_CERTS;
    const child = spawn(process.execPath, ['--', BIN, 'walkthrough', '--script', '--chapter', String(suite.chapter), '--state-root', root()], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const watch = setInterval(notePids, 25);
    const status = await new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    clearInterval(watch);
    notePids();
    script = { steps: parseTranscript(stdout), status, stderr: stderr.slice(-2000) };
  };

  /** A step's verdict from the transcript: it must be ✓. */
  const assertHeld = (n: number) => {
    const s = script?.steps.get(n);
    assert.ok(s, `the transcript has no step ${n}: the walkthrough ended before it (exit ${script?.status})\n${script?.stderr ?? ''}`);
    assert.ok(s.verdict?.startsWith('✓'), `${s.verdict ?? 'no verdict'}\n--- the step in the transcript\n${s.text.slice(-4000)}`);
  };

  let tornDown = false;
  // Registered before the directory's own removal, so that it runs first.
  after(async () => {
    if (skip) return;
    // The walkthrough stopped before its teardown steps: the scene is cleared here.
    if (!tornDown) {
      for (const step of suite.steps.filter((s) => s.role === 'teardown')) await runStep(step, { stateRoot: root(), chapter }).catch(() => {});
    }
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
    if (skip) return;
    await runScript();
    const n = (s: DemoStep) => suite.steps.indexOf(s) + 1;
    const teardown = suite.steps.filter((s) => s.role === 'teardown');
    tornDown = teardown.every((s) => script!.steps.get(n(s))?.verdict?.startsWith('✓'));
    // Setting the scene must work, whatever the chapter: else no step tells anything.
    for (const s of suite.steps.filter((s) => s.role === 'setup')) assertHeld(n(s));
  });

  describe(`chapter ${suite.chapter}'s demo steps, through walkthrough --script`, () => {
    const tested = suite.steps.filter((s) => !s.role);
    let together: number[] = [];
    for (const [i, step] of suite.steps.entries()) {
      if (step.role) continue;
      if (suite.withNext?.(step)) {
        together.push(i + 1);
        continue;
      }
      const group = [...together, i + 1];
      together = [];
      const title = group.map((k) => commandLine(suite.steps[k - 1])).join(', then ');
      test(`step ${i + 1}: ${step.title} — ${title}`, { skip }, async () => {
        for (const k of group) assertHeld(k);
        if (step === tested.at(-1)) {
          // The walkthrough has ended (its teardown steps cleared the scene):
          // it says every check held, and nothing of the containers remains.
          assert.equal(script!.status, 0, `walkthrough --script exited ${script!.status}\n${script!.stderr}`);
          await settle();
          assert.deepEqual(leftovers(), [], 'after the last step, things of the containers remain');
        }
      });
    }
    assert.deepEqual(together, [], 'a step tested with the next one needs a next one');
  });
}
