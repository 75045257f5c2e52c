// `dockling walkthrough`'s work once its flags are read: which chapter,
// then the transcript (--script, no Ink) or the screen (Ink, loaded here
// and only here).
import { chapterList } from '../../chapters/demo.js';
import { RunError } from '../core/pipeline.js';

export interface WalkthroughRequest {
  /** the CHAPTER argument or --chapter, as given */
  given?: string;
  /** the global --chapter: the layers the steps run with, at most */
  layers: number;
  script: boolean;
  /** --state-root: the state root of a --script run, kept after it */
  stateRoot?: string;
  present: boolean;
  reset: boolean;
  firstFrame: boolean;
}

export async function runWalkthrough(req: WalkthroughRequest): Promise<number> {
  // The chapters with demo steps (chapters/demo.ts): a new chapter's steps appear here by themselves.
  const have = chapterList().map((c) => c.chapter);
  const n = req.given === undefined ? undefined : Number(req.given);
  if (n !== undefined && !have.includes(n)) throw new RunError(1, `no walkthrough for chapter "${req.given}": the chapters with demo steps are ${have.join(', ')}`);
  if (req.stateRoot !== undefined && !req.script) throw new RunError(1, 'walkthrough --state-root goes with --script: the guide on screen always runs in a scratch root of its own');
  if (req.stateRoot === '') throw new RunError(1, 'invalid --state-root "": name a directory, e.g. --state-root /tmp/demo (or leave it out for a scratch root)');
  if (req.script) {
    if (n === undefined) throw new RunError(1, 'walkthrough --script needs a chapter: `dockling walkthrough --script --chapter N`');
    const { runScript } = await import('./script.js');
    return runScript(n, { layers: req.layers, stateRoot: req.stateRoot });
  }
  // Ink draws only the last frame when it thinks it runs in CI ($CI set).
  // The walkthrough has a person at a terminal (it checks), so it is
  // interactive whatever the environment says.
  if (process.stdin.isTTY) {
    delete process.env.CI;
    delete process.env.CONTINUOUS_INTEGRATION;
  }
  const { walkthrough } = await import('./walkthrough.js');
  return walkthrough({ chapter: n, layers: req.layers, present: req.present, reset: req.reset, firstFrame: req.firstFrame });
}
