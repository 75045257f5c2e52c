// `dockling walkthrough --script --chapter N`: a chapter's steps run
// unattended, in order, in a scratch state root, printed as a transcript a
// teacher can hand out: each step's title, command, output and the check's
// verdict, then the explanation. Exits 1 when a check fails.
//
// The test suite runs every chapter's steps this way (test/helpers/demo-suite.ts),
// in a state root of its own (--state-root): the steps' leftovers are then
// left there for its leak checks, not cleaned up here.
import fs from 'node:fs';
import { commandLine, loadSteps, runStep, type DemoStep } from '../../chapters/demo.js';
import { wrap } from './prose.js';
import { cannotRun, cleanUpScratchRoot, makeScratchRoot } from './session.js';

export interface ScriptOptions {
  /** the layers the steps run with, at most (the global --chapter) */
  layers?: number;
  /** run in this state root and leave it as the steps left it (else a scratch root, removed after) */
  stateRoot?: string;
  out?: (s: string) => void;
}

export async function runScript(chapter: number, opts: ScriptOptions = {}): Promise<number> {
  const { layers = chapter, out = (s: string) => process.stdout.write(s) } = opts;
  const { dir, steps } = await loadSteps(chapter);
  const why = cannotRun();
  if (why) {
    out(`dockling walkthrough --script: ${why}\n`);
    return 1;
  }
  const root = opts.stateRoot ?? makeScratchRoot();
  if (opts.stateRoot) fs.mkdirSync(root, { recursive: true });
  let failed = 0;
  const aborter = new AbortController();
  // Ctrl-C: stop the running step; the clean-up below still runs.
  const stop = () => aborter.abort();
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  try {
    out(`# ${dir}: ${steps.length} steps (state root ${root}${layers < chapter ? `, with the layers of chapters 1..${layers} only` : ''})\n`);
    for (const [i, step] of steps.entries()) {
      if (aborter.signal.aborted) break;
      out(`\n## Step ${i + 1}/${steps.length}: ${step.title}\n\n$ ${commandLine(step)}\n`);
      const problem = await runOne(step, Math.min(chapter, layers), root, out, aborter.signal);
      if (problem) failed++;
      out(problem ? `✗ ${problem}\n` : '✓ the output shows it\n');
      out(`\n${wrap(step.look, 78).join('\n')}\n`);
    }
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    const left = opts.stateRoot ? [] : cleanUpScratchRoot(root, chapter);
    if (left.length) out(`\nclean-up: could not remove ${left.join(', ')}\n`);
  }
  const interrupted = aborter.signal.aborted;
  out(`\n# ${steps.length - failed} of ${steps.length} checks held${interrupted ? ' (interrupted)' : ''}\n`);
  return failed > 0 || interrupted ? 1 : 0;
}

async function runOne(step: DemoStep, chapter: number, root: string, out: (s: string) => void, signal: AbortSignal): Promise<string | null> {
  // A terminal's line ends (\r\n) and escapes (an interactive step's shell asks where the cursor is) have no place on paper.
  const plain = (chunk: string) => chunk.replace(/\r+\n/g, '\n').replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
  const r = await runStep(step, { stateRoot: root, chapter, signal, onOutput: (chunk) => out(plain(chunk)) });
  if (r.stdout + r.stderr !== '' && !(r.stdout + r.stderr).endsWith('\n')) out('\n');
  try {
    return step.check(r);
  } catch (e) {
    return `the check itself failed: ${(e as Error).message}`;
  }
}
