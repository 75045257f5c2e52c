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
import { fileURLToPath, pathToFileURL } from 'node:url';
import { decodeRecord, type TraceRecord } from '../runtime/trace/events.js';

export interface StepResult {
  code: number;
  stdout: string;
  stderr: string;
  /** the trace of the step (it always runs with --trace-file) */
  trace: TraceRecord[];
}

export interface DemoStep {
  /** a few words, shown as the step's heading */
  title: string;
  /** what to look at in the output, in the chapter's voice */
  look: string;
  /** dockling's arguments, without "dockling" and --root */
  args: string[];
  /** text fed to the command's stdin (for -i steps) */
  input?: string;
  /** null when the output shows what the step is about; else what is wrong */
  check(r: StepResult): string | null;
}

/** How the step reads when printed: `dockling run --rm busybox hostname`. */
export function commandLine(step: DemoStep): string {
  return ['dockling', ...step.args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../bin/dockling.js');

export interface RunOptions {
  stateRoot: string;
  chapter: number;
  /** called with each chunk of output as it arrives (the walkthrough) */
  onOutput?: (chunk: string, stream: 'stdout' | 'stderr') => void;
  /** called with each trace record as it arrives */
  onTrace?: (r: TraceRecord) => void;
}

/** Run one step for real and collect its output and trace. */
export async function runStep(step: DemoStep, opts: RunOptions): Promise<StepResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dockling-demo-'));
  const traceFile = path.join(dir, 'trace.jsonl');
  fs.writeFileSync(traceFile, '');
  try {
    const env: NodeJS.ProcessEnv = { ...process.env, DOCKLING_CHAPTER: String(opts.chapter) };
    delete env.NODE_EXTRA_CA_CERTS;
    const child = spawn(process.execPath, [BIN, '--root', opts.stateRoot, '--trace-file', traceFile, ...step.args], {
      stdio: [step.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      env,
    });
    if (step.input !== undefined) child.stdin!.end(step.input);
    let stdout = '';
    let stderr = '';
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
    const code: number = await new Promise((resolve) =>
      child.on('close', (c, sig) => resolve(c ?? 128 + (os.constants.signals[sig!] ?? 0))),
    );
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

// Load a chapter's steps by number, from chapters/NN-topic/demo.ts.
export async function loadSteps(chapter: number): Promise<{ dir: string; steps: DemoStep[] }> {
  const root = path.dirname(fileURLToPath(import.meta.url));
  const dir = fs.readdirSync(root).find((d) => d.startsWith(String(chapter).padStart(2, '0') + '-'));
  if (!dir) throw new Error(`no chapter ${chapter} in ${root}`);
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  const mod = (await import(pathToFileURL(path.join(root, dir, 'demo' + ext)).href)) as { steps: DemoStep[] };
  return { dir, steps: mod.steps };
}
