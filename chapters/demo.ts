// Demo steps are data: a command to run, what to look at, and a check.
//
// The same steps are run by the Ink walkthrough (interactively, one at a
// time, with the trace beside the output) and by the test suite (unattended:
// every demo in the book is a test). A chapter's steps live in
// chapters/NN-topic/demo.ts and export `steps: DemoStep[]`.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeRecord, type TraceRecord } from '../runtime/trace/events.js';

export interface StepResult {
  code: number;
  stdout: string;
  stderr: string;
  /** the trace of the step (it always runs with --trace-file) */
  trace: TraceRecord[];
}

/** The host pane's parts: cgroup files, /proc/PID/ns against the host's, network links, storage directories. */
export type HostPart = 'cgroup' | 'ns' | 'links' | 'storage';

export interface DemoStep {
  /** a few words, shown as the step's heading */
  title: string;
  /** what to look at in the output, in the chapter's voice */
  look: string;
  /**
   * dockling's arguments, without "dockling" and --root. "{root}" in an
   * argument stands for the state root (a place for files a step writes,
   * such as `export -o {root}/web.tar`).
   */
  args: string[];
  /**
   * A step that looks at the host instead of running dockling (chapter 6:
   * `ip link`, `iptables -t nat -S`): this program and its arguments, run
   * as they are (`args` is then empty). It changes nothing, so it has no trace.
   */
  host?: string[];
  /** text fed to the command's stdin (for -i steps) */
  input?: string;
  /**
   * A step that sets the scene or clears it rather than showing the
   * chapter's layer at work (chapter 8: start and stop the demo's own
   * registry). The walkthrough runs it like any step; the tests run a
   * 'setup' step before the others and a 'teardown' step after them, and do
   * not count either as a test of the chapter (they pass without its layer).
   */
  role?: 'setup' | 'teardown';
  /**
   * A step that needs the learner's terminal (`run -it busybox sh`): the
   * walkthrough hands the terminal over and takes it back when the command
   * ends (its check then sees the exit status alone: output and trace
   * went to the terminal). Run unattended (tests, --script) it gets a
   * pseudo-terminal of its own, with `input` typed into it.
   */
  interactive?: boolean;
  /**
   * Where the step points in the book: a heading of its chapter's README,
   * by the anchor a Markdown viewer gives it ('#6-pivot_root-and-why-not-chroot').
   */
  section?: string;
  /**
   * The code the step exercises: a file and one of its `// #region` names
   * ('runtime/process/init.ts#pivot-root'). test/book/demo-links.test.ts
   * checks that both still exist.
   */
  code?: string;
  /** What the host pane (h) shows first: the parts of the host this step is about. */
  hostView?: HostPart[];
  /** null when the output shows what the step is about; else what is wrong */
  check(r: StepResult): string | null;
}

// --- what every step's check needs ---

/** The non-blank lines of some output. */
export const lines = (s: string) => s.split('\n').filter((l) => l.trim() !== '');

/** A run that did not get as far as the command says so first (null when it exited with `code`). */
export function ran(r: StepResult, code = 0): string | null {
  if (r.code !== code) return `dockling exited with ${r.code}, not ${code}: ${r.stderr.trim().split('\n').slice(-3).join(' | ') || '(no message)'}`;
  return null;
}

/** Words as a shell reads them back: quoted where needed. */
const shellWords = (words: string[]) => words.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');

/** How the step reads when printed: `dockling run --rm busybox hostname`. */
export function commandLine(step: DemoStep): string {
  return shellWords(step.host ?? ['dockling', ...step.args]);
}

/** The repository's root: the nearest directory above this file with a package.json. */
function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, 'package.json')) && dir !== '/') dir = path.dirname(dir);
  return dir;
}
// This file runs from chapters/ (tsx) and from dist/ (the bundled CLI).
// A classroom lab's grader points DOCKLING_BIN at a build with the student's layer.
const BIN = process.env.DOCKLING_BIN ?? path.join(packageRoot(), 'bin/dockling.js');

export interface RunOptions {
  stateRoot: string;
  chapter: number;
  /** called with each chunk of output as it arrives (the walkthrough) */
  onOutput?: (chunk: string, stream: 'stdout' | 'stderr') => void;
  /** called with each trace record as it arrives */
  onTrace?: (r: TraceRecord) => void;
  /** aborted: the step's process is killed (the walkthrough was quit mid-step) */
  signal?: AbortSignal;
}

/** The argv that runs dockling with these arguments in a state root (the walkthrough's interactive steps). */
export function docklingArgv(stateRoot: string, args: string[]): string[] {
  return [process.execPath, '--', BIN, '--root', stateRoot, ...args.map((a) => a.replaceAll('{root}', stateRoot))];
}

/** Run one step for real and collect its output and trace. */
export async function runStep(step: DemoStep, opts: RunOptions): Promise<StepResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dockling-demo-'));
  const traceFile = path.join(dir, 'trace.jsonl');
  fs.writeFileSync(traceFile, '');
  try {
    const env: NodeJS.ProcessEnv = { ...process.env, DOCKLING_CHAPTER: String(opts.chapter) };
    delete env.NODE_EXTRA_CA_CERTS;
    const args = step.args.map((a) => a.replaceAll('{root}', opts.stateRoot));
    let argv = step.host
      ? step.host.map((a) => a.replaceAll('{root}', opts.stateRoot))
      : [process.execPath, '--', BIN, '--root', opts.stateRoot, '--trace-file', traceFile, ...args];
    // An interactive step (`exec -it`) needs a terminal, and unattended
    // there is none: util-linux's script(1) makes a pseudo-terminal for it
    // and types `input` into it, as a learner would (-e: its exit status).
    if (step.interactive) argv = ['script', '-qec', shellWords(argv), '/dev/null'];
    const child = spawn(argv[0], argv.slice(1), {
      stdio: [step.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      env,
      signal: opts.signal,
      killSignal: 'SIGTERM',
    });
    // A program that cannot start (a host step's tool missing) ends the step
    // as the shell would: 127 and a message. An abort kills the child and
    // says so through 'error' too; its 'close' follows.
    let stdout = '';
    let stderr = '';
    const spawnError = new Promise<number>((resolve) =>
      child.on('error', (e) => {
        if (child.pid !== undefined) return;
        opts.onOutput?.(`${argv[0]}: ${e.message}\n`, 'stderr');
        stderr += `${argv[0]}: ${e.message}\n`;
        resolve(127);
      }),
    );
    if (step.input !== undefined) child.stdin!.end(step.input);
    let seen = 0;
    const pollTrace = () => {
      if (!opts.onTrace) return;
      const lines = fs.readFileSync(traceFile, 'utf8').split('\n');
      for (; seen < lines.length - 1; seen++) {
        const r = decodeRecord(lines[seen]);
        if (r) opts.onTrace(r);
      }
    };
    const timer = setInterval(pollTrace, 50);
    child.stdout!.on('data', (d) => {
      stdout += d;
      opts.onOutput?.(String(d), 'stdout');
    });
    child.stderr!.on('data', (d) => {
      stderr += d;
      opts.onOutput?.(String(d), 'stderr');
    });
    const code: number = await Promise.race([
      spawnError,
      new Promise<number>((resolve) => child.on('close', (c, sig) => resolve(c ?? 128 + (os.constants.signals[sig!] ?? 0)))),
    ]);
    clearInterval(timer);
    pollTrace();
    const trace = fs
      .readFileSync(traceFile, 'utf8')
      .split('\n')
      .map(decodeRecord)
      .filter((r): r is TraceRecord => r !== null);
    return { code, stdout, stderr, trace };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// Each chapter's steps, by number. The imports are spelled out so that the
// bundler can see them (the walkthrough runs from the bundled CLI).
const CHAPTERS: Record<number, [string, () => Promise<{ steps: DemoStep[] }>]> = {
  1: ['01-namespaces', () => import('./01-namespaces/demo.js')],
  2: ['02-cgroups', () => import('./02-cgroups/demo.js')],
  3: ['03-aufs', () => import('./03-aufs/demo.js')],
  4: ['04-overlay2', () => import('./04-overlay2/demo.js')],
  5: ['05-containers', () => import('./05-containers/demo.js')],
  6: ['06-networking', () => import('./06-networking/demo.js')],
  7: ['07-volumes', () => import('./07-volumes/demo.js')],
  8: ['08-registries', () => import('./08-registries/demo.js')],
  9: ['09-builds', () => import('./09-builds/demo.js')],
  11: ['11-hardening', () => import('./11-hardening/demo.js')],
};

/** The chapters that have demo steps, in order: the walkthrough's list of chapters. */
export function chapterList(): { chapter: number; dir: string }[] {
  return Object.entries(CHAPTERS)
    .map(([n, [dir]]) => ({ chapter: Number(n), dir }))
    .sort((a, b) => a.chapter - b.chapter);
}

/** Where a chapter's prose is: chapters/NN-topic/README.md. */
export function chapterReadme(dir: string): string {
  return path.join(packageRoot(), 'chapters', dir, 'README.md');
}

/** A file of the repository by its path from the root (a step's `code`). */
export function repoPath(file: string): string {
  return path.join(packageRoot(), file);
}

/** Load a chapter's steps by number. */
export async function loadSteps(chapter: number): Promise<{ dir: string; steps: DemoStep[] }> {
  const entry = CHAPTERS[chapter];
  if (!entry) throw new Error(`chapter ${chapter} has no demo steps yet`);
  const [dir, load] = entry;
  return { dir, steps: (await load()).steps };
}
